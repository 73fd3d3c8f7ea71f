"""Which worker runs an invocation: warm reuse, a bound on live workers, idle expiry, recycling.

A worker is reused only for the configuration key it was started with (function, version, code
hash and configuration: ``FunctionSpec.config_key``) and only while its function has not been
retired since. When a function's key changes, its idle workers are killed at once and its busy ones
when they finish. At most ``max_workers`` workers live (counting those being started); an
invocation that needs another waits, after the least recently used idle worker of another
configuration has been evicted. Idle workers are killed after ``idle_timeout`` seconds.

The pool only needs a worker's ``alive``, ``kill()`` and ``exited`` (a future done when the process
has gone), so its bookkeeping is tested with stand-ins (tests/functions/test_pool.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar


class RuntimeClosedError(RuntimeError):
    """The runtime is closed (the server is shutting down)."""


class Worker(Protocol):
    @property
    def alive(self) -> bool: ...

    @property
    def exited(self) -> asyncio.Future[Any]: ...

    def kill(self) -> None: ...


W = TypeVar("W", bound=Worker)


@dataclass(frozen=True)
class Assignment:
    """What a worker was started for: its configuration key and its function (ARN and version)."""

    key: str
    arn: str
    version: str


@dataclass(eq=False)
class _Member(Generic[W]):
    worker: W
    assignment: Assignment
    generation: int
    idle_since: float = 0.0
    expiry: asyncio.TimerHandle | None = field(default=None, repr=False)


@dataclass
class Lease(Generic[W]):
    """A warm worker, or (``worker`` None) a reserved place for a new one, to :meth:`WorkerPool.admit`."""

    assignment: Assignment
    worker: W | None = None


class WorkerPool(Generic[W]):
    def __init__(self, max_workers: int, idle_timeout: float) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._max_workers, self._idle_timeout = max_workers, idle_timeout
        self._live = 0
        self._members: dict[int, _Member[W]] = {}
        self._idle: dict[str, list[_Member[W]]] = {}
        self._current: dict[tuple[str, str], str] = {}
        self._generations: dict[str, int] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._closed = False

    @property
    def live(self) -> int:
        """Live workers, counting those being started."""
        return self._live

    @property
    def idle(self) -> int:
        return sum(len(stack) for stack in self._idle.values())

    async def acquire(self, assignment: Assignment) -> Lease[W]:
        self._track(assignment)
        while True:
            if self._closed:
                raise RuntimeClosedError("the function runtime is closed")
            stack = self._idle.get(assignment.key)
            if stack:
                member = stack.pop()
                if member.expiry is not None:
                    member.expiry.cancel()
                return Lease(assignment, member.worker)
            if self._live < self._max_workers or self._evict_one():
                self._live += 1
                return Lease(assignment)
            await self._wait()

    def admit(self, lease: Lease[W], worker: W) -> None:
        """Bind a reserved place to the worker just started for it (busy until :meth:`release`)."""
        lease.worker = worker
        member = _Member(worker, lease.assignment, self._generations.get(lease.assignment.arn, 0))
        self._members[id(worker)] = member
        worker.exited.add_done_callback(lambda _: self._on_exit(member))

    def cancel(self, lease: Lease[W]) -> None:
        """Give back a reserved place whose worker could not be started."""
        self._live -= 1
        self._wake()

    def release(self, worker: W, reusable: bool) -> None:
        """An invocation is over: keep the worker warm if it may serve again, else kill it."""
        member = self._members.get(id(worker))
        if member is None:
            return
        if reusable and worker.alive and not self._closed and self._is_current(member):
            member.idle_since = time.monotonic()
            member.expiry = asyncio.get_running_loop().call_later(self._idle_timeout, self._expire, member)
            self._idle.setdefault(member.assignment.key, []).append(member)
            self._wake()
        else:
            self._forget(member)

    def retire(self, arn: str) -> None:
        """Workers of this function never serve again: idle ones die now, busy ones when they finish."""
        self._generations[arn] = self._generations.get(arn, 0) + 1
        for function in [function for function in self._current if function[0] == arn]:
            del self._current[function]
        for member in [m for stack in self._idle.values() for m in stack if m.assignment.arn == arn]:
            self._forget(member)

    def close(self) -> None:
        """Refuse new invocations and kill idle workers; busy ones are killed when released."""
        self._closed = True
        for member in [m for stack in self._idle.values() for m in stack]:
            self._forget(member)
        self._wake()

    def _track(self, assignment: Assignment) -> None:
        """Remember the function's latest key; idle workers of an earlier one are killed."""
        function = (assignment.arn, assignment.version)
        if self._current.get(function) == assignment.key:
            return
        self._current[function] = assignment.key
        for member in [m for stack in self._idle.values() for m in stack if not self._is_current(m)]:
            self._forget(member)

    def _is_current(self, member: _Member[W]) -> bool:
        assignment = member.assignment
        return (self._current.get((assignment.arn, assignment.version)) == assignment.key
                and self._generations.get(assignment.arn, 0) == member.generation)

    def _evict_one(self) -> bool:
        """Kill the least recently used idle worker to make room; False when none is idle."""
        candidates = [m for stack in self._idle.values() for m in stack]
        if not candidates:
            return False
        self._forget(min(candidates, key=lambda member: member.idle_since), wake=False)
        return True

    def _expire(self, member: _Member[W]) -> None:
        if member in self._idle.get(member.assignment.key, []):
            self._forget(member)

    def _on_exit(self, member: _Member[W]) -> None:
        """A worker died on its own while idle (busy ones are released by their invocation)."""
        if member in self._idle.get(member.assignment.key, []):
            self._forget(member)

    def _forget(self, member: _Member[W], wake: bool = True) -> None:
        if self._members.pop(id(member.worker), None) is None:
            return
        stack = self._idle.get(member.assignment.key, [])
        if member in stack:
            stack.remove(member)
            if not stack:
                del self._idle[member.assignment.key]
        if member.expiry is not None:
            member.expiry.cancel()
        member.worker.kill()
        self._live -= 1
        if wake:
            self._wake()

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
