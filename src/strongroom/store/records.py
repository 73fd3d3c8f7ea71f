"""Plain records the store returns: what the domain layer reads and writes. No SQL here."""

from __future__ import annotations

from dataclasses import dataclass, field


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


@dataclass(slots=True)
class VersionRow:
    """One version of a secret: its sealed value and the staging labels attached to it."""

    version_id: str
    created_at: float
    kind: str  # "string" or "binary"
    ciphertext: bytes | None
    stages: list[str] = field(default_factory=list)
    last_accessed_at: float | None = None


@dataclass(slots=True)
class SecretPage:
    """A page of secrets plus the staging map of each, as ListSecrets needs them."""

    secrets: list[SecretRow]
    stages: dict[int, dict[str, list[str]]]
