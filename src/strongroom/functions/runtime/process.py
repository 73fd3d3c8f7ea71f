"""One worker process as the runtime sees it: started, sent invocations, killed.

The worker runs in its own session (so its whole process group can be killed at once), with only
its end of a socket pair beyond stdin/stdout/stderr; stdout and stderr are one pipe drained by a
:class:`~strongroom.functions.runtime.logs.LogCapture`. Its exit is watched through a pidfd, so an
exit is noticed at once whatever the event loop (asyncio's or uvloop's): the group is then killed
(background processes never outlive their worker) and the process reaped. A timeout kills the group.
Every outcome, including a worker that crashed, hung or broke the protocol, becomes a Lambda
payload (:class:`Outcome`); only the server's own failures (cannot start a process) raise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import site
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import strongroom
from strongroom.functions.runtime import frames, payloads
from strongroom.functions.runtime.constants import MAX_RESPONSE_BYTES
from strongroom.functions.runtime.logs import LogCapture
from strongroom.functions.runtime.sandbox import WorkerIdentity

log = logging.getLogger("strongroom.functions")

BOOTSTRAP = (
    "import site, sys\n"
    "for directory in filter(None, sys.argv[1].split(':')):\n"
    "    site.addsitedir(directory)\n"
    "from strongroom.functions.runtime.worker import main\n"
    "main(sys.argv[2:])\n"
)
"""Run with ``python -I -X utf8 -c``: isolated from PYTHON* variables; the search path comes in argv."""

LOG_WAIT_SECONDS = 1.0
"""How long to wait for the rest of an invocation's output once its answer has come (normally microseconds)."""
MAX_PROCESSES = 1024
"""Lambda's limit on processes and threads, for all workers together when they have a user of their own."""
EXIT_WAIT_SECONDS = 1.0
"""How long a worker that closed its channel may take to exit before it is killed."""


def worker_search_path() -> str:
    """Where the worker finds strongroom and boto3: this interpreter's site directories and strongroom's parent.

    Given to the worker explicitly, so its interpreter may be another one the worker's user can run.
    """
    directories = [*site.getsitepackages(), str(Path(strongroom.__file__).resolve().parent.parent)]
    return ":".join(dict.fromkeys(directories))


@dataclass(frozen=True)
class Launch:
    """How to start a worker."""

    python: str
    search_path: str
    environment: dict[str, str]
    task_root: Path
    identity: WorkerIdentity
    nice: int = 0


@dataclass(frozen=True)
class Outcome:
    """What became of an invocation (or of the init that failed before it)."""

    payload: bytes
    failed: bool
    """True for every error payload: Invoke's ``X-Amz-Function-Error: Unhandled``."""
    reusable: bool
    output: bytes
    """The end of what the function printed (see logs.LogCapture)."""
    duration_ms: float
    status: str | None = None
    """``timeout`` or ``error`` on the REPORT line, for timeouts and crashes."""
    error_type: str | None = None


def lower_priority(pid: int, nice: int) -> None:
    """Give the worker ``pid`` the nice value ``nice``, and its autogroup too: a worker leads a
    session of its own, and where the kernel groups sessions for scheduling (Linux autogroup) a
    process's nice value only orders it within its group, while each group gets an equal share."""
    if nice <= 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    except OSError as exc:
        log.warning("could not lower the priority of function worker %d: %s", pid, exc)
    try:
        with open(f"/proc/{pid}/autogroup", "w") as autogroup:
            autogroup.write(str(nice))
    except OSError:
        pass  # no autogroups here (not Linux, or CONFIG_SCHED_AUTOGROUP off)


