"""ListTags, TagResource and UntagResource on a function's ARN (tags of versions and aliases: none here)."""

from __future__ import annotations

from typing import Any

from strongroom.errors import ResourceNotFoundException
from strongroom.functions.arns import FunctionRef, parse_function_name, require_latest
from strongroom.functions.changes import commit_change, read_function
from strongroom.functions.errors import NO_POLICY, TAGS_ON_QUALIFIED, InvalidParameterValueException
from strongroom.functions.settings import check_tags
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services


def tagged_function(ctx: RequestContext, params: dict[str, Any]) -> FunctionRef:
    """The function a Resource ARN names; Lambda's refusals for a qualified ARN and other resource types."""
    resource: str = params["Resource"]
    if ":function:" not in resource:  # a code-signing config, event source mapping, ...: none exist here
        raise ResourceNotFoundException(NO_POLICY)
    ref = parse_function_name(resource, ctx.account, ctx.region)
    if ref.qualifier is not None:
        raise InvalidParameterValueException(TAGS_ON_QUALIFIED)
    return require_latest(ref, ctx.region)


async def list_tags(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    function = await read_function(services, ctx, tagged_function(ctx, params), "ListTags")
    return {"Tags": dict(function.tags or {})}


async def tag_resource(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ref = tagged_function(ctx, params)
    seen = await read_function(services, ctx, ref, "TagResource")
    tags = check_tags({**(seen.tags or {}), **params["Tags"]})
    await commit_change(services, ctx, ref, "TagResource", seen, tags=tags, last_modified=seen.last_modified)
    return {}


async def untag_resource(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ref = tagged_function(ctx, params)
    seen = await read_function(services, ctx, ref, "UntagResource")
    keys = set(params["TagKeys"])
    tags = {key: value for key, value in (seen.tags or {}).items() if key not in keys}
    await commit_change(services, ctx, ref, "UntagResource", seen, tags=tags, last_modified=seen.last_modified)
    return {}
