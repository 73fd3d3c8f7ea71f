"""The master key check on PostgreSQL, where instances start at once: the first key recorded wins,
every other key is refused, and the read-only check before start-up writes nothing."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from pg_servers import pg_run

from strongroom.kms.key_check import MasterKeyMismatch, check_master_key, key_check_of, record_key_check
from strongroom.kms.master_key import ENV_VAR, MasterKey
from strongroom.server.config import Config
from strongroom.store.postgres import PostgresStore

pytestmark = pytest.mark.postgres


async def record_all(url: str, config: Config, keys: list[MasterKey]) -> list[BaseException | None]:
    """Migrate, then record ``keys`` from one store each, all at once; each one's outcome."""
    stores = [PostgresStore(url) for _ in keys]
    try:
        await stores[0].migrate()
        outcomes = await asyncio.gather(
            *(record_key_check(store, key, config) for store, key in zip(stores, keys, strict=True)),
            return_exceptions=True,
        )
        return list(outcomes)
    finally:
        for store in stores:
            await store.close()


def test_instances_starting_at_once_with_different_keys_agree_on_one(
    new_database: Callable[[str], str], tmp_path: Path
) -> None:
    url = new_database("keyrace")
    config = Config(data_dir=tmp_path, database_url=url)
    keys = [MasterKey(os.urandom(32)) for _ in range(4)]
    outcomes = asyncio.run(record_all(url, config, keys))
    winners = [key for key, outcome in zip(keys, outcomes, strict=True) if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(o, MasterKeyMismatch) for o in outcomes if o is not None)
    rows = pg_run(url, "SELECT key_id, check_value FROM master_key_check")
    assert rows == [{"key_id": winners[0].key_id, "check_value": key_check_of(winners[0]).value}]


def test_instances_sharing_a_key_all_start(new_database: Callable[[str], str], tmp_path: Path) -> None:
    url = new_database("keyshared")
    config = Config(data_dir=tmp_path, database_url=url)
    raw = os.urandom(32)
    assert asyncio.run(record_all(url, config, [MasterKey(raw) for _ in range(4)])) == [None] * 4
    assert len(pg_run(url, "SELECT key_id FROM master_key_check")) == 1


def test_the_check_before_start_up_writes_nothing(
    new_database: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = new_database("keycheckro")
    config = Config(data_dir=tmp_path / "never-created", database_url=url)
    monkeypatch.setenv(ENV_VAR, "A" * 43 + "=")
    check_master_key(config)  # a database without tables: nothing to mismatch, and nothing created
    assert pg_run(url, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'") == [{"n": 0}]
    assert not config.data_dir.exists()
