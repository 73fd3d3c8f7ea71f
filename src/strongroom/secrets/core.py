"""What every Secrets Manager operation shares: dependencies, lookups, AWS messages, shapes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from strongroom.errors import (
    AccessDeniedException,
    InvalidParameterException,
    InvalidRequestException,
    ResourceNotFoundException,
    ValidationException,
)
from strongroom.secrets.arns import SecretLookup, resolve_secret_id
from strongroom.service.context import RequestContext
from strongroom.store.base import Tx
from strongroom.store.records import SecretRow

AWSCURRENT = "AWSCURRENT"
AWSPREVIOUS = "AWSPREVIOUS"
AWSPENDING = "AWSPENDING"

# AWS's messages (recorded in ../shared/reference/aws-recorded-responses.json where noted).
SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret."  # test_secret_not_found
MARKED_FOR_DELETION = (  # test_tag_untag_resource_on_deleted_secret
    "You can't perform this operation on the secret because it was marked for deletion."
)
INVALID_NAME = (  # recorded: test_invalid_secret_name (every operation taking a SecretId)
    "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
)
_VALID_NAME = re.compile(r"[A-Za-z0-9/_+=.@!-]+")
TOKEN_REQUIRED = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
BOTH_VALUES = "You can't specify both a binary secret value and a string secret value in the same secret."



def lookup_secret_id(ctx: RequestContext, secret_id: str) -> SecretLookup:
    """Interpret a SecretId (name, full or partial ARN); a bad name is AWS's ValidationException."""
    return _lookup(secret_id, ctx.account, ctx.region)


@lru_cache(maxsize=16_384)  # pure and immutable; clients read the same ids over and over
def _lookup(secret_id: str, account: str, region: str) -> SecretLookup:
    lookup = resolve_secret_id(secret_id, account, region)
    if lookup.name is not None:
        check_name(lookup.name)
    return lookup


def authorize_lookup(
    ctx: RequestContext, actions: tuple[str, ...], secret_id: str, lookup: SecretLookup, secret: SecretRow | None
) -> SecretRow:
    """Authorize each of ``actions`` on what looking up ``secret_id`` found, then return the secret.

    A missing secret is ResourceNotFoundException, once every action is allowed on the requested
    ARN. The decision is made on an existing secret's real ARN, tags and resource policy (a
    policy on ``secret:name-??????`` works). A refused caller learns nothing more: the denial
    names ``secret_id`` as the caller gave it, and when a missing secret would have been refused
    as well, the caller gets that very denial (same code, same message, same reason), so an
    existing and a missing secret cannot be told apart. Only a caller allowed on the requested
    ARN but refused by the secret itself (its resource policy, its tags) gets AccessDenied where
    a missing secret answers ResourceNotFoundException, as on AWS.
    """
    requested = lookup.arn or f"arn:aws:secretsmanager:{lookup.region}:{lookup.account}:secret:{lookup.name}"
    for action in actions:
        if secret is None:
            ctx.authorize(action, requested, None, secret_id)
            continue
        try:
            ctx.authorize(action, secret.arn, secret, secret_id)
        except AccessDeniedException:
            ctx.authorize(action, requested, None, secret_id)  # raises a missing secret's denial, if it is one
            raise
    if secret is None:
        raise ResourceNotFoundException(SECRET_NOT_FOUND)
    return secret


async def find_secret(
    tx: Tx, ctx: RequestContext, secret_id: str, *, for_update: bool = False, also: tuple[str, ...] = ()
) -> SecretRow:
    """Resolve a SecretId and authorize the request's action on it, and each action in ``also``."""
    lookup = lookup_secret_id(ctx, secret_id)
    secret = await tx.secrets.get_secret(
        lookup.account, lookup.region, name=lookup.name, arn=lookup.arn, for_update=for_update
    )
    return authorize_lookup(ctx, (ctx.action, *also), secret_id, lookup, secret)


def check_name(name: str) -> None:
    """A secret name (or a SecretId that is a name) must use AWS's character set."""
    if not _VALID_NAME.fullmatch(name):
        raise ValidationException(INVALID_NAME)


def require_active(secret: SecretRow) -> None:
    """Reads and changes of a secret scheduled for deletion fail as AWS fails them."""
    if secret.deleted_at is not None:
        raise InvalidRequestException(MARKED_FOR_DELETION)


@dataclass(frozen=True, slots=True)
class SecretValue:
    """A secret value as given by the client: a string (UTF-8) or raw binary."""

    kind: str  # "string" | "binary"
    data: bytes

    def response_fields(self) -> dict[str, Any]:
        if self.kind == "string":
            return {"SecretString": self.data.decode("utf-8")}
        return {"SecretBinary": self.data}

    def __repr__(self) -> str:  # never show a value
        return f"SecretValue(kind={self.kind!r}, length={len(self.data)})"


def value_from(params: dict[str, Any]) -> SecretValue | None:
    """The SecretString/SecretBinary of a request, or None when it has neither."""
    string, binary = params.get("SecretString"), params.get("SecretBinary")
    if string is not None and binary is not None:
        raise InvalidParameterException(BOTH_VALUES)
    if string is not None:
        return SecretValue("string", string.encode("utf-8"))
    if binary is not None:
        return SecretValue("binary", bytes(binary))
    return None


def require_token(params: dict[str, Any], error: type[Exception] = InvalidRequestException) -> str:
    """The ClientRequestToken (SDKs fill it in; raw requests must send it: recorded scenario)."""
    token = params.get("ClientRequestToken")
    if not token:
        raise error(TOKEN_REQUIRED)
    return str(token)


def tags_out(tags: list[tuple[str, str]] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags or ()]


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
