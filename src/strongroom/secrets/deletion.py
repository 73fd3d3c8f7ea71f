"""DeleteSecret, RestoreSecret, and the purge of secrets whose recovery window has passed."""

from __future__ import annotations

from typing import Any

from strongroom.errors import InvalidParameterException, InvalidRequestException, ResourceNotFoundException
from strongroom.secrets.arns import new_secret_arn, resolve_secret_id
from strongroom.secrets.changes import SecretChange, secret_change
from strongroom.secrets.messages import MARKED_FOR_DELETION
from strongroom.secrets.replicas import CROSS_ACCOUNT_DELETE, DETACHED, is_cross_account_replica
from strongroom.secrets.replication.targets import REGION
from strongroom.secrets.rotation.start import resume_schedule
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services

DAY = 86400.0
DEFAULT_RECOVERY_DAYS = 30
FORCE_AND_WINDOW = "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
WINDOW_RANGE = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
#: The outbox kind of the purge job's deletions.
PURGE = "PurgeSecret"
#: AWS's refusal (gruntwork-io/cloud-nuke#435 quotes it; regions sorted, as there).
HAS_REPLICA_REGIONS = "You can't delete secret {arn} that still has replica regions [{regions}]."
#: Ours, after the DeleteSecret documentation ("You must first disassociate each of the replicas").
HAS_CROSS_ACCOUNT_REPLICA = (
    "You can't delete secret {arn} that is associated with the cross-account replica secret {replica}. "
    "Call DisassociateCrossAccountReplica first."
)


async def delete_secret(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    window = params.get("RecoveryWindowInDays")
    force = bool(params.get("ForceDeleteWithoutRecovery"))
    if window is not None and not 7 <= int(window) <= 30:
        raise InvalidParameterException(WINDOW_RANGE)
    if force and window is not None:
        raise InvalidParameterException(FORCE_AND_WINDOW)
    try:
        async with secret_change(services, ctx, params["SecretId"], active=False) as change:
            secret = change.secret
            await _refuse_replication(change)
            if force:
                await change.purge()
                return {"ARN": secret.arn, "Name": secret.name, "DeletionDate": ctx.now}
            if secret.deleted_at is not None:
                raise InvalidRequestException(MARKED_FOR_DELETION)
            deletion_date = ctx.now + DAY * int(window if window is not None else DEFAULT_RECOVERY_DAYS)
            change.set(deleted_at=ctx.now, deletion_date=deletion_date)
    except ResourceNotFoundException:
        if not force:
            raise
        # AWS answers a forced delete of a missing secret as if it existed (LocalStack's
        # AWS-validated test_delete_non_existent_secret_returns_as_if_secret_exists).
        return _as_if_deleted(ctx, params["SecretId"])
    return {"ARN": secret.arn, "Name": secret.name, "DeletionDate": deletion_date}


async def _refuse_replication(change: SecretChange) -> None:
    """A primary goes only without replicas, a cross-account replica only once promoted (DeleteSecret's
    documentation); a cross-region replica never gets here (it refuses every change)."""
    secret = change.secret
    if is_cross_account_replica(secret):
        raise InvalidParameterException(CROSS_ACCOUNT_DELETE)
    targets = [v.target for v in await change.tx.replication.targets_of(secret.id) if v.target.status != DETACHED]
    regions = sorted(t.region for t in targets if t.kind == REGION)
    if regions:
        raise InvalidParameterException(HAS_REPLICA_REGIONS.format(arn=secret.arn, regions=", ".join(regions)))
    if targets:
        replica = targets[0].replica_arn
        raise InvalidParameterException(HAS_CROSS_ACCOUNT_REPLICA.format(arn=secret.arn, replica=replica))


def _as_if_deleted(ctx: RequestContext, secret_id: str) -> dict[str, Any]:
    lookup = resolve_secret_id(secret_id, ctx.account, ctx.region)
    name = lookup.name or lookup.arn.rsplit(":", 1)[-1].rsplit("-", 1)[0]  # type: ignore[union-attr]
    arn = lookup.arn or new_secret_arn(ctx.region, ctx.account, name)
    return {"ARN": arn, "Name": name, "DeletionDate": ctx.now}


async def restore_secret(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    async with secret_change(services, ctx, params["SecretId"], active=False) as change:
        if change.secret.deleted_at is not None:
            change.set(deleted_at=None, deletion_date=None)
            await resume_schedule(change)
    return {"ARN": change.secret.arn, "Name": change.secret.name}


async def purge_due(services: Services, now: float, batch: int = 100) -> int:
    """Remove secrets whose deletion date has passed; returns how many. Safe on many instances.

    A read looks first: a round with nothing due takes no write lock and commits nothing (a commit
    empties this process's GetSecretValue read cache). Each batch claims its rows (other instances
    skip them) and purges each through a :class:`~strongroom.secrets.changes.SecretChange`, so
    every purge leaves its outbox event.
    """
    async with services.store.read() as tx:
        if not await tx.secrets.purge_is_due(now):
            return 0
    purged = 0
    while True:
        async with services.store.write() as tx:
            due = await tx.secrets.secrets_due_for_purge(now, batch)
            for secret in due:
                change = SecretChange(services, tx, secret, now, PURGE)
                await change.purge()
                await change.finish()
        purged += len(due)
        if len(due) < batch:
            return purged
