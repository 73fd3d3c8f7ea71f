"""Worker processes: warm reuse, recycling, concurrency and its bound, shutdown, dying with the server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from functions_support import (
    Function,
    Runner,
    answer,
    error,
    function,
    handler_zip,
    invoke,
    process_exists,
    until,
)

from strongroom.functions.runtime import Runtime, RuntimeClosedError, RuntimeConfig

KITCHEN = handler_zip("kitchen")


def test_a_warm_worker_is_reused_with_its_module_state(run: Runner, runtime: Runtime) -> None:
    fn = function(KITCHEN, "kitchen.handler")
    first, second = answer(run(invoke(runtime, fn))), answer(run(invoke(runtime, fn)))
    assert second["pid"] == first["pid"] and (first["calls"], second["calls"]) == (1, 2)


def test_new_code_or_configuration_gets_a_new_worker_and_the_old_one_stops(run: Runner, runtime: Runtime) -> None:
    fn = function(KITCHEN, "kitchen.handler")
    old_pid = answer(run(invoke(runtime, fn)))["pid"]
    new_code = fn.with_(zip_bytes=handler_zip("kitchen", extra={"version.txt": "2"}))
    code_pid = answer(run(invoke(runtime, new_code)))["pid"]
    assert code_pid != old_pid and new_code.loads == 1
    run(until(lambda: not process_exists(old_pid)))
    new_config = new_code.with_(environment={"STAGE": "two"})
    assert answer(run(invoke(runtime, new_config)))["pid"] != code_pid
    run(until(lambda: not process_exists(code_pid)))


def test_workers_run_at_the_configured_nice_value(run: Runner, make_runtime: Callable[..., Runtime]) -> None:
    fn = function(KITCHEN, "kitchen.handler")
    pid = answer(run(invoke(make_runtime(nice=7), fn)))["pid"]
    assert os.getpriority(os.PRIO_PROCESS, pid) == 7
    autogroup = Path(f"/proc/{pid}/autogroup")
    if autogroup.exists():  # Linux with autogroups: the worker's own session's group too
        assert autogroup.read_text().split()[-1] == "7"
    default = answer(run(invoke(make_runtime(), fn)))["pid"]
    assert os.getpriority(os.PRIO_PROCESS, default) == os.getpriority(os.PRIO_PROCESS, 0)


def test_retire_stops_the_functions_warm_workers(run: Runner, runtime: Runtime) -> None:
    fn = function(KITCHEN, "kitchen.handler")
    pid = answer(run(invoke(runtime, fn)))["pid"]
    runtime.retire(fn.spec.arn)
    run(until(lambda: not process_exists(pid)))
    assert answer(run(invoke(runtime, fn)))["calls"] == 1


def test_an_idle_worker_stops_after_the_idle_timeout(run: Runner, make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(idle_timeout=0.2)
    fn = function(KITCHEN, "kitchen.handler")
    pid = answer(run(invoke(runtime, fn)))["pid"]
    run(until(lambda: not process_exists(pid)))
    assert runtime.live_workers == 0
    assert answer(run(invoke(runtime, fn)))["pid"] != pid


def _rendezvous(runtime: Runtime, fn: Function, directory: Path, expected: int, go: bool = False) -> Any:
    return invoke(runtime, fn, {"do": "rendezvous", "directory": str(directory), "expected": expected, "go": go})


def test_concurrent_invocations_run_in_separate_workers(run: Runner, runtime: Runtime, open_dir: Path) -> None:
    fn = function(KITCHEN, "kitchen.handler", timeout=60)

    async def two_at_once() -> list[Any]:
        return await asyncio.gather(*(_rendezvous(runtime, fn, open_dir, expected=2) for _ in range(2)))

    pids = {answer(result)["pid"] for result in run(two_at_once())}  # each waited for the other: they overlapped
    assert len(pids) == 2


def test_the_bound_on_workers_queues_further_invocations(run: Runner, make_runtime: Callable[..., Runtime],
                                                         open_dir: Path) -> None:
    runtime = make_runtime(max_workers=2)
    fn = function(KITCHEN, "kitchen.handler", timeout=60)

    async def three_with_room_for_two() -> list[Any]:
        tasks = [asyncio.ensure_future(_rendezvous(runtime, fn, open_dir, expected=2, go=True)) for _ in range(3)]
        await until(lambda: sum(path.name.startswith("started-") for path in open_dir.iterdir()) == 2)
        for _ in range(20):  # let the third run as far as it can: it must be waiting for a worker
            await asyncio.sleep(0.01)
        assert runtime.live_workers == 2 and sum(task.done() for task in tasks) == 0
        assert sum(path.name.startswith("started-") for path in open_dir.iterdir()) == 2
        (open_dir / "go").touch()
        return await asyncio.gather(*tasks)

    pids = [answer(result)["pid"] for result in run(three_with_room_for_two())]
    assert len(set(pids)) == 2 and runtime.live_workers == 2  # the third ran on a warm one


def test_at_the_bound_an_idle_worker_of_another_function_makes_room(run: Runner,
                                                                    make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(max_workers=1)
    first, second = function(KITCHEN, "kitchen.handler"), function(KITCHEN, "kitchen.handler")
    pid = answer(run(invoke(runtime, first)))["pid"]
    assert answer(run(invoke(runtime, second)))["pid"] != pid
    run(until(lambda: not process_exists(pid)))
    assert runtime.live_workers == 1


def test_close_lets_running_invocations_finish_then_stops_every_worker(run: Runner, python_for_workers: str,
                                                                       open_dir: Path) -> None:
    runtime = Runtime(RuntimeConfig(python=python_for_workers, shutdown_grace=30))
    fn = function(KITCHEN, "kitchen.handler", timeout=60)
    warm = function(KITCHEN, "kitchen.handler")
    idle_pid = answer(run(invoke(runtime, warm)))["pid"]

    async def close_while_running() -> Any:
        running = asyncio.ensure_future(_rendezvous(runtime, fn, open_dir, expected=1, go=True))
        await until(lambda: any(open_dir.iterdir()))
        closing = asyncio.ensure_future(runtime.close())
        await until(lambda: not process_exists(idle_pid))
        with pytest.raises(RuntimeClosedError):
            await invoke(runtime, warm)
        (open_dir / "go").touch()
        await closing
        return await running

    busy_pid = answer(run(close_while_running()))["pid"]
    assert not process_exists(busy_pid) and runtime.live_workers == 0


def test_close_kills_invocations_still_running_after_the_grace(run: Runner, python_for_workers: str,
                                                               open_dir: Path) -> None:
    runtime = Runtime(RuntimeConfig(python=python_for_workers, shutdown_grace=0.1))
    fn = function(KITCHEN, "kitchen.handler", timeout=300)

    async def close_while_running() -> Any:
        running = asyncio.ensure_future(_rendezvous(runtime, fn, open_dir, expected=1, go=True))
        await until(lambda: any(open_dir.iterdir()))
        await runtime.close()
        return await running

    assert error(run(close_while_running()))["errorType"] == "Runtime.ExitError"
    assert not runtime.work_dir.exists() and runtime.live_workers == 0


PARENT = textwrap.dedent("""
    import asyncio, json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from functions_support import function, handler_zip, invoke
    from strongroom.functions.runtime import Runtime, RuntimeConfig

    async def main():
        runtime = Runtime(RuntimeConfig(python=sys.argv[1], work_dir=Path(sys.argv[3])))
        result = await invoke(runtime, function(handler_zip("kitchen"), "kitchen.handler"))
        print(json.loads(result.payload)["pid"], flush=True)
        await asyncio.sleep(300)

    asyncio.run(main())
