"""The server's background jobs (server/background.py): the purge as a singleton periodic job.

Two worker processes are simulated by two stores on one SQLite file, each with the server's jobs
runtime, on a ManualClock: the purge runs every ``purge_interval`` in one of them only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from jobs_scenarios import eventually, stop
from secret_rows import create_secret

from strongroom.jobs import JobRuntime, ManualClock
from strongroom.server.background import PURGE_JOB, background_jobs
from strongroom.server.config import Config
from strongroom.store.sqlite import SqliteStore

ACCOUNT = "111111111111"
INTERVAL = 60.0


@asynccontextmanager
async def two_processes(
    tmp_path: Path, config: Config, clock: ManualClock, services: Callable[[SqliteStore], Any]
) -> AsyncIterator[tuple[list[SqliteStore], list[JobRuntime]]]:
    """Two "processes" (a store each, on one SQLite file) with the server's jobs, not yet started."""
    stores = [SqliteStore(tmp_path / "strongroom.db") for _ in range(2)]
    for store in stores:
        await store.migrate()
    runtimes = [background_jobs(services(s), config, clock) for s in stores]
    try:
        yield stores, runtimes
    finally:
        for runtime in runtimes:
            await runtime.stop()
        for store in stores:
            await store.close()


async def names(store: SqliteStore) -> list[str]:
    async with store.read() as tx:
        return [r["name"] for r in await tx.x.fetch("SELECT name FROM secrets ORDER BY name")]


def test_the_purge_runs_as_a_periodic_job_in_one_process(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    async def body() -> None:
        clock = ManualClock(start=10_000.0)
        config = Config(data_dir=tmp_path, purge_interval=INTERVAL)
        async with two_processes(tmp_path, config, clock, lambda s: SimpleNamespace(store=s)) as (stores, runtimes):
            async with stores[0].write() as tx:
                for name, deletion_date in (("due", 9_000.0), ("later", 10_000.0 + 1.5 * INTERVAL), ("kept", None)):
                    row = await create_secret(tx, ACCOUNT, name)
                    if deletion_date is not None:
                        await tx.secrets.update_secret(row.id, deleted_at=5_000.0, deletion_date=deletion_date)
            for runtime in runtimes:
                await runtime.start()
            await eventually(lambda: _names_are(stores[1], ["kept", "later"]), "the first tick purges 'due'")
            clock.advance(INTERVAL)  # 'later' is not due yet at +60
            clock.advance(INTERVAL)  # +120: due
            await eventually(lambda: _names_are(stores[1], ["kept"]), "the tick after its date purges 'later'")
            await stop(*runtimes)
            async with stores[0].read() as tx:
                lease: Any = await tx.jobs.lease(PURGE_JOB)
            assert lease.next_run_at == clock.now() + INTERVAL  # purge_interval is the job's interval

    asyncio.run(body())
    purges = [r for r in caplog.records if "past their recovery window" in r.getMessage()]
    assert [r.getMessage() for r in purges] == [
        "purged 1 secret(s) past their recovery window", "purged 1 secret(s) past their recovery window"
    ]
    takers = [r.getMessage() for r in caplog.records if "took the lease of periodic job 'purge'" in r.getMessage()]
    assert len(takers) == 1  # one process runs the purge; the other never took it


async def _names_are(store: SqliteStore, expected: list[str]) -> bool:
    return await names(store) == expected


def test_the_relay_runs_as_a_periodic_job_in_one_process(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Each process registers the relay (every ``replication_interval``); one holds it and delivers."""
    from strongroom.kms.master_key import MasterKey
    from strongroom.secrets.create import create_secret as create_handler
    from strongroom.secrets.replication.relay import RELAY_JOB
    from strongroom.service.context import RequestContext
    from strongroom.service.dependencies import Services

    caplog.set_level(logging.INFO)
    interval = 5.0

    async def body() -> None:
        clock = ManualClock(start=10_000.0)
        config = Config(data_dir=tmp_path, replication_interval=interval)
        built: list[Services] = []

        def services(store: SqliteStore) -> Services:
            built.append(Services.build(store, MasterKey(bytes(32))))
            return built[-1]

        async with two_processes(tmp_path, config, clock, services) as (stores, runtimes):
            ctx = RequestContext(ACCOUNT, "us-east-1", f"arn:aws:iam::{ACCOUNT}:root", 10_000.0, action="CreateSecret")
            await create_handler(built[0], ctx, {"Name": "r", "SecretString": "v", "ClientRequestToken": "t" * 32,
                                                  "AddReplicaRegions": [{"Region": "eu-west-1"}]})
            for runtime in runtimes:
                await runtime.start()

            async def replicated() -> bool:
                async with stores[1].read() as tx:
                    return await tx.secrets.get_secret(ACCOUNT, "eu-west-1", name="r") is not None

            await eventually(replicated, "the relay's first tick creates the replica")
            await stop(*runtimes)
            async with stores[0].read() as tx:
                lease: Any = await tx.jobs.lease(RELAY_JOB)
            assert lease.next_run_at == clock.now() + interval  # replication_interval is the job's interval

    asyncio.run(body())
    takers = [r for r in caplog.records if "took the lease of periodic job 'replication.relay'" in r.getMessage()]
    assert len(takers) == 1


@pytest.mark.parametrize("interval", [0, -1.0])
def test_replication_interval_must_be_positive(tmp_path: Path, interval: float) -> None:
    with pytest.raises(ValueError, match="replication_interval must be positive"):
        Config(data_dir=tmp_path, replication_interval=interval)
