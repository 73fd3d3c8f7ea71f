"""Scenarios of the jobs runtime, run on SQLite (tests/unit/test_jobs.py) and PostgreSQL (tests/pg/test_pg_jobs.py).

Each scenario gets ``open_store``: every call opens another migrated store on the same database,
as another server process would (two SQLite connections on one file; two asyncpg pools). Time is
a :class:`ManualClock`: nothing is due until a scenario advances it, so what runs when is decided
by the scenario, never by timing. Waits (:func:`eventually`) have deadlines only so that a
broken runtime fails the test instead of hanging it.

Names, kinds and tables carry a random tag, so scenarios can share one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from strongroom.jobs import Backoff, Job, JobRuntime, ManualClock
from strongroom.store.base import Store

Opener = Callable[[], Awaitable[Store]]
DEADLINE_S = 30.0
LEASE = 30.0  # the default lease of a periodic job with an interval of 10 s
INTERVAL = 10.0


async def eventually(condition: Callable[[], Awaitable[bool] | bool], what: str = "condition") -> None:
    """Wait until ``condition()`` holds (a deadline only stops a broken run from hanging)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.002)


class Processes:
    """The simulated processes of a scenario: their stores and runtimes, all stopped and closed when
    the scenario ends, also a failed one (a stop still waiting for a tick or handler, whose timeout
    runs on a ManualClock that no one advances any more, is abandoned)."""

    def __init__(self, open_store: Opener) -> None:
        self.open_store = open_store
        self.stores: list[Store] = []
        self.runtimes: list[JobRuntime] = []

    async def store(self) -> Store:
        store = await self.open_store()
        self.stores.append(store)
        return store

    def runtime(self, store: Store, holder: str, clock: ManualClock, **settings: Any) -> JobRuntime:
        runtime = JobRuntime(store, holder, clock, **settings)
        self.runtimes.append(runtime)
        return runtime

    async def __aenter__(self) -> Processes:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for runtime in self.runtimes:
            try:
                await asyncio.wait_for(runtime.stop(), 5.0)
            except TimeoutError:
                pass
        for store in self.stores:
            await store.close()


async def stop(*runtimes: JobRuntime) -> None:
    """Stop runtimes gracefully; a stop that never ends fails the scenario."""
    for runtime in runtimes:
        try:
            await asyncio.wait_for(runtime.stop(), DEADLINE_S)
        except TimeoutError:
            raise AssertionError("a graceful stop never ended") from None


def tag() -> str:
    return uuid.uuid4().hex[:10]


async def items(store: Store, kind: str) -> list[dict[str, Any]]:
    async with store.read() as tx:
        rows = await tx.x.fetch(
            "SELECT id, dedupe_key, payload, state, run_at, attempts, max_attempts, last_error, holder, "
            "lease_expires_at, finished_at FROM job_items WHERE kind = $1 ORDER BY id",
            kind,
        )
    return [dict(r) for r in rows]


async def lease_of(store: Store, name: str) -> Any:
    async with store.read() as tx:
        return await tx.jobs.lease(name)


# --- leases ----------------------------------------------------------------------------------
async def lease_acquire_renew_takeover_release(open_store: Opener) -> None:
    async with Processes(open_store) as procs:
        a, b = await procs.store(), await procs.store()
        name = f"lease.{tag()}"

        async def take(store: Store, holder: str, now: float, until: float, next_run: float | None) -> Any:
            async with store.write() as tx:
                return await tx.jobs.take_lease(name, holder, now, until, next_run)

        first = await take(a, "A", 100.0, 130.0, None)
        assert (first.holder, first.expires_at, first.next_run_at) == ("A", 130.0, 100.0)  # new: due now
        assert await take(b, "B", 110.0, 140.0, None) is None  # held by A
        renewed = await take(a, "A", 115.0, 145.0, 160.0)
        assert (renewed.holder, renewed.expires_at, renewed.next_run_at) == ("A", 145.0, 160.0)
        assert await take(b, "B", 144.9, 174.9, None) is None  # not yet expired
        taken = await take(b, "B", 145.0, 175.0, None)  # expired: taken over, schedule kept
        assert (taken.holder, taken.expires_at, taken.next_run_at) == ("B", 175.0, 160.0)
        assert await take(a, "A", 146.0, 176.0, 170.0) is None  # A's renewal finds it lost
        released = await take(b, "B", 150.0, 0.0, 180.0)  # release: expires at once
        assert (released.holder, released.expires_at, released.next_run_at) == ("B", 0.0, 180.0)
        again = await take(a, "A", 151.0, 181.0, None)
        assert (again.holder, again.next_run_at) == ("A", 180.0)
        assert await lease_of(b, name) == again

        # Ten processes race for a new lease: exactly one gets it.
        race = f"race.{tag()}"
        contenders = [a, b] * 5

        async def contend(store: Store, i: int) -> Any:
            async with store.write() as tx:
                return await tx.jobs.take_lease(race, f"H{i}", 100.0, 130.0, None)

        results = await asyncio.gather(*(contend(s, i) for i, s in enumerate(contenders)))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert (await lease_of(a, race)).holder == winners[0].holder


