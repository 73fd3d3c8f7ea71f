"""Tags: validation (AWS's limits) and TagResource / UntagResource."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from strongroom.errors import InvalidParameterException
from strongroom.secrets.changes import secret_change
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
    await add_tags(services, ctx, params["SecretId"], check_tags(tag_pairs(params["Tags"])))
    return {}


async def untag_resource(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await remove_tags(services, ctx, params["SecretId"], set(params["TagKeys"]))
    return {}


async def add_tags(services: Services, ctx: RequestContext, secret_id: str, new: list[tuple[str, str]]) -> None:
    """Add or overwrite tags (at most 50 in all; the caller must keep its own access)."""
    async with secret_change(services, ctx, secret_id) as change:
        tags = check_tags(merge_tags(change.secret.tags, new))
        keep_access(ctx, secret_id, change.secret, tags)
        change.set(tags=tags)


async def remove_tags(services: Services, ctx: RequestContext, secret_id: str, keys: set[str]) -> None:
    """Remove the tags with these keys (the caller must keep its own access)."""
    async with secret_change(services, ctx, secret_id) as change:
        tags = [(k, v) for k, v in change.secret.tags or () if k not in keys]
        keep_access(ctx, secret_id, change.secret, tags)
        change.set(tags=tags)
