"""Functions that misbehave: hang, exit, crash, flood their log, fail to import. The server is never harmed."""

from __future__ import annotations

import asyncio
import json
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from functions_support import Runner, answer, error, function, handler_zip, invoke, make_zip, process_exists, until

from strongroom.functions.runtime import Runtime
from strongroom.functions.runtime.logs import TAIL_BYTES

KITCHEN = handler_zip("kitchen")


def test_a_function_past_its_timeout_is_killed_with_its_children(run: Runner, runtime: Runtime) -> None:
    fn = function(KITCHEN, "kitchen.handler", timeout=1)
    result = run(invoke(runtime, fn, {"do": "hang"}, request_id="req-hang", log_tail=True))
    assert result.log_tail is not None
    assert re.fullmatch(r'\{"errorMessage": "RequestId: req-hang Error: Task timed out after 1\.\d\d seconds", '
                        r'"errorType": "Sandbox.Timedout"\}', result.payload.decode())
    assert result.function_error == "Unhandled" and result.duration_ms >= 1000
    started = json.loads(result.log_tail.decode().split("\n")[2])
    assert not process_exists(started["pid"])
    run(until(lambda: not process_exists(started["child"])))  # killed with the group; init reaps it
    assert re.search(r"\tStatus: timeout\t\n$", result.log_tail.decode())
    assert answer(run(invoke(runtime, fn)))["pid"] != started["pid"]  # the next invocation starts afresh


@pytest.mark.parametrize(("action", "status", "reason"), [
    ("exit", 3, "Runtime exited with error: exit status 3"),
    ("_exit", 0, "Runtime exited without providing a reason"),
    ("kill", 0, "Runtime exited with error: signal: killed"),
])
def test_a_function_that_ends_its_process_gets_lambdas_exit_error(run: Runner, runtime: Runtime, action: str,
                                                                   status: int, reason: str) -> None:
    fn = function(KITCHEN, "kitchen.handler")
    pid = answer(run(invoke(runtime, fn)))["pid"]
    result = run(invoke(runtime, fn, {"do": action, "status": status}, request_id="req-exit", log_tail=True))
    assert error(result) == {"errorMessage": f"RequestId: req-exit Error: {reason}", "errorType": "Runtime.ExitError"}
    assert result.log_tail is not None
    assert result.log_tail.endswith(b"\tStatus: error\tError Type: Runtime.ExitError\t\n")
    assert not process_exists(pid)
    fresh = answer(run(invoke(runtime, fn)))
    assert fresh["pid"] != pid and fresh["calls"] == 1


def test_a_function_that_closes_its_channel_is_killed(run: Runner, runtime: Runtime) -> None:
    fn = function(KITCHEN, "kitchen.handler")
    payload = error(run(invoke(runtime, fn, {"do": "close_channel"}, request_id="req-close")))
    assert payload["errorType"] == "Runtime.ExitError"
    assert answer(run(invoke(runtime, fn)))["calls"] == 1


def test_printing_20_mb_neither_blocks_nor_grows_memory_and_the_tail_is_the_last_4_kb(run: Runner,
                                                                                     runtime: Runtime) -> None:
    fn = function(KITCHEN, "kitchen.handler", timeout=60)
    answer(run(invoke(runtime, fn)))  # started before measuring: the log, not the start, is measured
    tracemalloc.start()
    try:
        result = run(invoke(runtime, fn, {"do": "print", "kilobytes": 20 * 1024}, request_id="req-20mb",
                            log_tail=True))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer(result) == {"printed": 20 * 1024}
    assert peak < 2 * 1024 * 1024  # 20 MB went through the parent; a few read buffers at a time stayed
    tail = result.log_tail
    assert tail is not None and len(tail) == TAIL_BYTES
    assert re.search(rb"x\nthe-end\nEND RequestId: req-20mb\nREPORT RequestId: req-20mb\t[^\n]*\t\n$", tail)
    assert tail.count(b"x" * 1023 + b"\n") >= 3