# --- periodic jobs ---------------------------------------------------------------------------
class Ticks:
    """A periodic job's tick that records which runtime ran it, and when."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, float]] = []

    def tick_for(self, holder: str) -> Callable[[float], Awaitable[None]]:
        async def tick(now: float) -> None:
            self.runs.append((holder, now))

        return tick


async def a_periodic_job_runs_in_one_runtime_per_interval(open_store: Opener) -> None:
    async with Processes(open_store) as procs:
        clock = ManualClock()
        name = f"tick.{tag()}"
        ticks = Ticks()
        for holder in ("A", "B"):
            runtime = procs.runtime(await procs.store(), holder, clock)
            runtime.register_periodic(name, INTERVAL, ticks.tick_for(holder))
        runtimes = procs.runtimes
        await asyncio.gather(*(r.start() for r in runtimes))
        await eventually(lambda: len(ticks.runs) == 1, "the first tick")
        for round_ in range(1, 8):
            clock.advance(INTERVAL)
            await eventually(lambda: len(ticks.runs) == round_ + 1, f"tick {round_ + 1}")  # noqa: B023
        await stop(*runtimes)
        assert len(ticks.runs) == 8  # no second tick in any interval, none after stop
        assert len({holder for holder, _ in ticks.runs}) == 1
        assert [at for _, at in ticks.runs] == [clock.now() - INTERVAL * (7 - i) for i in range(8)]
        lease = await lease_of(procs.stores[0], name)
        assert lease.holder == ticks.runs[0][0] and lease.expires_at == 0.0  # released on stop
        assert lease.next_run_at == clock.now() + INTERVAL  # the schedule survives for the next holder


async def a_tick_longer_than_the_lease_keeps_it(open_store: Opener) -> None:
    async with Processes(open_store) as procs:
        clock = ManualClock()
        name = f"long.{tag()}"
        ticks = Ticks()
        finish = asyncio.Event()

        async def long_tick(now: float) -> None:
            ticks.runs.append(("A", now))
            if len(ticks.runs) == 1:
                await finish.wait()

        a = procs.runtime(await procs.store(), "A", clock)
        a.register_periodic(name, INTERVAL, long_tick)
        b = procs.runtime(await procs.store(), "B", clock)
        b.register_periodic(name, INTERVAL, ticks.tick_for("B"))
        await a.start()
        await eventually(lambda: len(ticks.runs) == 1, "A's first tick")
        await b.start()
        for _ in range(9):  # three leases' worth of time while the tick runs
            clock.advance(LEASE / 3)
            now = clock.now()

            async def renewed(now: float = now) -> bool:
                return (await lease_of(procs.stores[0], name)).expires_at == now + LEASE

            await eventually(renewed, "A renews its lease during the tick")
        assert (await lease_of(procs.stores[1], name)).holder == "A"
        finish.set()
        await eventually(lambda: len(ticks.runs) == 2, "A's next tick (overdue) at once")
        await stop(a, b)
        assert {holder for holder, _ in ticks.runs} == {"A"}


async def a_dead_holder_loses_its_periodic_job(open_store: Opener) -> None:
    """A's clock stops (a hung process: it never renews); B's runs on: B takes the job over once
    A's lease has expired. When A wakes up, it finds the lease gone and cancels its running tick."""
    async with Processes(open_store) as procs:
        clock_a, clock_b = ManualClock(), ManualClock()
        name = f"dead.{tag()}"
        ticks = Ticks()
        stalled = asyncio.Event()
        cancelled: list[bool] = []

        async def stalling_tick(now: float) -> None:
            ticks.runs.append(("A", now))
            if len(ticks.runs) == 2:
                stalled.set()
                try:
                    await asyncio.Event().wait()  # hangs
                except asyncio.CancelledError:
                    cancelled.append(True)
                    raise

        a = procs.runtime(await procs.store(), "A", clock_a)
        a.register_periodic(name, INTERVAL, stalling_tick)
        b = procs.runtime(await procs.store(), "B", clock_b)
        b.register_periodic(name, INTERVAL, ticks.tick_for("B"))
        await a.start()
        await eventually(lambda: len(ticks.runs) == 1, "A's first tick")
        await b.start()
        clock_a.advance(INTERVAL)  # A renews (until +40) and starts its second tick, which hangs
        clock_b.advance(INTERVAL)
        await eventually(stalled.is_set, "A's second tick")
        clock_b.advance(LEASE / 3)  # B looks at +20: still A's
        clock_b.advance(LEASE / 3)  # +30
        assert [h for h, _ in ticks.runs] == ["A", "A"]
        clock_b.advance(LEASE / 3)  # +40: A's lease has expired; B takes over and ticks (A's second never ended)
        await eventually(lambda: ("B", clock_b.now()) in ticks.runs, "B's tick after the takeover")
        assert (await lease_of(procs.stores[1], name)).holder == "B"
        clock_a.advance(LEASE / 3)  # A wakes up at +20 and renews: lost, its hung tick is cancelled
        await eventually(lambda: cancelled == [True], "A cancels its tick")
        clock_b.advance(INTERVAL)
        await eventually(lambda: [h for h, _ in ticks.runs] == ["A", "A", "B", "B"], "B ticks on")
        clock_a.advance(LEASE)  # A looks again: B holds it
        await stop(a, b)
        assert [h for h, _ in ticks.runs] == ["A", "A", "B", "B"]


