"""UpdateSecret and UpdateSecretVersionStage."""

from __future__ import annotations

from typing import Any

from strongroom.errors import InvalidParameterException, ResourceNotFoundException
from strongroom.kms.errors import KmsError
from strongroom.secrets.core import (
    AWSCURRENT,
    find_secret,
    require_active,
    require_token,
    value_from,
)
from strongroom.secrets.kms_errors import sealing_error
from strongroom.secrets.values import write_value
from strongroom.secrets.versions import attach_labels, open_value, seal_value
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services


async def update_secret(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Change description, Type and/or KMS key; with a value, also create a new AWSCURRENT version."""
    value = value_from(params)
    changes: dict[str, Any] = {}
    if "Description" in params:
        changes["description"] = params["Description"] or None
    if "Type" in params:
        changes["secret_type"] = params["Type"] or None
    new_key = params.get("KmsKeyId")
    if new_key is not None:
        try:
            changes["kms_key_id"] = await services.keyring.secret_key_id(ctx.account, ctx.region, new_key)
        except KmsError as exc:
            raise sealing_error(exc) from None
    if value is not None:
        token = require_token(params)
        secret, _ = await write_value(
            services, ctx, params["SecretId"], value, token, [AWSCURRENT], kms_key_id=new_key, **changes
        )
        if new_key is not None:
            await reseal_labelled(services, ctx, params["SecretId"], skip={token})
        return {"ARN": secret.arn, "Name": secret.name, "VersionId": token}
    async with services.store.write() as tx:
        secret = await find_secret(tx, ctx, params["SecretId"], for_update=True)
        require_active(secret)
        await tx.secrets.update_secret(secret.id, last_changed_at=ctx.now, **changes)
    if new_key is not None:
        await reseal_labelled(services, ctx, params["SecretId"])
    return {"ARN": secret.arn, "Name": secret.name}


async def reseal_labelled(
    services: Services, ctx: RequestContext, secret_id: str, skip: set[str] | None = None
) -> None:
    """After a KMS key change, re-encrypt the labelled versions under the secret's new key."""
    async with services.store.write() as tx:
        secret = await find_secret(tx, ctx, secret_id, for_update=True)
        for version_id in await tx.secrets.stage_map(secret.id):
            if skip and version_id in skip:
                continue
            version = await tx.secrets.get_version(secret.id, version_id=version_id)
            if version is None:
                continue
            value = await open_value(services, secret, version)
            sealed = await seal_value(services, secret, secret.kms_key_id, version_id, value)
            await tx.secrets.update_version_ciphertext(secret.id, version_id, sealed)


def _attached_elsewhere(stage: str, holder: str, remove_from: str | None) -> str:
    """Why a label on another version can't move: RemoveFromVersionId missing (moto's and floci's
    wording; AWS's is not public) or naming a version that does not have the label (our wording)."""
    if remove_from is None:
        return (
            f"The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached "
            f"to version {holder}, so you must explicitly reference that version in RemoveFromVersionId."
        )
    return (
        f"Staging label {stage} is currently attached to version {holder}, not to version {remove_from} "
        f"given in RemoveFromVersionId. To move the label, specify RemoveFromVersionId {holder}."
    )


async def update_secret_version_stage(
    services: Services, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    """Move, attach or detach one staging label (AWSPREVIOUS follows AWSCURRENT)."""
    stage = params["VersionStage"]
    remove_from = params.get("RemoveFromVersionId")
    move_to = params.get("MoveToVersionId")
    async with services.store.write() as tx:
        secret = await find_secret(tx, ctx, params["SecretId"], for_update=True)
        require_active(secret)
        stage_map = await tx.secrets.stage_map(secret.id)
        holder = next((vid for vid, labels in stage_map.items() if stage in labels), None)
        if move_to is not None:
            if await tx.secrets.get_version(secret.id, version_id=move_to, with_value=False) is None:
                raise ResourceNotFoundException(
                    f"Secrets Manager can't find the specified secret value for VersionId: {move_to}"
                )
            if holder is not None and holder != move_to and remove_from != holder:
                raise InvalidParameterException(_attached_elsewhere(stage, holder, remove_from))
            if holder != move_to:
                await attach_labels(tx, secret.id, move_to, [stage])
        elif remove_from is not None:
            if holder != remove_from:
                raise InvalidParameterException(
                    f"The staging label {stage} is not attached to version {remove_from}."
                )
            if stage == AWSCURRENT:
                raise InvalidParameterException(
                    "You can't remove the staging label AWSCURRENT from a version without moving it to "
                    "another version. Specify MoveToVersionId."
                )
            await tx.secrets.remove_stage(secret.id, stage)
        else:
            raise InvalidParameterException(
                "You must specify MoveToVersionId, RemoveFromVersionId, or both."
            )
        await tx.secrets.update_secret(secret.id, last_changed_at=ctx.now)
    return {"ARN": secret.arn, "Name": secret.name}

