"""The worker process: imports one function's handler and runs its invocations, one at a time.

Started by the runtime (``process.py``) as ``python -I -X utf8 -c BOOTSTRAP`` with an environment
built from nothing, already as the unprivileged user when the server runs as root. Before any code
of the function runs it asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG), lowers
its resource limits and marks its channel to the parent non-inheritable. It then behaves as Lambda's
Python runtime (awslambdaric): imports the handler, reports ``ready`` or the init error, and for each
``invoke`` message calls ``handler(event, context)`` and answers ``result`` (the marshalled value) or
``error`` (Lambda's error payload). The handler's stdout and stderr are the log pipe the parent reads.
The parent closing the channel is the cue to exit; timeouts are the parent's job (it kills the group).
"""

from __future__ import annotations

import decimal
import importlib
import io
import json
import logging
import os
import resource
import signal
import socket
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

from strongroom.functions.runtime import frames, payloads
from strongroom.functions.runtime.constants import CREDENTIAL_VARIABLES
from strongroom.functions.runtime.context import LambdaContext

if TYPE_CHECKING:
    from collections.abc import Callable

    Handler = Callable[[Any, LambdaContext], Any]

PR_SET_PDEATHSIG = 1
MAX_OPEN_FILES = 1024
"""Lambda's file-descriptor limit."""
_ERROR_LINE_SEPARATOR = "\r"
_ERROR_INDENT = "\u00a0"


class Fault(Exception):
    """An error of the runtime itself (Lambda's ``Runtime.*`` types) rather than of the function's code."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace or []


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when the runtime's process dies, whatever the function does."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def limit_resources(memory_mb: int, max_processes: int) -> None:
    """No core dumps, Lambda's 1024 open files, ``memory_mb`` of heap (RLIMIT_DATA) and, when given,
    at most ``max_processes`` processes and threads of the workers' user (RLIMIT_NPROC): no fork bomb.

    RLIMIT_DATA counts the heap and private writable mappings but not shared libraries or
    reservations, so it is the closest a process limit comes to Lambda's memory size: Python with
    boto3 and a client uses about 35 MB of it. RLIMIT_NPROC counts every process of the user, so the
    runtime sets it only when workers have a user of their own. Limits are only ever lowered.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    limits = [(resource.RLIMIT_NOFILE, MAX_OPEN_FILES), (resource.RLIMIT_DATA, memory_mb << 20)]
    if max_processes:
        limits.append((resource.RLIMIT_NPROC, max_processes))
    for limit, value in limits:
        _, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(limit, (value, value))


def configure_output() -> None:
    """Write through on every line, as Lambda's runtime does, so the log keeps up with the function."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True, write_through=True)


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def configure_logging() -> _RequestIdFilter:
    """The root logger writes to stdout in Lambda's text format, with the request id."""
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"))
    handler.terminator = ""
    request_ids = _RequestIdFilter()
    handler.addFilter(request_ids)
    logging.getLogger().addHandler(handler)
    return request_ids


def load_handler(name: str) -> Handler:
    """Lambda's rules: ``module.function``, the module a dotted or ``/``-separated path."""
    try:
        module_name, function_name = name.rsplit(".", 1)
    except ValueError as exc:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{name}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise Fault("Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise Fault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace) from None
    try:
        return getattr(module, function_name)  # type: ignore[no-any-return]
    except AttributeError:
        raise Fault("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'") from None


def user_stack(exc: BaseException) -> list[str]:
    """The traceback without this module's own frames at its start, as Lambda formats it."""
    frames_ = traceback.extract_tb(exc.__traceback__)
    while frames_ and frames_[0].filename == __file__:
        frames_.pop(0)
    return traceback.format_list(frames_)


def error_payload(exc: Exception, request_id: str) -> tuple[bytes, str, str, list[str]]:
    """The payload for an exception, and its type, message and stack for the log."""
    if isinstance(exc, Fault):
        error_type, message, trace = exc.error_type, exc.message, exc.trace
    else:
        error_type, message, trace = type(exc).__name__, str(exc), user_stack(exc)
    return payloads.runtime_error(message, error_type, request_id, trace), error_type, message, trace


def log_error(error_type: str, message: str, trace: list[str]) -> None:
    """``[ERROR] Type: message`` and the traceback as one record, lines joined by CR as Lambda writes them."""
    lines = [f"[ERROR] {error_type}: {message}" if message else f"[ERROR] {error_type}",
             "Traceback (most recent call last):"]
    for element in trace:
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append(_ERROR_INDENT * (len(line) - len(stripped)) + stripped)
    sys.stdout.write(_ERROR_LINE_SEPARATOR.join(lines) + "\n")


class _Encoder(json.JSONEncoder):
    """Decimals as numbers, as Lambda's encoder writes them (boto3's DynamoDB values are Decimals)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return int(o) if o.is_finite() and o == o.to_integral_value() else float(o)
        return super().default(o)


def marshal(result: Any) -> bytes:
    if isinstance(result, bytes):
        return result
    ensure_ascii = os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12"  # awslambdaric's rule
    try:
        return json.dumps(result, cls=_Encoder, ensure_ascii=ensure_ascii).encode()
    except (TypeError, ValueError, OverflowError) as exc:
        raise Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


def unmarshal(event: bytes) -> Any:
    try:
        return json.loads(event)
    except ValueError as exc:
        raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None


def apply_credentials(credentials: dict[str, str] | None) -> None:
    """The role's current credentials in the environment, where boto3 finds them."""
    for name in CREDENTIAL_VARIABLES:
        os.environ.pop(name, None)
    if credentials:
        os.environ.update({name: credentials[name] for name in CREDENTIAL_VARIABLES})


def end_output(tag: str) -> None:
    """Flush what the function printed and mark its end on the log pipe (see :func:`frames.end_marker`)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        os.write(1, frames.end_marker(tag))
    except OSError:  # the function closed its stdout: the parent stops waiting for the marker
        pass


def invoke(handler: Handler, header: dict[str, Any], event: bytes, request_ids: _RequestIdFilter) -> tuple[str, bytes]:
    request_id = str(header["request_id"])
    request_ids.request_id = request_id
    apply_credentials(header.get("credentials"))
    context = LambdaContext(request_id, str(header["invoked_function_arn"]), int(header["deadline_ms"]))
    try:
        return "result", marshal(handler(unmarshal(event), context))
    except Exception as exc:
        payload, error_type, message, trace = error_payload(exc, request_id)
        log_error(error_type, message, trace)
        return "error", payload
    finally:
        end_output(request_id)


def main(argv: list[str]) -> None:
    """``SOCKET_FD PARENT_PID MAX_PROCESSES`` (0: no limit); the function is described by the Lambda variables."""
    channel_fd, parent_pid, max_processes = (int(argument) for argument in argv[:3])
    die_with_parent(parent_pid)
    limit_resources(int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]), max_processes)
    os.set_inheritable(channel_fd, False)
    channel = socket.socket(fileno=channel_fd)
    configure_output()
    request_ids = configure_logging()
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[:0] = [task_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except Exception as exc:
        payload, error_type, message, trace = error_payload(exc, "")
        log_error(error_type, message, trace)
        end_output("init")
        frames.send(channel, {"type": "error"}, payload)
        return
    end_output("init")
    frames.send(channel, {"type": "ready"})
    while (received := frames.receive(channel)) is not None:
        header, event = received
        kind, payload = invoke(handler, header, event, request_ids)
        frames.send(channel, {"type": kind}, payload)


if __name__ == "__main__":
    main(sys.argv[1:])