# --- the work queue --------------------------------------------------------------------------
async def create_handled_table(store: Store, table: str) -> None:
    async with store.write() as tx:
        await tx.x.execute(f"CREATE TABLE {table} (dedupe_key TEXT NOT NULL, holder TEXT NOT NULL)")


def recording_handler(store: Store, table: str, holder: str) -> Callable[[Job], Awaitable[None]]:
    """A handler that records, in its own transaction, that ``holder`` handled the item's key."""

    async def handle(job: Job) -> None:
        await asyncio.sleep(0)  # let the other runtime interleave
        async with store.write() as tx:
            await tx.x.execute(f"INSERT INTO {table} (dedupe_key, holder) VALUES ($1, $2)", job.key, holder)

    return handle


async def handled(store: Store, table: str) -> list[tuple[str, str]]:
    async with store.read() as tx:
        rows = await tx.x.fetch(f"SELECT dedupe_key, holder FROM {table} ORDER BY dedupe_key")
    return [(r["dedupe_key"], r["holder"]) for r in rows]


async def queue_items_are_handled_exactly_once_by_two_runtimes(open_store: Opener) -> None:
    async with Processes(open_store) as procs:
        clock = ManualClock()
        kind, table = f"work.{tag()}", f"handled_{tag()}"
        for holder in ("A", "B"):
            store = await procs.store()
            runtime = procs.runtime(store, holder, clock, concurrency=3)
            runtime.register_handler(kind, recording_handler(store, table, holder))
        runtimes = procs.runtimes
        await create_handled_table(procs.stores[0], table)
        keys = [f"key-{i:03d}" for i in range(60)]
        async with procs.stores[0].write() as tx:
            for key in keys:
                assert await runtimes[0].enqueue(tx, kind, key, {"n": key})
        await asyncio.gather(*(r.start() for r in runtimes))

        async def all_done() -> bool:
            return [r["state"] for r in await items(procs.stores[1], kind)] == ["done"] * len(keys)

        await eventually(all_done, "every item done")
        await stop(*runtimes)
        seen = await handled(procs.stores[0], table)
        assert [key for key, _ in seen] == keys  # each once: no duplicate, no gap
        assert all(r["attempts"] == 1 and r["holder"] is None for r in await items(procs.stores[0], kind))


