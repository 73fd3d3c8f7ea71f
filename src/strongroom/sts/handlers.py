"""STS operations: who the caller is, and temporary credentials for it. No permission is needed,
as on AWS. AWS's behaviour and sources: docs/api.md, "STS"."""

from __future__ import annotations

from typing import Any

from strongroom.errors import AccessDeniedException
from strongroom.iam.caller import Caller
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
    return {
        "Credentials": {
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "SessionToken": creds.session_token,
            "Expiration": round(creds.expiration, 3),
        }
    }
