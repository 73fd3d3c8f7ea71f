"""The runtime: one per server process, it runs invocations on warm or new workers."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import sysconfig
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from strongroom.functions.runtime import logs
from strongroom.functions.runtime.code import CodeCache, remove_tree
from strongroom.functions.runtime.constants import MAX_EVENT_BYTES
from strongroom.functions.runtime.environment import credential_variables, log_stream_name, worker_environment
from strongroom.functions.runtime.pool import Assignment, RuntimeClosedError, WorkerPool
from strongroom.functions.runtime.process import Launch, Outcome, WorkerProcess, worker_search_path
from strongroom.functions.runtime.sandbox import READ, SEARCH, Sandbox, WorkerIdentity, unreachable, worker_identity
from strongroom.functions.runtime.spec import Credentials, FunctionSpec

RUNTIME_DIR = Path(__file__).resolve().parent
"""LAMBDA_RUNTIME_DIR: where the worker's code lives, as Lambda's /var/runtime holds its bootstrap."""


@dataclass(frozen=True)
class RuntimeConfig:
    max_workers: int = 8
    """Live worker processes at most (per server process); further invocations queue."""
    idle_timeout: float = 300.0
    """Seconds a warm worker waits for its next invocation before it is stopped."""
    init_timeout: float = 10.0
    """Seconds a new worker may take to import the handler (Lambda's init limit)."""
    shutdown_grace: float = 2.0
    """Seconds :meth:`Runtime.close` gives running invocations before it kills them."""
    worker_user: str = "nobody"
    """Who workers run as when the server runs as root."""
    nice: int = 0
    """The workers' nice value (0-19) and their scheduling autogroup's: above 0, the server's own
    processes (its event loops) go first when the CPU is short (:func:`process.lower_priority`)."""
    python: str = sys.executable
    """The workers' interpreter: the server's Python, or another of the same version the worker user can run."""
    work_dir: Path | None = None
    """Where code and worker TMPDIRs go (never the data directory); None: a new private temporary directory.
    :meth:`Runtime.close` removes it if the runtime made it, else only what it put in it."""


@dataclass(frozen=True)
class InvocationResult:
    payload: bytes
    function_error: str | None
    """``Unhandled`` when the payload is an error (Invoke's X-Amz-Function-Error), else None."""
    log_tail: bytes | None
    """The last 4 KB of the invocation's log, when asked for (Invoke's LogType: Tail)."""
    executed_version: str
    duration_ms: float


class EventTooLargeError(ValueError):
    """An event over Lambda's 6 MB synchronous payload limit (Invoke's RequestTooLargeException)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} byte payload is too large (limit {MAX_EVENT_BYTES} bytes)")
        self.size, self.limit = size, MAX_EVENT_BYTES


CodeLoader = Callable[[], Awaitable[bytes]]


class Runtime:
    """Runs functions' invocations in worker processes; see the package docstring for the whole picture.

    Use it from one event loop, on a thread that lives as long as the process (the server's main
    thread): workers are started from that thread, and the kernel kills them when it ends.
    """

    def __init__(self, config: RuntimeConfig | None = None) -> None:
        self.config = config or RuntimeConfig()
        identity = worker_identity(self.config.worker_user)
        self._search_path = worker_search_path()
        self._pool: WorkerPool[WorkerProcess] = WorkerPool(self.config.max_workers, self.config.idle_timeout)
        self._sandbox = Sandbox(identity, self.config.work_dir)
        try:
            _check_reachable(identity, self.config.python, self._search_path, self._sandbox)
        except ValueError:
            self._sandbox.close()
            raise
        self._code = CodeCache(self._sandbox.code, self._sandbox.group, discard=self._remove_later)
        self._workers: set[WorkerProcess] = set()
        self._cleanups: set[asyncio.Task[None]] = set()
        self._running = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._closed = False

    @property
    def live_workers(self) -> int:
        return self._pool.live

    @property
    def work_dir(self) -> Path:
        """The runtime's directory (unpacked code, worker TMPDIRs); removed by :meth:`close` if it made it."""
        return self._sandbox.root

    async def invoke(self, spec: FunctionSpec, code: CodeLoader, event: bytes, *, request_id: str,
                     credentials: Credentials | None = None, endpoint_url: str | None = None,
                     invoked_function_arn: str | None = None, log_tail: bool = False) -> InvocationResult:
        """Run ``spec``'s handler on ``event`` and return its result or Lambda's error payload.

        ``code`` is called for the zip only when no unpacked copy of ``spec.code_sha256`` exists.
        Raises EventTooLargeError, RuntimeClosedError, CodeError (the package cannot be unpacked)
        and OSError (no worker could be started); everything the function does is a payload.
        """
        if self._closed:
            raise RuntimeClosedError("the function runtime is closed")
        if len(event) > MAX_EVENT_BYTES:
            raise EventTooLargeError(len(event))
        self._running += 1
        self._quiet.clear()
        try:
            return await self._invoke(spec, code, event, request_id, credentials, endpoint_url,
                                      invoked_function_arn or spec.arn, log_tail)
        finally:
            self._running -= 1
            if not self._running:
                self._quiet.set()

    async def _invoke(self, spec: FunctionSpec, code: CodeLoader, event: bytes, request_id: str,
                      credentials: Credentials | None, endpoint_url: str | None, invoked_function_arn: str,
                      log_tail: bool) -> InvocationResult:
        lease = await self._pool.acquire(Assignment(spec.config_key, spec.arn, spec.version))
        worker, cold = lease.worker, lease.worker is None
        init_failure: Outcome | None = None
        try:
            if worker is None:
                worker, init_failure = await self._start_worker(spec, code, credentials, endpoint_url, request_id)
                self._pool.admit(lease, worker)
            outcome = init_failure or await worker.invoke(request_id, event, spec.timeout, invoked_function_arn,
                                                          credential_variables(credentials) or None)
        except BaseException:
            if worker is None:
                self._pool.cancel(lease)
            else:
                self._pool.release(worker, reusable=False)
            raise
        self._pool.release(worker, outcome.reusable)
        tail = _log_tail(spec, request_id, worker, outcome, cold, init_failure is not None) if log_tail else None
        return InvocationResult(outcome.payload, "Unhandled" if outcome.failed else None, tail, spec.version,
                                outcome.duration_ms)

    async def _start_worker(self, spec: FunctionSpec, code: CodeLoader, credentials: Credentials | None,
                            endpoint_url: str | None, request_id: str) -> tuple[WorkerProcess, Outcome | None]:
        task_root = await self._code.acquire(spec.code_sha256, code)
        tmp_dirs: list[Path] = []

        def clean_up(_: object = None) -> None:
            self._code.release(spec.code_sha256)
            self._remove_later(*tmp_dirs)

        try:
            tmp_dirs.append(self._sandbox.new_tmp_dir())
            environment = worker_environment(spec, task_root=task_root, runtime_dir=RUNTIME_DIR, tmp_dir=tmp_dirs[0],
                                             log_stream=log_stream_name(spec.version), credentials=credentials,
                                             endpoint_url=endpoint_url)
            launch = Launch(self.config.python, self._search_path, environment, task_root, self._sandbox.identity,
                            self.config.nice)
            worker, failure = await WorkerProcess.start(launch, self.config.init_timeout, request_id)
        except BaseException:
            clean_up()
            raise
        self._workers.add(worker)
        worker.exited.add_done_callback(clean_up)
        worker.exited.add_done_callback(lambda _: self._workers.discard(worker))
        return worker, failure

    def _remove_later(self, *paths: Path) -> None:
        """Remove directories in a thread (a package may be 250 MB): the event loop never waits for the disk."""
        for path in paths:
            task = asyncio.ensure_future(asyncio.to_thread(remove_tree, path))
            self._cleanups.add(task)
            task.add_done_callback(self._cleanups.discard)

    def retire(self, function_arn: str) -> None:
        """Drop the function's warm workers (its code or configuration changed, or it was deleted)."""
        self._pool.retire(function_arn)

    async def close(self) -> None:
        """Stop: refuse new invocations, let running ones finish within ``shutdown_grace``, stop every worker."""
        if self._closed:
            return
        self._closed = True
        self._pool.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), self.config.shutdown_grace)
        workers = list(self._workers)
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)
        await asyncio.gather(*self._cleanups, return_exceptions=True)
        self._sandbox.close()


