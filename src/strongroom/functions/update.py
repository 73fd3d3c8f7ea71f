"""UpdateFunctionCode, UpdateFunctionConfiguration and DeleteFunction."""

from __future__ import annotations

import dataclasses
from typing import Any

from strongroom.functions.arns import LATEST
from strongroom.functions.changes import check_revision, commit_change, read_function
from strongroom.functions.create import checked_package
from strongroom.functions.errors import LATEST_NOT_DELETABLE, InvalidParameterValueException
from strongroom.functions.invoker import engine
from strongroom.functions.lookup import find_function, requested_function, require_identity_allow
from strongroom.functions.packages import open_environment, seal_code, seal_environment, sealer_for
from strongroom.functions.roles import check_function_role
from strongroom.functions.settings import spec_of, variables_of
from strongroom.functions.wire import configuration
from strongroom.service.context import CallerKind, RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import FunctionFields

#: UpdateFunctionConfiguration's members that are columns of their own name.
_CONFIGURATION = {"Runtime": "runtime", "Role": "role", "Handler": "handler", "Description": "description",
                  "Timeout": "timeout", "MemorySize": "memory_size"}


async def update_function_code(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """New code for $LATEST (Publish is accepted; no numbered version is made); DryRun checks only."""
    ref = requested_function(ctx, params)
    seen = await read_function(services, ctx, ref, "UpdateFunctionCode")
    require_identity_allow(ctx, "UpdateFunctionCode", ref)
    check_revision(seen, params)
    zip_bytes, info = await checked_package(params)
    variables = await open_environment(services, seen.account, seen.region, seen.arn, seen.environment)
    if params.get("DryRun"):
        return configuration(dataclasses.replace(seen, code_sha256=info.code_sha256, code_size=info.code_size),
                             variables)
    sealer = await sealer_for(services, seen.account, seen.region)
    function = await commit_change(
        services, ctx, ref, "UpdateFunctionCode", seen, code=seal_code(sealer, seen.arn, info.code_sha256, zip_bytes),
        code_sha256=info.code_sha256, code_size=info.code_size)
    engine(services).retire(function.arn)
    return configuration(function, variables)


async def update_function_configuration(services: Services, ctx: RequestContext,
                                        params: dict[str, Any]) -> dict[str, Any]:
    ref = requested_function(ctx, params)
    seen = await read_function(services, ctx, ref, "UpdateFunctionConfiguration")
    check_revision(seen, params)
    changes = FunctionFields(**{column: params[member] for member, column in _CONFIGURATION.items()  # type: ignore[typeddict-item]
                                if params.get(member) is not None})
    if "role" in changes:
        await check_function_role(services, seen.account, changes["role"], dev=ctx.kind is CallerKind.DEV)
    variables = variables_of(params)
    if variables is None:
        variables = await open_environment(services, seen.account, seen.region, seen.arn, seen.environment)
    spec_of(dataclasses.replace(seen, **changes), variables)  # type: ignore[misc]  # no code among the changes  # Lambda's checks of the whole configuration
    if params.get("Environment") is not None:
        sealer = await sealer_for(services, seen.account, seen.region)
        changes["environment"] = seal_environment(sealer, seen.arn, variables)
    function = await commit_change(services, ctx, ref, "UpdateFunctionConfiguration", seen, **changes)
    engine(services).retire(function.arn)
    return configuration(function, variables)


async def delete_function(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Delete the function with its code and policy (its waiting Event invocations are dropped when they
    come up); 204 as Lambda answers. A ``$LATEST`` qualifier is refused, as on Lambda."""
    if params.get("Qualifier") == LATEST:
        raise InvalidParameterValueException(LATEST_NOT_DELETABLE)
    ref = requested_function(ctx, params)
    async with services.store.write() as tx:
        function = await find_function(tx, ctx, ref, "DeleteFunction", for_update=True)
        await tx.functions.delete(function.id)
    engine(services).retire(function.arn)
    return {"StatusCode": 204}
