"""CreateSecret."""

from __future__ import annotations

from typing import Any

from strongroom.errors import InvalidRequestException, ResourceExistsException
from strongroom.kms.keyring import Sealer
from strongroom.secrets.arns import new_secret_arn
from strongroom.secrets.changes import resolve_sealer, secret_creation
from strongroom.secrets.lookup import check_name
from strongroom.secrets.replication.accounts import check_replica_request, make_replica
from strongroom.secrets.replication.status import region_statuses
from strongroom.secrets.replication.targets import add_region_targets, requested_regions
from strongroom.secrets.tags import check_tags, tag_pairs
from strongroom.secrets.value import SecretValue, value_from
from strongroom.secrets.versions import AWSCURRENT
from strongroom.secrets.wire import require_token
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.base import Conflict
from strongroom.store.records import SecretRow

EXISTS = "The operation failed because the secret {name} already exists."  # test_secret_exists_snapshots
SCHEDULED_FOR_DELETION = (  # recorded: test_exp_raised_on_creation_of_secret_scheduled_for_deletion
    "You can't create this secret because a secret with this name is already scheduled for deletion."
)


async def create_secret(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """A new secret; with AddReplicaRegions also its region replicas (delivered by the relay), with
    CrossAccountPrimaryARN a cross-account replica waiting for its primary (no value yet)."""
    name = params["Name"]
    check_name(name)
    primary_arn = params.get("CrossAccountPrimaryARN")
    if primary_arn is not None:
        check_replica_request(params)
    regions = requested_regions(services, ctx.region, params.get("AddReplicaRegions") or ())
    value = value_from(params)
    token = require_token(params) if value is not None else None
    tags = check_tags(tag_pairs(params["Tags"])) if params.get("Tags") is not None else None
    secret = SecretRow(
        id=0, account=ctx.account, region=ctx.region, name=name,
        arn=new_secret_arn(ctx.region, ctx.account, name), created_at=ctx.now, last_changed_at=ctx.now,
        description=params.get("Description") or None, tags=tags, secret_type=params.get("Type") or None,
    )
    ctx.authorize("CreateSecret", secret.arn, secret)
    if tags:
        ctx.authorize("TagResource", secret.arn, secret)
    if regions:
        ctx.authorize("ReplicateSecretToRegions", secret.arn, secret)
        secret.primary_region = ctx.region
    kms_key_ref = params.get("KmsKeyId")
    sealer = await resolve_sealer(services, ctx.account, ctx.region, kms_key_ref) if value or kms_key_ref else None
    secret.kms_key_id = sealer.secret_key_id(kms_key_ref) if sealer is not None else None
    if primary_arn is not None:
        make_replica(ctx, secret, primary_arn, sealer)
    overwrite = bool(params.get("ForceOverwriteReplicaSecret"))
    for attempt in (1, 2):
        try:
            return await _insert(services, ctx, secret, token, value, sealer, regions, overwrite)
        except Conflict as exc:
            # A concurrent CreateSecret of this name committed first on another instance; run
            # again to answer as AWS would (an identical retry, or ResourceExistsException).
            if attempt == 2:
                raise ResourceExistsException(EXISTS.format(name=name)) from exc
    raise AssertionError("unreachable")


async def _insert(
    services: Services, ctx: RequestContext, secret: SecretRow, token: str | None, value: SecretValue | None,
    sealer: Sealer | None, regions: list[tuple[str, str | None]], overwrite: bool,
) -> dict[str, Any]:
    async with secret_creation(services, ctx, secret, sealer) as (change, existing):
        if existing is not None:
            if existing.deleted_at is not None:
                raise InvalidRequestException(SCHEDULED_FOR_DELETION)
            if token and await change.existing_version(token, value):
                return {"ARN": existing.arn, "Name": existing.name, "VersionId": token}
            raise ResourceExistsException(EXISTS.format(name=secret.name))
        await change.insert()
        if value is not None and token is not None:
            await change.add_version(token, value, [AWSCURRENT])
        await add_region_targets(services, change.tx, secret, regions, overwrite, ctx.now)
        views = await change.tx.replication.targets_of(secret.id) if regions else []
    out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
    if token is not None:
        out["VersionId"] = token
    if views:
        out["ReplicationStatus"] = region_statuses(views)
    return out
