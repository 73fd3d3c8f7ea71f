"""The jobs runtime on PostgreSQL: two runtimes with a pool each, as two instances would be.

The same scenarios as on SQLite (tests/unit/jobs_scenarios.py), each on a fresh database: here
claims and lease takes of the two runtimes really run at once, on separate connections, and
``FOR UPDATE SKIP LOCKED`` keeps their claims apart.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))  # the shared scenarios
from jobs_scenarios import SCENARIOS, Opener  # noqa: E402

from strongroom.store.base import Store  # noqa: E402
from strongroom.store.postgres import PostgresStore  # noqa: E402

pytestmark = pytest.mark.postgres


def postgres_opener(url: str) -> Opener:
    async def open_store() -> Store:
        store = PostgresStore(url, max_size=4)
        await store.migrate()
        return store

    return open_store


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario(scenario: Callable[[Opener], Awaitable[None]], new_database: Callable[[str], str]) -> None:
    asyncio.run(scenario(postgres_opener(new_database("jobs"))))
