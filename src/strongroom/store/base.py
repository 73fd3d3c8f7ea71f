"""The store seam: typed transaction protocols the domain layer talks to, independent of the database.

Domain code sees only these protocols and :mod:`strongroom.store.records`. A transaction (:class:`Tx`)
exposes one part per concern: ``tx.secrets``, ``tx.iam``, ``tx.keys``, ``tx.outbox``, ``tx.jobs``,
``tx.replication``, ``tx.functions``, ``tx.rotations``, all over the same connection and transaction. The SQL
implementation (one set of statements for SQLite and PostgreSQL) is :mod:`strongroom.store.sql`; a
backend only supplies an :class:`Executor` and transactions (:mod:`strongroom.store.sqlite`,
:mod:`strongroom.store.postgres`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, Unpack

from strongroom.store.records import (
    AccessKeyRow,
    DueRotation,
    FunctionEventRow,
    FunctionFields,
    FunctionRow,
    ItemRow,
    KmsKeyRow,
    LeaseRow,
    OutboxEvent,
    ReplicationTarget,
    RoleRow,
    RoleSessionRow,
    RotationFields,
    RotationRow,
    SecretFields,
    SecretPage,
    SecretRow,
    SecretWithVersion,
    SessionKeyRow,
    TargetFields,
    TargetView,
    UserRow,
    VersionRow,
)

Row = Mapping[str, Any]


class Conflict(Exception):
    """A uniqueness constraint refused a write (another transaction got there first)."""


class Executor(Protocol):
    """Runs SQL written with ``$1``-style numbered parameters."""

    dialect: str

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; return the number of rows it changed."""
        ...


class SecretsTx(Protocol):
    """Secrets, their versions and staging labels."""

    async def get_secret(
        self, account: str, region: str, *, name: str | None = None, arn: str | None = None,
        for_update: bool = False,
    ) -> SecretRow | None:
        """A secret by exact name or ARN; ``for_update`` locks its row until the transaction ends."""
        ...

    async def get_secret_with_version(
        self, account: str, region: str, *, name: str | None, arn: str | None, version_id: str | None,
        stage: str | None,
    ) -> SecretWithVersion:
        """GetSecretValue's read: a secret with the version named by id, else by label (one snapshot).

        Rows may be shared between requests (read cache): callers must not modify them.
        """
        ...

    async def get_secrets_with_stage(
        self, account: str, region: str, names: Sequence[str], arns: Sequence[str], stage: str
    ) -> list[tuple[SecretRow, VersionRow | None]]: ...

    async def insert_secret(self, secret: SecretRow) -> int:
        """Insert a secret (Conflict if its name is taken); sets and returns its id."""
        ...

    async def update_secret(self, secret_id: int, **fields: Unpack[SecretFields]) -> None: ...

    async def delete_secret(self, secret_id: int) -> None:
        """Remove a secret with its versions, labels and rotation runs."""
        ...

    async def touch_secret_accessed(self, secret_id: int, day: float) -> None: ...

    async def list_secrets(
        self, account: str, region: str, *, sort_by: str, descending: bool,
        after: tuple[Any, int] | None, limit: int, include_deleted: bool,
        name_ranges: Sequence[tuple[str, str | None]] | None = None,
    ) -> list[SecretRow]: ...

    async def page_with_stages(self, secrets: list[SecretRow]) -> SecretPage: ...

    async def purge_is_due(self, now: float) -> bool: ...

    async def secrets_due_for_purge(self, now: float, limit: int) -> list[SecretRow]:
        """Claim (lock, skipping rows others hold) up to ``limit`` secrets past their deletion date."""
        ...

    async def get_version(
        self, secret_id: int, *, version_id: str | None = None, stage: str | None = None,
        with_value: bool = True,
    ) -> VersionRow | None: ...

    async def list_versions(self, secret_id: int) -> list[VersionRow]: ...

    async def stage_map(self, secret_id: int) -> dict[str, list[str]]: ...

    async def count_versions(self, secret_id: int) -> int: ...

    async def insert_version(
        self, secret_id: int, version_id: str, created_at: float, kind: str, ciphertext: bytes | None
    ) -> None: ...

    async def update_version_ciphertext(self, secret_id: int, version_id: str, ciphertext: bytes) -> None: ...

    async def fill_version(self, secret_id: int, version_id: str, kind: str, ciphertext: bytes) -> int:
        """Give a version created without a value (a rotation's AWSPENDING) its value; 0 if it had one."""
        ...

    async def delete_versions(self, secret_id: int, version_ids: Sequence[str]) -> None: ...

    async def move_stage(self, secret_id: int, stage: str, version_id: str) -> None: ...

    async def remove_stage(self, secret_id: int, stage: str) -> None: ...

    async def touch_version_accessed(self, secret_id: int, version_id: str, day: float) -> None: ...


