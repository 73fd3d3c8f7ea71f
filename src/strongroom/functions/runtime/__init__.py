"""The function runtime: runs a Lambda function's Python code as Lambda's Python runtime would.

A library with no knowledge of the server, the store or the protocol (it imports only the standard
library); the Lambda API and rotation build on it. Linux only (pidfd, PR_SET_PDEATHSIG).

Interface
---------
``Runtime(RuntimeConfig(...))``, one per server process:

- ``await runtime.invoke(spec, code, event, *, request_id, credentials=None, endpoint_url=None,
  invoked_function_arn=None, log_tail=False) -> InvocationResult(payload, function_error,
  log_tail, executed_version, duration_ms)``. ``spec`` is a :class:`FunctionSpec` (one version's
  configuration, checked against Lambda's limits); ``code`` an async callable returning the zip,
  called only when no unpacked copy of ``spec.code_sha256`` exists; ``event`` the JSON payload.
  Everything the function does (raise, hang past its timeout, exit, crash, print megabytes, return
  something unserializable or over 6 MB) comes back as Lambda's error payload with
  ``function_error == "Unhandled"``; ``log_tail`` is the last 4 KB of the log, as ``LogType: Tail``.
- ``runtime.retire(function_arn)``: its warm workers serve no more (code or configuration changed,
  function deleted). A changed ``spec`` (another ``config_key``) also recycles them by itself.
- ``await runtime.close()``: refuses new invocations, gives running ones ``shutdown_grace``, stops
  every worker and removes the runtime's directory.
- ``code.inspect(zip_bytes) -> CodeInfo`` checks a package as CreateFunction does (CodeError).
- ``reachable_interpreter(config)``: the system's interpreter of this Python's version when the
  workers' user cannot run ``config.python`` (None if it cannot run that one either);
  ``worker_interpreter(config)``: ``config.python`` if the workers' user can run it, else that one.
- ``interpreter_problem(config)``: why workers of a configuration could not start, or None (a server
  decides with it whether functions can be on, before it builds the runtime).

Executing an invocation
-----------------------
The zip is unpacked once per code hash (``code.py``) into a directory the workers can read but not
list or change. A worker (``worker.py``) is a separate process per concurrently running invocation
of a function, started with an environment built from nothing (``environment.py``), as ``nobody``
when the server runs as root (``sandbox.py``), in its own process group, dying with its parent. It
imports the handler once and is reused while warm (``pool.py``): same configuration key, not retired,
not idle longer than ``idle_timeout``; at most ``max_workers`` live, further invocations wait. The
parent (``process.py``) talks to it over a socket pair (``frames.py``), drains its stdout/stderr
into a bounded buffer (``logs.py``) and kills its process group on timeout. Payload wording:
``payloads.py``; AWS sources in docs/api.md, "Functions (Lambda-compatible)"; security model in
docs/security.md, "Functions".
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CodeError": "code", "CodeInfo": "code", "inspect": "code",
    "RuntimeClosedError": "pool",
    "EventTooLargeError": "runtime", "InvocationResult": "runtime", "Runtime": "runtime", "RuntimeConfig": "runtime",
    "interpreter_problem": "runtime", "reachable_interpreter": "runtime",
    "worker_interpreter": "runtime",
    "Credentials": "spec", "FunctionSpec": "spec", "InvalidSpecError": "spec",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Imported on first use: a worker process imports this package but only needs ``worker``'s few modules
    (importing asyncio and the rest up front cost it 120 ms of its cold start, measured under load)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
