"""Replicas in a peer deployment: the remote :class:`~strongroom.secrets.replication.destination.ReplicaDestination`.

- **deliver** opens each of the primary's versions under its key and seals it under the transfer
  key shared with the peer (bound to the replica ARN, version id and position), sends the state
  (ApplyReplicaState), and on the peer's answer records the position and InSync here. The peer
  applies a state only past the position it recorded with its replica, in the same transaction,
  so a delivery repeated after a crash on either side changes nothing there.
- **failed** records the reason on the target (``peer eu-west-1 unreachable: ...``); the relay
  retries it with its backoff, as for a local target.
- **remove** enqueues a work item in the primary's transaction (``replication.peer_remove``,
  :func:`remove_at_peer`), so the removal reaches the peer exactly when the operation commits,
  also while the peer is down (the item is retried).
- A replica promoted in the peer (StopReplicationToReplica there) answers the next delivery with
  ReplicaPromotedException: the primary forgets the region then (docs/api.md).
"""

from __future__ import annotations

import logging
from base64 import b64encode
from typing import Any

from strongroom.errors import ApiError
from strongroom.jobs import Backoff, Job
from strongroom.secrets.arns import parse_secret_arn
from strongroom.secrets.changes import SecretChange
from strongroom.secrets.replicas import DETACHED, IN_SYNC
from strongroom.secrets.replication.destination import PrimaryState, ReplicationFailure
from strongroom.secrets.replication.local import LocalDestination
from strongroom.secrets.replication.peer_client import PeerCallFailed, call
from strongroom.secrets.replication.peer_wire import (
    APPLY,
    REMOVE,
    ReplicaPromotedException,
    ReplicationFailedException,
    TransferBox,
    encode_metadata,
)
from strongroom.secrets.replication.targets import REGION
from strongroom.secrets.versions import open_value
from strongroom.service.dependencies import Services
from strongroom.service.peers import Peer
from strongroom.store.base import Tx
from strongroom.store.records import ReplicationTarget

log = logging.getLogger("strongroom.replication")

#: The work items that delete a removed Region's replica in its peer.
REMOVE_JOB = "replication.peer_remove"
#: Retried for about 8 hours with the relay's backoff (1 s doubling to 5 minutes; the runtime allows 100 attempts).
REMOVE_ATTEMPTS = 100
REMOVE_BACKOFF = Backoff(base=1.0, cap=300.0)
#: The outbox kind of the primary's change when its peer replica was promoted.
PROMOTED_KIND = "StopReplicationToReplica"


class PeerUnreachable(ReplicationFailure):
    """The peer gave no usable answer (down, unreachable, or failing): the relay skips its other
    targets until the next tick."""


def peer_failure(peer: Peer, failed: PeerCallFailed) -> ReplicationFailure:
    """The target's StatusMessage for a failed call: the peer's own words for what it could not do."""
    if failed.code is None:
        return PeerUnreachable(failed.message)
    if failed.code == ReplicationFailedException.__name__:
        return ReplicationFailure(failed.message)
    return ReplicationFailure(f"peer {peer.region} refused the request: {failed.code}: {failed.message}")


#: Ours: a target whose peer left the configuration.
NOT_CONFIGURED = "peer {region} is not configured here (replication.peers) with an endpoint and credentials"


