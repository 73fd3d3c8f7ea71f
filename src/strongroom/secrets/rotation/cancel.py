"""CancelRotateSecret: rotation off, the function kept, a run in progress stopped.

As AWS documents, labels stay as they are: a cancelled run may leave AWSPENDING on its version,
which the caller removes with UpdateSecretVersionStage (docs/api.md, "Rotation").
"""

from __future__ import annotations

from typing import Any

from strongroom.secrets.changes import secret_change
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services


async def cancel_rotate_secret(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    async with secret_change(services, ctx, params["SecretId"]) as change:
        secret, tx = change.secret, change.tx
        running = await tx.rotations.running(secret.id)
        if secret.rotation_enabled is not False:
            change.set(rotation_enabled=False)
        await tx.rotations.set_due(secret.id, None)
        for run in running:
            await tx.rotations.update(run.id, state="cancelled", updated_at=change.now)
    out = {"ARN": secret.arn, "Name": secret.name}
    if running:
        out["VersionId"] = running[-1].version_id
    return out
