"""strongroom.functions.runtime.pool: which worker serves an invocation, with stand-in workers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from strongroom.functions.runtime.pool import Assignment, Lease, RuntimeClosedError, WorkerPool

A1, A2 = Assignment("key-a1", "arn:a", "$LATEST"), Assignment("key-a2", "arn:a", "$LATEST")
B = Assignment("key-b", "arn:b", "$LATEST")
A_VERSION_1 = Assignment("key-a-v1", "arn:a", "1")


class FakeWorker:
    def __init__(self, name: str) -> None:
        self.name = name
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.kills = 0

    @property
    def alive(self) -> bool:
        return not self.exited.done()

    def kill(self) -> None:
        self.kills += 1
        if self.alive:
            asyncio.get_running_loop().call_soon(lambda: self.exited.done() or self.exited.set_result(-9))

    def __repr__(self) -> str:
        return self.name


def pool_run(scenario: Callable[[WorkerPool[FakeWorker]], Awaitable[Any]], max_workers: int = 2,
             idle_timeout: float = 300.0) -> Any:
    async def main() -> Any:
        return await scenario(WorkerPool(max_workers, idle_timeout))

    return asyncio.run(main())


async def start(pool: WorkerPool[FakeWorker], assignment: Assignment, name: str) -> FakeWorker:
    """Acquire and, when a place was reserved, admit a new worker: what the runtime does."""
    lease: Lease[FakeWorker] = await pool.acquire(assignment)
    if lease.worker is not None:
        return lease.worker
    worker = FakeWorker(name)
    pool.admit(lease, worker)
    return worker


def test_a_released_worker_serves_the_same_configuration_again() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        first = await start(pool, A1, "w1")
        pool.release(first, reusable=True)
        assert await start(pool, A1, "w2") is first
        assert pool.live == 1 and pool.idle == 0

    pool_run(scenario)


def test_a_worker_that_may_not_serve_again_is_killed_and_frees_its_place() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        first = await start(pool, A1, "w1")
        pool.release(first, reusable=False)
        assert first.kills == 1 and pool.live == 0
        assert await start(pool, A1, "w2") is not first

    pool_run(scenario)


def test_a_new_configuration_recycles_the_old_ones_workers_idle_now_busy_later() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        idle, busy = await start(pool, A1, "idle"), await start(pool, A1, "busy")
        pool.release(idle, reusable=True)
        new = await start(pool, A2, "new")  # room was made by the idle one, killed at once
        assert idle.kills == 1 and busy.kills == 0 and new.name == "new"
        pool.release(busy, reusable=True)
        assert busy.kills == 1 and pool.live == 1

    pool_run(scenario)


def test_versions_of_a_function_keep_their_own_workers() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        latest, published = await start(pool, A1, "latest"), await start(pool, A_VERSION_1, "v1")
        pool.release(latest, reusable=True)
        pool.release(published, reusable=True)
        assert (latest.kills, published.kills, pool.idle) == (0, 0, 2)

    pool_run(scenario)


def test_retire_kills_idle_workers_now_and_busy_ones_when_released() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        idle, busy = await start(pool, A1, "idle"), await start(pool, A1, "busy")
        pool.release(idle, reusable=True)
        pool.retire("arn:a")
        assert idle.kills == 1 and busy.kills == 0
        pool.release(busy, reusable=True)
        assert busy.kills == 1 and pool.live == 0
        again = await start(pool, A1, "again")  # the same configuration may start afresh
        pool.release(again, reusable=True)
        assert again.kills == 0 and pool.idle == 1

    pool_run(scenario)


def test_at_the_bound_the_least_recently_used_idle_worker_is_evicted() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        older, newer = await start(pool, A1, "older"), await start(pool, B, "newer")
        pool.release(older, reusable=True)
        pool.release(newer, reusable=True)
        third = await start(pool, Assignment("key-c", "arn:c", "$LATEST"), "third")
        assert (older.kills, newer.kills, third.name, pool.live) == (1, 0, "third", 2)

    pool_run(scenario)


def test_at_the_bound_with_every_worker_busy_an_invocation_waits_for_a_release() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        first, second = await start(pool, A1, "first"), await start(pool, B, "second")
        waiting = asyncio.ensure_future(start(pool, A1, "third"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not waiting.done() and pool.live == 2
        pool.release(first, reusable=True)
        assert await waiting is first  # the released worker had the waiting invocation's configuration
        pool.release(second, reusable=False)
        assert pool.live == 1

    pool_run(scenario)


def test_a_waiting_invocation_of_another_configuration_gets_the_freed_place() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        only = await start(pool, A1, "only")
        waiting = asyncio.ensure_future(start(pool, B, "b"))
        await asyncio.sleep(0)
        pool.release(only, reusable=True)  # idle, of another configuration: evicted for the waiting one
        assert (await waiting).name == "b" and only.kills == 1

    pool_run(scenario, max_workers=1)


def test_an_idle_worker_expires_and_one_that_dies_while_idle_is_forgotten() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        expiring = await start(pool, A1, "expiring")
        pool.release(expiring, reusable=True)
        await asyncio.wait_for(expiring.exited, 10)
        assert pool.live == 0
        crashing = await start(pool, B, "crashing")
        pool.release(crashing, reusable=True)
        crashing.exited.set_result(1)  # e.g. a background thread of the function called os._exit
        await asyncio.sleep(0)
        assert pool.live == 0 and pool.idle == 0

    pool_run(scenario, idle_timeout=0.05)


def test_a_place_whose_worker_failed_to_start_is_given_back() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        lease = await pool.acquire(A1)
        pool.cancel(lease)
        assert pool.live == 0

    pool_run(scenario, max_workers=1)


def test_close_kills_idle_workers_now_and_busy_ones_when_released() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        idle, busy = await start(pool, A1, "idle"), await start(pool, B, "busy")
        pool.release(idle, reusable=True)
        pool.close()
        assert idle.kills == 1 and busy.kills == 0
        with pytest.raises(RuntimeClosedError):
            await pool.acquire(A1)
        pool.release(busy, reusable=True)
        assert busy.kills == 1 and pool.live == 0

    pool_run(scenario)


def test_close_wakes_invocations_waiting_for_a_worker() -> None:
    async def scenario(pool: WorkerPool[FakeWorker]) -> None:
        await start(pool, A1, "busy")
        waiting = asyncio.ensure_future(start(pool, B, "waiting"))
        await asyncio.sleep(0)
        assert not waiting.done()
        pool.close()
        with pytest.raises(RuntimeClosedError):
            await waiting

    pool_run(scenario, max_workers=1)


def test_the_bound_must_allow_a_worker() -> None:
    with pytest.raises(ValueError):
        WorkerPool(0, 1.0)
