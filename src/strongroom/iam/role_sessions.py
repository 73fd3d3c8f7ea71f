"""Role sessions: the temporary credentials of a role, for sts:AssumeRole and for a service
principal (a function's role, assumed for ``lambda.amazonaws.com``).

A session is an ``ASIA...`` key in ``iam_role_sessions`` naming its role by unique id, with a
sealed secret, a token kept as its SHA-256, an expiry and the session policy it was given. Its
caller is ``arn:aws:sts::<account>:assumed-role/<role>/<session>`` with ``aws:userid``
``AROA...:<session>`` and ``aws:PrincipalArn`` the role's ARN; its identity policies are the
role's inline policies (read at each lookup, so a changed role policy applies at once) limited by
the session policy. Deleting the role ends its sessions; changing the trust policy does not, as on
AWS. Who may assume a role is decided by the caller's policies and the role's trust policy
(:class:`strongroom.iam.authorizer.RoleTrust`); AWS's rules and wording: docs/api.md, "STS".
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from strongroom.crypto.sealing import SealingBox
from strongroom.errors import AccessDeniedException, ValidationException
from strongroom.iam.authorizer import request_context_keys
from strongroom.iam.credentials import SessionCredentials, mint_temporary
from strongroom.iam.policy import AuthzRequest, ContextValue, Policy, Principal, evaluate, parse_policy
from strongroom.store.base import Store
from strongroom.store.records import RoleRow, RoleSessionRow

#: AssumeRole's DurationSeconds default, and the limit of a session asked for with temporary
#: credentials ("role chaining"; also with GetSessionToken's credentials).
DEFAULT_DURATION_SECONDS = 3_600
CHAINED_MAX_SECONDS = 3_600
#: Inline session policies: at most 2,048 characters (STS API reference, AssumeRole, Policy).
SESSION_POLICY_MAX_CHARS = 2_048
SESSION_POLICY_TOO_LONG = (
    "1 validation error detected: Value at 'policy' failed to satisfy constraint: "
    f"Member must have length less than or equal to {SESSION_POLICY_MAX_CHARS}"
)
MAX_DURATION_EXCEEDED = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
CHAINING_LIMIT = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
ROOT_REFUSED = "Roles may not be assumed by root accounts."
#: Expired role sessions deleted per new session (keeps the purge's cost bounded).
PURGE_BATCH = 100
#: The service principal functions run as, and how long a cached service session must still be
#: valid to be handed out again (Lambda's longest timeout, 15 minutes).
LAMBDA_SERVICE = "lambda.amazonaws.com"
SERVICE_MIN_REMAINING_SECONDS = 900
SERVICE_CACHE_SIZE = 1_024
_ARN_SHAPE = re.compile(r"arn:[^:]+:[^:]+:[^:]*:[^:]*:[^:]+", re.DOTALL)
_ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role/([\w+=,.@-]{1,64})", re.ASCII)
#: A service's session name: a function's name (1-64 characters; AssumeRole's own need 2-64).
_SERVICE_SESSION_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)


def session_arn(role: RoleRow, session_name: str) -> str:
    return f"arn:aws:sts::{role.account}:assumed-role/{role.role_name}/{session_name}"


def session_principal(role: RoleRow, session_name: str) -> Principal:
    """The caller of a role session: its assumed-role ARN, ``AROA...:<session>``, the role's ARN."""
    return Principal(
        arn=session_arn(role, session_name), account=role.account, is_root=False, username=None,
        userid=f"{role.role_id}:{session_name}", role_arn=role.arn,
    )


def role_name_of(role_arn: str) -> tuple[str, str] | None:
    """(account, role name) of a role ARN; None for any other well-formed ARN.

    A string that is no ARN at all is ValidationError "<value> is invalid", as AWS answers it.
    """
    if not _ARN_SHAPE.fullmatch(role_arn):
        raise ValidationException(f"{role_arn} is invalid")
    found = _ROLE_ARN.fullmatch(role_arn)
    return (found.group(1), found.group(2)) if found else None


def access_denied(caller_arn: str, role_arn: str) -> AccessDeniedException:
    """AWS's one answer to a refused AssumeRole, whether the role exists or not."""
    return AccessDeniedException(
        f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )


def parse_session_policy(text: str) -> Policy:
    """AssumeRole's inline session Policy, compiled (ValidationError past 2,048 characters)."""
    if len(text) > SESSION_POLICY_MAX_CHARS:
        raise ValidationException(SESSION_POLICY_TOO_LONG)
    return parse_policy(text, kind="session")


def packed_policy_size(text: str) -> int:
    """PackedPolicySize: how close the session policy comes to the limit, in percent (ours: of
    2,048 characters without whitespace; AWS packs it in a format it does not publish)."""
    return math.ceil(len("".join(text.split())) * 100 / SESSION_POLICY_MAX_CHARS)


def session_duration(role: RoleRow, requested: int | None, *, chained: bool) -> int:
    """The session's duration: 3600 s by default, at most the role's MaxSessionDuration and, for a
    caller using temporary credentials, one hour (ValidationError otherwise)."""
    duration = DEFAULT_DURATION_SECONDS if requested is None else requested
    if duration > role.max_session_duration:
        raise ValidationException(MAX_DURATION_EXCEEDED)
    if chained and duration > CHAINED_MAX_SECONDS:
        raise ValidationException(CHAINING_LIMIT)
    return duration


