"""CreateFunction, and the package checks it shares with UpdateFunctionCode."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from strongroom.functions.changes import new_revision_id
from strongroom.functions.errors import (
    NO_CODE_SOURCE,
    RUNTIME_AND_HANDLER,
    InvalidParameterValueException,
    ResourceConflictException,
    function_exists,
)
from strongroom.functions.lookup import requested_function, require_identity_allow
from strongroom.functions.packages import seal_code, seal_environment, sealer_for
from strongroom.functions.roles import check_function_role
from strongroom.functions.runtime import CodeError, CodeInfo, inspect
from strongroom.functions.settings import (
    DEFAULT_MEMORY_SIZE,
    DEFAULT_TIMEOUT,
    check_tags,
    spec_of,
    variables_of,
)
from strongroom.functions.wire import configuration
from strongroom.service.context import CallerKind, RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import FunctionRow


async def checked_package(code: Mapping[str, Any] | None) -> tuple[bytes, CodeInfo]:
    """The request's ZipFile and what :func:`~strongroom.functions.runtime.inspect` finds in it (every
    entry read and its CRC checked, in a thread: a package may be 50 MB); Lambda's message if it is refused."""
    zip_bytes = (code or {}).get("ZipFile")
    if not zip_bytes:
        raise InvalidParameterValueException(NO_CODE_SOURCE)
    try:
        return zip_bytes, await asyncio.to_thread(inspect, zip_bytes)
    except CodeError as exc:
        raise InvalidParameterValueException(str(exc)) from None


async def create_function(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ref = requested_function(ctx, params)
    tags = check_tags(params["Tags"]) if params.get("Tags") is not None else None
    require_identity_allow(ctx, "CreateFunction", ref)  # the function does not exist yet: no resource policy
    if tags:
        ctx.authorize("TagResource", ref.arn, None)
    runtime, handler = params.get("Runtime"), params.get("Handler")
    if not runtime or not handler:
        raise InvalidParameterValueException(RUNTIME_AND_HANDLER)
    await check_function_role(services, ref.account, params["Role"], dev=ctx.kind is CallerKind.DEV)
    zip_bytes, info = await checked_package(params.get("Code"))
    variables = variables_of(params) or {}
    function = FunctionRow(
        id=0, account=ref.account, region=ref.region, name=ref.name, arn=ref.arn, runtime=runtime,
        role=params["Role"], handler=handler, description=params.get("Description") or "",
        timeout=params.get("Timeout") or DEFAULT_TIMEOUT, memory_size=params.get("MemorySize") or DEFAULT_MEMORY_SIZE,
        environment=None, code_sha256=info.code_sha256, code_size=info.code_size, tags=tags, resource_policy=None,
        revision_id=new_revision_id(), last_modified=ctx.now, created_at=ctx.now,
    )
    spec_of(function, variables)  # Lambda's checks of the whole configuration
    sealer = await sealer_for(services, ref.account, ref.region)
    function.environment = seal_environment(sealer, function.arn, variables)
    sealed = seal_code(sealer, function.arn, info.code_sha256, zip_bytes)
    async with services.store.write() as tx:
        if await tx.functions.insert(function, sealed) is None:
            raise ResourceConflictException(function_exists(ref.name))
    return configuration(function, variables)
