"""DescribeSecret and ListSecretVersionIds: metadata, never values."""

from __future__ import annotations

from typing import Any

from strongroom.secrets.authorization import find_secret
from strongroom.secrets.replication.status import replication_fields
from strongroom.secrets.tokens import offset_page
from strongroom.secrets.wire import secret_metadata
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services

DEFAULT_KEY_NAME = "DefaultEncryptionKey"  # recorded: test_deprecated_secret_version_stage


async def describe_secret(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    async with services.store.read() as tx:
        secret = await find_secret(tx, ctx, params["SecretId"])
        stages = await tx.secrets.stage_map(secret.id)
        targets = await tx.replication.targets_of(secret.id)
    out = secret_metadata(secret, stages, "VersionIdsToStages")
    out.update(replication_fields(secret, targets))
    return out


async def list_secret_version_ids(
    services: Services, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    """Versions with labels; deprecated (unlabelled) ones too with IncludeDeprecated."""
    async with services.store.read() as tx:
        secret = await find_secret(tx, ctx, params["SecretId"])
        versions = await tx.secrets.list_versions(secret.id)
    if not params.get("IncludeDeprecated"):
        versions = [v for v in versions if v.stages]
    scope = f"ListSecretVersionIds|{secret.arn}|{bool(params.get('IncludeDeprecated'))}"
    page, next_token = offset_page(
        services.tokens, scope, versions, params.get("NextToken"), int(params.get("MaxResults") or 100)
    )
    kms_key_ids = [secret.kms_key_id or DEFAULT_KEY_NAME]
    entries = []
    for v in page:
        entry: dict[str, Any] = {"VersionId": v.version_id}
        if v.stages:
            entry["VersionStages"] = v.stages
        if v.last_accessed_at is not None:
            entry["LastAccessedDate"] = v.last_accessed_at
        entry["CreatedDate"] = v.created_at
        entry["KmsKeyIds"] = kms_key_ids
        entries.append(entry)
    out: dict[str, Any] = {"Versions": entries}
    if next_token is not None:
        out["NextToken"] = next_token
    out["ARN"] = secret.arn
    out["Name"] = secret.name
    return out
