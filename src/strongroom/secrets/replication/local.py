"""Replicas in this store (another region of the primary's account, or another account): the local
:class:`~strongroom.secrets.replication.destination.ReplicaDestination`.

A delivery is one write transaction that locks the replica, then the target (the order every
replication transaction follows: primary, replica, target), checks that the state is newer than
the target's position, makes the replica equal to the primary's state and records the position
and InSync. Values are re-sealed, never copied: each missing version is opened under the
primary's key (bound to the primary's ARN) and sealed under the replica's key in the replica's
region and account, bound to the replica's ARN, so the replica's ciphertext opens only as the
replica. A region replica also receives the primary's description, tags, resource policy, Type
and rotation settings; a cross-account replica, which has its own policies and lifecycle,
receives versions and labels only.
"""

from __future__ import annotations

from strongroom.errors import ApiError
from strongroom.kms.errors import KmsError
from strongroom.kms.keyring import Sealer
from strongroom.secrets.changes import MAX_ATTEMPTS, SecretChange
from strongroom.secrets.deletion import PURGE
from strongroom.secrets.kms_errors import sealing_error
from strongroom.secrets.messages import CHANGED_MEANWHILE
from strongroom.secrets.replicas import DETACHED, FAILED, IN_SYNC, is_cross_account_replica
from strongroom.secrets.replication.apply import REPLICATE, open_region_replica, sync_replica
from strongroom.secrets.replication.destination import PrimaryState, ReplicationFailure
from strongroom.secrets.replication.targets import NAME_TAKEN, REGION
from strongroom.secrets.value import SecretValue
from strongroom.secrets.versions import open_value
from strongroom.service.dependencies import Services
from strongroom.store.base import Conflict, Tx
from strongroom.store.records import ReplicationTarget, SecretRow, VersionRow

#: Ours: why a cross-account replica can't receive its primary's changes.
REPLICA_GONE = "The replica secret {arn} does not exist."
REPLICA_UNLINKED = "The replica secret {arn} is no longer a replica of this primary secret."
REPLICA_DELETED = "The replica secret {arn} is scheduled for deletion."