class RemoteDestination:
    """Region replicas kept by the peer deployment serving ``region``."""

    __slots__ = ("services", "region")

    def __init__(self, services: Services, region: str) -> None:
        self.services = services
        self.region = region

    @property
    def peer(self) -> Peer:
        peer = self.services.peers.get(self.region)
        if peer is None or not peer.sends_to:
            raise ReplicationFailure(NOT_CONFIGURED.format(region=self.region))
        return peer

    async def deliver(self, target: ReplicationTarget, state: PrimaryState, now: float) -> bool:
        position, peer = max(state.position, 1), self.peer
        try:
            await call(peer, APPLY, await self._request(peer, target, state, position))
        except PeerCallFailed as failed:
            if failed.code == ReplicaPromotedException.__name__:
                await self._forget(target, now)
                return False
            raise peer_failure(peer, failed) from None
        async with self.services.store.write() as tx:
            current = await tx.replication.lock_target(target.id)
            if current is None or current.status == DETACHED:
                return False
            if current.status == IN_SYNC and current.delivered_id >= position:
                return False
            await tx.replication.update_target(
                current.id, status=IN_SYNC, status_message=None, attempts=0,
                delivered_id=max(current.delivered_id, position), updated_at=now,
            )
        return True

    async def _request(
        self, peer: Peer, target: ReplicationTarget, state: PrimaryState, position: int
    ) -> dict[str, Any]:
        """ApplyReplicaState's parameters: the state, each value sealed for this delivery."""
        primary, box = state.secret, TransferBox(peer.transfer_key)
        async with self.services.store.read() as tx:  # closed before the key ring reads (one connection)
            found = [
                (listed, await tx.secrets.get_version(primary.id, version_id=listed.version_id))
                for listed in state.versions
            ]
        versions = []
        for listed, version in found:
            if version is None or version.ciphertext is None:
                # removed since the state was read, or a rotation's AWSPENDING before createSecret
                # put its value: a later event says so (the replica gets the version once it has one)
                continue
            try:
                value = await open_value(self.services, primary, version)
            except ApiError as exc:
                raise ReplicationFailure(exc.message) from None
            sealed = box.seal(value, target.replica_arn, version.version_id, position)
            versions.append({
                "VersionId": version.version_id, "CreatedDate": version.created_at, "Kind": version.kind,
                "Stages": listed.stages, "SealedValue": b64encode(sealed).decode(),
            })
        params: dict[str, Any] = {
            "PrimaryArn": primary.arn, "ReplicaArn": target.replica_arn, "Name": primary.name, "Position": position,
            "ForceOverwriteReplicaSecret": target.overwrite, "Metadata": encode_metadata(primary), "Versions": versions,
            "NewReplica": target.delivered_id == 0,
        }
        if target.kms_key_id:
            params["KmsKeyId"] = target.kms_key_id
        return params

    async def _forget(self, target: ReplicationTarget, now: float) -> None:
        """The replica was promoted in the peer: drop the target (and the primary's PrimaryRegion with
        its last region replica), as StopReplicationToReplica does within one deployment."""
        arn = parse_secret_arn(target.primary_arn)
        assert arn is not None
        async with self.services.store.write() as tx:
            primary = await tx.secrets.get_secret(arn.account, arn.region, arn=target.primary_arn, for_update=True)
            current = await tx.replication.lock_target(target.id)
            if current is None:
                return
            await tx.replication.delete_target(current.id)
            if primary is None or primary.id != current.primary_id or primary.primary_region is None:
                return
            if not any(v.target.kind == REGION for v in await tx.replication.targets_of(primary.id)):
                change = SecretChange(self.services, tx, primary, now, PROMOTED_KIND)
                change.set(primary_region=None)
                await change.finish()
        log.info("replica %s was promoted in peer %s; replication to it stopped", target.replica_arn, self.region)

    async def failed(self, target: ReplicationTarget, message: str, retry_at: float, now: float) -> None:
        # the target is a row of this store, kept as a local region target's is
        await LocalDestination(self.services).failed(target, message, retry_at, now)

    async def remove(self, tx: Tx, target: ReplicationTarget, now: float) -> None:
        jobs = self.services.jobs
        if jobs is None:
            raise RuntimeError("removing a peer's replica needs the jobs runtime")
        position = await tx.replication.latest_event_id(target.primary_id)
        await jobs.enqueue(tx, REMOVE_JOB, f"{target.replica_arn}@{position}", {
            "peer": self.region, "primary_arn": target.primary_arn, "replica_arn": target.replica_arn,
            "position": max(position, 1),
        })
        await tx.replication.delete_target(target.id)

    async def detach(self, tx: Tx, target: ReplicationTarget, now: float) -> None:
        # Only region replicas live in peers; cross-account replicas are this deployment's own.
        await tx.replication.delete_target(target.id)


async def remove_at_peer(services: Services, job: Job) -> None:
    """The work item of :meth:`RemoteDestination.remove`: RemoveReplica at the peer (raises to retry)."""
    payload = job.payload
    peer = services.peers.get(payload["peer"])
    if peer is None or not peer.sends_to:
        log.warning("peer %s is no longer configured; its replica %s stays", payload["peer"], payload["replica_arn"])
        return
    try:
        await call(peer, REMOVE, {
            "PrimaryArn": payload["primary_arn"], "ReplicaArn": payload["replica_arn"], "Position": payload["position"],
        })
    except PeerCallFailed as failed:
        raise RuntimeError(peer_failure(peer, failed).message) from None
