"""The PostgreSQL store's GetSecretValue read cache (:class:`ReadCache`) on its own, without PostgreSQL.

``usable(snapshot)`` is driven with fake snapshot callables: each fake is a coroutine function that
counts its calls and answers (or fails) only when the test lets it, so every interleaving of
requests, checks and commits below is chosen by the test, not by timing. A fake always suspends
at least once, as a real round trip does (the tests at the end cover checks that end without suspending).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from task_outcomes import outcomes_of, settle

from strongroom.server.config import Config
from strongroom.store.factory import open_store
from strongroom.store.postgres import PostgresStore
from strongroom.store.read_cache import MISS, ReadCache

T = TypeVar("T")
KEY_A = ("111111111111", "us-east-1", "a", None, None, "AWSCURRENT")
KEY_B = ("111111111111", "us-east-1", "b", None, None, "AWSCURRENT")
KEY_C = ("111111111111", "us-east-1", "c", None, None, "AWSCURRENT")


def run(body: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(body())


class FakeSnapshot:
    """A ``snapshot`` callable: answers ``value`` (or raises ``error``) once ``release`` is set.

    ``started`` is set when a call begins; ``calls`` counts the calls. ``release`` starts set
    unless ``hold`` is true; either way the call suspends at least once before answering.
    """

    def __init__(self, value: str = "s1", *, hold: bool = False, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error
        self.calls = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()

    async def __call__(self) -> str:
        self.calls += 1
        self.started.set()
        await asyncio.sleep(0)  # a round trip always suspends
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.value


async def answering(value: str) -> str:
    """A check's answer, ``value``, after one suspension (``lambda: answering("s1")`` is a snapshot callable)."""
    await asyncio.sleep(0)
    return value


async def started(fake: FakeSnapshot) -> None:
    """Let the queued requests run; ``fake`` must then have been called (its check is pending)."""
    await settle()
    assert fake.started.is_set(), "no check was started"


async def filled(cache: ReadCache, snapshot: str, *entries: tuple[tuple[str | None, ...], Any]) -> None:
    """Validate the cache at ``snapshot`` (in an iteration of its own) and store ``entries`` under it."""
    await asyncio.sleep(0)
    assert await cache.usable(lambda: answering(snapshot))
    for key, found in entries:
        cache.put(key, found, cache.generation)


# --- one check per event-loop iteration ----------------------------------------------------------
def test_requests_of_one_iteration_share_one_check() -> None:
    async def body() -> None:
        cache = ReadCache(10)
        fake = FakeSnapshot("s1")
        results = await asyncio.gather(*(cache.usable(fake) for _ in range(25)))
        assert results == [True] * 25
        assert fake.calls == 1
        assert cache.checks == 1

    run(body)


def test_a_caller_of_the_same_iteration_joins_a_pending_check() -> None:
    """Joining does not depend on the check being quick: it holds until the fake is released."""

    async def body() -> None:
        cache = ReadCache(10)
        fake = FakeSnapshot("s1", hold=True)
        tasks = [asyncio.create_task(cache.usable(fake)) for _ in range(5)]
        await started(fake)
        await settle()
        assert not any(t.done() for t in tasks)
        fake.release.set()
        assert await asyncio.gather(*tasks) == [True] * 5
        assert (fake.calls, cache.checks) == (1, 1)

    run(body)


def test_a_later_iteration_starts_its_own_check_while_the_first_is_pending() -> None:
    async def body() -> None:
        cache = ReadCache(10)
        first = FakeSnapshot("s1", hold=True)
        second = FakeSnapshot("s1")
        held = asyncio.create_task(cache.usable(first))
        await asyncio.sleep(0)  # the first request runs: its check starts, and stays pending
        assert first.calls == 1
        await asyncio.sleep(0)  # a request of a later iteration
        later = asyncio.create_task(cache.usable(second))
        await settle()
        assert second.calls == 1, "the later request joined a check started before it arrived"
        assert later.done() and later.result() is True  # answered although the first check is pending
        assert not held.done()
        assert (first.calls, cache.checks) == (1, 1)
        first.release.set()
        assert await held
        assert cache.checks == 2

    run(body)


