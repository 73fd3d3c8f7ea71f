"""The jobs runtime on SQLite: two runtimes on one database file, as two worker processes would be.

The scenarios (tests/unit/jobs_scenarios.py) run on PostgreSQL too (tests/pg/test_pg_jobs.py).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from jobs_scenarios import SCENARIOS, Opener

from strongroom.jobs import Backoff, Job, JobRuntime, ManualClock
from strongroom.store.base import Store
from strongroom.store.sqlite import SqliteStore


def sqlite_opener(path: Path) -> Opener:
    async def open_store() -> Store:
        store = SqliteStore(path)
        await store.migrate()
        return store

    return open_store


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario(scenario: Callable[[Opener], Awaitable[None]], tmp_path: Path) -> None:
    asyncio.run(scenario(sqlite_opener(tmp_path / "strongroom.db")))


def test_backoff_doubles_up_to_its_cap_with_half_jitter() -> None:
    backoff = Backoff(base=2.0, cap=30.0)
    assert [backoff.ceiling(n) for n in range(1, 7)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    rng = random.Random(7)
    for attempt in range(1, 10):
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(backoff.ceiling(attempt) / 2 <= d <= backoff.ceiling(attempt) for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert Backoff(base=1.0, cap=60.0).ceiling(10_000) == 60.0  # no overflow on absurd attempts
    with pytest.raises(ValueError):
        Backoff(base=0.0)


def test_a_handlers_limit_is_at_least_one(tmp_path: Path) -> None:
    async def handler(job: Job) -> None:
        return None

    runtime = JobRuntime(SqliteStore(tmp_path / "unused.db"), "A", ManualClock())
    with pytest.raises(ValueError, match="limit"):
        runtime.register_handler("kind", handler, limit=0)
    runtime.register_handler("kind", handler, limit=1)