def interpreter_problem(config: RuntimeConfig) -> str | None:
    """Why workers of ``config`` could not start (their user, or an interpreter or import path that user
    cannot reach), or None; checked without making anything, so a server can decide before it starts."""
    try:
        identity = worker_identity(config.worker_user)
    except ValueError as exc:
        return str(exc)
    return _unreachable_any(identity, _interpreter_paths(config.python, worker_search_path()))


def reachable_interpreter(config: RuntimeConfig, candidates: Sequence[str] | None = None) -> str | None:
    """An interpreter of this Python's version that the workers' user can run, for a ``config`` whose own
    one it cannot (as root, workers run as ``nobody``, and this Python may live under a private home
    such as /root/.pyenv): the system's ``python3.X``, if its user can reach it; None if none."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in candidates if candidates is not None else (f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        if Path(candidate).is_file() and interpreter_problem(replace(config, python=candidate)) is None:
            return candidate
    return None


def worker_interpreter(config: RuntimeConfig) -> str | None:
    """The interpreter workers of ``config`` run: ``config.python`` when their user can reach it, else
    :func:`reachable_interpreter`'s; None when there is none."""
    return config.python if interpreter_problem(config) is None else reachable_interpreter(config)


def _interpreter_paths(python: str, search_path: str) -> list[tuple[str | Path, int | None]]:
    needed: list[tuple[str | Path, int | None]] = [(python, READ | SEARCH)]
    needed += [(directory, None) for directory in search_path.split(":")]
    if python == sys.executable:
        needed.append((sysconfig.get_path("stdlib"), None))
    return needed


def _unreachable_any(identity: WorkerIdentity, needed: list[tuple[str | Path, int | None]]) -> str | None:
    for path, bits in needed:
        reason = unreachable(identity, path, bits)
        if reason is not None:
            return reason
    return None


def _check_reachable(identity: WorkerIdentity, python: str, search_path: str, sandbox: Sandbox) -> None:
    """Refuse a configuration in which the workers' user could not run Python, import the runtime or reach its code."""
    needed = _interpreter_paths(python, search_path) + [(sandbox.code, SEARCH), (sandbox.tmp, SEARCH)]
    reason = _unreachable_any(identity, needed)
    if reason is not None:
        raise ValueError(f"function workers cannot start: {reason}; give the runtime an interpreter of this "
                         "Python's version and a work_dir that the worker user can reach")


def _log_tail(spec: FunctionSpec, request_id: str, worker: WorkerProcess, outcome: Outcome, cold: bool,
              init_failed: bool) -> bytes:
    """Lambda's order: the init's output (cold start), START, the invocation's output, END, REPORT."""
    report = logs.report_line(request_id, outcome.duration_ms, spec.memory_size, worker.peak_memory_mb,
                              worker.init_ms if cold else None, outcome.status, outcome.error_type)
    return logs.tail(worker.init_output if cold else b"", logs.start_line(request_id, spec.version),
                     b"" if init_failed else outcome.output, logs.end_line(request_id), report)
