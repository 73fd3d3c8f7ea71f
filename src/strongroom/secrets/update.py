"""UpdateSecret and UpdateSecretVersionStage."""

from __future__ import annotations

from typing import Any

from strongroom.errors import InvalidParameterException, ResourceNotFoundException
from strongroom.secrets.changes import secret_change
from strongroom.secrets.replicas import is_replica
from strongroom.secrets.replication.targets import replica_key_changed
from strongroom.secrets.value import SecretValue, value_from
from strongroom.secrets.versions import AWSCURRENT
from strongroom.secrets.wire import require_token
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import SecretFields


async def update_secret(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Change description, Type and/or KMS key; with a value, also create a new AWSCURRENT version."""
    value = value_from(params)
    fields: SecretFields = {}
    if "Description" in params:
        fields["description"] = params["Description"] or None
    if "Type" in params:
        fields["secret_type"] = params["Type"] or None
    token = require_token(params) if value is not None else None
    return await change_secret(services, ctx, params["SecretId"], fields, params.get("KmsKeyId"), value, token)


async def change_secret(
    services: Services, ctx: RequestContext, secret_id: str, fields: SecretFields, new_key: str | None,
    value: SecretValue | None, token: str | None,
) -> dict[str, Any]:
    """UpdateSecret in one transaction: ``fields``, a new KMS key with the labelled versions re-encrypted
    under it, and a new AWSCURRENT version (an identical retry of that version changes nothing).

    A replica takes a new key alone ("A replica secret can't be updated independently from its
    primary secret, except for its encryption key", User Guide, "Promote a replica secret"); its
    primary's ReplicationStatus then shows that key.
    """
    key_only = new_key is not None and value is None and not fields
    async with secret_change(
        services, ctx, secret_id, sealing=value is not None, new_key=new_key, replica=key_only
    ) as change:
        secret = change.secret
        out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
        if value is not None and token is not None:
            out["VersionId"] = token
            if await change.existing_version(token, value) is not None:
                return out
            await change.add_version(token, value, [AWSCURRENT])
        if new_key is not None:
            assert change.sealer is not None
            kms_key_id = change.sealer.secret_key_id(new_key)
            change.set(kms_key_id=kms_key_id)
            await change.reseal_labelled()
            if is_replica(secret):
                await replica_key_changed(change.tx, secret, kms_key_id, ctx.now)
        change.set(**fields)
        return out


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
    async with secret_change(services, ctx, params["SecretId"]) as change:
        secret, tx = change.secret, change.tx
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
                await change.attach_labels(move_to, [stage])
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
            await change.remove_label(stage)
        else:
            raise InvalidParameterException(
                "You must specify MoveToVersionId, RemoveFromVersionId, or both."
            )
        change.touch()
    return {"ARN": secret.arn, "Name": secret.name}

