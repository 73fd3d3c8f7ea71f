"""Time for the jobs runtime: the wall clock in service, a clock that moves only when told in tests.

Leases are compared across processes and machines, so the runtime uses wall-clock time (epoch
seconds); the clocks of a deployment's machines must agree to well within a lease (NTP).
Every wait of the runtime goes through :meth:`Clock.sleep_until` with an absolute deadline, so
a :class:`ManualClock` drives the runtime deterministically: nothing happens until ``advance``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once :meth:`now` has reached ``deadline``."""
        ...


class SystemClock:
    """The wall clock (``time.time``) and asyncio's timers."""

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - time.time()))


class ManualClock:
    """A clock for tests: ``now`` stands still until :meth:`advance`, which wakes the sleepers it passes."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self._now

    @property
    def sleepers(self) -> int:
        """How many waits are parked on this clock."""
        return len(self._sleepers)

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        entry = (deadline, asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        try:
            await entry[1]
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has come."""
        self._now += seconds
        for entry in [e for e in self._sleepers if e[0] <= self._now]:
            self._sleepers.remove(entry)
            if not entry[1].done():
                entry[1].set_result(None)


async def wait_until(
    clock: Clock, deadline: float | None, events: Iterable[asyncio.Event] = (),
    tasks: Iterable[asyncio.Future[Any]] = (),
) -> None:
    """Wait until ``deadline`` (None: no deadline), or until one of ``events`` is set or one of
    ``tasks`` finishes, whichever comes first. The tasks are only watched, never cancelled."""
    watched = set(tasks)
    helpers: set[asyncio.Future[Any]] = {asyncio.ensure_future(event.wait()) for event in events}
    if deadline is not None:
        helpers.add(asyncio.ensure_future(clock.sleep_until(deadline)))
    try:
        await asyncio.wait(watched | helpers, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