class RolesTx(Protocol):
    """IAM roles and the sessions AssumeRole issues for them (part of :class:`IamTx`)."""

    async def get_role(self, account: str, role_name: str) -> RoleRow | None: ...

    async def role_name_taken(self, account: str, role_name: str) -> bool:
        """Whether the account has a role of this name in any case."""
        ...

    async def insert_role(self, role: RoleRow) -> None: ...

    async def list_roles(self, account: str) -> list[RoleRow]: ...

    async def set_trust_policy(self, account: str, role_name: str, document: str) -> int: ...

    async def delete_role(self, account: str, role_name: str) -> int:
        """Delete a role and its sessions; 0 when there is no such role."""
        ...

    async def insert_role_session(self, session: RoleSessionRow) -> None: ...

    async def get_role_session(self, access_key_id: str) -> tuple[RoleSessionRow, RoleRow] | None:
        """A session with its role; None when either is gone."""
        ...

    async def purge_expired_role_sessions(self, now: float, limit: int) -> int: ...


class IamTx(RolesTx, Protocol):
    """Users, groups, roles, inline policies, access keys and session keys."""

    async def get_user(self, account: str, user_name: str) -> UserRow | None: ...

    async def insert_user(self, user: UserRow) -> None: ...

    async def list_users(self, account: str) -> list[UserRow]: ...

    async def delete_user(self, account: str, user_name: str) -> int: ...

    async def insert_group(self, account: str, group_name: str, group_id: str, arn: str, now: float) -> None: ...

    async def group_exists(self, account: str, group_name: str) -> bool: ...

    async def add_member(self, account: str, group_name: str, user_name: str) -> None: ...

    async def remove_member(self, account: str, group_name: str, user_name: str) -> int: ...

    async def groups_of(self, account: str, user_name: str) -> list[str]: ...

    async def list_groups(self, account: str) -> list[str]: ...

    async def delete_group(self, account: str, group_name: str) -> int: ...

    async def put_policy(self, account: str, kind: str, owner: str, name: str, document: str) -> None: ...

    async def delete_policy(self, account: str, kind: str, owner: str, name: str) -> int: ...

    async def list_policies(self, account: str, kind: str, owner: str) -> list[tuple[str, str]]: ...

    async def policies_for_user(self, account: str, user_name: str) -> list[str]: ...

    async def insert_access_key(self, key: AccessKeyRow) -> None: ...

    async def get_access_key(self, access_key_id: str, *, for_update: bool = False) -> AccessKeyRow | None: ...

    async def list_access_keys(self, account: str, user_name: str | None) -> list[AccessKeyRow]: ...

    async def set_access_key_status(self, access_key_id: str, status: str) -> int: ...

    async def delete_access_key(self, access_key_id: str) -> int: ...

    async def first_access_key(self) -> AccessKeyRow | None: ...

    async def count_access_keys(self) -> int: ...

    async def insert_session_key(self, key: SessionKeyRow) -> None: ...

    async def get_session_key(self, access_key_id: str) -> SessionKeyRow | None: ...

    async def delete_session_keys(self, parent_key_id: str) -> int: ...

    async def purge_expired_session_keys(self, now: float, limit: int) -> int: ...


