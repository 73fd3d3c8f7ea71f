"""Finding the function a request names and authorizing the request's action on it.

Every Lambda operation is authorized as ``lambda:<action>`` on the function's ARN with the
function's resource policy (AddPermission's statements) and tags; a denied caller is refused
before it learns whether the function exists. Creating a function and changing its code run code
on the host, so they need more: an identity policy's Allow (see :func:`require_identity_allow`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.errors import AccessDeniedException, ResourceNotFoundException
from strongroom.functions.arns import FunctionRef, parse_function_name, require_latest
from strongroom.functions.errors import function_not_found
from strongroom.service.context import CallerKind, RequestContext
from strongroom.store.base import Tx
from strongroom.store.records import FunctionRow


def requested_function(ctx: RequestContext, params: Mapping[str, Any], member: str = "FunctionName") -> FunctionRef:
    """The unqualified function the request names (its FunctionName and Qualifier), in the caller's region."""
    ref = parse_function_name(params[member], ctx.account, ctx.region, params.get("Qualifier"))
    return require_latest(ref, ctx.region)


def authorize_function(ctx: RequestContext, action: str, ref: FunctionRef, function: FunctionRow | None) -> None:
    """Authorize ``action`` on the function; a caller refused for a missing function gets that very
    denial for an existing one too, so existence shows only to callers allowed on the ARN."""
    if function is None:
        ctx.authorize(action, ref.arn, None)
        return
    try:
        ctx.authorize(action, function.arn, function)
    except AccessDeniedException:
        ctx.authorize(action, ref.arn, None)  # raises a missing function's denial, if it is one
        raise


async def find_function(tx: Tx, ctx: RequestContext, ref: FunctionRef, action: str, *,
                        for_update: bool = False) -> FunctionRow:
    """The function ``ref`` names, once ``action`` is allowed on it; ResourceNotFoundException if none."""
    function = await tx.functions.get(ref.account, ref.region, ref.name, for_update=for_update)
    authorize_function(ctx, action, ref, function)
    if function is None:
        raise ResourceNotFoundException(function_not_found(ref.arn))
    return function


def require_identity_allow(ctx: RequestContext, action: str, ref: FunctionRef) -> None:
    """CreateFunction and UpdateFunctionCode also need an Allow of the caller's own identity policies.

    New code runs on the host, so neither the account root's implicit access nor a function's
    resource policy is enough: the caller's policies must allow the action (the first
    administrator's allow-all policy does). Dev mode and Strongroom's own jobs are allowed everything.
    """
    if ctx.kind is not CallerKind.API:
        return
    caller = ctx.caller
    if caller is not None and caller.principal.is_root:
        raise AccessDeniedException(
            f"User: {ctx.principal_arn} is not authorized to perform: lambda:{action} on resource: {ref.arn} "
            f"because no identity-based policy allows the lambda:{action} action")
    ctx.authorize(action, ref.arn, None)  # identity policies alone
