"""DeleteSecret, RestoreSecret, and the purge of secrets whose recovery window has passed."""

from __future__ import annotations

from typing import Any

from strongroom.errors import InvalidParameterException, InvalidRequestException
from strongroom.secrets.context import RequestContext
from strongroom.secrets.core import MARKED_FOR_DELETION, Services, find_secret

DAY = 86400.0
DEFAULT_RECOVERY_DAYS = 30
FORCE_AND_WINDOW = "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
WINDOW_RANGE = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."


async def delete_secret(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    window = params.get("RecoveryWindowInDays")
    force = bool(params.get("ForceDeleteWithoutRecovery"))
    if force and window is not None:
        raise InvalidParameterException(FORCE_AND_WINDOW)
    if window is not None and not 7 <= int(window) <= 30:
        raise InvalidParameterException(WINDOW_RANGE)
    async with services.store.write() as tx:
        secret = await find_secret(tx, ctx, params["SecretId"], for_update=True)
        if force:
            await tx.delete_secret(secret.id)
            return {"ARN": secret.arn, "Name": secret.name, "DeletionDate": ctx.now}
        if secret.deleted_at is not None:
            raise InvalidRequestException(MARKED_FOR_DELETION)
        deletion_date = ctx.now + DAY * int(window if window is not None else DEFAULT_RECOVERY_DAYS)
        await tx.update_secret(
            secret.id, deleted_at=ctx.now, deletion_date=deletion_date, last_changed_at=ctx.now
        )
    return {"ARN": secret.arn, "Name": secret.name, "DeletionDate": deletion_date}


async def restore_secret(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    async with services.store.write() as tx:
        secret = await find_secret(tx, ctx, params["SecretId"], for_update=True)
        if secret.deleted_at is not None:
            await tx.update_secret(secret.id, deleted_at=None, deletion_date=None, last_changed_at=ctx.now)
    return {"ARN": secret.arn, "Name": secret.name}


async def purge_due(services: Services, now: float, batch: int = 100) -> int:
    """Remove secrets whose deletion date has passed; returns how many. Safe on many instances."""
    purged = 0
    while True:
        async with services.store.write() as tx:
            due = await tx.secrets_due_for_purge(now, batch)
            for secret in due:
                await tx.delete_secret(secret.id)
        purged += len(due)
        if len(due) < batch:
            return purged
