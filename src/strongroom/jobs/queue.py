"""The durable work queue's worker: claims due items, runs their handlers, records the outcome.

Every process runs one worker for the kinds it has handlers for. A claim marks items running
under this process's lease (``item_lease`` seconds, renewed every third of it while the handler
runs); an item whose holder stopped renewing is claimed again by anyone once the lease expires,
and that counts as a failed attempt. A handler that returns completes its item; one that raises
is retried after :class:`~strongroom.jobs.backoff.Backoff` until ``max_attempts``, then the item
is failed with the error kept. So an item runs at least once and, unless its holder dies or
stalls past its lease mid-run, exactly once: handlers must be idempotent (each rotation step
checks where the secret stands before acting, as AWS's rotation functions do).

An idle poll costs one read and commits nothing (a commit empties every process's read cache).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from strongroom.jobs.backoff import Backoff
from strongroom.jobs.clock import Clock, wait_until
from strongroom.store.base import Conflict, JobsTx, Store
from strongroom.store.records import ItemRow

log = logging.getLogger("strongroom.jobs")

#: Longest error text kept with an item (handlers' messages never contain secret values).
MAX_ERROR_CHARS = 1000
#: Items done longer ago than the retention are deleted this many per transaction.
PRUNE_BATCH = 500
#: Transactions that may meet a concurrent enqueue of the same key (PostgreSQL) are tried this often.
WRITE_TRIES = 3


@dataclass(frozen=True, slots=True)
class Job:
    """What a handler gets: the item's identity, its payload (decoded JSON) and which attempt this is."""

    id: int
    kind: str
    key: str
    payload: Any
    attempt: int
    max_attempts: int


Handler = Callable[[Job], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    func: Handler
    max_attempts: int
    backoff: Backoff
    #: Items of this kind running at once in this process at most (None: only the worker's concurrency).
    limit: int | None = None


def describe(exc: BaseException) -> str:
    """An exception as kept in ``last_error`` and logged: type and message, bounded."""
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]