def _identity_arguments(identity: WorkerIdentity) -> dict[str, Any]:
    if identity.uid is None:
        return {}
    return {"user": identity.uid, "group": identity.gid, "extra_groups": []}


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[bytes], log: LogCapture) -> None:
        self._process = process
        self.pid = process.pid
        self.log = log
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.init_ms = 0.0
        self.init_output = b""
        self.peak_memory_mb = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._log_transport: asyncio.BaseTransport | None = None
        self._pidfd: int | None = None

    @classmethod
    async def start(cls, launch: Launch, init_timeout: float, request_id: str) -> tuple[WorkerProcess, Outcome | None]:
        """Start a worker and wait for its init; the Outcome is the init's failure (the worker is then dead)."""
        parent_end, child_end = socket.socketpair()
        log_read, log_write = os.pipe()
        max_processes = MAX_PROCESSES if launch.identity.uid is not None else 0
        command = [launch.python, "-I", "-X", "utf8", "-c", BOOTSTRAP, launch.search_path,
                   str(child_end.fileno()), str(os.getpid()), str(max_processes)]
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log_write, stderr=log_write,
                pass_fds=(child_end.fileno(),), env=launch.environment, cwd=launch.task_root,
                start_new_session=True, umask=0o077, **_identity_arguments(launch.identity))
        except BaseException:
            parent_end.close()
            os.close(log_read)
            raise
        finally:
            child_end.close()
            os.close(log_write)
        lower_priority(process.pid, launch.nice)
        worker = cls(process, LogCapture())
        try:
            await worker._connect(parent_end, log_read)
            failure = await worker._initialize(init_timeout, request_id)
        except BaseException:  # cancelled, or the loop could not watch it: it must not live on unseen
            worker._kill_group()
            worker._reap()
            if worker._log_transport is not None:
                worker._log_transport.close()
            parent_end.close()
            raise
        worker.init_ms = (time.monotonic() - started) * 1000
        return worker, failure

    async def _connect(self, channel: socket.socket, log_read: int) -> None:
        loop = asyncio.get_running_loop()
        log_file = os.fdopen(log_read, "rb", buffering=0)
        try:
            self._log_transport, _ = await loop.connect_read_pipe(lambda: self.log, log_file)
        except BaseException:
            log_file.close()
            raise
        self._pidfd = os.pidfd_open(self.pid)
        loop.add_reader(self._pidfd, self._reap)
        self._reader, self._writer = await asyncio.open_unix_connection(sock=channel)

    def _reap(self) -> None:
        """The worker has exited (or has just been killed): kill what is left of its group, reap it."""
        if self._pidfd is not None:
            asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        if self.exited.done():
            return
        self._kill_group()  # the leader is a zombie until reaped: its group id cannot have been reused
        returncode = self._process.wait()
        if self._writer is not None:
            self._writer.close()
        self.exited.set_result(returncode)

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    @property
    def alive(self) -> bool:
        return not self.exited.done()

    def kill(self) -> None:
        """SIGKILL the worker's whole process group; its exit is handled as any other."""
        if self.alive:
            self._kill_group()

    async def stop(self) -> None:
        self.kill()
        await asyncio.shield(self.exited)
        if self._log_transport is not None:
            self._log_transport.close()

    async def _initialize(self, timeout: float, request_id: str) -> Outcome | None:
        self.log.begin("init")
        started = time.monotonic()
        answer = await self._answer(timeout)
        duration_ms = (time.monotonic() - started) * 1000
        self.init_output = await self.log.finish(LOG_WAIT_SECONDS)
        if isinstance(answer, tuple) and answer[0].get("type") == "ready":
            return None
        if isinstance(answer, tuple) and answer[0].get("type") == "error":
            outcome = Outcome(answer[1], True, False, self.init_output, duration_ms, "error", error_type_of(answer[1]))
        else:
            outcome = self._failure(answer if not isinstance(answer, tuple) else "broken", request_id,
                                    duration_ms, self.init_output)
        await self.stop()
        return outcome

    async def invoke(self, request_id: str, event: bytes, timeout: float, invoked_function_arn: str,
                     credentials: dict[str, str] | None) -> Outcome:
        """Run one invocation; a worker that timed out, crashed or broke the protocol is dead afterwards."""
        assert self._writer is not None
        self.log.begin(request_id)
        started = time.monotonic()
        header = {"type": "invoke", "request_id": request_id, "invoked_function_arn": invoked_function_arn,
                  "deadline_ms": int(time.time() * 1000 + timeout * 1000), "credentials": credentials}
        self._writer.write(frames.encode_head(header, len(event)))
        self._writer.write(event)
        answer = await self._answer(timeout, self._writer.drain())
        duration_ms = (time.monotonic() - started) * 1000
        output = await self.log.finish(LOG_WAIT_SECONDS)
        if isinstance(answer, tuple) and answer[0].get("type") in ("result", "error"):
            return Outcome(answer[1], answer[0]["type"] == "error", True, output, duration_ms)
        if answer == "too large":
            return Outcome(payloads.response_too_large(), True, True, output, duration_ms)
        outcome = self._failure(answer if not isinstance(answer, tuple) else "broken", request_id, duration_ms, output)
        await self.stop()
        return outcome

    async def _answer(self, timeout: float, *before: Any) -> tuple[dict[str, Any], bytes] | int | str:
        """The worker's next message; its exit status if it died first; "timeout"; "too large"; "broken"."""
        assert self._reader is not None
        reader = self._reader

        async def exchange() -> tuple[dict[str, Any], bytes]:
            for awaitable in before:
                await awaitable
            return await frames.read_message(reader, MAX_RESPONSE_BYTES)

        read = asyncio.ensure_future(exchange())
        watched: set[asyncio.Future[Any]] = {read, self.exited}
        try:
            await asyncio.wait(watched, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not read.done():
                read.cancel()
        if read.done() and not read.cancelled():
            error = read.exception()
            if error is None:
                self.peak_memory_mb = self._read_peak_memory()
                return read.result()
            if isinstance(error, frames.BodyTooLarge):
                return "too large"
            if isinstance(error, frames.FrameError):
                return "broken"
            return await self._exit_status()  # the channel closed: the worker is exiting
        if self.exited.done():
            return self.exited.result()
        self.peak_memory_mb = self._read_peak_memory()
        self.kill()
        await asyncio.shield(self.exited)
        return "timeout"

    async def _exit_status(self) -> int:
        try:
            return await asyncio.wait_for(asyncio.shield(self.exited), EXIT_WAIT_SECONDS)
        except TimeoutError:  # the function closed the channel but lives on
            self.kill()
            return await asyncio.shield(self.exited)

    def _failure(self, answer: int | str, request_id: str, duration_ms: float, output: bytes) -> Outcome:
        """A timeout, an exit (``answer`` is the status), or a worker that broke the protocol and is killed."""
        if answer == "timeout":
            return Outcome(payloads.timed_out(request_id, duration_ms / 1000), True, False, output, duration_ms,
                           "timeout")
        if not isinstance(answer, int):
            self.kill()
            answer = -signal.SIGKILL
        return Outcome(payloads.exited(request_id, answer), True, False, output, duration_ms, "error", payloads.EXITED)

    def _read_peak_memory(self) -> int:
        """The worker's peak resident memory (VmHWM) in MB, for the REPORT line; the last known once it is gone."""
        try:
            with open(f"/proc/{self.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        return -(-int(line.split()[1]) // 1024)
        except (OSError, ValueError, IndexError):
            pass
        return self.peak_memory_mb


def error_type_of(payload: bytes) -> str | None:
    """The errorType of an init error payload, for the REPORT line."""
    try:
        value = json.loads(payload).get("errorType")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