async def failures_are_retried_with_backoff_then_failed(open_store: Opener) -> None:
    async with Processes(open_store) as procs:
        clock = ManualClock()
        kind, flaky = f"fail.{tag()}", f"flaky.{tag()}"
        calls: list[tuple[str, int]] = []

        async def always_fails(job: Job) -> None:
            calls.append((job.key, job.attempt))
            raise RuntimeError(f"boom {job.attempt}")

        async def fails_once(job: Job) -> None:
            calls.append((job.key, job.attempt))
            if job.attempt == 1:
                raise ValueError("not yet")

        store = await procs.store()
        runtime = procs.runtime(store, "A", clock)
        runtime.register_handler(kind, always_fails, max_attempts=3, backoff=Backoff(base=10.0, cap=15.0))
        runtime.register_handler(flaky, fails_once, max_attempts=3, backoff=Backoff(base=10.0, cap=15.0))
        async with store.write() as tx:
            await runtime.enqueue(tx, kind, "doomed", {})
            await runtime.enqueue(tx, flaky, "flaky", {})
        await runtime.start()

        async def state(k: str, attempts: int, expected: str) -> bool:
            found = await items(store, k)
            return found[0]["attempts"] == attempts and found[0]["state"] == expected

        await eventually(lambda: state(kind, 1, "pending"), "the first failure")
        await eventually(lambda: state(flaky, 1, "pending"), "the flaky item's first failure")
        first = (await items(store, kind))[0]
        assert first["last_error"] == "RuntimeError: boom 1" and first["holder"] is None
        assert clock.now() + 5.0 <= first["run_at"] <= clock.now() + 10.0  # 10 s, half of it jittered

        clock.advance(10.0)
        await eventually(lambda: state(kind, 2, "pending"), "the second failure")
        await eventually(lambda: state(flaky, 2, "done"), "the flaky item done on its second attempt")
        second = (await items(store, kind))[0]
        assert second["last_error"] == "RuntimeError: boom 2"
        assert clock.now() + 7.5 <= second["run_at"] <= clock.now() + 15.0  # 20 s capped at 15

        clock.advance(15.0)
        await eventually(lambda: state(kind, 3, "failed"), "given up after the third attempt")
        failed = (await items(store, kind))[0]
        assert failed["last_error"] == "RuntimeError: boom 3" and failed["finished_at"] == clock.now()
        clock.advance(1000.0)
        await stop(runtime)
        assert sorted(calls) == [("doomed", 1), ("doomed", 2), ("doomed", 3), ("flaky", 1), ("flaky", 2)]


async def a_dead_holders_items_are_reclaimed(open_store: Opener) -> None:
    """A claims two items and hangs (its clock stops, so it renews nothing); once their leases
    expire B claims them: one runs again (attempt 2), the one on its last attempt is failed."""
    async with Processes(open_store) as procs:
        clock_a, clock_b = ManualClock(), ManualClock()
        kind, last, table = f"work.{tag()}", f"last.{tag()}", f"handled_{tag()}"
        hang = asyncio.Event()
        started: list[str] = []

        async def hangs(job: Job) -> None:
            started.append(job.key)
            await hang.wait()

        store_a, store_b = await procs.store(), await procs.store()
        a = procs.runtime(store_a, "A", clock_a)
        a.register_handler(kind, hangs)
        a.register_handler(last, hangs, max_attempts=1)
        b = procs.runtime(store_b, "B", clock_b)
        b.register_handler(kind, recording_handler(store_b, table, "B"))
        b.register_handler(last, recording_handler(store_b, table, "B"), max_attempts=1)
        await create_handled_table(store_a, table)
        async with store_a.write() as tx:
            await a.enqueue(tx, kind, "again", {})
            await a.enqueue(tx, last, "once", {})
        await a.start()
        await eventually(lambda: sorted(started) == ["again", "once"], "A runs both")
        await b.start()
        clock_b.advance(a.item_lease - 1)  # not expired yet: B claims nothing
        clock_b.advance(1.0)  # A's leases expire now
        await eventually(lambda: _first_state(store_b, kind, "done"), "B completes the reclaimed item")
        await eventually(lambda: _first_state(store_b, last, "failed"), "the last attempt's item failed")
        assert await handled(store_b, table) == [("again", "B")]
        again, once = (await items(store_b, kind))[0], (await items(store_b, last))[0]
        assert again["state"] == "done" and again["attempts"] == 2
        assert once["attempts"] == 1 and "lease of A expired during attempt 1" in once["last_error"]
        hang.set()  # A finishes late: its claims are gone, so nothing it records counts
        await stop(a, b)
        assert (await items(store_b, kind))[0]["state"] == "done"
        assert (await items(store_b, last))[0]["state"] == "failed"
        assert await handled(store_b, table) == [("again", "B")]


async def _first_state(store: Store, kind: str, state: str) -> bool:
    found = await items(store, kind)
    return bool(found) and found[0]["state"] == state


