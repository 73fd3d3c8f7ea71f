"""The peer protocol's vocabulary, shared by the sending side (:mod:`.remote`) and the receiving side
(:mod:`.receive`, served by ``strongroom.peering``): names, errors, and how a primary's state and
its values travel.

Values travel sealed under the transfer key the two deployments share (:class:`TransferBox`,
AES-256-GCM through :class:`strongroom.crypto.sealing.SealingBox`), bound to the replica ARN, the
version id and the position, so a sealed value opens only for that replica, version and delivery.
The receiver seals them again under its own keys; neither side stores the other's ciphertext.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from strongroom.crypto.errors import CannotOpen
from strongroom.crypto.sealing import SealingBox
from strongroom.errors import ApiError
from strongroom.secrets.replication.apply import REGION_FIELDS
from strongroom.secrets.value import SecretValue
from strongroom.store.records import SecretRow, VersionRow

#: The service's name (its IAM action prefix), signing name and X-Amz-Target prefix.
SERVICE = "strongroom-replication"
TARGET_PREFIX = "StrongroomReplication."
APPLY, REMOVE = "ApplyReplicaState", "RemoveReplica"
#: The key id the transfer box's blobs carry (authenticated with them).
TRANSFER_KEY_ID = "replication-transfer"


class ReplicationFailedException(ApiError):
    """The peer could not apply a state (a name conflict, a key it can't use...): the target's StatusMessage."""


class ReplicaPromotedException(ApiError):
    """The replica was promoted (StopReplicationToReplica in the peer): the primary forgets the target."""


PROMOTED = "The replica secret {arn} was promoted to a standalone secret by StopReplicationToReplica."
NOT_OPENED = (
    "A value sent by the peer in {region} did not open with the transfer key; "
    "transfer_key_file must hold the same key on both deployments."
)


BAD_METADATA = "The replica state's Metadata is malformed."
#: The type of each member of Metadata (REGION_FIELDS), as SecretRow holds it; any may be null.
_METADATA_TYPES: dict[str, type] = {
    "description": str, "tags": list, "resource_policy": str, "secret_type": str, "owning_service": str,
    "rotation_enabled": bool, "rotation_lambda_arn": str, "rotation_rules": str, "last_rotated_at": float,
    "next_rotation_at": float,
}
assert set(_METADATA_TYPES) == set(REGION_FIELDS)


class TransferBox:
    """Seals values for one delivery to a peer, and opens them there."""

    __slots__ = ("_box",)

    def __init__(self, key: bytes) -> None:
        self._box = SealingBox(key, TRANSFER_KEY_ID)

    @staticmethod
    def _aad(replica_arn: str, version_id: str, position: int) -> bytes:
        return orjson.dumps([replica_arn, version_id, position])

    def seal(self, value: SecretValue, replica_arn: str, version_id: str, position: int) -> bytes:
        return self._box.seal(value.data, self._aad(replica_arn, version_id, position))

    def open(self, kind: str, blob: bytes, replica_arn: str, version_id: str, position: int) -> SecretValue:
        """The value; CannotOpen when the blob was not sealed for this replica, version and position."""
        return SecretValue(kind, self._box.open(blob, self._aad(replica_arn, version_id, position)))


def encode_metadata(primary: SecretRow) -> str:
    """What a region replica takes from its primary besides versions, as JSON text."""
    return orjson.dumps({name: getattr(primary, name) for name in REGION_FIELDS}).decode()


def primary_of(params: Mapping[str, Any], account: str, region: str) -> SecretRow:
    """The primary as an ApplyReplicaState request describes it (its metadata only; ``id`` 0)."""
    try:
        metadata = orjson.loads(params.get("Metadata") or "{}")
    except orjson.JSONDecodeError:
        metadata = None
    if not isinstance(metadata, dict) or not all(_fits(name, value) for name, value in metadata.items()):
        raise ReplicationFailedException(BAD_METADATA)
    if metadata.get("tags") is not None:
        metadata["tags"] = [(key, value) for key, value in metadata["tags"]]
    return SecretRow(id=0, account=account, region=region, name=params["Name"], arn=params["PrimaryArn"],
                     created_at=0.0, last_changed_at=0.0, **metadata)


def _fits(name: str, value: Any) -> bool:
    """Whether a Metadata member is one of REGION_FIELDS with a value of its column's type."""
    kind = _METADATA_TYPES.get(name)
    if kind is None:
        return False
    if value is None:
        return True
    if kind is list:
        return isinstance(value, list) and all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair) for pair in value
        )
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, kind)


def versions_of(params: Mapping[str, Any]) -> list[VersionRow]:
    """The listed versions with their labels (``ciphertext`` holds the sealed transfer blob)."""
    return [
        VersionRow(
            v["VersionId"], float(v["CreatedDate"]), v["Kind"], bytes(v["SealedValue"]), list(v.get("Stages") or ())
        )
        for v in params["Versions"]
    ]


def open_transfer(box: TransferBox, version: VersionRow, replica_arn: str, position: int, region: str) -> SecretValue:
    assert version.ciphertext is not None
    try:
        return box.open(version.kind, version.ciphertext, replica_arn, version.version_id, position)
    except CannotOpen:
        raise ReplicationFailedException(NOT_OPENED.format(region=region)) from None