class KeysTx(Protocol):
    """KMS keys, and the master key's check value."""

    async def find_kms_key(self, account: str, region: str, ref: str) -> KmsKeyRow | None:
        """The key in (account, region) that ``ref`` names: key id, key ARN, "alias/name" or alias ARN."""
        ...

    async def insert_kms_key(self, key: KmsKeyRow) -> KmsKeyRow:
        """Insert ``key``; if its alias already exists in its account+region, return that row instead."""
        ...

    async def first_kms_key(self) -> KmsKeyRow | None: ...

    async def table_names(self) -> set[str]: ...

    async def get_key_check(self) -> tuple[str, str] | None: ...

    async def insert_key_check(self, key_id: str, check_value: str, now: float) -> None: ...


class OutboxTx(Protocol):
    """The change outbox: one event per committed change of a secret, in commit order per secret."""

    async def append(self, event: OutboxEvent) -> int:
        """Add an event (inside the change's own transaction); returns its id."""
        ...

    async def events_after(self, after_id: int, limit: int) -> list[OutboxEvent]:
        """Events with an id above ``after_id``, in id order."""
        ...

    async def any_prunable(self, before: float) -> bool: ...

    async def prune(self, before: float, limit: int) -> int:
        """Delete at most ``limit`` events created before ``before``; returns how many."""
        ...


class ReplicationTx(Protocol):
    """Replication targets: which replicas each primary secret has, and how far each is delivered."""

    async def add_target(self, target: ReplicationTarget) -> int:
        """Insert a target (Conflict if the primary has one in that account and region); sets its id."""
        ...

    async def targets_of(self, primary_id: int) -> list[TargetView]:
        """A primary's targets, oldest first, each with whether events wait past its position."""
        ...

    async def target_of_replica(self, replica_arn: str, *, for_update: bool = False) -> ReplicationTarget | None:
        """The target whose replica is ``replica_arn``; ``for_update`` locks it."""
        ...

    async def lock_target(self, target_id: int) -> ReplicationTarget | None:
        """A target by id, locked until the transaction ends (None once it is gone)."""
        ...

    async def update_target(self, target_id: int, **fields: Unpack[TargetFields]) -> None: ...

    async def delete_target(self, target_id: int) -> None: ...

    async def due_targets(self, now: float, limit: int) -> list[tuple[ReplicationTarget, int]]:
        """Targets to deliver now, each with the latest outbox id of its primary: those not in sync
        (due at ``next_attempt_at``) and those with events past their position."""
        ...

    async def peers_in_backoff(self, now: float, limit: int) -> list[tuple[ReplicationTarget, int]]:
        """Targets that failed because their peer deployment gave no answer and wait past ``now``,
        soonest first, each with its primary's latest outbox id."""
        ...

    async def wake_peer_targets(self, peer: str, now: float) -> int:
        """Make a peer's targets that failed for want of an answer due at ``now``; returns how many."""
        ...

    async def latest_event_id(self, secret_id: int) -> int:
        """The id of the latest outbox event of a secret (0: none)."""
        ...

    async def peer_position(self, replica_arn: str, *, for_update: bool = False) -> int | None:
        """The position a peer's replica was last brought to or removed at (None: never)."""
        ...

    async def set_peer_position(self, replica_arn: str, primary_arn: str, position: int, now: float) -> None:
        """Record a peer's replica as brought to (or removed at) ``position``."""
        ...


class JobsTx(Protocol):
    """Periodic-job leases and the durable work queue (:mod:`strongroom.jobs`)."""

    async def lease(self, name: str) -> LeaseRow | None: ...

    async def take_lease(
        self, name: str, holder: str, now: float, expires_at: float, next_run_at: float | None
    ) -> LeaseRow | None: ...

    async def enqueue(
        self, kind: str, key: str, payload: str, run_at: float, max_attempts: int, now: float
    ) -> bool: ...

    async def any_claimable(self, kinds: Sequence[str], now: float) -> bool: ...

    async def claim(
        self, kinds: Sequence[str], holder: str, now: float, lease_until: float, limit: int
    ) -> tuple[list[ItemRow], list[ItemRow]]: ...

    async def renew_items(self, ids: Sequence[int], holder: str, lease_until: float) -> int: ...

    async def complete(self, item: ItemRow, holder: str, now: float) -> bool: ...

    async def give_up(self, item: ItemRow, holder: str, error: str, now: float) -> bool: ...

    async def to_pending(self, item: ItemRow, holder: str, run_at: float, error: str | None, refund: bool) -> bool: ...

    async def any_prunable(self, before: float) -> bool: ...

    async def prune(self, before: float, limit: int) -> int: ...