async def a_graceful_stop_waits_for_a_running_handler(open_store: Opener) -> None:
    async with Processes(open_store) as procs:
        clock = ManualClock()
        kind, name = f"slow.{tag()}", f"held.{tag()}"
        running, finish = asyncio.Event(), asyncio.Event()

        async def slow(job: Job) -> None:
            running.set()
            await finish.wait()

        store = await procs.store()
        runtime = procs.runtime(store, "A", clock)
        runtime.register_handler(kind, slow)
        runtime.register_periodic(name, INTERVAL, Ticks().tick_for("A"))
        async with store.write() as tx:
            await runtime.enqueue(tx, kind, "k", {})
        await runtime.start()
        await eventually(running.is_set, "the handler runs")
        await eventually(lambda: _lease_holder(store, name, "A"), "A holds the periodic job")
        stopping = asyncio.create_task(runtime.stop())
        for _ in range(50):
            await asyncio.sleep(0)
        assert not stopping.done()  # waiting for the handler
        finish.set()
        await asyncio.wait_for(stopping, DEADLINE_S)
        rows = await items(store, kind)
        assert [(r["state"], r["holder"]) for r in rows] == [("done", None)]
        assert (await lease_of(store, name)).expires_at == 0.0


async def _lease_holder(store: Store, name: str, holder: str) -> bool:
    lease = await lease_of(store, name)
    return lease is not None and lease.holder == holder


async def a_handler_still_running_at_the_stop_timeout_is_handed_back(open_store: Opener) -> None:
    async with Processes(open_store) as procs:
        clock = ManualClock()
        kind, table = f"stuck.{tag()}", f"handled_{tag()}"
        running, cancelled = asyncio.Event(), asyncio.Event()

        async def stuck(job: Job) -> None:
            running.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

        store_a, store_b = await procs.store(), await procs.store()
        a = procs.runtime(store_a, "A", clock, stop_timeout=5.0)
        a.register_handler(kind, stuck)
        b = procs.runtime(store_b, "B", clock)
        b.register_handler(kind, recording_handler(store_b, table, "B"))
        await create_handled_table(store_a, table)
        async with store_a.write() as tx:
            await a.enqueue(tx, kind, "k", {"x": 1})
        await a.start()
        await eventually(running.is_set, "the handler runs")
        stopping = asyncio.create_task(a.stop())
        for _ in range(1000):  # the clock moves on until the stop timeout has passed
            if stopping.done():
                break
            clock.advance(1.0)
            await asyncio.sleep(0.002)
        await asyncio.wait_for(stopping, DEADLINE_S)
        assert cancelled.is_set()
        rows = await items(store_a, kind)
        assert [(r["state"], r["attempts"], r["holder"]) for r in rows] == [("pending", 0, None)]
        await b.start()  # claimable again at once, by anyone
        await eventually(lambda: _first_state(store_b, kind, "done"), "B completes the handed-back item")
        assert (await items(store_b, kind))[0]["attempts"] == 1
        assert await handled(store_b, table) == [("k", "B")]


async def a_kinds_limit_bounds_its_running_items(open_store: Opener) -> None:
    async with Processes(open_store) as procs:
        clock = ManualClock()
        limited, other = f"limited.{tag()}", f"other.{tag()}"
        release = asyncio.Event()
        running: dict[str, int] = {limited: 0, other: 0}
        most: dict[str, int] = {limited: 0, other: 0}

        async def hold(job: Job) -> None:
            running[job.kind] += 1
            most[job.kind] = max(most[job.kind], running[job.kind])
            try:
                await release.wait()
            finally:
                running[job.kind] -= 1

        store = await procs.store()
        runtime = procs.runtime(store, "A", clock, concurrency=4)
        runtime.register_handler(limited, hold, limit=2)
        runtime.register_handler(other, hold)
        async with store.write() as tx:
            for i in range(5):
                await runtime.enqueue(tx, limited, f"l{i}", {})
        await runtime.start()
        await eventually(lambda: running[limited] == 2, "two limited items run")
        for _ in range(50):
            await asyncio.sleep(0.002)
        assert running == {limited: 2, other: 0}  # the others wait although the runtime has room
        async with store.write() as tx:
            for i in range(2):
                await runtime.enqueue(tx, other, f"o{i}", {})
        runtime.notify()
        await eventually(lambda: running[other] == 2, "the room beyond the limit goes to other kinds")
        release.set()
        await eventually(lambda: _count_state(store, limited, "done", 5), "every limited item done")
        await stop(runtime)
        assert most == {limited: 2, other: 2}