""")


def test_workers_die_with_the_server_process(run: Runner, python_for_workers: str, open_dir: Path) -> None:
    server = subprocess.Popen([sys.executable, "-c", PARENT, python_for_workers, str(Path(__file__).parent),
                               str(open_dir / "runtime")], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        pid = int(server.stdout.readline())
        assert process_exists(pid)
        server.send_signal(signal.SIGKILL)  # no clean-up of any kind: only the kernel can stop the worker
        server.wait()
        run(until(lambda: not process_exists(pid)))
    finally:
        server.kill()
        server.wait()


def test_the_runtime_works_under_uvloop_as_in_the_server(python_for_workers: str) -> None:
    import uvloop

    async def scenario() -> tuple[Any, Any, Any]:
        runtime = Runtime(RuntimeConfig(python=python_for_workers))
        try:
            fn = function(KITCHEN, "kitchen.handler", timeout=1)
            warm = [json.loads((await invoke(runtime, fn)).payload)["pid"] for _ in range(2)]
            timed_out = json.loads((await invoke(runtime, fn, {"do": "hang"})).payload)
            exited = json.loads((await invoke(runtime, fn, {"do": "exit", "status": 1})).payload)
            return warm, timed_out, exited
        finally:
            await runtime.close()

    loop = uvloop.new_event_loop()
    try:
        warm, timed_out, exited = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert warm[0] == warm[1] and not process_exists(warm[0])
    assert timed_out["errorType"] == "Sandbox.Timedout" and exited["errorType"] == "Runtime.ExitError"


def test_a_runtime_whose_workers_could_not_start_is_refused_at_once(open_dir: Path, python_for_workers: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("only a root server runs workers as another user")
    private = open_dir / "private"
    private.mkdir(mode=0o700)
    (private / "python3").write_bytes(Path(python_for_workers).read_bytes())
    (private / "python3").chmod(0o755)
    with pytest.raises(ValueError, match="function workers cannot start: .*/private is not searchable by uid"):
        Runtime(RuntimeConfig(python=str(private / "python3")))
    with pytest.raises(ValueError, match="function workers cannot start: .*/private is not searchable by uid"):
        Runtime(RuntimeConfig(python=python_for_workers, work_dir=private / "functions"))
    assert list(private.iterdir()) == [private / "python3"]  # the refused runtime removed what it made
