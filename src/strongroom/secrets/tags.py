"""Tags: validation (AWS's limits) and TagResource / UntagResource."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from strongroom.errors import InvalidParameterException
from strongroom.secrets.core import find_secret, require_active
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import SecretRow

MAX_TAGS = 50
RESERVED_PREFIX = "aws:"


def check_tags(tags: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Validate a full tag set: at most 50, no key under the reserved ``aws:`` prefix."""
    out = list(tags)
    for key, _ in out:
        if key.lower().startswith(RESERVED_PREFIX):
            raise InvalidParameterException(
                "Invalid tag key. The aws: prefix is reserved for AWS use and can't be used in tag keys."
            )
    if len(out) > MAX_TAGS:
        raise InvalidParameterException(f"The number of tags on the secret can't exceed {MAX_TAGS}.")
    return out


def tag_pairs(tags: Iterable[dict[str, Any]] | None) -> list[tuple[str, str]]:
    """Request ``Tags`` as (key, value) pairs; a repeated key keeps its last value, first position."""
    merged: dict[str, str] = {}
    for tag in tags or ():
        merged[str(tag.get("Key", ""))] = str(tag.get("Value", ""))
    return list(merged.items())


def merge_tags(
    existing: list[tuple[str, str]] | None, new: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    merged = dict(existing or ())
    merged.update(new)
    return list(merged.items())


def keep_access(ctx: RequestContext, secret_id: str, secret: SecretRow, tags: list[tuple[str, str]]) -> None:
    """Refuse a tag change that would take away the caller's own permission (AWS: TagResource,
    "If successfully completing this operation would result in you losing your permissions for
    this secret, then the operation is blocked and returns an Access Denied error"); the denial
    names the secret as the caller gave it."""
    ctx.authorize(ctx.action, secret.arn, replace(secret, tags=tags), secret_id)


async def tag_resource(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    new = tag_pairs(params["Tags"])
    check_tags(new)
    async with services.store.write() as tx:
        secret = await find_secret(tx, ctx, params["SecretId"], for_update=True)
        require_active(secret)
        tags = check_tags(merge_tags(secret.tags, new))
        keep_access(ctx, params["SecretId"], secret, tags)
        await tx.secrets.update_secret(secret.id, tags=tags, last_changed_at=ctx.now)
    return {}


async def untag_resource(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    remove = set(params["TagKeys"])
    async with services.store.write() as tx:
        secret = await find_secret(tx, ctx, params["SecretId"], for_update=True)
        require_active(secret)
        tags = [(k, v) for k, v in secret.tags or () if k not in remove]
        keep_access(ctx, params["SecretId"], secret, tags)
        await tx.secrets.update_secret(secret.id, tags=tags, last_changed_at=ctx.now)
    return {}
