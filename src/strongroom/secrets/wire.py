"""Request members and response shapes several Secrets Manager operations share."""

from __future__ import annotations

from typing import Any

import orjson

from strongroom.errors import InvalidRequestException
from strongroom.secrets.messages import TOKEN_REQUIRED
from strongroom.store.records import SecretRow


def require_token(params: dict[str, Any], error: type[Exception] = InvalidRequestException) -> str:
    """The ClientRequestToken (SDKs fill it in; raw requests must send it: recorded scenario)."""
    token = params.get("ClientRequestToken")
    if not token:
        raise error(TOKEN_REQUIRED)
    return str(token)


def tags_out(tags: list[tuple[str, str]] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags or ()]


def version_response(secret: SecretRow, version_id: str, stages: list[str]) -> dict[str, Any]:
    return {"ARN": secret.arn, "Name": secret.name, "VersionId": version_id, "VersionStages": stages}


def secret_metadata(secret: SecretRow, stages: dict[str, list[str]], stages_key: str) -> dict[str, Any]:
    """DescribeSecret / ListSecrets entry: only the keys that apply (AWS omits, never nulls)."""
    out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
    if secret.secret_type is not None:
        out["Type"] = secret.secret_type
    if secret.description is not None:
        out["Description"] = secret.description
    if secret.kms_key_id:
        out["KmsKeyId"] = secret.kms_key_id
    if secret.rotation_enabled is not None:
        out["RotationEnabled"] = secret.rotation_enabled
    if secret.rotation_lambda_arn:
        out["RotationLambdaARN"] = secret.rotation_lambda_arn
    if secret.rotation_rules:
        out["RotationRules"] = orjson.loads(secret.rotation_rules)
    if secret.last_rotated_at is not None:
        out["LastRotatedDate"] = secret.last_rotated_at
    out["LastChangedDate"] = secret.last_changed_at
    if secret.last_accessed_at is not None:
        out["LastAccessedDate"] = secret.last_accessed_at
    if secret.deletion_date is not None:  # AWS: "the date the secret is scheduled for deletion"
        out["DeletedDate"] = secret.deletion_date
    if secret.next_rotation_at is not None and secret.rotation_enabled:
        out["NextRotationDate"] = secret.next_rotation_at
    if secret.tags is not None:
        out["Tags"] = tags_out(secret.tags)
    if stages:
        out[stages_key] = stages
    if secret.owning_service:
        out["OwningService"] = secret.owning_service
    out["CreatedDate"] = secret.created_at
    if secret.primary_region:
        out["PrimaryRegion"] = secret.primary_region
    return out
