"""The jobs runtime of one server process: singleton periodic jobs and the durable work queue.

Every server process builds one :class:`JobRuntime`, registers what it can run, and starts it from
the app's lifespan; the database decides who runs what. Usage::

    jobs = JobRuntime(store, new_holder_id(), SystemClock())
    jobs.register_periodic("purge", 60.0, purge_tick)          # one process of the deployment ticks
    jobs.register_handler("rotation", rotate, max_attempts=5)  # any process may run an item
    await jobs.start()
    async with store.write() as tx:                            # the change and its job commit together
        ...
        await jobs.enqueue(tx, "rotation", secret_arn, {"arn": secret_arn, "token": token})
    await jobs.stop()

**Payloads never hold plaintext secret values.** Items are stored unencrypted in ``job_items``
(and outlive their run by ``retention``); a payload names what to work on (an ARN, a version id,
a step) and the handler reads and opens values through the key ring. The same goes for handlers'
error messages, which are kept in ``last_error`` and logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import secrets
import socket
from typing import Any

import orjson

from strongroom.jobs.backoff import Backoff
from strongroom.jobs.clock import Clock, SystemClock, wait_until
from strongroom.jobs.periodic import MIN_LEASE, PeriodicJob, PeriodicRunner, Tick
from strongroom.jobs.queue import Handler, HandlerSpec, QueueWorker
from strongroom.store.base import Store, Tx

log = logging.getLogger("strongroom.jobs")

DAY = 86400.0
#: Job names and kinds: short, lower case (they are log and table values).
NAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{0,63}")
#: Largest dedupe key (a secret ARN is at most 2048 characters) and payload (JSON bytes).
MAX_KEY_CHARS = 2048
MAX_PAYLOAD_BYTES = 64 * 1024
#: The runtime's own periodic job: deletes items done more than ``retention`` ago.
PRUNE_JOB = "jobs.prune"
PRUNE_INTERVAL = 3600.0


def new_holder_id() -> str:
    """A name for this process as a lease holder: host and pid for operators, random for uniqueness."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"


def _check_name(what: str, name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"{what} {name!r} must match {NAME_PATTERN.pattern}")