class QueueWorker:
    """Works the queue in this process: at most ``concurrency`` handlers at a time, and at most a
    kind's ``limit`` of that kind (the rest of its items wait in the queue, unclaimed, for a free
    slot here or in another process)."""

    def __init__(
        self, store: Store, holder: str, clock: Clock, stopping: asyncio.Event, handlers: dict[str, HandlerSpec],
        *, concurrency: int, poll_interval: float, item_lease: float, rng: random.Random,
    ) -> None:
        self.store = store
        self.holder = holder
        self.clock = clock
        self.stopping = stopping
        self.handlers = handlers
        self.kinds = sorted(handlers)
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.item_lease = item_lease
        self.rng = rng
        self.running: dict[int, tuple[ItemRow, asyncio.Task[None]]] = {}
        self.wakeup = asyncio.Event()  # a handler finished, or notify(): look again now

    async def run(self) -> None:
        """Claim and renew until ``stopping`` is set (running handlers go on; the runtime waits for them)."""
        renew_at = self.clock.now() + self.item_lease / 3
        while not self.stopping.is_set():
            self.wakeup.clear()
            now = self.clock.now()
            try:
                if not self.running:
                    renew_at = now + self.item_lease / 3
                elif now >= renew_at:
                    await self._renew(now)
                    renew_at = now + self.item_lease / 3
                if len(self.running) < self.concurrency:
                    await self._claim_room(now, self.concurrency - len(self.running))
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("job queue round failed")
            deadline = min(now + self.poll_interval, renew_at) if self.running else now + self.poll_interval
            await wait_until(self.clock, deadline, events=[self.stopping, self.wakeup])

    def rooms(self, room: int) -> dict[str, int]:
        """Items of each kind this process may claim now (kinds without room left out)."""
        running: dict[str, int] = {}
        for item, _ in self.running.values():
            running[item.kind] = running.get(item.kind, 0) + 1
        rooms = {}
        for kind in self.kinds:
            limit = self.handlers[kind].limit
            free = room if limit is None else min(room, limit - running.get(kind, 0))
            if free > 0:
                rooms[kind] = free
        return rooms

    async def _claim_room(self, now: float, room: int) -> None:
        """Claim up to ``room`` items (one read when there is nothing to claim, one write transaction):
        together for the kinds a full ``room`` fits, apart for each kind its limit holds to less."""
        rooms = self.rooms(room)
        if not rooms:
            return
        async with self.store.read() as tx:
            if not await tx.jobs.any_claimable(list(rooms), now):
                return
        whole = [kind for kind, free in rooms.items() if free == room]
        groups = ([(whole, room)] if whole else []) + [([kind], free) for kind, free in rooms.items() if free < room]
        claimed: list[ItemRow] = []
        given_up: list[ItemRow] = []
        async with self.store.write() as tx:
            for kinds, free in groups:
                free = min(free, room - len(claimed))
                if free > 0:
                    got, lost = await tx.jobs.claim(kinds, self.holder, now, now + self.item_lease, free)
                    claimed += got
                    given_up += lost
        for item in given_up:
            log.warning("job %s %r (item %d) failed for good: its holder stopped during attempt %d of %d",
                        item.kind, item.dedupe_key, item.id, item.attempts, item.max_attempts)
        for item in claimed:
            task = asyncio.create_task(self._handle(item), name=f"job {item.kind} {item.id}")
            self.running[item.id] = (item, task)

    async def _renew(self, now: float) -> None:
        ids = sorted(self.running)
        held = await self._write(lambda jobs: jobs.renew_items(ids, self.holder, now + self.item_lease))
        if held < len(ids):
            log.warning("%d item(s) of %s were claimed elsewhere after their lease expired",
                        len(ids) - held, self.holder)

    async def _handle(self, item: ItemRow) -> None:
        spec = self.handlers[item.kind]
        job = Job(item.id, item.kind, item.dedupe_key, orjson.loads(item.payload), item.attempts, item.max_attempts)
        try:
            try:
                await spec.func(job)
            except Exception as exc:  # noqa: BLE001 - recorded on the item
                await self._failed(item, spec, describe(exc))
            else:
                now = self.clock.now()
                if not await self._write(lambda jobs: jobs.complete(item, self.holder, now)):
                    log.warning("job %s %r (item %d) finished after its claim was lost; not recorded",
                                item.kind, item.dedupe_key, item.id)
        except Exception:  # noqa: BLE001 - the item's lease expires and it runs again elsewhere
            log.exception("could not record the outcome of job %s (item %d)", item.kind, item.id)
        finally:
            self.running.pop(item.id, None)
            self.wakeup.set()

    async def _failed(self, item: ItemRow, spec: HandlerSpec, error: str) -> None:
        now = self.clock.now()
        if item.attempts >= item.max_attempts:
            log.warning("job %s %r (item %d) failed for good after %d attempts: %s",
                        item.kind, item.dedupe_key, item.id, item.attempts, error)
            await self._write(lambda jobs: jobs.give_up(item, self.holder, error, now))
            return
        retry_at = now + spec.backoff.delay(item.attempts, self.rng)
        log.warning("job %s %r (item %d) attempt %d of %d failed, retrying in %.1f s: %s",
                    item.kind, item.dedupe_key, item.id, item.attempts, item.max_attempts, retry_at - now, error)
        await self._write(lambda jobs: jobs.to_pending(item, self.holder, retry_at, error, refund=False))

    async def release(self, item: ItemRow) -> None:
        """Hand an interrupted item back (graceful stop): claimable at once, the attempt not counted."""
        now = self.clock.now()
        try:
            await self._write(lambda jobs: jobs.to_pending(item, self.holder, now, None, refund=True))
        except Exception:  # noqa: BLE001 - then its lease expires and it is claimed again
            log.exception("could not release job %s (item %d)", item.kind, item.id)

    async def _write(self, change: Callable[[JobsTx], Awaitable[Any]]) -> Any:
        """Run ``change`` in a write transaction, again if a concurrent enqueue of the same key won."""
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                async with self.store.write() as tx:
                    return await change(tx.jobs)
            except Conflict:
                if attempt == WRITE_TRIES:
                    raise
        raise AssertionError("unreachable")

    async def prune(self, now: float, retention: float) -> int:
        """Delete items done more than ``retention`` seconds ago; read first, so usually no commit."""
        before = now - retention
        async with self.store.read() as tx:
            if not await tx.jobs.any_prunable(before):
                return 0
        pruned = 0
        while True:
            async with self.store.write() as tx:
                count = await tx.jobs.prune(before, PRUNE_BATCH)
            pruned += count
            if count < PRUNE_BATCH:
                return pruned