def test_each_iteration_starts_one_check() -> None:
    async def body() -> None:
        cache = ReadCache(10)
        fake = FakeSnapshot("s1")
        for rounds in range(1, 4):
            assert await asyncio.gather(*(cache.usable(fake) for _ in range(3))) == [True] * 3
            assert (fake.calls, cache.checks) == (rounds, rounds)

    run(body)


# --- what a check decides ------------------------------------------------------------------------
def test_an_unchanged_snapshot_keeps_the_entries() -> None:
    async def body() -> None:
        cache = ReadCache(10)
        await filled(cache, "s1", (KEY_A, "row-a"), (KEY_B, None))
        generation = cache.generation
        await asyncio.sleep(0)
        assert await cache.usable(lambda: answering("s1"))
        assert cache.generation == generation
        assert cache.get(KEY_A) == "row-a"
        assert cache.get(KEY_B) is None  # a negative result is an entry too
        assert cache.get(KEY_C) is MISS
        assert (cache.hits, cache.misses) == (2, 1)

    run(body)


def test_a_changed_snapshot_empties_the_cache_and_bumps_the_generation() -> None:
    async def body() -> None:
        cache = ReadCache(10)
        await filled(cache, "s1", (KEY_A, "row-a"), (KEY_B, "row-b"))
        generation = cache.generation
        await asyncio.sleep(0)
        assert await cache.usable(lambda: answering("s2"))  # the cache may be used: it is empty
        assert cache.generation == generation + 1
        assert cache.get(KEY_A) is MISS and cache.get(KEY_B) is MISS
        cache.put(KEY_A, "row-a2", cache.generation)
        await asyncio.sleep(0)
        assert await cache.usable(lambda: answering("s2"))
        assert cache.get(KEY_A) == "row-a2"  # filed under s2, kept while s2 holds

    run(body)


def test_clear_forgets_the_snapshot_too() -> None:
    """After clear() (a commit of this process) even the same snapshot text empties the cache again."""

    async def body() -> None:
        cache = ReadCache(10)
        await filled(cache, "s1", (KEY_A, "row-a"))
        cache.clear()
        cache.put(KEY_A, "filed-without-a-check", cache.generation)
        generation = cache.generation
        await asyncio.sleep(0)
        assert await cache.usable(lambda: answering("s1"))
        assert cache.generation == generation + 1
        assert cache.get(KEY_A) is MISS

    run(body)


def test_a_put_with_a_stale_generation_is_dropped() -> None:
    """A read that was in flight while the cache was emptied is not stored."""

    async def body() -> None:
        cache = ReadCache(10)
        await filled(cache, "s1")
        started_at = cache.generation  # a read starts ...
        await asyncio.sleep(0)
        assert await cache.usable(lambda: answering("s2"))  # ... another request finds a commit ...
        cache.put(KEY_A, "read-before-the-commit", started_at)  # ... and the read ends
        assert cache.get(KEY_A) is MISS
        await asyncio.sleep(0)
        assert await cache.usable(lambda: answering("s2"))
        assert cache.get(KEY_A) is MISS  # not filed under s2 either
        cache.clear()
        cache.put(KEY_B, "row-b", cache.generation - 1)
        assert cache.get(KEY_B) is MISS

    run(body)


def test_a_read_in_flight_during_clear_is_not_stored() -> None:
    async def body() -> None:
        cache = ReadCache(10)
        await filled(cache, "s1")
        started_at = cache.generation
        cache.clear()  # this process committed meanwhile
        cache.put(KEY_A, "old", started_at)
        assert cache.get(KEY_A) is MISS

    run(body)


