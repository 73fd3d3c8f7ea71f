"""IAM-style identities: users, groups, roles, access keys and their inline identity policies.

Access key secrets are stored sealed (AES-256-GCM under a key derived from the master key, the
key id as associated data): the server needs the secret itself to verify SigV4 signatures, so it
is encrypted, never stored in the clear, and shown once, at creation.

Lookups by access key id are cached per instance for ``cache_ttl`` seconds (default 2): a key
deactivated or a policy changed through another instance takes effect everywhere within that time.

Temporary credentials (STS GetSessionToken, :meth:`Identities.create_session`) are ``ASIA...``
keys in their own table: the same principal and identity policies as the long-term key that asked
for them, a secret sealed the same way, a session token stored only as its SHA-256, and an expiry.
They end with their parent key: deactivating or deleting that key (or deleting the user) deletes
them in the same transaction, so they stop working at once (within the cache time) and
reactivating the key does not bring them back (stricter than AWS: docs/api.md, "STS"). A session
is only issued while its parent key is active, checked with the key's row locked (an identity
cached for up to ``cache_ttl`` may still carry a key deactivated meanwhile). Expired rows are
purged a bounded batch at a time whenever a new session is issued.

Roles (:attr:`Identities.roles`, :mod:`strongroom.iam.roles`) and their sessions from AssumeRole
(:attr:`Identities.role_sessions`, :mod:`strongroom.iam.role_sessions`) are ``ASIA...`` keys too,
in ``iam_role_sessions``; they resolve to the assumed-role caller with the role's policies.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from strongroom.crypto.errors import CannotOpen
from strongroom.crypto.sealing import SealingBox
from strongroom.errors import InvalidParameterException, ResourceNotFoundException, UnrecognizedClientException
from strongroom.iam.caller import root_principal
from strongroom.iam.credentials import (
    SESSION_KEY_PREFIX,
    SessionCredentials,
    check_name,
    mint_temporary,
    random_id,
    token_digest,
)
from strongroom.iam.policy import Policy, Principal, parse_policy
from strongroom.iam.role_sessions import RoleSessions, session_principal
from strongroom.iam.roles import Roles
from strongroom.store.base import Conflict, IamTx, Store
from strongroom.store.records import AccessKeyRow, RoleSessionRow, SessionKeyRow, UserRow

__all__ = [
    "SESSION_KEY_PREFIX",
    "Identities",
    "Identity",
    "NewAccessKey",
    "SessionCredentials",
    "token_digest",
    "user_principal",
]

ADMIN_USER = "admin"
ADMIN_POLICY_NAME = "AdministratorAccess"
ADMIN_POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
#: GetSessionToken durations (STS API reference, GetSessionToken, DurationSeconds): IAM users
#: 900..129600 s, 43200 by default; the account root at most 3600 (a longer request gets 3600).
SESSION_MIN_SECONDS = 900
SESSION_MAX_SECONDS = 129_600
SESSION_DEFAULT_SECONDS = 43_200
ROOT_SESSION_MAX_SECONDS = 3_600
#: Expired session keys deleted per GetSessionToken or AssumeRole (keeps the purge's cost bounded).
SESSION_PURGE_BATCH = 100
#: AWS's text for an unknown or inactive access key (UnrecognizedClientException).
INVALID_TOKEN = "The security token included in the request is invalid."
#: The owners an inline policy can have.
POLICY_OWNERS = ("user", "group", "role")


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated access key's owner: principal, secret and identity policies."""

    access_key_id: str
    secret_access_key: str
    principal: Principal
    policies: tuple[Policy, ...]
    active: bool
    #: temporary credentials only: when they stop working (epoch seconds) and the token's SHA-256
    expires_at: float | None = None
    token_hash: str | None = None

    @property
    def temporary(self) -> bool:
        return self.token_hash is not None

    def __repr__(self) -> str:  # never show the secret
        kind = ", temporary" if self.temporary else ""
        return f"Identity({self.access_key_id!r}, {self.principal.arn!r}, active={self.active}{kind})"


@dataclass(frozen=True, slots=True)
class NewAccessKey:
    access_key_id: str
    secret_access_key: str
    principal_arn: str


def user_principal(user: UserRow) -> Principal:
    return Principal(arn=user.arn, account=user.account, is_root=False, username=user.user_name, userid=user.user_id)