@dataclass(frozen=True, slots=True)
class AssumedRole:
    """AssumeRole's answer: credentials, the session's id and ARN, PackedPolicySize with a Policy."""

    credentials: SessionCredentials
    assumed_role_id: str
    arn: str
    packed_policy_size: int | None = None


class RoleSessions:
    """Issues role sessions over a store; caches the sessions issued for service principals."""

    def __init__(self, store: Store, box: SealingBox) -> None:
        self.store = store
        self._box = box
        self._service_sessions: dict[tuple[str, str, str, int], AssumedRole] = {}

    async def find_role(self, role_arn: str) -> RoleRow | None:
        """The role ``role_arn`` names, or None (not a role's ARN, or no such role)."""
        named = role_name_of(role_arn)
        if named is None:
            return None
        async with self.store.read() as tx:
            role = await tx.iam.get_role(*named)
        return role if role is not None and role.arn == role_arn else None

    async def issue(
        self, role: RoleRow, session_name: str, duration: int, session_policy: str | None = None, *,
        min_token_size: int = 0, now: float | None = None,
    ) -> AssumedRole | None:
        """A new session of ``role`` (already authorized); None if the role was deleted meanwhile.

        Up to :data:`PURGE_BATCH` expired role sessions are deleted in the same transaction.
        """
        now = time.time() if now is None else now
        minted = mint_temporary(self._box, now + duration, min_token_size)
        creds = minted.credentials
        row = RoleSessionRow(
            access_key_id=creds.access_key_id, account=role.account, role_id=role.role_id,
            session_name=session_name, session_policy=session_policy, sealed_secret=minted.sealed_secret,
            token_hash=minted.token_hash, expires_at=creds.expiration, created_at=now,
        )
        async with self.store.write() as tx:
            iam = tx.iam
            current = await iam.get_role(role.account, role.role_name)
            if current is None or current.role_id != role.role_id:
                return None
            await iam.purge_expired_role_sessions(now, PURGE_BATCH)
            await iam.insert_role_session(row)
        size = packed_policy_size(session_policy) if session_policy is not None else None
        return AssumedRole(creds, f"{role.role_id}:{session_name}", session_arn(role, session_name), size)

    # --- service principals (functions) ------------------------------------------------------
    async def trusted_by(
        self, account: str, role_arn: str, service: str = LAMBDA_SERVICE, *, session_name: str | None = None,
        context: Mapping[str, ContextValue] | None = None,
    ) -> RoleRow:
        """The role ``role_arn`` of ``account``, if its trust policy lets ``service`` assume it.

        Otherwise AccessDeniedException (a missing role, one of another account or one whose trust
        policy does not allow the service: Lambda's CreateFunction answers all of them with "The
        role defined for the function cannot be assumed by Lambda.").
        """
        denied = access_denied(service, role_arn)
        try:
            role = await self.find_role(role_arn)
        except ValidationException:  # not an ARN at all
            raise denied from None
        if role is None or role.account != account:
            raise denied
        keys: dict[str, ContextValue] = dict(request_context_keys(None, True))
        if session_name is not None:
            keys["sts:RoleSessionName"] = session_name
        keys.update(context or {})
        principal = Principal(arn=service, account=role.account, is_root=False, username=None, userid=service)
        request = AuthzRequest(principal, "sts:AssumeRole", role.arn, role.account, keys)
        trust = parse_policy(role.trust_policy, kind="trust")
        if not evaluate(request, (), trust, resource_policy_required=True).allowed:
            raise denied
        return role

    async def assume_role_for_service(
        self, account: str, role_arn: str, *, session_name: str, service: str = LAMBDA_SERVICE,
        duration: int = DEFAULT_DURATION_SECONDS, context: Mapping[str, ContextValue] | None = None,
        now: float | None = None,
    ) -> AssumedRole:
        """Credentials of ``role_arn`` for ``service`` (a function's role, session named after it).

        The trust policy is read and evaluated on every call, so a role deleted or no longer
        trusting the service is refused at once (AccessDeniedException). The session itself is
        reused while it has at least :data:`SERVICE_MIN_REMAINING_SECONDS` left, so warm
        invocations write nothing; a role created again under the same name has a new id and so
        gets new sessions.
        """
        if not _SERVICE_SESSION_NAME.fullmatch(session_name):
            raise ValidationException(f"Invalid role session name {session_name!r}: use 1-64 of [\\w+=,.@-].")
        if not SERVICE_MIN_REMAINING_SECONDS < duration <= 43_200:
            raise ValidationException(f"duration must be above {SERVICE_MIN_REMAINING_SECONDS} and at most 43200 s.")
        role = await self.trusted_by(account, role_arn, service, session_name=session_name, context=context)
        key = (role.role_id, service, session_name, duration)
        now = time.time() if now is None else now
        cached = self._service_sessions.get(key)
        if cached is not None and cached.credentials.expiration - now >= SERVICE_MIN_REMAINING_SECONDS:
            return cached
        issued = await self.issue(role, session_name, min(duration, role.max_session_duration), now=now)
        if issued is None:
            raise access_denied(service, role_arn)
        if len(self._service_sessions) >= SERVICE_CACHE_SIZE:
            self._service_sessions.clear()
        self._service_sessions[key] = issued
        return issued
