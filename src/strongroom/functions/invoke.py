"""Invoke: RequestResponse (200 and the function's payload), Event (202, run later) and DryRun (204).

The whole request body is the event; an empty one is ``{}``, as Lambda passes it. A function's
error is still a 200, its payload Lambda's error document and ``X-Amz-Function-Error: Unhandled``;
``LogType: Tail`` adds the last 4 KB of the invocation's log, base64, as ``X-Amz-Log-Result``.
"""

from __future__ import annotations

import base64
from typing import Any

from strongroom.functions.arns import LATEST
from strongroom.functions.changes import read_function
from strongroom.functions.events import enqueue_event
from strongroom.functions.invoker import engine
from strongroom.functions.lookup import requested_function
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services

EMPTY_EVENT = b"{}"


async def invoke(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    functions = engine(services)
    function = await read_function(services, ctx, requested_function(ctx, params), "InvokeFunction")
    event = params.get("Payload") or EMPTY_EVENT
    kind = params.get("InvocationType") or "RequestResponse"
    if kind == "DryRun":
        return {"StatusCode": 204}
    if kind == "Event":
        await enqueue_event(functions, function, event, ctx.request_id, ctx.now)
        return {"StatusCode": 202}
    result = await functions.invoke(function, event, request_id=ctx.request_id,
                                    log_tail=params.get("LogType") == "Tail")
    out: dict[str, Any] = {"StatusCode": 200, "Payload": result.payload, "ExecutedVersion": LATEST}
    if result.function_error is not None:
        out["FunctionError"] = result.function_error
    if result.log_tail is not None:
        out["LogResult"] = base64.b64encode(result.log_tail).decode()
    return out
