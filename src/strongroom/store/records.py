"""Plain records the store reads and writes: what the domain layer sees of the database. No SQL here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict


# --- secrets ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class SecretRow:
    """One secret's metadata (never its value)."""

    id: int
    account: str
    region: str
    name: str
    arn: str
    created_at: float
    last_changed_at: float
    description: str | None = None
    kms_key_id: str | None = None
    last_accessed_at: float | None = None
    deleted_at: float | None = None
    deletion_date: float | None = None
    primary_region: str | None = None
    owning_service: str | None = None
    #: None for a secret never tagged (AWS omits ``Tags``); [] once all tags were removed.
    tags: list[tuple[str, str]] | None = None
    resource_policy: str | None = None
    rotation_enabled: bool | None = None
    rotation_lambda_arn: str | None = None
    rotation_rules: str | None = None
    last_rotated_at: float | None = None
    next_rotation_at: float | None = None
    #: CreateSecret's Type: the partner that holds a managed external secret (None when not given).
    secret_type: str | None = None
    #: A replica's link to its primary secret (None for a secret that is no replica).
    primary_arn: str | None = None
    #: A cross-account replica's own view of its replication: Pending, InProgress, InSync, Failed, Detached.
    replica_status: str | None = None
    replica_message: str | None = None


class SecretFields(TypedDict, total=False):
    """The columns of a secret an update may set (``SecretsTx.update_secret``)."""

    description: str | None
    kms_key_id: str | None
    last_changed_at: float
    last_accessed_at: float | None
    deleted_at: float | None
    deletion_date: float | None
    primary_region: str | None
    owning_service: str | None
    tags: list[tuple[str, str]] | None
    resource_policy: str | None
    rotation_enabled: bool | None
    rotation_lambda_arn: str | None
    rotation_rules: str | None
    last_rotated_at: float | None
    next_rotation_at: float | None
    secret_type: str | None
    primary_arn: str | None
    replica_status: str | None
    replica_message: str | None


@dataclass(slots=True)
class VersionRow:
    """One version of a secret: its sealed value and the staging labels attached to it."""

    version_id: str
    created_at: float
    kind: str  # "string" or "binary"
    ciphertext: bytes | None
    stages: list[str] = field(default_factory=list)
    last_accessed_at: float | None = None


#: A secret with the version a read asked for (None: no such version), or None: no such secret.
SecretWithVersion = tuple[SecretRow, VersionRow | None] | None


@dataclass(slots=True)
class SecretPage:
    """A page of secrets plus the staging map of each, as ListSecrets needs them."""

    secrets: list[SecretRow]
    stages: dict[int, dict[str, list[str]]]


# --- the change outbox -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One committed change of one secret, as the outbox keeps it: what changed, never a value.

    ``detail`` is JSON text naming what changed (field names, version ids), never their contents.
    ``id`` is 0 until the store assigns it.
    """

    account: str
    region: str
    secret_id: int
    secret_arn: str
    kind: str
    version_id: str | None
    created_at: float
    detail: str
    id: int = 0


# --- replication ------------------------------------------------------------------------------------
@dataclass(slots=True)
class ReplicationTarget:
    """One replica a primary secret replicates to: another region of its account (``kind``
    ``region``) or a secret of another account (``account``), with its delivery state.

    ``delivered_id`` is the outbox position the replica is known to be up to date with; ``peer``
    names the deployment the replica lives in (None: this store).
    """

    id: int
    primary_id: int
    primary_arn: str
    kind: str
    account: str
    region: str
    replica_arn: str
    status: str
    kms_key_id: str | None = None
    status_message: str | None = None
    overwrite: bool = False
    role_arn: str | None = None
    peer: str | None = None
    delivered_id: int = 0
    attempts: int = 0
    next_attempt_at: float = 0.0
    created_at: float = 0.0
    updated_at: float = 0.0


class TargetFields(TypedDict, total=False):
    """The columns of a replication target an update may set (``ReplicationTx.update_target``)."""

    kms_key_id: str | None
    status: str
    status_message: str | None
    overwrite: bool
    delivered_id: int
    attempts: int
    next_attempt_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class TargetView:
    """A target as DescribeSecret shows it: with whether outbox events wait past its position, and
    the replica's LastAccessedDate when the replica lives in this store."""

    target: ReplicationTarget
    pending: bool
    replica_last_accessed_at: float | None


# --- KMS keys and the master key check ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KmsKeyRow:
    """A KMS key as stored: its material only ever appears wrapped by the master key."""

    key_id: str  # uuid4 string, like AWS
    arn: str  # arn:aws:kms:<region>:<account>:key/<key_id>
    account: str
    region: str
    alias: str | None  # e.g. "alias/aws/secretsmanager"
    wrapped_material: bytes = field(repr=False)  # 32-byte key material wrapped by the master key
    created_at: float  # epoch seconds
    enabled: bool = True