def test_out_of_order_checks_only_empty_the_cache() -> None:
    """An older check that ends after a newer one never brings back what the newer one removed.

    Check A starts (its snapshot predates a commit), the commit happens, check B starts and ends
    first; then A ends. A's requests then find the cache empty and read the database, and
    nothing read before the commit is ever filed under the snapshot that includes it.
    """

    async def body() -> None:
        cache = ReadCache(10)
        await filled(cache, "s1", (KEY_A, "before-commit"))
        older = FakeSnapshot("s1", hold=True)  # observed before the commit
        newer = FakeSnapshot("s2", hold=True)  # observed after it
        await asyncio.sleep(0)
        a = asyncio.create_task(cache.usable(older))
        await started(older)
        await asyncio.sleep(0)
        # a read validated earlier (at s1) is in flight while the commit happens
        in_flight = cache.generation
        b = asyncio.create_task(cache.usable(newer))
        await started(newer)
        assert (older.calls, newer.calls) == (1, 1)
        newer.release.set()
        assert await b
        generation_b = cache.generation
        assert generation_b > in_flight
        assert cache.get(KEY_A) is MISS
        cache.put(KEY_A, "stale", in_flight)  # dropped: it started before B emptied the cache
        assert cache.get(KEY_A) is MISS
        cache.put(KEY_B, "after-commit", generation_b)  # B's request read after the commit
        assert cache.get(KEY_B) == "after-commit"
        older.release.set()
        assert await a  # A's requests may use the cache: it holds nothing older than their check
        assert cache.generation == generation_b + 1
        assert cache.get(KEY_A) is MISS and cache.get(KEY_B) is MISS
        cache.put(KEY_A, "read-after-A", cache.generation)
        await asyncio.sleep(0)
        assert await cache.usable(lambda: answering("s2"))  # the latest snapshot again: emptied once more
        assert cache.get(KEY_A) is MISS
        assert cache.checks == 4

    run(body)


# --- failures and cancellation -------------------------------------------------------------------
def test_a_failed_check_sends_everyone_to_the_database_and_the_next_iteration_checks_again() -> None:
    async def body() -> None:
        cache = ReadCache(10)
        await filled(cache, "s1", (KEY_A, "row-a"))
        checks, generation = cache.checks, cache.generation
        failing = FakeSnapshot(error=OSError("connection reset"))
        await asyncio.sleep(0)
        results = await asyncio.gather(*(cache.usable(failing) for _ in range(4)), return_exceptions=True)
        assert isinstance(results[0], OSError) and str(results[0]) == "connection reset"
        assert results[1:] == [False, False, False]
        assert failing.calls == 1
        assert (cache.checks, cache.generation) == (checks, generation)  # not a completed check
        again = FakeSnapshot("s1")
        assert await asyncio.gather(cache.usable(again), cache.usable(again)) == [True, True]
        assert again.calls == 1 and cache.checks == checks + 1
        assert cache.get(KEY_A) == "row-a"  # the failure itself removed nothing

    run(body)


def test_a_check_failing_with_a_postgres_error_propagates_it() -> None:
    async def body() -> None:
        cache = ReadCache(10)
        failing = FakeSnapshot(error=asyncpg.PostgresError("boom"))
        results = await asyncio.gather(cache.usable(failing), cache.usable(failing), return_exceptions=True)
        assert isinstance(results[0], asyncpg.PostgresError)
        assert results[1] is False

    run(body)


def test_a_cancelled_waiter_does_not_disturb_the_others() -> None:
    async def body() -> None:
        cache = ReadCache(10)
        fake = FakeSnapshot("s1", hold=True)
        checker = asyncio.create_task(cache.usable(fake))
        waiters = [asyncio.create_task(cache.usable(fake)) for _ in range(3)]
        await started(fake)
        await settle()
        waiters[1].cancel()
        await settle()
        assert waiters[1].cancelled()
        assert not checker.done() and not waiters[0].done() and not waiters[2].done()
        fake.release.set()
        assert await checker
        assert await waiters[0] and await waiters[2]
        assert (fake.calls, cache.checks) == (1, 1)

    run(body)


def test_a_cancelled_checker_sends_its_waiters_to_the_database() -> None:
    async def body() -> None:
        cache = ReadCache(10)
        await filled(cache, "s1", (KEY_A, "row-a"))
        checks = cache.checks
        fake = FakeSnapshot("s1", hold=True)
        await asyncio.sleep(0)
        checker = asyncio.create_task(cache.usable(fake))
        waiters = [asyncio.create_task(cache.usable(fake)) for _ in range(3)]
        await started(fake)
        await settle()
        checker.cancel()
        await settle()
        assert all(w.done() for w in waiters), "the waiters of a cancelled check were left waiting"
        assert [w.result() for w in waiters] == [False, False, False]
        with pytest.raises(asyncio.CancelledError):
            await checker
        assert cache.checks == checks
        again = FakeSnapshot("s1")
        assert await cache.usable(again)
        assert again.calls == 1 and cache.checks == checks + 1

    run(body)