@pytest.mark.parametrize(("handler", "files", "error_type", "message"), [
    ("missing.handler", {}, "Runtime.ImportModuleError",
     "Unable to import module 'missing': No module named 'missing'"),
    ("app.nope", {"app.py": "x = 1\n"}, "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"),
    ("app", {"app.py": ""}, "Runtime.MalformedHandlerName",
     "Bad handler 'app': not enough values to unpack (expected 2, got 1)"),
    ("sys.handler", {}, "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
    ("app.handler", {"app.py": "import missing_dependency\n"}, "Runtime.ImportModuleError",
     "Unable to import module 'app': No module named 'missing_dependency'"),
])
def test_a_handler_that_cannot_be_loaded_gives_lambdas_init_error(run: Runner, runtime: Runtime, handler: str,
                                                                  files: dict[str, str], error_type: str,
                                                                  message: str) -> None:
    fn = function(make_zip(files or {"other.py": ""}), handler)
    result = run(invoke(runtime, fn, log_tail=True))
    assert error(result) == {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": []}
    assert result.log_tail is not None
    log = result.log_tail.decode()
    assert log.startswith(f"[ERROR] {error_type}: {message}\rTraceback (most recent call last):\n")
    assert log.endswith(f"\tStatus: error\tError Type: {error_type}\t\n")
    assert error(run(invoke(runtime, fn)))["errorType"] == error_type  # init is tried again, as Lambda does


def test_a_syntax_error_and_an_exception_at_import_are_init_errors(run: Runner, runtime: Runtime) -> None:
    syntax = error(run(invoke(runtime, function(make_zip({"app.py": "def (:\n"}), "app.handler"))))
    assert syntax["errorType"] == "Runtime.UserCodeSyntaxError"
    assert syntax["errorMessage"] == "Syntax error in module 'app': invalid syntax (app.py, line 1)"
    assert syntax["stackTrace"] == [f'  File "{syntax["stackTrace"][0].split(chr(34))[1]}" Line 1\n    def (:\n']
    raised = error(run(invoke(runtime, function(make_zip({"app.py": "raise RuntimeError('no config')\n"}),
                                                "app.handler"))))
    assert (raised["errorType"], raised["errorMessage"], raised["requestId"]) == ("RuntimeError", "no config", "")
    assert raised["stackTrace"][-1].endswith("line 1, in <module>\n    raise RuntimeError('no config')\n")


def test_a_handler_in_a_directory_is_found_by_path_or_by_dots(run: Runner, runtime: Runtime) -> None:
    package = make_zip({"lib/rotation.py": "def handler(event, context):\n    return 'rotated'\n"})
    for handler in ("lib/rotation.handler", "lib.rotation.handler"):
        assert answer(run(invoke(runtime, function(package, handler)))) == "rotated"


def test_an_exit_at_import_is_an_exit_error(run: Runner, runtime: Runtime) -> None:
    fn = function(make_zip({"app.py": "import sys\nsys.exit(2)\n"}), "app.handler")
    assert error(run(invoke(runtime, fn, request_id="req-i")))["errorMessage"] == \
        "RequestId: req-i Error: Runtime exited with error: exit status 2"


def test_an_init_past_the_init_timeout_is_a_timeout(run: Runner, make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(init_timeout=1)
    fn = function(make_zip({"app.py": "import time\ntime.sleep(300)\n"}), "app.handler")
    payload = error(run(invoke(runtime, fn, request_id="req-slow")))
    assert payload["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(r"RequestId: req-slow Error: Task timed out after 1\.\d\d seconds", payload["errorMessage"])
    assert runtime.live_workers == 0


def test_a_cancelled_invocation_kills_its_worker_and_frees_its_place(run: Runner, make_runtime: Callable[..., Runtime],
                                                                     open_dir: Path) -> None:
    runtime = make_runtime(max_workers=1)
    fn = function(KITCHEN, "kitchen.handler", timeout=300)

    async def cancel_while_running() -> int:
        task = asyncio.ensure_future(invoke(runtime, fn, {"do": "rendezvous", "directory": str(open_dir),
                                                          "expected": 1, "go": True}))
        await until(lambda: any(open_dir.iterdir()))
        pid = int(next(open_dir.iterdir()).name.split("-")[1])
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await until(lambda: not process_exists(pid))
        return pid

    pid = run(cancel_while_running())
    assert runtime.live_workers == 0
    assert answer(run(invoke(runtime, fn)))["pid"] != pid


def test_an_invocation_cancelled_during_the_init_leaves_no_process_and_no_files(
        run: Runner, open_dir: Path, make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(init_timeout=300)
    slow_import = f"import os, time\nopen('{open_dir}/importing-%d' % os.getpid(), 'w').close()\ntime.sleep(300)\n"
    fn = function(make_zip({"app.py": slow_import}), "app.handler")

    async def cancel_during_init() -> int:
        task = asyncio.ensure_future(invoke(runtime, fn))
        await until(lambda: any(open_dir.iterdir()))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return int(next(open_dir.iterdir()).name.split("-")[1])

    pid = run(cancel_during_init())
    assert not process_exists(pid) and runtime.live_workers == 0
    run(until(lambda: not any((runtime.work_dir / "tmp").iterdir()) and not any((runtime.work_dir / "code").iterdir())))
