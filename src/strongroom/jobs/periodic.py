"""Singleton periodic jobs: every process runs this loop, only the holder of the job's lease ticks.

The lease is a row of ``job_leases`` (holder, expiry, when the next tick is due), changed only by
:meth:`~strongroom.store.base.JobsTx.take_lease`. Its holder renews it every third of the
lease, also while a tick runs, so a tick longer than the lease keeps it; a holder that stops
renewing (it died, hung, or lost the database) loses it when it expires, and the first other
process to look takes it over and keeps the schedule (``next_run_at``). A holder that finds its
lease taken (it stalled past the expiry) cancels its running tick and logs it.

A lease is a best-effort singleton: after a holder stalls past its expiry, its tick and the new
holder's may overlap until the stalled one next tries to renew. Ticks must therefore be safe to
run twice at once (the purge is: its deletes claim rows, and a second run finds nothing).

Looking costs a read; the only writes are taking and renewing a lease (one commit per lease/3
from the holder) and whatever the tick itself writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from strongroom.jobs.clock import Clock, wait_until
from strongroom.store.base import Store
from strongroom.store.records import LeaseRow

log = logging.getLogger("strongroom.jobs")

#: A tick: called with the clock's time when it starts.
Tick = Callable[[float], Awaitable[None]]
#: The shortest default lease: long enough that a busy process doesn't lose it between renewals.
MIN_LEASE = 30.0


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    interval: float
    tick: Tick
    lease: float  # seconds a lease lasts unless renewed


class PeriodicRunner:
    """Runs one :class:`PeriodicJob` in this process while this process holds its lease."""

    def __init__(self, job: PeriodicJob, store: Store, holder: str, clock: Clock, stopping: asyncio.Event) -> None:
        self.job = job
        self.store = store
        self.holder = holder
        self.clock = clock
        self.stopping = stopping
        self.lease: LeaseRow | None = None  # ours, as last written; None while another holds it
        self.next_run_at = 0.0
        self.tick_task: asyncio.Task[None] | None = None
        self._tick_started = 0.0

    async def run(self) -> None:
        """Look for the lease, renew it and tick, until ``stopping`` is set (running ticks go on)."""
        renew_at = self.clock.now()
        while not self.stopping.is_set():
            now = self.clock.now()
            self._collect_tick()  # first, so that a renewal stores the schedule after a finished tick
            if now >= renew_at:
                await self._refresh(now)
                renew_at = now + self.job.lease / 3
            if self.lease is not None and self.tick_task is None and now >= self.next_run_at:
                self._tick_started = now
                self.tick_task = asyncio.create_task(self._tick(now), name=f"job {self.job.name}")
            deadline = renew_at
            if self.lease is not None and self.tick_task is None:
                deadline = min(renew_at, self.next_run_at)
            await wait_until(
                self.clock, deadline, events=[self.stopping], tasks=[self.tick_task] if self.tick_task else []
            )

    def _collect_tick(self) -> None:
        if self.tick_task is not None and self.tick_task.done():
            if not self.tick_task.cancelled():
                self.next_run_at = self._tick_started + self.job.interval
            self.tick_task = None

    async def _tick(self, now: float) -> None:
        try:
            await self.job.tick(now)
        except Exception:  # noqa: BLE001 - one failed tick must not end the job
            log.exception("periodic job %r failed", self.job.name)

    async def _refresh(self, now: float) -> None:
        """Take the lease if it is free, renew it if held; notice when it was lost."""
        name = self.job.name
        try:
            if self.lease is None:
                async with self.store.read() as tx:
                    current = await tx.jobs.lease(name)
                if current is not None and current.holder != self.holder and current.expires_at > now:
                    return  # held elsewhere: looking cost a read, no commit
            schedule = self.next_run_at if self.lease is not None else None
            async with self.store.write() as tx:
                taken = await tx.jobs.take_lease(name, self.holder, now, now + self.job.lease, schedule)
        except Exception:  # noqa: BLE001 - the database may come back; until the lease expires it is ours
            log.exception("could not take or renew the lease of periodic job %r", name)
            if self.lease is not None and now >= self.lease.expires_at:
                self._lose("it expired while the database could not be reached")
            return
        if taken is None:
            if self.lease is not None:
                self._lose("another process took it over after it expired")
            return
        if self.lease is None:
            log.info("%s took the lease of periodic job %r", self.holder, name)
            self.next_run_at = taken.next_run_at
        self.lease = taken

    def _lose(self, why: str) -> None:
        log.warning("%s lost the lease of periodic job %r (%s); its running tick is cancelled",
                    self.holder, self.job.name, why)
        self.lease = None
        if self.tick_task is not None:
            self.tick_task.cancel()

    async def release(self) -> None:
        """Give the lease up (graceful stop): another process may take it at once, schedule kept."""
        if self.lease is None:
            return
        self._collect_tick()
        lease, self.lease = self.lease, None
        try:
            async with self.store.write() as tx:
                await tx.jobs.take_lease(lease.name, self.holder, self.clock.now(), 0.0, self.next_run_at)
        except Exception:  # noqa: BLE001 - then it expires on its own
            log.exception("could not release the lease of periodic job %r", lease.name)
            return
        log.info("%s released the lease of periodic job %r", self.holder, lease.name)
