"""Replication between deployments on SQLite (tests/unit/peer_scenarios.py; on PostgreSQL:
tests/pg/test_pg_peer_replication.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from peer_scenarios import SCENARIOS, Scenario
from test_replication_scenarios import sqlite_opener


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario(scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "primary").mkdir()
    (tmp_path / "peer").mkdir()
    asyncio.run(scenario(sqlite_opener(tmp_path / "primary"), sqlite_opener(tmp_path / "peer"), monkeypatch))
