"""ReplicateSecretToRegions, RemoveRegionsFromReplication and StopReplicationToReplica.

Each is one write transaction that locks the secrets it changes before the targets (primary,
replica, target: the order of every replication transaction, so two of them never wait for each
other). A primary with region replicas has its own region as PrimaryRegion (DescribeSecret's
documentation: "The Region the secret is in. If a secret is replicated to other Regions, the
replicas are listed in ReplicationStatus"); it loses it with its last region replica.
"""

from __future__ import annotations

from typing import Any

from strongroom.errors import InvalidParameterException
from strongroom.secrets.arns import parse_secret_arn
from strongroom.secrets.authorization import find_secret
from strongroom.secrets.changes import SecretChange, secret_change
from strongroom.secrets.replicas import (
    DETACHED,
    FAILED,
    REPLICA_WRITE,
    is_cross_account_replica,
    is_replica,
)
from strongroom.secrets.replication.relay import destination_for
from strongroom.secrets.replication.status import region_statuses
from strongroom.secrets.replication.targets import (
    REGION,
    add_region_targets,
    check_region_count,
    region_target,
    requested_regions,
)
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.base import Tx
from strongroom.store.records import ReplicationTarget, SecretRow

#: Ours: AWS's wording for these is not public.
ALREADY_REPLICATED = (
    "The secret already has a replica in {region} encrypted with another KMS key; remove the Region from "
    "replication first to replicate it again."
)
NOT_A_REPLICA = "The secret is not a replica secret, so there is no replication to stop."


async def replicate_secret_to_regions(
    services: Services, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    """New region replicas (a Failed one named again is tried again, with this request's settings)."""
    regions = requested_regions(services, ctx.region, params["AddReplicaRegions"])
    overwrite = bool(params.get("ForceOverwriteReplicaSecret"))
    async with secret_change(services, ctx, params["SecretId"]) as change:
        primary, tx = change.secret, change.tx
        existing = await _region_targets(change)
        new: list[tuple[str, str | None]] = []
        for region, kms_key_id in regions:
            target = existing.get(region)
            if target is None:
                new.append((region, kms_key_id))
            elif target.status == FAILED:
                again = await region_target(services, tx, primary, region, kms_key_id, overwrite, ctx.now)
                await tx.replication.update_target(
                    target.id, kms_key_id=kms_key_id, overwrite=overwrite, status=again.status,
                    status_message=again.status_message, attempts=0, next_attempt_at=ctx.now, updated_at=ctx.now,
                )
            elif target.kms_key_id != kms_key_id:
                raise InvalidParameterException(ALREADY_REPLICATED.format(region=region))
        check_region_count(len(existing) + len(new))
        await add_region_targets(services, tx, primary, new, overwrite, ctx.now)
        if primary.primary_region != primary.region:
            change.set(primary_region=primary.region)
        change.touch()
        views = await tx.replication.targets_of(primary.id)
    return {"ARN": primary.arn, "ReplicationStatus": region_statuses(views)}


async def remove_regions_from_replication(
    services: Services, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    """Delete the replicas in these regions at once; a region without one is skipped."""
    async with secret_change(services, ctx, params["SecretId"]) as change:
        primary, tx = change.secret, change.tx
        targets = await _region_targets(change)
        for region in dict.fromkeys(params["RemoveReplicaRegions"]):
            target = targets.pop(region, None)
            if target is not None:
                await destination_for(services, target).remove(tx, target, ctx.now)
                change.touch()
        if not targets and primary.primary_region is not None:
            change.set(primary_region=None)
        views = await tx.replication.targets_of(primary.id)
    return {"ARN": primary.arn, "ReplicationStatus": region_statuses(views)}


async def stop_replication_to_replica(
    services: Services, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    """Promote a replica to a standalone secret, called in the replica's region (and account).

    A region replica leaves its primary's ReplicationStatus; a cross-account replica's entry on its
    primary turns Detached (API reference, StopReplicationToReplica), and its managed policy
    ``cross-account-replication`` goes, for which the caller also needs DeleteResourcePolicy.
    """
    secret_id = params["SecretId"]
    async with services.store.read() as tx:
        seen = await find_secret(tx, ctx, secret_id)
    if not is_replica(seen):
        raise InvalidParameterException(NOT_A_REPLICA)
    also = ("DeleteResourcePolicy",) if is_cross_account_replica(seen) else ()
    async with services.store.write() as tx:
        primary = await _lock_primary(tx, seen)
        replica = await find_secret(tx, ctx, secret_id, for_update=True, also=also)
        if replica.primary_arn is None:
            raise InvalidParameterException(NOT_A_REPLICA)
        target = await tx.replication.target_of_replica(replica.arn, for_update=True)
        promotion = SecretChange(services, tx, replica, ctx.now, ctx.action)
        promotion.set(primary_arn=None, primary_region=None, replica_status=None, replica_message=None)
        if target is not None and target.primary_arn == replica.primary_arn:
            if target.kind == REGION:
                await tx.replication.delete_target(target.id)
                if primary is not None:
                    await _drop_primary_region(services, tx, ctx, primary)
            else:
                await tx.replication.update_target(target.id, status=DETACHED, status_message=None, updated_at=ctx.now)
        await promotion.finish()
    return {"ARN": replica.arn}


async def _region_targets(change: SecretChange) -> dict[str, ReplicationTarget]:
    """A primary's region targets by region; a replica (of either kind) has none to change."""
    if is_replica(change.secret):
        raise InvalidParameterException(REPLICA_WRITE)
    views = await change.tx.replication.targets_of(change.secret.id)
    return {v.target.region: v.target for v in views if v.target.kind == REGION}


async def _lock_primary(tx: Tx, replica: SecretRow) -> SecretRow | None:
    """The replica's primary, when it is in this store, locked first (see the module docstring)."""
    arn = parse_secret_arn(replica.primary_arn or "")
    if arn is None:
        return None
    return await tx.secrets.get_secret(arn.account, arn.region, arn=replica.primary_arn, for_update=True)


async def _drop_primary_region(services: Services, tx: Tx, ctx: RequestContext, primary: SecretRow) -> None:
    """A primary whose last region replica was promoted is no longer multi-Region."""
    if primary.primary_region is None:
        return
    if any(v.target.kind == REGION for v in await tx.replication.targets_of(primary.id)):
        return
    change = SecretChange(services, tx, primary, ctx.now, ctx.action)
    change.set(primary_region=None)
    await change.finish()