class FunctionsTx(Protocol):
    """Functions (their configuration and sealed code) and Event invocations waiting to run."""

    async def get(self, account: str, region: str, name: str, *, for_update: bool = False) -> FunctionRow | None:
        """A function by name; ``for_update`` locks its row until the transaction ends."""
        ...

    async def insert(self, function: FunctionRow, code: bytes) -> int | None:
        """Insert a function with its sealed code; sets and returns its id, None if the name is taken."""
        ...

    async def update(self, function_id: int, **changes: Unpack[FunctionFields]) -> None: ...

    async def delete(self, function_id: int) -> None: ...

    async def page(self, account: str, region: str, after: str | None, limit: int) -> list[FunctionRow]:
        """Up to ``limit`` functions in name order after the name ``after`` (None: from the first)."""
        ...

    async def code(self, function_id: int, code_sha256: str) -> bytes | None:
        """The function's sealed code, if it still has the code of ``code_sha256``."""
        ...

    async def insert_event(self, event: FunctionEventRow) -> int: ...

    async def get_event(self, event_id: int) -> FunctionEventRow | None: ...

    async def delete_event(self, event_id: int) -> None: ...


class RotationsTx(Protocol):
    """Rotation runs and the secrets' rotation schedule (``rotation_due_at``)."""

    async def insert(self, run: RotationRow) -> int: ...

    async def get(self, rotation_id: int) -> RotationRow | None: ...

    async def of_version(self, secret_id: int, version_id: str) -> RotationRow | None: ...

    async def running(self, secret_id: int) -> list[RotationRow]: ...

    async def update(self, rotation_id: int, **changes: Unpack[RotationFields]) -> int:
        """Change a run that is still running (one that ended stays as it ended); 0 if it was not."""
        ...

    async def latest(self, account: str | None, secret_arn: str | None, limit: int) -> list[RotationRow]:
        """The latest run of each secret (of ``secret_arn`` alone, or of ``account``), newest first."""
        ...

    async def prune_ended(self, before: float, limit: int) -> int:
        """Delete up to ``limit`` runs that ended before ``before``, never a secret's latest run; how many."""
        ...

    async def set_due(self, secret_id: int, due_at: float | None) -> None: ...

    async def due_at(self, secret_id: int) -> float | None: ...

    async def any_due(self, now: float) -> bool: ...

    async def claim_due(self, now: float, limit: int) -> list[DueRotation]:
        """Secrets whose rotation is due, their due time cleared in this transaction (skipping rows
        other transactions hold)."""
        ...


class Tx(Protocol):
    """One read view or write transaction, its queries grouped by concern (all on one connection)."""

    @property
    def secrets(self) -> SecretsTx: ...

    @property
    def iam(self) -> IamTx: ...

    @property
    def keys(self) -> KeysTx: ...

    @property
    def outbox(self) -> OutboxTx: ...

    @property
    def jobs(self) -> JobsTx: ...

    @property
    def replication(self) -> ReplicationTx: ...

    @property
    def functions(self) -> FunctionsTx: ...

    @property
    def rotations(self) -> RotationsTx: ...


class Store(Protocol):
    """A database: read views, serialized write transactions, and lifecycle."""

    dialect: str

    def read(self) -> AbstractAsyncContextManager[Tx]:
        """A read-only view: each statement sees one committed snapshot."""
        ...

    def write(self) -> AbstractAsyncContextManager[Tx]:
        """One write transaction; committed on normal exit, rolled back on an exception."""
        ...

    async def migrate(self) -> int:
        """Apply pending migrations; return the schema version."""
        ...

    async def close(self) -> None: ...