class LocalDestination:
    """Replicas kept in the same store as their primary."""

    __slots__ = ("services",)

    def __init__(self, services: Services) -> None:
        self.services = services

    # --- delivery ------------------------------------------------------------------------------
    async def deliver(self, target: ReplicationTarget, state: PrimaryState, now: float) -> bool:
        primary = state.secret
        for _ in range(MAX_ATTEMPTS):
            async with self.services.store.read() as tx:
                seen = await self._replica(tx, target, primary)
            own = seen if seen is not None and seen.arn == target.replica_arn else None
            sealer = await self._sealer(target, own)
            async with self.services.store.write() as tx:
                replica = await self._replica(tx, target, primary, lock=True)
                if own is not None and (replica is None or replica.kms_key_id != own.kms_key_id):
                    continue  # the replica's key changed meanwhile: resolve again (nothing was written)
                current = await tx.replication.lock_target(target.id)
                if current is None or current.status == DETACHED:
                    return False  # removed or detached meanwhile
                if current.status == IN_SYNC and current.delivered_id >= state.position:
                    return False  # as new already (a second relay, or a stale state)
                try:
                    change = await self._open(tx, current, primary, replica, sealer, now)
                except Conflict:  # its name was taken meanwhile (nothing was written)
                    raise ReplicationFailure(NAME_TAKEN) from None
                await self._sync(change, state, current)
                await change.finish()
                if current.kind != REGION:
                    await _set_replica_status(tx, change.secret, IN_SYNC, None)
                await tx.replication.update_target(
                    current.id, status=IN_SYNC, status_message=None, attempts=0,
                    delivered_id=max(current.delivered_id, state.position), updated_at=now,
                )
            return True
        raise ReplicationFailure(CHANGED_MEANWHILE)

    async def _replica(
        self, tx: Tx, target: ReplicationTarget, primary: SecretRow, lock: bool = False
    ) -> SecretRow | None:
        """A region replica's name holder in its region; a cross-account replica by its ARN."""
        if target.kind == REGION:
            return await tx.secrets.get_secret(target.account, target.region, name=primary.name, for_update=lock)
        return await tx.secrets.get_secret(target.account, target.region, arn=target.replica_arn, for_update=lock)

    async def _sealer(self, target: ReplicationTarget, replica: SecretRow | None) -> Sealer:
        """The replica's key in its account and region: its own once it exists, else the target's."""
        ref = replica.kms_key_id if replica is not None else target.kms_key_id
        try:
            return await self.services.keyring.sealer(target.account, target.region, ref)
        except KmsError as exc:
            raise ReplicationFailure(sealing_error(exc).message) from None

    async def _open(
        self, tx: Tx, target: ReplicationTarget, primary: SecretRow, found: SecretRow | None, sealer: Sealer,
        now: float,
    ) -> SecretChange:
        """The change of the replica: the existing one, or a new region replica (taking its name)."""
        if target.kind != REGION:
            if found is None:
                raise ReplicationFailure(REPLICA_GONE.format(arn=target.replica_arn))
            if found.primary_arn != primary.arn:
                raise ReplicationFailure(REPLICA_UNLINKED.format(arn=target.replica_arn))
            if found.deleted_at is not None:
                raise ReplicationFailure(REPLICA_DELETED.format(arn=target.replica_arn))
            return SecretChange(self.services, tx, found, now, REPLICATE, sealer)
        return await open_region_replica(self.services, tx, found, target, primary, sealer, now)

    async def _sync(self, change: SecretChange, state: PrimaryState, target: ReplicationTarget) -> None:
        """Versions (re-sealed), labels and, for a region replica, metadata: equal to the primary's."""
        primary = state.secret

        async def value_of(listed: VersionRow) -> SecretValue | None:
            version = await change.tx.secrets.get_version(primary.id, version_id=listed.version_id)
            if version is None or version.ciphertext is None:
                # removed since it was read, or a rotation's AWSPENDING before createSecret put its
                # value: a later event says so (the replica gets the version once it has a value)
                return None
            try:
                return await open_value(self.services, primary, version)
            except ApiError as exc:
                raise ReplicationFailure(exc.message) from None

        await sync_replica(change, state.versions, value_of, primary if target.kind == REGION else None)

    async def failed(self, target: ReplicationTarget, message: str, retry_at: float, now: float) -> None:
        async with self.services.store.write() as tx:
            replica = None
            if target.kind != REGION:
                replica = await tx.secrets.get_secret(
                    target.account, target.region, arn=target.replica_arn, for_update=True
                )
            current = await tx.replication.lock_target(target.id)
            if current is None or current.status == DETACHED:
                return
            if replica is not None and replica.primary_arn == current.primary_arn:
                await _set_replica_status(tx, replica, FAILED, message)
            await tx.replication.update_target(
                current.id, status=FAILED, status_message=message, attempts=current.attempts + 1,
                next_attempt_at=retry_at, updated_at=now,
            )

    # --- the operations' part ------------------------------------------------------------------
    async def remove(self, tx: Tx, target: ReplicationTarget, now: float) -> None:
        replica = await tx.secrets.get_secret(target.account, target.region, arn=target.replica_arn, for_update=True)
        if replica is not None and replica.primary_arn == target.primary_arn:
            # AWS: "When you delete a replica, it is deleted immediately" (DeleteSecret's documentation).
            purge = SecretChange(self.services, tx, replica, now, PURGE)
            await purge.purge()
            await purge.finish()
        await tx.replication.delete_target(target.id)

    async def detach(self, tx: Tx, target: ReplicationTarget, now: float) -> None:
        replica = await tx.secrets.get_secret(target.account, target.region, arn=target.replica_arn, for_update=True)
        if replica is not None and replica.primary_arn == target.primary_arn and is_cross_account_replica(replica):
            await _set_replica_status(tx, replica, DETACHED, None)
        await tx.replication.delete_target(target.id)


async def _set_replica_status(tx: Tx, replica: SecretRow, status: str, message: str | None) -> None:
    """A cross-account replica's own view of its replication. Not a change of the secret (no outbox
    event, no LastChangedDate), as recording LastAccessedDate is not."""
    if (replica.replica_status, replica.replica_message) != (status, message):
        await tx.secrets.update_secret(replica.id, replica_status=status, replica_message=message)