async def _count_state(store: Store, kind: str, state: str, expected: int) -> bool:
    return sum(r["state"] == state for r in await items(store, kind)) == expected


async def enqueue_belongs_to_the_callers_transaction(open_store: Opener) -> None:
    async with Processes(open_store) as procs:
        clock = ManualClock()
        kind = f"tx.{tag()}"

        async def nothing(job: Job) -> None:
            return None

        store = await procs.store()
        runtime = procs.runtime(store, "A", clock)  # not started: only enqueue
        runtime.register_handler(kind, nothing)

        class Rollback(Exception):
            pass

        try:
            async with store.write() as tx:
                assert await runtime.enqueue(tx, kind, "rolled-back", {"n": 1})
                raise Rollback
        except Rollback:
            pass
        assert await items(store, kind) == []

        async with store.write() as tx:
            assert await runtime.enqueue(tx, kind, "k", {"n": 1})
            assert not await runtime.enqueue(tx, kind, "k", {"n": 2})  # one pending item per key
        rows = await items(store, kind)
        assert [(r["dedupe_key"], r["state"], r["payload"]) for r in rows] == [("k", "pending", '{"n":1}')]

        # Once it runs, the same key may be enqueued again (a change made after the run started).
        async with store.write() as tx:
            (claimed,), _ = await tx.jobs.claim([kind], "A", clock.now(), clock.now() + 60, 10)
        async with store.write() as tx:
            assert await runtime.enqueue(tx, kind, "k", {"n": 3})
        assert [r["state"] for r in await items(store, kind)] == ["running", "pending"]
        # The running one fails and would be pending again: the newer pending item stands for both.
        async with store.write() as tx:
            assert await tx.jobs.to_pending(claimed, "A", clock.now() + 10, "boom", refund=False)
        rows = await items(store, kind)
        assert [(r["state"], r["payload"]) for r in rows] == [("pending", '{"n":3}')]

        for bad in (lambda tx: runtime.enqueue(tx, "unknown.kind", "k", {}),
                    lambda tx: runtime.enqueue(tx, kind, "", {}),
                    lambda tx: runtime.enqueue(tx, kind, "big", {"blob": "x" * 70_000})):
            try:
                async with store.write() as tx:
                    await bad(tx)
            except ValueError:
                pass
            else:
                raise AssertionError("refused enqueue was accepted")
        assert len(await items(store, kind)) == 1


async def done_items_are_pruned_after_the_retention(open_store: Opener) -> None:
    async with Processes(open_store) as procs:
        clock = ManualClock()
        kind, failing = f"prune.{tag()}", f"prunefail.{tag()}"

        async def ok(job: Job) -> None:
            return None

        async def fails(job: Job) -> None:
            raise RuntimeError("no")

        store = await procs.store()
        runtime = procs.runtime(store, "A", clock, retention=100.0)
        runtime.register_handler(kind, ok)
        runtime.register_handler(failing, fails, max_attempts=1)
        async with store.write() as tx:
            for i in range(3):
                await runtime.enqueue(tx, kind, f"k{i}", {})
            await runtime.enqueue(tx, failing, "f", {})
        await runtime.start()
        await eventually(lambda: _first_state(store, failing, "failed"), "the failing item failed")

        async def all_done() -> bool:
            return [r["state"] for r in await items(store, kind)] == ["done"] * 3

        await eventually(all_done, "the items done")
        clock.advance(3600.0)  # the prune job's interval; the items are older than the retention
        await eventually(lambda: _count(store, kind, 0), "done items pruned")
        await stop(runtime)
        assert [r["state"] for r in await items(store, failing)] == ["failed"]  # kept, with its reason


async def _count(store: Store, kind: str, expected: int) -> bool:
    return len(await items(store, kind)) == expected


SCENARIOS: list[Callable[[Opener], Awaitable[None]]] = [
    lease_acquire_renew_takeover_release,
    a_periodic_job_runs_in_one_runtime_per_interval,
    a_tick_longer_than_the_lease_keeps_it,
    a_dead_holder_loses_its_periodic_job,
    queue_items_are_handled_exactly_once_by_two_runtimes,
    failures_are_retried_with_backoff_then_failed,
    a_dead_holders_items_are_reclaimed,
    a_graceful_stop_waits_for_a_running_handler,
    a_handler_still_running_at_the_stop_timeout_is_handed_back,
    a_kinds_limit_bounds_its_running_items,
    enqueue_belongs_to_the_callers_transaction,
    done_items_are_pruned_after_the_retention,
]
