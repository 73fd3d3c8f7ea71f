"""STS operations: who the caller is, temporary credentials for it (no permission needed, as on
AWS), and a role's temporary credentials (AssumeRole: the caller's policies and the role's trust
policy decide). AWS's behaviour and sources: docs/api.md, "STS"."""

from __future__ import annotations

from typing import Any

from strongroom.errors import AccessDeniedException
from strongroom.iam.authorizer import RoleTrust
from strongroom.iam.caller import Caller, CallerKind
from strongroom.iam.credentials import SessionCredentials
from strongroom.iam.role_sessions import ROOT_REFUSED, access_denied, parse_session_policy, session_duration
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services

SESSION_CREDENTIALS_REFUSED = "Cannot call GetSessionToken with session credentials"
#: There are no MFA devices here, so MFA always fails, as on AWS for a serial it doesn't know.
MFA_FAILED = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  "
    "Please verify your MFA serial number is valid and associated with this user."
)


def _caller(ctx: RequestContext) -> Caller:
    if ctx.caller is None:
        raise RuntimeError("STS operations need the request's caller")
    return ctx.caller


async def get_caller_identity(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """The caller's ARN, ``aws:userid`` (the account id for the root) and account."""
    principal = _caller(ctx).principal
    return {"Arn": principal.arn, "UserId": principal.userid, "Account": principal.account}


async def get_session_token(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Temporary credentials for the caller, ending with the long-term key that asked for them."""
    caller = _caller(ctx)
    if caller.temporary:
        raise AccessDeniedException(SESSION_CREDENTIALS_REFUSED)
    if params.get("SerialNumber") is not None or params.get("TokenCode") is not None:
        raise AccessDeniedException(MFA_FAILED)
    if services.identities is None:
        raise RuntimeError("GetSessionToken needs the identities")
    creds = await services.identities.create_session(
        caller.account, caller.principal.username, params.get("DurationSeconds"), parent_key_id=caller.access_key_id
    )
    return {"Credentials": _credentials(creds)}


async def assume_role(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Temporary credentials of the role ``RoleArn``, if the caller's policies and the role's trust
    policy allow it; one AccessDenied for a refusal and a missing role alike."""
    caller = _caller(ctx)
    role_arn, session_name = params["RoleArn"], params["RoleSessionName"]
    if params.get("SerialNumber") is not None or params.get("TokenCode") is not None:
        raise AccessDeniedException(MFA_FAILED)
    sessions = services.identities.role_sessions
    role = await sessions.find_role(role_arn)
    policy = params.get("Policy")
    if policy is not None:
        parse_session_policy(policy)
    if caller.kind is CallerKind.API and caller.principal.is_root:
        raise AccessDeniedException(ROOT_REFUSED)
    denied = access_denied(caller.principal.arn, role_arn)
    if role is None:
        raise denied
    try:
        ctx.authorize("AssumeRole", role.arn, RoleTrust(role.account, role.trust_policy))
    except AccessDeniedException:
        raise denied from None
    duration = session_duration(role, params.get("DurationSeconds"), chained=caller.temporary)
    assumed = await sessions.issue(
        role, session_name, duration, policy, min_token_size=params.get("MinimumSessionTokenSize") or 0
    )
    if assumed is None:  # deleted since it was found
        raise denied
    answer: dict[str, Any] = {
        "Credentials": _credentials(assumed.credentials),
        "AssumedRoleUser": {"AssumedRoleId": assumed.assumed_role_id, "Arn": assumed.arn},
    }
    if assumed.packed_policy_size is not None:
        answer["PackedPolicySize"] = assumed.packed_policy_size
    return answer


def _credentials(creds: SessionCredentials) -> dict[str, Any]:
    return {
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "SessionToken": creds.session_token,
        "Expiration": round(creds.expiration, 3),
    }
