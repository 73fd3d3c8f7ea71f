"""Lambda's error payloads, word for word (sources in docs/api.md, "Functions (Lambda-compatible)").

Errors raised by the function's code and by the Python runtime (import, handler, marshalling) carry
``requestId`` and ``stackTrace``, as Lambda's Python runtime writes them; errors of the sandbox
(timeout, exit, oversized response) carry only ``errorMessage`` and ``errorType``. Both are encoded
with Python's default JSON separators, as Lambda's are. Used by the worker and by the parent.
"""

from __future__ import annotations

import json
import signal

from strongroom.functions.runtime.constants import MAX_RESPONSE_BYTES

TIMED_OUT = "Sandbox.Timedout"
EXITED = "Runtime.ExitError"
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"


def runtime_error(message: str, error_type: str, request_id: str, stack_trace: list[str]) -> bytes:
    """An error of the function's code or of the Python runtime (requestId is "" during init)."""
    return json.dumps({"errorMessage": message, "errorType": error_type, "requestId": request_id,
                       "stackTrace": stack_trace}).encode()


def _sandbox_error(message: str, error_type: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def timed_out(request_id: str, seconds: float) -> bytes:
    return _sandbox_error(f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds", TIMED_OUT)


def exited(request_id: str, returncode: int) -> bytes:
    """The process ended without answering: Go's wording for the status, as Lambda's supervisor writes it."""
    if returncode == 0:
        reason = "Runtime exited without providing a reason"
    elif returncode > 0:
        reason = f"Runtime exited with error: exit status {returncode}"
    else:
        reason = f"Runtime exited with error: signal: {signal_name(-returncode)}"
    return _sandbox_error(f"RequestId: {request_id} Error: {reason}", EXITED)


def signal_name(number: int) -> str:
    """``killed`` for SIGKILL, ``segmentation fault`` for SIGSEGV: strsignal with a lower-case start, as Go says it."""
    try:
        text = signal.strsignal(number) or f"signal {number}"
    except ValueError:
        text = f"signal {number}"
    return text[:1].lower() + text[1:]


def response_too_large() -> bytes:
    return _sandbox_error(
        f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
        RESPONSE_TOO_LARGE)