# --- identities ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UserRow:
    account: str
    user_name: str
    user_id: str
    arn: str
    created_at: float


@dataclass(frozen=True, slots=True)
class AccessKeyRow:
    access_key_id: str
    account: str
    user_name: str | None  # None: the account root's key
    sealed_secret: bytes
    status: str  # "Active" | "Inactive"
    created_at: float


@dataclass(frozen=True, slots=True)
class SessionKeyRow:
    """Temporary credentials from GetSessionToken: the token itself is never stored, only its hash."""

    access_key_id: str  # ASIA...
    account: str
    user_name: str | None  # None: issued to the account root
    parent_key_id: str  # the long-term key that called GetSessionToken
    sealed_secret: bytes
    token_hash: str  # SHA-256 of the session token, hex
    expires_at: float
    created_at: float


@dataclass(frozen=True, slots=True)
class RoleRow:
    """An IAM role: who may assume it (its trust policy) and for how long at most."""

    account: str
    role_name: str
    role_id: str  # AROA...
    arn: str  # arn:aws:iam::<account>:role/<name>
    path: str  # always "/"
    trust_policy: str  # AssumeRolePolicyDocument, as given
    max_session_duration: int  # seconds, 3600..43200
    description: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class RoleSessionRow:
    """Temporary credentials from AssumeRole: the token itself is never stored, only its hash."""

    access_key_id: str  # ASIA...
    account: str  # the role's account
    role_id: str  # the role's unique id: the session ends with the role
    session_name: str  # RoleSessionName
    session_policy: str | None  # AssumeRole's Policy, limiting what the role's policies allow
    sealed_secret: bytes
    token_hash: str  # SHA-256 of the session token, hex
    expires_at: float
    created_at: float


# --- background jobs -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LeaseRow:
    name: str
    holder: str
    expires_at: float
    next_run_at: float


@dataclass(frozen=True, slots=True)
class ItemRow:
    """A work item as claimed: ``attempts`` counts this claim (1 on the first run)."""

    id: int
    kind: str
    dedupe_key: str
    payload: str  # JSON text
    attempts: int
    max_attempts: int


# --- functions (the Lambda-compatible service) -----------------------------------------------------
@dataclass(slots=True)
class FunctionRow:
    """A function's configuration as stored, without its code (read separately: it may be 50 MB).

    ``environment`` is the sealed JSON of its variables (None: none); ``resource_policy`` the JSON of
    the statements AddPermission added (None: none); ``tags`` None for a function never tagged.
    """

    id: int
    account: str
    region: str
    name: str
    arn: str
    runtime: str
    role: str
    handler: str
    description: str
    timeout: int
    memory_size: int
    environment: bytes | None = field(repr=False)
    code_sha256: str
    code_size: int
    tags: dict[str, str] | None
    resource_policy: str | None
    revision_id: str
    last_modified: float
    created_at: float


class FunctionFields(TypedDict, total=False):
    """The columns of a function an update may set (``FunctionsTx.update``); ``code`` is the sealed zip."""

    runtime: str
    role: str
    handler: str
    description: str
    timeout: int
    memory_size: int
    environment: bytes | None
    code: bytes
    code_sha256: str
    code_size: int
    tags: dict[str, str] | None
    resource_policy: str | None
    revision_id: str
    last_modified: float


@dataclass(frozen=True, slots=True)
class FunctionEventRow:
    """An Event (asynchronous) invocation waiting for its run: the event is sealed, like code.

    ``id`` is 0 until the store assigns it.
    """

    account: str
    region: str
    function_arn: str
    request_id: str
    payload: bytes = field(repr=False)
    created_at: float
    id: int = 0


# --- rotation ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class RotationRow:
    """One rotation run of one secret: which version it makes, with which function, how far it got.

    ``mode`` is ``rotate`` (the four steps) or ``test`` (RotateImmediately=false: testSecret alone);
    ``state`` ``running``, ``succeeded``, ``failed`` or ``cancelled``; ``token`` the run's sealed
    RotationToken; ``last_error`` names what failed (a step and an errorType), never a value.
    """

    secret_id: int
    account: str
    region: str
    secret_arn: str
    version_id: str
    function_arn: str
    mode: str
    token: bytes
    state: str
    step: str | None
    attempts: int
    last_error: str | None
    started_at: float
    updated_at: float
    id: int = 0


class RotationFields(TypedDict, total=False):
    """The columns of a rotation run that change as it goes (``RotationsTx.update``)."""

    state: str
    step: str | None
    attempts: int
    last_error: str | None
    updated_at: float


@dataclass(frozen=True, slots=True)
class DueRotation:
    """A secret whose scheduled rotation is due (the scheduler's claim)."""

    secret_id: int
    account: str
    region: str
    arn: str
    due_at: float
