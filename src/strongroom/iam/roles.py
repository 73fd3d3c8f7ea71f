"""IAM roles: who may assume one (its trust policy), for how long, and what its sessions may do
(its inline policies, managed through :meth:`Identities.put_policy` with owner kind ``role``).

A role is ``arn:aws:iam::<account>:role/<name>`` with path ``/`` and a unique id ``AROA...``. Its
trust policy is checked as IAM checks an AssumeRolePolicyDocument: a Principal in every statement,
no Resource, only STS's role actions, every named user or role existing, at most 2,048
characters without whitespace. Names are unique per account regardless of case. A role with
inline policies is not deleted (IAM's DeleteConflict); deleting one ends its sessions. AWS's
wording and sources: docs/api.md, "STS".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from strongroom.errors import (
    InvalidRequestException,
    LimitExceededException,
    MalformedPolicyDocumentException,
    ResourceNotFoundException,
    ValidationException,
)
from strongroom.iam.credentials import check_name, random_id
from strongroom.iam.policy import parse_policy
from strongroom.iam.policy.document import IAM_INVALID_PRINCIPAL
from strongroom.store.base import Conflict, IamTx, Store
from strongroom.store.records import RoleRow

ROLE_ID_PREFIX = "AROA"
#: MaxSessionDuration (IAM API reference, CreateRole): 3600..43200 seconds, 3600 by default.
MIN_MAX_SESSION_DURATION = 3_600
MAX_MAX_SESSION_DURATION = 43_200
DEFAULT_MAX_SESSION_DURATION = 3_600
#: A role's trust policy, counted without whitespace (IAM quota "Role trust policy length").
TRUST_POLICY_MAX_CHARS = 2_048
TRUST_POLICY_TOO_LONG = f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_MAX_CHARS}"
#: CreateRole's Description: at most 1000 characters of this set (IAM API reference).
DESCRIPTION_MAX_CHARS = 1_000
_DESCRIPTION_PATTERN = r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*"
_DESCRIPTION = re.compile(_DESCRIPTION_PATTERN)
DELETE_CONFLICT = "Cannot delete entity, must delete policies first."
_IAM_PRINCIPAL = re.compile(r"arn:aws:iam::(\d{12}):(user|role)/(.+)", re.ASCII)


def role_arn(account: str, role_name: str) -> str:
    return f"arn:aws:iam::{account}:role/{role_name}"


def no_such_role(role_name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"The role with name {role_name} cannot be found.")


def _validation(value: object, member: str, constraint: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    )


def _check_settings(max_session_duration: int, description: str | None) -> None:
    if max_session_duration < MIN_MAX_SESSION_DURATION:
        raise _validation(
            max_session_duration, "maxSessionDuration",
            f"Member must have value greater than or equal to {MIN_MAX_SESSION_DURATION}",
        )
    if max_session_duration > MAX_MAX_SESSION_DURATION:
        raise _validation(
            max_session_duration, "maxSessionDuration",
            f"Member must have value less than or equal to {MAX_MAX_SESSION_DURATION}",
        )
    if description is not None:
        if len(description) > DESCRIPTION_MAX_CHARS:
            raise _validation(
                description, "description", f"Member must have length less than or equal to {DESCRIPTION_MAX_CHARS}"
            )
        if not _DESCRIPTION.fullmatch(description):
            raise _validation(
                description, "description",
                f"Member must satisfy regular expression pattern: {_DESCRIPTION_PATTERN}",
            )


async def check_trust_policy(iam: IamTx, document: str) -> None:
    """Refuse a trust policy IAM would refuse (MalformedPolicyDocument, LimitExceeded).

    A user or role it names must exist in this store (IAM: "Invalid principal in policy"), since
    IAM binds the policy to that principal's unique id; accounts and service principals are
    taken as they are.
    """
    if len("".join(document.split())) > TRUST_POLICY_MAX_CHARS:
        raise LimitExceededException(TRUST_POLICY_TOO_LONG)
    policy = parse_policy(document, kind="trust")
    for statement in policy.statements:
        spec = statement.principal
        for name in spec.raw.get("AWS", ()) if spec is not None else ():
            found = _IAM_PRINCIPAL.fullmatch(name)
            if found is None:
                continue
            account, kind, entity = found.groups()
            row = await (iam.get_user(account, entity) if kind == "user" else iam.get_role(account, entity))
            if row is None:
                raise MalformedPolicyDocumentException(f'{IAM_INVALID_PRINCIPAL} "AWS":"{name}"')


class Roles:
    """Administration of roles in a store; ``on_change`` runs after a change that ends sessions."""

    def __init__(self, store: Store, on_change: Callable[[], None]) -> None:
        self.store = store
        self._on_change = on_change

    async def create_role(
        self, account: str, role_name: str, trust_policy: str, *,
        max_session_duration: int = DEFAULT_MAX_SESSION_DURATION, description: str | None = None,
    ) -> RoleRow:
        check_name("role", role_name)
        _check_settings(max_session_duration, description)
        role = RoleRow(
            account=account, role_name=role_name, role_id=random_id(ROLE_ID_PREFIX), arn=role_arn(account, role_name),
            path="/", trust_policy=trust_policy, max_session_duration=max_session_duration,
            description=description, created_at=time.time(),
        )
        exists = Conflict(f"Role with name {role_name} already exists.")
        try:
            async with self.store.write() as tx:
                iam = tx.iam
                await check_trust_policy(iam, trust_policy)
                if await iam.role_name_taken(account, role_name):
                    raise exists
                await iam.insert_role(role)
        except Conflict:  # also a concurrent create on PostgreSQL (the unique index)
            raise exists from None
        return role

    async def get_role(self, account: str, role_name: str) -> RoleRow:
        async with self.store.read() as tx:
            role = await tx.iam.get_role(account, role_name)
        if role is None:
            raise no_such_role(role_name)
        return role

    async def list_roles(self, account: str) -> list[RoleRow]:
        async with self.store.read() as tx:
            return await tx.iam.list_roles(account)

    async def update_trust_policy(self, account: str, role_name: str, document: str) -> None:
        """Replace the trust policy: who may assume the role from now on (sessions already issued
        keep working until they expire, as on AWS)."""
        async with self.store.write() as tx:
            iam = tx.iam
            await check_trust_policy(iam, document)
            if not await iam.set_trust_policy(account, role_name, document):
                raise no_such_role(role_name)

    async def delete_role(self, account: str, role_name: str) -> None:
        """Delete a role without inline policies; its sessions stop working at once."""
        async with self.store.write() as tx:
            iam = tx.iam
            if await iam.get_role(account, role_name) is None:
                raise no_such_role(role_name)
            if await iam.list_policies(account, "role", role_name):
                raise InvalidRequestException(DELETE_CONFLICT)
            await iam.delete_role(account, role_name)
        self._on_change()