# --- bounds --------------------------------------------------------------------------------------
def test_fifo_eviction_at_the_size() -> None:
    """The oldest inserted entry goes first; a hit does not make an entry younger."""
    cache = ReadCache(2)
    g = cache.generation
    cache.put(KEY_A, "a", g)
    cache.put(KEY_B, "b", g)
    assert cache.get(KEY_A) == "a"  # a hit
    cache.put(KEY_C, "c", g)  # drops a, the first inserted
    assert cache.get(KEY_A) is MISS
    assert (cache.get(KEY_B), cache.get(KEY_C)) == ("b", "c")
    cache.put(KEY_A, "a", g)  # drops b
    assert cache.get(KEY_B) is MISS
    assert (cache.get(KEY_C), cache.get(KEY_A)) == ("c", "a")
    assert (cache.hits, cache.misses) == (5, 2)


def test_size_one_keeps_the_last_entry() -> None:
    cache = ReadCache(1)
    for key in (KEY_A, KEY_B, KEY_C):
        cache.put(key, key[2], cache.generation)
    assert cache.get(KEY_C) == "c"
    assert cache.get(KEY_A) is MISS and cache.get(KEY_B) is MISS


@pytest.mark.parametrize(("size", "enabled"), [(0, False), (-1, False), (1, True), (10_000, True)])
def test_enabled_is_size_above_zero(size: int, enabled: bool) -> None:
    assert ReadCache(size).enabled is enabled


@pytest.mark.parametrize("size", [0, 3, 10_000])
def test_open_store_passes_read_cache_size_to_postgres(tmp_path: Path, size: int) -> None:
    """No connection is made: the pool opens on first use."""
    config = Config(data_dir=tmp_path, database_url="postgresql://u@127.0.0.1:1/none", read_cache_size=size)
    store = open_store(config.store_settings())
    assert isinstance(store, PostgresStore)
    assert store.read_cache.enabled is (size > 0)
    assert store.read_cache._size == size
    assert PostgresStore("postgresql://u@127.0.0.1:1/none").read_cache._size == 10_000


# --- checks that end without suspending ---------------------------------------------------------
async def _callers_of_one_iteration(cache: ReadCache, snapshot: Callable[[], Awaitable[str]]) -> list[Any]:
    """Three requests of one iteration; after ten loop turns, what each got ("pending" if nothing)."""
    return await outcomes_of([asyncio.create_task(cache.usable(snapshot)) for _ in range(3)])


def test_a_check_failing_without_suspending_does_not_strand_the_other_requests() -> None:
    """A snapshot that fails at once (asyncpg raises InterfaceError('pool is closing') from
    ``pool.acquire()`` before any I/O) must still answer the other requests of the iteration."""

    async def failing_at_once() -> str:
        raise OSError("pool is closing")

    async def body() -> list[Any]:
        return await _callers_of_one_iteration(ReadCache(10), failing_at_once)

    outcomes = run(body)
    assert outcomes[0] is OSError
    assert "pending" not in outcomes, outcomes


def test_a_check_answered_without_suspending_does_not_strand_the_other_requests() -> None:
    async def answering_at_once() -> str:
        return "s1"

    async def body() -> list[Any]:
        return await _callers_of_one_iteration(ReadCache(10), answering_at_once)

    outcomes = run(body)
    assert "pending" not in outcomes, outcomes


def test_storing_a_cached_key_again_evicts_nothing() -> None:
    """Concurrent misses of one key (one iteration's requests after a commit) each put it."""
    cache = ReadCache(2)
    g = cache.generation
    cache.put(KEY_A, "a", g)
    cache.put(KEY_B, "b", g)
    cache.put(KEY_B, "b", g)
    assert cache.get(KEY_A) == "a"
