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
from pg_servers import postgres_opener  # noqa: E402

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario(scenario: Callable[[Opener], Awaitable[None]], new_database: Callable[[str], str]) -> None:
    asyncio.run(scenario(postgres_opener(new_database("jobs"))))
