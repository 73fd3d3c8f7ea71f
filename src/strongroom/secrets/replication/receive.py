"""The receiving end of replication between deployments: a peer's primary keeps its region replica
here (``strongroom.peering`` serves these as ApplyReplicaState and RemoveReplica).

- **apply** is one write transaction that locks the replica's name holder, then its position row
  (``peer_replica_positions``), and applies the state only if its position is past the recorded
  one, recording the new position in the same transaction: a state delivered twice, or a stale one
  after a newer one, changes nothing. The replica is made equal to the state through
  :mod:`.apply`, as a replica within one deployment is; values arrive sealed under the transfer key
  and are sealed again under this deployment's key for the replica (its KmsKeyId), bound to the
  replica's ARN.
- **remove** deletes the replica (if it is still that primary's) and records the removal's
  position, so a delivery that was on its way when the region was removed does not bring it back.
- A replica promoted here (StopReplicationToReplica) is no longer that primary's: a later delivery
  answers :class:`~.peer_wire.ReplicaPromotedException` and the primary forgets the region. A new
  replication to the region (``NewReplica``) finds it holding the name, as any standalone secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.errors import AccessDeniedException, InvalidParameterException
from strongroom.kms.errors import KmsError
from strongroom.kms.keyring import Sealer
from strongroom.secrets.arns import SecretArn, parse_secret_arn
from strongroom.secrets.changes import MAX_ATTEMPTS, SecretChange
from strongroom.secrets.deletion import PURGE
from strongroom.secrets.kms_errors import sealing_error
from strongroom.secrets.messages import CHANGED_MEANWHILE
from strongroom.secrets.replication.apply import open_region_replica, sync_replica
from strongroom.secrets.replication.destination import ReplicationFailure
from strongroom.secrets.replication.peer_wire import (
    APPLY,
    PROMOTED,
    REMOVE,
    ReplicaPromotedException,
    ReplicationFailedException,
    TransferBox,
    open_transfer,
    primary_of,
    versions_of,
)
from strongroom.secrets.replication.targets import REGION, name_conflict, new_target
from strongroom.secrets.value import SecretValue
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.service.peers import Peer
from strongroom.store.base import Conflict, Tx
from strongroom.store.records import SecretRow, VersionRow

#: Ours.
NOT_A_PEER = "No peer deployment serving {region} is configured here (replication.peers)."
BAD_REPLICA = "ReplicaArn must name the replica of PrimaryArn in the caller's account and Region."


def _pair(services: Services, ctx: RequestContext, params: Mapping[str, Any]) -> tuple[Peer, SecretArn, SecretArn]:
    """The sending peer and both ARNs, checked: the replica is the primary's, in the caller's namespace."""
    primary, replica = parse_secret_arn(params["PrimaryArn"]), parse_secret_arn(params["ReplicaArn"])
    if primary is None or replica is None:
        raise InvalidParameterException(BAD_REPLICA)
    peer = services.peers.get(primary.region)
    if peer is None:
        raise AccessDeniedException(NOT_A_PEER.format(region=primary.region))
    if (
        replica.region != ctx.region or replica.account != ctx.account or primary.account != replica.account
        or primary.partition != replica.partition or primary.resource != replica.resource
        or replica.region in services.peers
    ):
        raise InvalidParameterException(BAD_REPLICA)
    return peer, primary, replica


async def apply_state(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """ApplyReplicaState: make the replica equal to the state, unless it is there already."""
    peer, primary_parts, _ = _pair(services, ctx, params)
    replica_arn, position = params["ReplicaArn"], int(params["Position"])
    ctx.authorize(APPLY, replica_arn, None)
    primary = primary_of(params, primary_parts.account, primary_parts.region)
    if not primary_parts.resource.startswith(f"{primary.name}-"):
        raise InvalidParameterException(BAD_REPLICA)
    versions = versions_of(params)
    target = new_target(
        primary, REGION, ctx.account, ctx.region, replica_arn, ctx.now, kms_key_id=params.get("KmsKeyId") or None,
        overwrite=bool(params.get("ForceOverwriteReplicaSecret")),
    )
    box = TransferBox(peer.transfer_key)

    async def value_of(version: VersionRow) -> SecretValue:
        return open_transfer(box, version, replica_arn, position, peer.region)

    for _ in range(MAX_ATTEMPTS):
        async with services.store.read() as tx:
            seen = await tx.secrets.get_secret(ctx.account, ctx.region, name=primary.name)
        own = seen if seen is not None and seen.arn == replica_arn else None
        sealer = await _sealer(services, ctx, own.kms_key_id if own is not None else target.kms_key_id)
        async with services.store.write() as tx:
            found = await tx.secrets.get_secret(ctx.account, ctx.region, name=primary.name, for_update=True)
            if own is not None and (found is None or found.kms_key_id != own.kms_key_id):
                continue  # the replica's key changed meanwhile: resolve again (nothing was written)
            done = await tx.replication.peer_position(replica_arn, for_update=True)
            if done is not None and done >= position:
                return {"Applied": False}
            if found is not None and found.arn == replica_arn and found.primary_arn != primary.arn:
                if not params.get("NewReplica"):
                    raise ReplicaPromotedException(PROMOTED.format(arn=replica_arn))
                await _replace_promoted(services, tx, found, target.overwrite, ctx.now)
                found = None
            try:
                change = await open_region_replica(services, tx, found, target, primary, sealer, ctx.now)
            except ReplicationFailure as failure:
                raise ReplicationFailedException(failure.message) from None
            except Conflict:
                raise ReplicationFailedException(CHANGED_MEANWHILE) from None
            await sync_replica(change, versions, value_of, primary)
            await change.finish()
            await tx.replication.set_peer_position(replica_arn, primary.arn, position, ctx.now)
        return {"Applied": True}
    raise ReplicationFailedException(CHANGED_MEANWHILE)


async def remove_replica(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """RemoveReplica: delete the replica at once (AWS deletes a removed Region's replica immediately)."""
    _pair(services, ctx, params)
    replica_arn, position = params["ReplicaArn"], int(params["Position"])
    ctx.authorize(REMOVE, replica_arn, None)
    async with services.store.write() as tx:
        found = await tx.secrets.get_secret(ctx.account, ctx.region, arn=replica_arn, for_update=True)
        done = await tx.replication.peer_position(replica_arn, for_update=True)
        if done is not None and done > position:
            return {"Removed": False}  # brought to a later state: the region was replicated again since
        removed = found is not None and found.primary_arn == params["PrimaryArn"]
        if removed:
            assert found is not None
            purge = SecretChange(services, tx, found, ctx.now, PURGE)
            await purge.purge()
            await purge.finish()
        await tx.replication.set_peer_position(replica_arn, params["PrimaryArn"], position, ctx.now)
    return {"Removed": removed}


async def _replace_promoted(
    services: Services, tx: Tx, promoted: SecretRow, overwrite: bool, now: float
) -> None:
    """A new replication to a region whose earlier replica was promoted here: that secret holds the
    name like any standalone secret (Failed unless ForceOverwriteReplicaSecret, which deletes it)."""
    message = await name_conflict(tx, promoted, overwrite)
    if message is not None:
        raise ReplicationFailedException(message)
    purge = SecretChange(services, tx, promoted, now, PURGE)
    await purge.purge()
    await purge.finish()


async def _sealer(services: Services, ctx: RequestContext, kms_key_ref: str | None) -> Sealer:
    try:
        return await services.keyring.sealer(ctx.account, ctx.region, kms_key_ref)
    except KmsError as exc:
        raise ReplicationFailedException(sealing_error(exc).message) from None

