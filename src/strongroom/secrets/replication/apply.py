"""Making a replica equal to its primary's state, wherever the state comes from: the one way both
destinations (this store's :mod:`.local`, and a peer deployment's receiving end, :mod:`.receive`)
change a replica.

- :func:`open_region_replica`: the change of a region replica, creating it (and taking its name,
  ForceOverwriteReplicaSecret deleting a standalone secret holding it) when it does not exist yet;
- :func:`sync_replica`: versions (each value sealed under the replica's key, bound to the replica's
  ARN), labels and, for a region replica, the metadata that replicates (:data:`REGION_FIELDS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import fields
from typing import Any, cast

from strongroom.kms.keyring import Sealer
from strongroom.secrets.changes import SecretChange
from strongroom.secrets.deletion import PURGE
from strongroom.secrets.replication.destination import ReplicationFailure
from strongroom.secrets.replication.targets import name_conflict
from strongroom.secrets.value import SecretValue
from strongroom.service.dependencies import Services
from strongroom.store.base import Tx
from strongroom.store.records import ReplicationTarget, SecretFields, SecretRow, VersionRow

#: The outbox kind of a replica's change made by replication.
REPLICATE = "ReplicateFromPrimary"
#: What a region replica takes from its primary besides versions and labels.
REGION_FIELDS = (
    "description", "tags", "resource_policy", "secret_type", "owning_service", "rotation_enabled",
    "rotation_lambda_arn", "rotation_rules", "last_rotated_at", "next_rotation_at",
)  # fmt: skip
assert set(REGION_FIELDS) <= {f.name for f in fields(SecretRow)}

#: The value of a listed version (None: the primary no longer has it; a later state says so).
ValueOf = Callable[[VersionRow], Awaitable[SecretValue | None]]


async def open_region_replica(
    services: Services, tx: Tx, found: SecretRow | None, target: ReplicationTarget, primary: SecretRow,
    sealer: Sealer, now: float,
) -> SecretChange:
    """The change of ``target``'s region replica: ``found`` (the holder of its name, locked) when it is
    that replica, else a new replica taking the name; ReplicationFailure when the name is taken."""
    if found is not None and found.arn == target.replica_arn:
        return SecretChange(services, tx, found, now, REPLICATE, sealer)
    message = await name_conflict(tx, found, target.overwrite)
    if message is not None:
        raise ReplicationFailure(message)
    if found is not None:  # ForceOverwriteReplicaSecret: the standalone secret holding the name goes
        purge = SecretChange(services, tx, found, now, PURGE)
        await purge.purge()
        await purge.finish()
    replica = SecretRow(
        id=0, account=target.account, region=target.region, name=primary.name, arn=target.replica_arn,
        created_at=now, last_changed_at=now, kms_key_id=sealer.secret_key_id(target.kms_key_id),
        primary_region=primary.region, primary_arn=primary.arn,
    )
    change = SecretChange(services, tx, replica, now, REPLICATE, sealer)
    await change.insert()
    return change


async def sync_replica(
    change: SecretChange, versions: Sequence[VersionRow], value_of: ValueOf, primary: SecretRow | None
) -> None:
    """Versions (re-sealed), labels and, given the ``primary`` of a region replica, its metadata."""
    tx, replica = change.tx, change.secret
    have = {v.version_id for v in await tx.secrets.list_versions(replica.id)}
    present = set(have)
    for listed in versions:
        if listed.version_id in have:
            continue
        value = await value_of(listed)
        if value is None:
            continue
        await change.copy_version(listed.version_id, listed.created_at, value)
        present.add(listed.version_id)
    wanted = {v.version_id for v in versions}
    await change.drop_versions(sorted(have - wanted))
    await change.set_labels({stage: v.version_id for v in versions if v.version_id in present for stage in v.stages})
    if primary is not None:
        differing: dict[str, Any] = {
            name: getattr(primary, name) for name in REGION_FIELDS if getattr(primary, name) != getattr(replica, name)
        }
        if differing:
            change.set(**cast(SecretFields, differing))

