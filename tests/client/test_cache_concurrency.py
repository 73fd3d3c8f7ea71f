"""The cache under concurrency, against the in-memory service: many readers of a missing or an
expired entry share one fetch (1,000 coroutines; 200 threads), a cancelled reader leaves the
shared fetch alone, a background refresh serves the current value until it completes, a cancelled
client call fails the read."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import CancelledError, Future
from typing import Any

import pytest
from cache_forms import AsyncForm, SyncForm

from strongroom.client._base import Shape
from strongroom.client.cache import SecretCache

READERS = 1000
THREADS = 200


async def readers_of(form: AsyncForm, count: int) -> list[str | None]:
    """``count`` concurrent reads of "db" while the service holds its answers, then released."""
    form.fake.hold()
    tasks = [asyncio.create_task(form.cache.get_secret_string("db")) for _ in range(count)]
    await asyncio.sleep(0)  # every reader has run up to its wait; the fetch is waiting on the service
    await asyncio.sleep(0)
    form.fake.release()
    return await asyncio.gather(*tasks)


@pytest.mark.parametrize("changed", [False, True], ids=["unchanged", "changed"])
def test_a_thousand_coroutines_share_one_fetch_of_a_missing_then_an_expired_entry(changed: bool) -> None:
    form = AsyncForm()
    try:
        form.service.put("db", "s1")
        assert form.run(readers_of(form, READERS)) == ["s1"] * READERS
        assert form.service.calls == [("GetSecretValue", "db")]
        if changed:
            form.service.put("db", "s2")
        form.clock.advance(100)
        expected = "s2" if changed else "s1"
        assert form.run(readers_of(form, READERS)) == [expected] * READERS
        assert form.service.count("DescribeSecret") == 1
        assert form.service.count("GetSecretValue") == (2 if changed else 1)
    finally:
        form.close()


def test_a_thousand_coroutines_share_one_failing_fetch() -> None:
    form = AsyncForm()
    try:

        async def read() -> list[BaseException | str | None]:
            form.fake.hold()
            tasks = [asyncio.create_task(form.cache.get_secret_string("missing")) for _ in range(READERS)]
            await asyncio.sleep(0)
            form.fake.release()
            return await asyncio.gather(*tasks, return_exceptions=True)

        outcomes = form.run(read())
        assert {type(o).__name__ for o in outcomes} == {"ResourceNotFoundException"}
        assert form.service.calls == [("GetSecretValue", "missing")]
    finally:
        form.close()


def test_a_cancelled_reader_does_not_cancel_the_fetch_others_wait_for() -> None:
    form = AsyncForm()
    try:
        form.service.put("db", "s1")

        async def read() -> str | None:
            form.fake.hold()
            first = asyncio.create_task(form.cache.get_secret_string("db"))
            second = asyncio.create_task(form.cache.get_secret_string("db"))
            await asyncio.sleep(0)
            first.cancel()
            await asyncio.sleep(0)
            form.fake.release()
            with pytest.raises(asyncio.CancelledError):
                await first
            return await second

        assert form.run(read()) == "s1"
        assert form.service.calls == [("GetSecretValue", "db")]
    finally:
        form.close()


def test_an_async_background_refresh_serves_the_current_value_until_it_completes() -> None:
    form = AsyncForm()
    try:
        form.service.put("db", "s1")
        assert form.string("db") == "s1"
        form.service.put("db", "s2")
        form.clock.advance(95)
        form.fake.hold()
        assert [form.string("db") for _ in range(5)] == ["s1"] * 5  # never waits; one refresh only
        assert form.service.calls == [("GetSecretValue", "db"), ("DescribeSecret", "db")]
        form.fake.release()
        form.drain()
        assert form.string("db") == "s2"
        assert form.service.count("GetSecretValue") == 2
    finally:
        form.close()


def test_closing_the_async_cache_cancels_its_background_refresh() -> None:
    form = AsyncForm()
    form.service.put("db", "s1")
    form.string("db")
    form.clock.advance(95)
    form.fake.hold()
    assert form.string("db") == "s1"
    assert len(form.cache._tasks) == 1
    form.run(form.cache.close())
    assert not form.cache._tasks
    assert form.cache._core.in_flight("db", None) is None
    form.loop.close()


def run_threads(form: SyncForm, count: int) -> list[str | None]:
    """``count`` threads read "db" while the service holds its answers; released once all started."""
    results: list[str | None] = [None] * count
    started = threading.Semaphore(0)

    def read(i: int) -> None:
        started.release()
        results[i] = form.cache.get_secret_string("db")

    threads = [threading.Thread(target=read, args=(i,)) for i in range(count)]
    form.fake.hold()
    for thread in threads:
        thread.start()
    for _ in range(count):
        assert started.acquire(timeout=30)
    form.fake.release()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.parametrize("changed", [False, True], ids=["unchanged", "changed"])
def test_many_threads_share_one_fetch_of_a_missing_then_an_expired_entry(changed: bool) -> None:
    form = SyncForm()
    form.service.put("db", "s1")
    assert run_threads(form, THREADS) == ["s1"] * THREADS
    assert form.service.calls == [("GetSecretValue", "db")]
    if changed:
        form.service.put("db", "s2")
    form.clock.advance(100)
    assert run_threads(form, THREADS) == ["s2" if changed else "s1"] * THREADS
    assert form.service.count("DescribeSecret") == 1
    assert form.service.count("GetSecretValue") == (2 if changed else 1)


def test_a_sync_background_refresh_serves_the_current_value_until_it_completes() -> None:
    form = SyncForm()
    form.service.put("db", "s1")
    assert form.string("db") == "s1"
    form.service.put("db", "s2")
    form.clock.advance(95)
    form.fake.hold()
    assert [form.string("db") for _ in range(5)] == ["s1"] * 5
    assert form.service.calls == [("GetSecretValue", "db"), ("DescribeSecret", "db")]
    form.fake.release()  # completes DescribeSecret; GetSecretValue of the new version then completes at once
    assert form.string("db") == "s2"
    assert form.service.count("GetSecretValue") == 2


def test_a_cancelled_client_call_fails_the_sync_read_instead_of_hanging() -> None:
    class Cancelling:
        def send_async(self, request: Shape) -> Future[Any]:
            future: Future[Any] = Future()
            future.cancel()
            return future

    cache = SecretCache(Cancelling())
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            cache.get_secret_string("db")
        except Exception as error:
            outcome.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    assert [type(e) for e in outcome] == [CancelledError]
