"""The rotation store part (tx.rotations) on SQLite and PostgreSQL: the scheduler's claim of due
secrets (each claimed by one transaction only), and runs that ended staying as they ended."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from secret_rows import create_secret

from strongroom.store.base import Store
from strongroom.store.records import RotationRow
from strongroom.store.sqlite import SqliteStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pg"))
from pg_servers import create_database, database_url, drop_database, postgres_opener, require_postgres  # noqa: E402

Opener = Callable[[], Awaitable[Store]]


async def claims(open_store: Opener) -> None:
    store = await open_store()
    try:
        account = f"{uuid.uuid4().int % 10**12:012d}"
        async with store.write() as tx:
            ids = [(await create_secret(tx, account, f"s{i}")).id for i in range(3)]  # type: ignore[arg-type]
            for i, secret_id in enumerate(ids):
                await tx.rotations.set_due(secret_id, 100.0 + i)
        async with store.read() as tx:
            assert not await tx.rotations.any_due(99.0)
            assert await tx.rotations.any_due(101.0)
            assert await tx.rotations.due_at(ids[0]) == 100.0
        async with store.write() as tx:
            first = await tx.rotations.claim_due(500.0, 2)
        assert [d.secret_id for d in first] == ids[:2] and first[0].due_at == 100.0
        if store.dialect == "postgres":  # a claim held by an open transaction is skipped by another
            async with store.write() as holder:
                held = await holder.rotations.claim_due(500.0, 10)
                async with store.write() as other:
                    assert await other.rotations.claim_due(500.0, 10) == []
            assert [d.secret_id for d in held] == ids[2:]
        else:
            async with store.write() as tx:
                assert [d.secret_id for d in await tx.rotations.claim_due(500.0, 10)] == ids[2:]
        async with store.write() as tx:
            assert await tx.rotations.claim_due(500.0, 10) == []
        async with store.read() as tx:
            assert not await tx.rotations.any_due(500.0)

        run = RotationRow(ids[0], account, "us-east-1", "arn:s", "v1", "arn:f", "rotate", b"sealed", "running",
                          "createSecret", 0, None, 1.0, 1.0)
        async with store.write() as tx:
            await tx.rotations.insert(run)
            assert await tx.rotations.update(run.id, state="cancelled", updated_at=2.0) == 1
            assert await tx.rotations.update(run.id, state="failed", last_error="x", updated_at=3.0) == 0
        async with store.read() as tx:
            got = await tx.rotations.get(run.id)
            assert got is not None and (got.state, got.last_error, got.token) == ("cancelled", None, b"sealed")
            assert await tx.rotations.of_version(ids[0], "v1") == got
            assert await tx.rotations.running(ids[0]) == []
            assert await tx.rotations.latest(account, None, 10) == [got]
        older = RotationRow(ids[1], account, "us-east-1", "arn:s1", "v0", "arn:f", "rotate", b"t", "failed",
                            "setSecret", 3, "x", 1.0, 1.0)
        newer = RotationRow(ids[1], account, "us-east-1", "arn:s1", "v1", "arn:f", "rotate", b"t", "succeeded",
                            "finishSecret", 1, None, 2.0, 2.0)
        running = RotationRow(ids[2], account, "us-east-1", "arn:s2", "v1", "arn:f", "rotate", b"t", "running",
                              "createSecret", 0, None, 1.0, 1.0)
        async with store.write() as tx:
            for row in (older, newer, running):
                await tx.rotations.insert(row)
            assert await tx.rotations.prune_ended(0.5, 100) == 0  # nothing ended that early
            assert await tx.rotations.prune_ended(10.0, 100) == 1  # the older run; latest runs and running ones stay
        async with store.read() as tx:
            assert await tx.rotations.get(older.id) is None
            assert {r.id for r in await tx.rotations.latest(account, None, 10)} == {run.id, newer.id, running.id}
        async with store.write() as tx:  # a purge takes the secret's runs with it
            await tx.secrets.delete_secret(ids[0])
        async with store.read() as tx:
            assert {r.secret_id for r in await tx.rotations.latest(account, None, 10)} == {ids[1], ids[2]}
    finally:
        await store.close()


def test_claims_on_sqlite(tmp_path: Path) -> None:
    async def open_store() -> Store:
        store = SqliteStore(tmp_path / "strongroom.db")
        await store.migrate()
        return store

    asyncio.run(claims(open_store))


def test_claims_on_postgres() -> None:
    require_postgres()
    name = create_database("rotation_store")
    try:
        asyncio.run(claims(postgres_opener(database_url(name))))
    finally:
        drop_database(name)


def test_prune_runs_keeps_recent_and_latest_runs(tmp_path: Path) -> None:
    """The hourly rotation.prune job (registered by the server's background jobs) deletes old ended runs."""
    from types import SimpleNamespace

    from strongroom.secrets.rotation.scheduler import PRUNE_JOB, RUN_RETENTION, prune_runs
    from strongroom.server.background import background_jobs
    from strongroom.server.config import Config

    async def run() -> None:
        store = SqliteStore(tmp_path / "strongroom.db")
        await store.migrate()
        try:
            now = 100 * 86400.0
            async with store.write() as tx:
                secret_id = (await create_secret(tx, "111111111111", "s")).id  # type: ignore[arg-type]
                rows = [
                    RotationRow(secret_id, "111111111111", "us-east-1", "arn:s", f"v{i}", "arn:f", "rotate", b"t",
                                "succeeded", "finishSecret", 1, None, at, at)
                    for i, at in enumerate((now - RUN_RETENTION - 10, now - RUN_RETENTION - 5, now - 10, now - 5))
                ]
                for row in rows:
                    await tx.rotations.insert(row)
            services: Any = SimpleNamespace(store=store)
            assert await prune_runs(services, now) == 2
            assert await prune_runs(services, now) == 0
            async with store.read() as tx:
                assert [await tx.rotations.get(r.id) is not None for r in rows] == [False, False, True, True]
            jobs = background_jobs(services, Config())
            assert PRUNE_JOB in {job.name for job in jobs._periodic}
        finally:
            await store.close()

    asyncio.run(run())
