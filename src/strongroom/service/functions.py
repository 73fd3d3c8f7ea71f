"""What other services may ask of the functions service: run a function on a service's behalf.

The rotation engine (Secrets Manager's RotateSecret) invokes rotation functions through this
interface, held as ``Services.functions`` (None when functions are switched off); the functions
package implements it.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol


class FunctionResult(NamedTuple):
    """A RequestResponse invocation's outcome: the payload, and ``Unhandled`` when it is an error payload."""

    payload: bytes
    function_error: str | None


class FunctionInvoker(Protocol):
    async def invoke_for_service(self, account: str, region: str, function: str, event: Any, *,
                                 service_principal: str, source_arn: str | None = None) -> FunctionResult:
        """Run ``function`` (name or ARN, in ``account``/``region``) on ``event`` (a JSON value) for
        ``service_principal``, if the function's policy lets that principal invoke it (AccessDeniedException
        otherwise, also for a missing function)."""
        ...

    async def check_service_may_invoke(self, account: str, region: str, function: str, *,
                                       service_principal: str, source_arn: str | None = None) -> str:
        """The function's ARN if ``service_principal`` may invoke it; AccessDeniedException otherwise."""
        ...
