"""Replication between deployments on PostgreSQL: the scenarios of tests/unit/peer_scenarios.py that
run the peer's statements (positions, backoff probes), each deployment on a fresh database (two per scenario: the others
run on SQLite only, to keep the suite fast)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))  # the shared scenarios
from peer_scenarios import (  # noqa: E402
    Scenario,
    a_peer_back_after_an_outage_catches_up_without_waiting_for_backoff,
    a_removal_holds_back_a_late_delivery,
    a_replica_lives_in_the_peer_and_repeats_change_nothing,
)
from pg_servers import postgres_opener  # noqa: E402

pytestmark = pytest.mark.postgres


SCENARIOS = [
    a_replica_lives_in_the_peer_and_repeats_change_nothing,
    a_removal_holds_back_a_late_delivery,
    a_peer_back_after_an_outage_catches_up_without_waiting_for_backoff,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario(scenario: Scenario, new_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch) -> None:
    asyncio.run(scenario(postgres_opener(new_database("peer1")), postgres_opener(new_database("peer2")), monkeypatch))
