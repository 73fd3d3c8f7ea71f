"""Replication on PostgreSQL: the scenarios of tests/unit/replication_scenarios.py, each on a fresh
database, plus the one that needs two transactions open at once (a change committing after a
later-numbered change of another secret is still delivered)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))  # the shared scenarios
from pg_servers import postgres_opener  # noqa: E402
from replication_scenarios import CONCURRENT_SCENARIOS, SCENARIOS, Opener  # noqa: E402

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    "scenario", SCENARIOS + CONCURRENT_SCENARIOS, ids=[s.__name__ for s in SCENARIOS + CONCURRENT_SCENARIOS]
)
def test_scenario(scenario: Callable[[Opener], Awaitable[None]], new_database: Callable[[str], str]) -> None:
    asyncio.run(scenario(postgres_opener(new_database("repl"))))
