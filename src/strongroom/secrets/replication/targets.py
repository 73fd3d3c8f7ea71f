"""A primary's replicas as targets: the regions a request may name, new targets, and the name rule.

Rules (docs/api.md, "Replication"): a replica is never in the primary's own region nor in another
partition, nor in a region this deployment does not serve ("Invalid replica region.", moto's
tests; real AWS quoted through Terraform in aws-samples/aws-health-aware#32). A replica takes its
primary's name in its region: a secret already holding that name fails the region (Status Failed,
"Secret with this name already exists in this region", the model's example StatusMessage)
unless ForceOverwriteReplicaSecret, which deletes that secret first; a replica or a primary that
has replicas is never overwritten (its own replication would break).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from strongroom.errors import InvalidParameterException
from strongroom.secrets.arns import arn_in_region, parse_secret_arn, partition_of
from strongroom.secrets.replicas import FAILED, IN_PROGRESS, is_replica
from strongroom.service.dependencies import Services
from strongroom.store.base import Tx
from strongroom.store.records import ReplicationTarget, SecretRow

INVALID_REGION = "Invalid replica region."
#: Ours: AWS's answer to a region named twice is not public.
DUPLICATE_REGION = "The Region {region} appears more than once in AddReplicaRegions."
#: Ours, a bound on what one request can create (AWS publishes none; it has about 30 regions).
MAX_REGIONS = 50
TOO_MANY_REGIONS = f"A secret can have at most {MAX_REGIONS} replica Regions."
#: The model's own example of a StatusMessage (ReplicationStatusType).
NAME_TAKEN = "Secret with this name already exists in this region"
REGION, ACCOUNT = "region", "account"


def requested_regions(
    services: Services, primary_region: str, entries: Iterable[Mapping[str, Any]]
) -> list[tuple[str, str | None]]:
    """AddReplicaRegions as (region, KmsKeyId or None), checked before anything changes."""
    out: dict[str, str | None] = {}
    for entry in entries:
        region = entry.get("Region")
        if (
            not isinstance(region, str) or region == primary_region
            or not (region in services.regions or peer_of(services, region) is not None)
            or partition_of(region) != partition_of(primary_region)
        ):
            raise InvalidParameterException(INVALID_REGION)
        if region in out:
            raise InvalidParameterException(DUPLICATE_REGION.format(region=region))
        out[region] = entry.get("KmsKeyId") or None
    check_region_count(len(out))
    return list(out.items())


def peer_of(services: Services, region: str) -> str | None:
    """The peer deployment keeping replicas in ``region`` (None: this deployment keeps them)."""
    peer = services.peers.get(region)
    return region if peer is not None and peer.sends_to else None


def check_region_count(count: int) -> None:
    if count > MAX_REGIONS:
        raise InvalidParameterException(TOO_MANY_REGIONS)


def new_target(
    primary: SecretRow, kind: str, account: str, region: str, replica_arn: str, now: float, *,
    kms_key_id: str | None = None, overwrite: bool = False, status: str = IN_PROGRESS, message: str | None = None,
    peer: str | None = None,
) -> ReplicationTarget:
    return ReplicationTarget(
        id=0, primary_id=primary.id, primary_arn=primary.arn, kind=kind, account=account, region=region,
        replica_arn=replica_arn, status=status, kms_key_id=kms_key_id, status_message=message, overwrite=overwrite,
        peer=peer, next_attempt_at=now, created_at=now, updated_at=now,
    )


def region_replica_arn(primary: SecretRow, region: str) -> str:
    parsed = parse_secret_arn(primary.arn)
    assert parsed is not None, primary.arn
    return arn_in_region(parsed, region)


async def name_holder(tx: Tx, account: str, region: str, name: str, replica_arn: str) -> SecretRow | None:
    """The secret holding a replica's name in its region, unless it is that replica itself."""
    holder = await tx.secrets.get_secret(account, region, name=name)
    return None if holder is None or holder.arn == replica_arn else holder


async def may_overwrite(tx: Tx, secret: SecretRow) -> bool:
    """ForceOverwriteReplicaSecret replaces standalone secrets only."""
    return not is_replica(secret) and not await tx.replication.targets_of(secret.id)


async def name_conflict(tx: Tx, holder: SecretRow | None, overwrite: bool) -> str | None:
    """Why a replica can't take its name (None: it can, possibly by overwriting ``holder``)."""
    if holder is None or (overwrite and await may_overwrite(tx, holder)):
        return None
    return NAME_TAKEN


async def add_region_targets(
    services: Services, tx: Tx, primary: SecretRow, regions: list[tuple[str, str | None]], overwrite: bool,
    now: float,
) -> None:
    """Targets for new region replicas; a name already taken fails its region at once."""
    for region, kms_key_id in regions:
        target = await region_target(services, tx, primary, region, kms_key_id, overwrite, now)
        await tx.replication.add_target(target)


async def region_target(
    services: Services, tx: Tx, primary: SecretRow, region: str, kms_key_id: str | None, overwrite: bool,
    now: float,
) -> ReplicationTarget:
    """A target for a region replica, Failed already when its name is taken here (the relay retries it;
    a peer deployment checks the name when the first delivery arrives)."""
    replica_arn = region_replica_arn(primary, region)
    peer = peer_of(services, region)
    message = None
    if peer is None:
        holder = await name_holder(tx, primary.account, region, primary.name, replica_arn)
        message = await name_conflict(tx, holder, overwrite)
    return new_target(
        primary, REGION, primary.account, region, replica_arn, now, kms_key_id=kms_key_id, overwrite=overwrite,
        status=FAILED if message else IN_PROGRESS, message=message, peer=peer,
    )


async def replica_key_changed(tx: Tx, replica: SecretRow, kms_key_id: str | None, now: float) -> None:
    """Show a replica's new key on its primary's target (the replica is locked: replica, then target)."""
    target = await tx.replication.target_of_replica(replica.arn, for_update=True)
    if target is not None and target.primary_arn == replica.primary_arn:
        await tx.replication.update_target(target.id, kms_key_id=kms_key_id, updated_at=now)