class JobRuntime:
    """One process's scheduler and queue worker. Register first, then :meth:`start`; :meth:`stop` last.

    ``concurrency``: handlers running at once in this process. ``poll_interval``: seconds between
    looks at the queue while idle (a read; :meth:`notify` looks at once). ``item_lease``: how
    long a claimed item stays this process's without renewal. ``retention``: how long done
    items are kept. ``stop_timeout``: how long :meth:`stop` waits for running ticks and handlers.
    """

    def __init__(
        self, store: Store, holder_id: str, clock: Clock | None = None, *, concurrency: int = 4,
        poll_interval: float = 1.0, item_lease: float = 60.0, retention: float = 7 * DAY,
        stop_timeout: float = 5.0, rng: random.Random | None = None,
    ) -> None:
        if concurrency < 1 or poll_interval <= 0 or retention <= 0:
            raise ValueError("concurrency must be at least 1; poll_interval and retention positive")
        if not 0 < stop_timeout < item_lease / 3:
            raise ValueError("stop_timeout must be positive and under a third of item_lease")
        self.store = store
        self.holder = holder_id
        self.clock: Clock = clock or SystemClock()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.item_lease = item_lease
        self.retention = retention
        self.stop_timeout = stop_timeout
        self.rng = rng or random.Random()
        self._periodic: list[PeriodicJob] = []
        self._handlers: dict[str, HandlerSpec] = {}
        self._stopping = asyncio.Event()
        self._runners: list[PeriodicRunner] = []
        self._worker: QueueWorker | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._started = False

    # --- registration ------------------------------------------------------------------------
    def register_periodic(self, name: str, interval: float, func: Tick, lease: float | None = None) -> None:
        """Run ``func(now)`` every ``interval`` seconds in one process of the deployment at a time.

        ``lease`` (default: three intervals, at least 30 s) is how long the holder keeps the job
        without renewing; a dead holder's job moves to another process within a lease plus a third.
        """
        self._check_open()
        _check_name("periodic job", name)
        if any(job.name == name for job in self._periodic):
            raise ValueError(f"periodic job {name!r} is registered already")
        if interval <= 0 or (lease is not None and lease <= 3 * self.stop_timeout):
            raise ValueError("interval must be positive and lease over three times stop_timeout")
        self._periodic.append(PeriodicJob(name, interval, func, lease or max(3 * interval, MIN_LEASE)))

    def register_handler(
        self, kind: str, func: Handler, max_attempts: int = 5, backoff: Backoff | None = None,
        limit: int | None = None,
    ) -> None:
        """Run ``func(job)`` for work items of ``kind``; an exception fails the attempt. ``limit``:
        items of this kind running at once in this process at most (within ``concurrency``).

        Failed attempts are retried after ``backoff`` until ``max_attempts``; then the item is
        failed with the last error kept. Exception messages are stored and logged: they must
        never contain secret values.
        """
        self._check_open()
        _check_name("job kind", kind)
        if kind in self._handlers:
            raise ValueError(f"job kind {kind!r} has a handler already")
        if not 1 <= max_attempts <= 100:
            raise ValueError("max_attempts must be 1-100")
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        self._handlers[kind] = HandlerSpec(func, max_attempts, backoff or Backoff(), limit)

    def _check_open(self) -> None:
        if self._started:
            raise RuntimeError("register jobs before start()")

    # --- the queue ---------------------------------------------------------------------------
    async def enqueue(self, tx: Tx, kind: str, key: str, payload: Any, run_at: float | None = None) -> bool:
        """Add a work item inside the caller's write transaction ``tx``: it exists if and only if
        the transaction commits. Returns False when ``(kind, key)`` has a pending item already
        (that one stands). ``payload`` is JSON-serializable and never holds a plaintext secret
        value. It becomes claimable at ``run_at`` (default now); other processes see it at
        their next poll, this one at once after :meth:`notify`.
        """
        spec = self._handlers.get(kind)
        if spec is None:
            raise ValueError(f"no handler registered for job kind {kind!r}")
        if not 0 < len(key) <= MAX_KEY_CHARS:
            raise ValueError(f"a job key must be 1-{MAX_KEY_CHARS} characters")
        body = orjson.dumps(payload)
        if len(body) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"a job payload must be at most {MAX_PAYLOAD_BYTES} bytes of JSON")
        now = self.clock.now()
        return await tx.jobs.enqueue(
            kind, key, body.decode(), now if run_at is None else run_at, spec.max_attempts, now
        )

    def notify(self) -> None:
        """Look at the queue now (call after committing an enqueue that should not wait for a poll)."""
        if self._worker is not None:
            self._worker.wakeup.set()

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the scheduler loops (one per periodic job) and, with handlers, the queue worker."""
        self._check_open()
        self._started = True
        if self._handlers:
            self._worker = worker = QueueWorker(
                self.store, self.holder, self.clock, self._stopping, self._handlers,
                concurrency=self.concurrency, poll_interval=self.poll_interval, item_lease=self.item_lease,
                rng=self.rng,
            )

            async def prune(now: float) -> None:
                pruned = await worker.prune(now, self.retention)
                if pruned:
                    log.info("pruned %d finished work item(s)", pruned)

            self._periodic.append(PeriodicJob(PRUNE_JOB, PRUNE_INTERVAL, prune, 3 * PRUNE_INTERVAL))
            self._loops.append(asyncio.create_task(worker.run(), name="jobs queue"))
        for job in self._periodic:
            runner = PeriodicRunner(job, self.store, self.holder, self.clock, self._stopping)
            self._runners.append(runner)
            self._loops.append(asyncio.create_task(runner.run(), name=f"jobs {job.name}"))

    async def stop(self) -> None:
        """Stop gracefully: claim and tick no more, wait up to ``stop_timeout`` for running ticks and
        handlers, cancel what is left (its items become claimable again, the attempt not counted),
        and release this process's leases so another process takes over at once."""
        if not self._started or self._stopping.is_set():
            return
        self._stopping.set()
        await asyncio.gather(*self._loops, return_exceptions=True)
        ticks = [r.tick_task for r in self._runners if r.tick_task is not None]
        items = list(self._worker.running.values()) if self._worker is not None else []
        busy = ticks + [task for _, task in items]
        if busy:
            everything = asyncio.ensure_future(asyncio.wait(busy))
            await wait_until(self.clock, self.clock.now() + self.stop_timeout, tasks=[everything])
            everything.cancel()
            late = [task for task in busy if not task.done()]
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            if late:
                log.warning("%d tick or handler task(s) still running after %.1f s were cancelled",
                            len(late), self.stop_timeout)
            if self._worker is not None:
                for item, task in items:
                    if task.cancelled():
                        await self._worker.release(item)
        for runner in self._runners:
            await runner.release()
