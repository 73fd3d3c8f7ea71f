"""GetFunction, GetFunctionConfiguration and ListFunctions."""

from __future__ import annotations

from typing import Any

from strongroom.crypto.errors import CannotOpen
from strongroom.errors import AccessDeniedException
from strongroom.functions.changes import read_function
from strongroom.functions.errors import InvalidParameterValueException
from strongroom.functions.lookup import requested_function
from strongroom.functions.packages import open_environment
from strongroom.functions.wire import configuration
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import FunctionRow

#: ListFunctions' page size when MaxItems is not given (Lambda's default: 50).
DEFAULT_PAGE = 50
INVALID_MARKER = "The Marker is not valid: pass the NextMarker of an earlier ListFunctions answer."


async def shown(services: Services, function: FunctionRow) -> dict[str, Any]:
    """A function's FunctionConfiguration, its variables opened."""
    variables = await open_environment(services, function.account, function.region, function.arn,
                                       function.environment)
    return configuration(function, variables)


async def get_function_configuration(services: Services, ctx: RequestContext,
                                     params: dict[str, Any]) -> dict[str, Any]:
    return await shown(services, await read_function(services, ctx, requested_function(ctx, params),
                                                     "GetFunctionConfiguration"))


async def get_function(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """The configuration and the tags; the tags need ``lambda:ListTags`` too (else TagsError), as on AWS.

    The code's download location (``Code``) is not given: the package is kept only sealed here.
    """
    function = await read_function(services, ctx, requested_function(ctx, params), "GetFunction")
    out: dict[str, Any] = {"Configuration": await shown(services, function)}
    if function.tags:
        try:
            ctx.authorize("ListTags", function.arn, function)
            out["Tags"] = dict(function.tags)
        except AccessDeniedException as denied:
            out["TagsError"] = {"ErrorCode": denied.code, "Message": denied.message}
    return out


def _scope(ctx: RequestContext) -> str:
    return f"lambda:ListFunctions:{ctx.account}:{ctx.region}"


async def list_functions(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Functions in name order, ``MaxItems`` (default 50) a page; NextMarker sealed to this listing."""
    limit = params.get("MaxItems") or DEFAULT_PAGE
    after: str | None = None
    if params.get("Marker"):
        try:
            after = str(services.tokens.open(_scope(ctx), params["Marker"]))
        except CannotOpen:
            raise InvalidParameterValueException(INVALID_MARKER) from None
    async with services.store.read() as tx:
        page = await tx.functions.page(ctx.account, ctx.region, after, limit + 1)
    out: dict[str, Any] = {"Functions": [await shown(services, function) for function in page[:limit]]}
    if len(page) > limit:
        out["NextMarker"] = services.tokens.seal(_scope(ctx), page[limit - 1].name)
    return out
