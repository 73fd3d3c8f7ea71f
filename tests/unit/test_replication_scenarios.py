"""Replication on SQLite (tests/unit/replication_scenarios.py; on PostgreSQL: tests/pg/test_pg_replication.py),
and what only SQLite shows in-process: GetSecretValue on a replica runs the very statements a
primary's read runs."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from replication_scenarios import EAST, SCENARIOS, WEST, Opener, world

from strongroom.store.base import Store
from strongroom.store.sqlite import SqliteStore


def sqlite_opener(path: Path) -> Opener:
    async def open_store() -> Store:
        store = SqliteStore(path / "strongroom.db")
        await store.migrate()
        return store

    return open_store


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario(scenario: Callable[[Opener], Awaitable[None]], tmp_path: Path) -> None:
    asyncio.run(scenario(sqlite_opener(tmp_path)))


def test_a_replica_is_read_exactly_as_its_primary(tmp_path: Path) -> None:
    """Same statements, same number, for GetSecretValue on a replica and on its primary: no extra lookup."""

    async def main() -> None:
        async def open_store() -> Store:
            store = SqliteStore(tmp_path / "strongroom.db", read_cache_size=0)  # every read reaches SQLite
            await store.migrate()
            return store

        async with world(open_store) as w:
            await w.create("hot", "v", AddReplicaRegions=[{"Region": WEST}])
            await w.settle()
            store = w.services.store
            assert isinstance(store, SqliteStore)
            traced: list[str] = []

            def trace(statement: str) -> None:  # SQLite shows the bound values (region, ids): not compared
                traced.append(re.sub(r"'[^']*'|\b\d+(?:\.\d+)?\b", "?", statement))

            for conn in (store._reader, store._writer):
                conn.set_trace_callback(trace)
            runs = {}
            for region in (EAST, WEST, EAST, WEST):  # the first read of each also records the access day
                traced.clear()
                assert await w.value("hot", region) == "v"
                runs.setdefault(region, []).append(list(traced))
            assert runs[EAST] == runs[WEST]
            first, later = runs[EAST]
            assert len(later) == 1 and len(first) > 1  # the later read: one statement

    asyncio.run(main())