class Identities:
    """Administration and runtime lookup of identities in a store."""

    def __init__(self, store: Store, box: SealingBox, cache_ttl: float = 2.0, cache_size: int = 10_000) -> None:
        self.store = store
        self._box = box
        self.cache_ttl = cache_ttl
        self._cache_size = cache_size
        self._cache: dict[str, tuple[float, Identity | None]] = {}
        #: roles: created, listed, deleted (inline policies through :meth:`put_policy`)
        self.roles = Roles(store, self.forget)
        #: role sessions: AssumeRole's and a service principal's credentials
        self.role_sessions = RoleSessions(store, box)

    # --- runtime -------------------------------------------------------------------------
    async def resolve(self, access_key_id: str) -> Identity | None:
        """The identity behind an access key id (cached for ``cache_ttl`` seconds), or None."""
        now = time.monotonic()
        hit = self._cache.get(access_key_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        identity = await self._load(access_key_id)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[access_key_id] = (now + self.cache_ttl, identity)
        return identity

    def forget(self) -> None:
        self._cache.clear()

    async def _load(self, access_key_id: str) -> Identity | None:
        async with self.store.read() as tx:
            iam = tx.iam
            session: SessionKeyRow | None = None
            if access_key_id.startswith(SESSION_KEY_PREFIX):
                session = await iam.get_session_key(access_key_id)
                if session is None:
                    return await self._load_role_session(iam, access_key_id)
                key = await iam.get_access_key(session.parent_key_id)
                if key is None or (key.account, key.user_name) != (session.account, session.user_name):
                    return None  # the issuing key was deleted: its sessions end with it
            else:
                key = await iam.get_access_key(access_key_id)
                if key is None:
                    return None
            if key.user_name is None:
                principal, documents = root_principal(key.account), []
            else:
                user = await iam.get_user(key.account, key.user_name)
                if user is None:
                    return None
                principal = user_principal(user)
                documents = await iam.policies_for_user(key.account, key.user_name)
        policies = tuple(parse_policy(doc) for doc in documents)
        active = key.status == "Active"
        if session is not None:
            return Identity(
                session.access_key_id, self._open(session), principal, policies, active,
                expires_at=session.expires_at, token_hash=session.token_hash,
            )
        return Identity(key.access_key_id, self._open(key), principal, policies, active)

    async def _load_role_session(self, iam: IamTx, access_key_id: str) -> Identity | None:
        """A role session's identity: the role's policies, then its session policy (last, as the
        policy engine expects); None once the session or its role is gone."""
        found = await iam.get_role_session(access_key_id)
        if found is None:
            return None
        session, role = found
        documents = [document for _, document in await iam.list_policies(role.account, "role", role.role_name)]
        policies = [parse_policy(document) for document in documents]
        if session.session_policy is not None:
            policies.append(parse_policy(session.session_policy, kind="session"))
        return Identity(
            session.access_key_id, self._open(session), session_principal(role, session.session_name),
            tuple(policies), True, expires_at=session.expires_at, token_hash=session.token_hash,
        )

    def _seal(self, access_key_id: str, secret: str) -> bytes:
        return self._box.seal(secret.encode(), access_key_id.encode())

    def _open(self, key: AccessKeyRow | SessionKeyRow | RoleSessionRow) -> str:
        try:
            return self._box.open(key.sealed_secret, key.access_key_id.encode()).decode()
        except CannotOpen:
            raise RuntimeError(f"access key {key.access_key_id} can't be decrypted with this master key") from None

    # --- administration ------------------------------------------------------------------
    async def create_user(self, account: str, user_name: str) -> UserRow:
        check_name("user", user_name)
        user = UserRow(
            account=account, user_name=user_name, user_id=random_id("AIDA"),
            arn=f"arn:aws:iam::{account}:user/{user_name}", created_at=time.time(),
        )
        async with self.store.write() as tx:
            iam = tx.iam
            if await iam.get_user(account, user_name) is not None:
                raise Conflict(f"user {user_name} already exists in account {account}")
            await iam.insert_user(user)
        return user

    async def delete_user(self, account: str, user_name: str) -> None:
        async with self.store.write() as tx:
            if not await tx.iam.delete_user(account, user_name):
                raise ResourceNotFoundException(f"user {user_name} not found in account {account}")
        self.forget()

    async def list_users(self, account: str) -> list[UserRow]:
        async with self.store.read() as tx:
            return await tx.iam.list_users(account)

    async def create_group(self, account: str, group_name: str) -> None:
        check_name("group", group_name)
        async with self.store.write() as tx:
            iam = tx.iam
            if await iam.group_exists(account, group_name):
                raise Conflict(f"group {group_name} already exists in account {account}")
            await iam.insert_group(
                account, group_name, random_id("AGPA"), f"arn:aws:iam::{account}:group/{group_name}", time.time()
            )

    async def delete_group(self, account: str, group_name: str) -> None:
        async with self.store.write() as tx:
            if not await tx.iam.delete_group(account, group_name):
                raise ResourceNotFoundException(f"group {group_name} not found in account {account}")
        self.forget()

    async def list_groups(self, account: str) -> list[str]:
        async with self.store.read() as tx:
            return await tx.iam.list_groups(account)

    async def add_user_to_group(self, account: str, group_name: str, user_name: str) -> None:
        async with self.store.write() as tx:
            iam = tx.iam
            await self._require_owner(iam, account, "group", group_name)
            await self._require_owner(iam, account, "user", user_name)
            await iam.add_member(account, group_name, user_name)
        self.forget()

    async def remove_user_from_group(self, account: str, group_name: str, user_name: str) -> None:
        async with self.store.write() as tx:
            if not await tx.iam.remove_member(account, group_name, user_name):
                raise ResourceNotFoundException(f"user {user_name} is not in group {group_name}")
        self.forget()

    async def groups_of(self, account: str, user_name: str) -> list[str]:
        async with self.store.read() as tx:
            return await tx.iam.groups_of(account, user_name)

    async def put_policy(self, account: str, kind: str, owner: str, policy_name: str, document: str) -> None:
        """Attach (or replace) an inline identity policy on a user, group or role; validated first."""
        check_name("policy", policy_name)
        parse_policy(document)
        async with self.store.write() as tx:
            iam = tx.iam
            await self._require_owner(iam, account, kind, owner)
            await iam.put_policy(account, kind, owner, policy_name, document)
        self.forget()

    async def delete_policy(self, account: str, kind: str, owner: str, policy_name: str) -> None:
        async with self.store.write() as tx:
            if not await tx.iam.delete_policy(account, kind, owner, policy_name):
                raise ResourceNotFoundException(f"The {kind} policy with name {policy_name} cannot be found.")
        self.forget()

    async def list_policies(self, account: str, kind: str, owner: str) -> list[tuple[str, str]]:
        async with self.store.read() as tx:
            return await tx.iam.list_policies(account, kind, owner)

    async def create_access_key(self, account: str, user_name: str | None) -> NewAccessKey:
        """A new active key for a user (or the account root, ``user_name=None``); the secret is shown once."""
        access_key_id = random_id("AKIA")
        secret = secrets.token_urlsafe(30)[:40]
        async with self.store.write() as tx:
            iam = tx.iam
            if user_name is not None:
                await self._require_owner(iam, account, "user", user_name)
            sealed = self._seal(access_key_id, secret)
            await iam.insert_access_key(
                AccessKeyRow(access_key_id, account, user_name, sealed, "Active", time.time())
            )
        arn = f"arn:aws:iam::{account}:" + (f"user/{user_name}" if user_name else "root")
        return NewAccessKey(access_key_id, secret, arn)

    async def create_session(
        self, account: str, user_name: str | None, duration: int | None = None, *, parent_key_id: str,
        now: float | None = None,
    ) -> SessionCredentials:
        """Temporary credentials for a user (or the account root, ``user_name=None``): GetSessionToken.

        ``duration`` defaults to 43200 s and must lie in 900..129600; the root's sessions are cut
        to 3600 s, as on AWS. ``parent_key_id`` is the long-term key that asked: the session lives
        only as long as that key stays active, and none is issued once it is inactive or gone
        (UnrecognizedClientException, as for the key itself). Up to ``SESSION_PURGE_BATCH``
        expired sessions are deleted in the same transaction.
        """
        if duration is None:
            duration = SESSION_DEFAULT_SECONDS
        if not SESSION_MIN_SECONDS <= duration <= SESSION_MAX_SECONDS:
            raise InvalidParameterException(
                f"DurationSeconds must be between {SESSION_MIN_SECONDS} and {SESSION_MAX_SECONDS}."
            )
        if user_name is None:
            duration = min(duration, ROOT_SESSION_MAX_SECONDS)
        now = time.time() if now is None else now
        minted = mint_temporary(self._box, now + duration)
        creds = minted.credentials
        row = SessionKeyRow(
            access_key_id=creds.access_key_id, account=account, user_name=user_name, parent_key_id=parent_key_id,
            sealed_secret=minted.sealed_secret, token_hash=minted.token_hash, expires_at=creds.expiration,
            created_at=now,
        )
        async with self.store.write() as tx:
            iam = tx.iam
            # Locked until commit: a deactivation waits for this insert, then deletes the session.
            parent = await iam.get_access_key(parent_key_id, for_update=True)
            owner = (parent.account, parent.user_name) if parent is not None else None
            if parent is None or parent.status != "Active" or owner != (account, user_name):
                raise UnrecognizedClientException(INVALID_TOKEN)
            await iam.purge_expired_session_keys(now, SESSION_PURGE_BATCH)
            await iam.insert_session_key(row)
        return creds

    async def list_access_keys(self, account: str, user_name: str | None) -> list[AccessKeyRow]:
        async with self.store.read() as tx:
            return await tx.iam.list_access_keys(account, user_name)

    async def set_access_key_status(self, access_key_id: str, active: bool) -> None:
        """Activate or deactivate a key; deactivating it ends its sessions for good.

        The sessions are deleted in the same transaction, and also when an inactive key is
        reactivated: any session still stored then was issued before the deactivation (by a
        version that only marked them inactive), and must not come back.
        """
        async with self.store.write() as tx:
            iam = tx.iam
            key = await iam.get_access_key(access_key_id, for_update=True)
            if key is None:
                raise ResourceNotFoundException(f"access key {access_key_id} not found")
            await iam.set_access_key_status(access_key_id, "Active" if active else "Inactive")
            if not active or key.status != "Active":
                await iam.delete_session_keys(access_key_id)
        self.forget()

    async def delete_access_key(self, access_key_id: str) -> None:
        async with self.store.write() as tx:
            if not await tx.iam.delete_access_key(access_key_id):
                raise ResourceNotFoundException(f"access key {access_key_id} not found")
        self.forget()

    async def _require_owner(self, iam: IamTx, account: str, kind: str, name: str) -> None:
        if kind not in POLICY_OWNERS:
            raise InvalidParameterException(f"Inline policies belong to a user, group or role, not a {kind}.")
        if kind == "user":
            exists = await iam.get_user(account, name) is not None
        elif kind == "role":
            exists = await iam.get_role(account, name) is not None
        else:
            exists = await iam.group_exists(account, name)
        if not exists:
            raise ResourceNotFoundException(f"The {kind} with name {name} cannot be found.")

    # --- first start ---------------------------------------------------------------------
    async def create_first_admin(self, account: str) -> NewAccessKey | None:
        """The administrator (user ``admin``, full access) with one access key, if no identity exists.

        User, policy and access key are created in one transaction, so a crash leaves either all
        or nothing. None when identities already exist or another instance won the race.
        """
        parse_policy(ADMIN_POLICY)
        user = UserRow(
            account=account, user_name=ADMIN_USER, user_id=random_id("AIDA"),
            arn=f"arn:aws:iam::{account}:user/{ADMIN_USER}", created_at=time.time(),
        )
        access_key_id = random_id("AKIA")
        secret = secrets.token_urlsafe(30)[:40]
        try:
            async with self.store.write() as tx:
                iam = tx.iam
                if await iam.count_access_keys() or await iam.get_user(account, ADMIN_USER):
                    return None
                await iam.insert_user(user)
                await iam.put_policy(account, "user", ADMIN_USER, ADMIN_POLICY_NAME, ADMIN_POLICY)
                await iam.insert_access_key(
                    AccessKeyRow(access_key_id, account, ADMIN_USER, self._seal(access_key_id, secret), "Active",
                                 time.time())
                )
        except Conflict:
            return None
        return NewAccessKey(access_key_id, secret, user.arn)
