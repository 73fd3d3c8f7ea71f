"""The store API against PostgreSQL directly: migrations, SQL of every kind, Conflict, locking.

One fresh database for the session (``pg_url``); tests keep apart by using their own account id.
Concurrency is shown with lock waits PostgreSQL reports (pg_stat_activity), never with timings.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from pg_servers import pg_run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))  # the shared store scenario
from functions_store_scenario import functions_round_trip  # noqa: E402

from strongroom.kms.keyring import KeyRing, StoreKmsKeys  # noqa: E402
from strongroom.kms.master_key import MasterKey  # noqa: E402
from strongroom.store.base import Conflict  # noqa: E402
from strongroom.store.postgres import PostgresStore, _PgExecutor, safe_url  # noqa: E402
from strongroom.store.records import KmsKeyRow, SecretRow  # noqa: E402
from strongroom.store.schema import MIGRATIONS  # noqa: E402
from strongroom.store.sql import SqlTx  # noqa: E402
from strongroom.store.sqlite import SqliteStore, _SqliteExecutor  # noqa: E402

pytestmark = pytest.mark.postgres
REGION = "us-east-1"


def run(body: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(body())


def account() -> str:
    return "".join(random.choice("0123456789") for _ in range(12))


def secret_row(acct: str, name: str | None = None) -> SecretRow:
    name = name or f"s-{uuid.uuid4().hex[:8]}"
    now = time.time()
    return SecretRow(
        id=0, account=acct, region=REGION, name=name,
        arn=f"arn:aws:secretsmanager:{REGION}:{acct}:secret:{name}-{uuid.uuid4().hex[:6]}",
        created_at=now, last_changed_at=now,
    )


async def opened(url: str) -> PostgresStore:
    store = PostgresStore(url)
    await store.migrate()
    return store


async def wait_for_lock_wait(store: PostgresStore, pid: int) -> None:
    """Until backend ``pid`` is blocked on a lock (bounded; fails the test if it never is)."""
    deadline = time.monotonic() + 20
    async with store.read() as tx:
        while time.monotonic() < deadline:
            row = await tx.x.fetchrow(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
            )
            if row is not None and row["wait_event_type"] == "Lock":
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited on a lock")


# --- migrations --------------------------------------------------------------------------------
def test_concurrent_migrations_apply_each_once(new_database: Callable[[str], str]) -> None:
    url = new_database("migrate")

    async def body() -> None:
        stores = [PostgresStore(url, max_size=1) for _ in range(6)]
        try:
            versions = await asyncio.gather(*(s.migrate() for s in stores))
            assert versions == [len(MIGRATIONS)] * 6
            async with stores[0].read() as tx:
                rows = await tx.x.fetch("SELECT version FROM schema_migrations ORDER BY version")
            assert [r["version"] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
            assert await stores[0].migrate() == len(MIGRATIONS)
        finally:
            for s in stores:
                await s.close()

    run(body)


def test_newer_schema_is_accepted(new_database: Callable[[str], str]) -> None:
    url = new_database("newer")

    async def body() -> None:
        store = await opened(url)
        try:
            async with store.write() as tx:
                await tx.x.execute("INSERT INTO schema_migrations VALUES ($1, $2)", len(MIGRATIONS) + 1, time.time())
            assert await store.migrate() == len(MIGRATIONS) + 1
        finally:
            await store.close()

    run(body)


def test_servers_can_run_as_a_role_without_ddl_rights(new_database: Callable[[str], str]) -> None:
    """After ``admin migrate`` as the owner, start-up migration needs no CREATE privilege."""
    url = new_database("roles")
    role = f"strongroom_test_dml_{uuid.uuid4().hex[:8]}"
    pg_run(url, f'CREATE ROLE "{role}" LOGIN')
    try:
        migrated = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "strongroom", "admin", "migrate", "--database-url", url],
            capture_output=True, text=True, timeout=60,
        )
        assert migrated.returncode == 0, migrated.stderr
        assert f"is at version {len(MIGRATIONS)}" in migrated.stdout
        pg_run(url, f'REVOKE CREATE ON SCHEMA public FROM PUBLIC, "{role}"')
        pg_run(url, f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
        parts = urlsplit(url)
        dml_url = parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}").geturl()

        async def body() -> None:
            store = PostgresStore(dml_url)
            try:
                assert await store.migrate() == len(MIGRATIONS)
                async with store.write() as tx:
                    await tx.secrets.insert_secret(secret_row(account()))
            finally:
                await store.close()

        run(body)
    finally:
        pg_run(url, f'DROP OWNED BY "{role}"')
        pg_run(url, f'DROP ROLE "{role}"')


def test_admin_migrate_reports_errors_without_the_password(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "strongroom", "admin", "migrate", "--database-url",
         "postgresql://postgres:hunter2@127.0.0.1:5432/strongroom_no_such_database"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "hunter2" not in result.stderr + result.stdout
    assert "strongroom_no_such_database" in result.stderr


def test_safe_url_hides_the_password() -> None:
    assert safe_url("postgresql://u:p%40ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert safe_url("postgresql://u@h/db") == "postgresql://u@h/db"


# --- the SQL layer on PostgreSQL ---------------------------------------------------------------
def test_secrets_versions_and_stages_round_trip(pg_url: str) -> None:
    acct = account()

    async def body() -> None:
        store = await opened(pg_url)
        try:
            s = secret_row(acct)
            s.tags = [("k", "v")]
            async with store.write() as tx:
                sid = await tx.secrets.insert_secret(s)
                await tx.secrets.insert_version(sid, "v1", 1.0, "string", b"c1")
                await tx.secrets.insert_version(sid, "v2", 2.0, "binary", b"c2")
                await tx.secrets.move_stage(sid, "AWSCURRENT", "v1")
                await tx.secrets.move_stage(sid, "AWSPREVIOUS", "v1")
                await tx.secrets.move_stage(sid, "AWSCURRENT", "v2")
                await tx.secrets.update_secret(sid, description="d", rotation_enabled=True, tags=[("a", "b")])
            async with store.read() as tx:
                got = await tx.secrets.get_secret(acct, REGION, name=s.name)
                assert got is not None and got.id == sid and got.description == "d"
                assert got.rotation_enabled is True and got.tags == [("a", "b")]
                assert (await tx.secrets.get_secret(acct, REGION, arn=s.arn)) == got
                v = await tx.secrets.get_version(sid, stage="AWSCURRENT")
                assert v is not None and (v.version_id, v.kind, v.ciphertext, v.stages) == (
                    "v2", "binary", b"c2", ["AWSCURRENT"],
                )
                v1 = await tx.secrets.get_version(sid, version_id="v1", with_value=False)
                assert v1 is not None and v1.ciphertext is None and v1.stages == ["AWSPREVIOUS"]
                assert await tx.secrets.get_version(sid, stage="AWSPENDING") is None
                assert await tx.secrets.stage_map(sid) == {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
                assert [x.version_id for x in await tx.secrets.list_versions(sid)] == ["v1", "v2"]
                assert await tx.secrets.count_versions(sid) == 2
                page = await tx.secrets.page_with_stages([got])
                assert page.stages[sid] == {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
                listed = await tx.secrets.list_secrets(
                    acct, REGION, sort_by="name", descending=False, after=None, limit=10, include_deleted=True,
                    name_ranges=[(s.name[:3], None)],
                )
                assert [x.id for x in listed] == [sid]
            async with store.write() as tx:
                await tx.secrets.delete_versions(sid, ["v1"])
                await tx.secrets.delete_secret(sid)
            async with store.read() as tx:
                assert await tx.secrets.get_secret(acct, REGION, name=s.name) is None
        finally:
            await store.close()

    run(body)


def test_the_functions_store_part(new_database: Callable[[str], str]) -> None:
    url = new_database("functions")

    async def body() -> None:
        store = await opened(url)
        try:
            await functions_round_trip(store)
        finally:
            await store.close()

    run(body)


def test_execute_reports_rows_changed(pg_url: str) -> None:
    acct = account()

    async def body() -> None:
        store = await opened(pg_url)
        try:
            async with store.write() as tx:
                sid = await tx.secrets.insert_secret(secret_row(acct))
                changed = await tx.x.execute(
                    "UPDATE secrets SET last_accessed_at = $2 WHERE id = $1 AND last_accessed_at IS NULL", sid, 5.0
                )
                again = await tx.x.execute(
                    "UPDATE secrets SET last_accessed_at = $2 WHERE id = $1 AND last_accessed_at IS NULL", sid, 5.0
                )
            assert (changed, again) == (1, 0)
        finally:
            await store.close()

    run(body)


def test_unique_violation_is_conflict_and_rolls_back(pg_url: str) -> None:
    acct = account()

    async def body() -> None:
        store = await opened(pg_url)
        try:
            first = secret_row(acct, "dup")
            async with store.write() as tx:
                await tx.secrets.insert_secret(first)
            with pytest.raises(Conflict):
                async with store.write() as tx:
                    await tx.secrets.update_secret(first.id, description="not kept")
                    await tx.secrets.insert_secret(secret_row(acct, "dup"))
            async with store.read() as tx:
                got = await tx.secrets.get_secret(acct, REGION, name="dup")
            assert got is not None and got.id == first.id and got.description is None
        finally:
            await store.close()

    run(body)


def test_connections_come_back_clean(pg_url: str) -> None:
    """A failed write rolls back; a read runs outside any transaction; one connection serves both."""

    async def body() -> None:
        store = PostgresStore(pg_url, max_size=1)
        await store.migrate()
        try:
            with pytest.raises(RuntimeError):
                async with store.write() as tx:
                    await tx.x.execute("INSERT INTO secrets (account, region, name, arn, created_at, "
                                       "last_changed_at) VALUES ('x', 'y', 'z', $1, 0, 0)", uuid.uuid4().hex)
                    raise RuntimeError("abort")
            async with store.read() as tx:
                assert isinstance(tx.x, _PgExecutor)
                assert tx.x.conn is None  # a read takes its connection at its first statement
                row = await tx.x.fetchrow("SELECT count(*) AS n FROM secrets WHERE account = 'x'")
                assert row is not None and row["n"] == 0
                assert not tx.x.conn.is_in_transaction()
            assert tx.x.conn is None  # given back at the end of the read
            assert store._pool is not None and store._pool.get_idle_size() == 1
        finally:
            await store.close()

    run(body)


def test_for_update_serializes_writers_and_the_waiter_sees_the_commit(pg_url: str) -> None:
    acct = account()

    async def body() -> None:
        store = await opened(pg_url)
        try:
            s = secret_row(acct)
            async with store.write() as tx:
                await tx.secrets.insert_secret(s)
            holding = asyncio.Event()
            release = asyncio.Event()
            waiter_pid: list[int] = []

            async def first() -> None:
                async with store.write() as tx:
                    await tx.secrets.get_secret(acct, REGION, name=s.name, for_update=True)
                    holding.set()
                    await release.wait()
                    await tx.secrets.update_secret(s.id, description="first")

            async def second() -> str | None:
                await holding.wait()
                async with store.write() as tx:
                    assert isinstance(tx.x, _PgExecutor)
                    waiter_pid.append(tx.x.conn.get_server_pid())
                    locked = await tx.secrets.get_secret(acct, REGION, name=s.name, for_update=True)
                    assert locked is not None
                    await tx.secrets.update_secret(s.id, description=(locked.description or "") + "+second")
                    return locked.description

            t1 = asyncio.create_task(first())
            t2 = asyncio.create_task(second())
            while not waiter_pid:
                await asyncio.sleep(0.005)
            await wait_for_lock_wait(store, waiter_pid[0])
            assert not t2.done()
            release.set()
            await t1
            assert await t2 == "first"  # READ COMMITTED: the statement after the wait sees the commit
            async with store.read() as tx:
                got = await tx.secrets.get_secret(acct, REGION, name=s.name)
            assert got is not None and got.description == "first+second"
        finally:
            await store.close()

    run(body)


def test_purge_claims_skip_rows_claimed_elsewhere(pg_url: str) -> None:
    acct = account()

    async def body() -> None:
        store = await opened(pg_url)
        try:
            rows = [secret_row(acct) for _ in range(4)]
            async with store.write() as tx:
                for r in rows:
                    await tx.secrets.insert_secret(r)
                    await tx.secrets.update_secret(r.id, deletion_date=-1e12 + r.id)  # due before anything else
            async with store.write() as a:
                claimed_a = await a.secrets.secrets_due_for_purge(0.0, 2)
                async with store.write() as b:
                    claimed_b = await b.secrets.secrets_due_for_purge(0.0, 10)
                    ids_b = {s.id for s in claimed_b if s.account == acct}
                    for s in claimed_b:
                        if s.account == acct:
                            await b.secrets.delete_secret(s.id)
                ids_a = {s.id for s in claimed_a}
                assert len(ids_a) == 2 and ids_a.isdisjoint(ids_b)
                assert ids_a | ids_b == {r.id for r in rows}
                for s in claimed_a:
                    await a.secrets.delete_secret(s.id)
        finally:
            await store.close()

    run(body)


def test_kms_key_insert_race_keeps_one_key(pg_url: str) -> None:
    acct = account()
    master = MasterKey(os.urandom(32))

    async def body() -> None:
        stores = [await opened(pg_url) for _ in range(4)]
        try:
            rings = [KeyRing(master, StoreKmsKeys(s)) for s in stores]
            sealed = await asyncio.gather(*(r.seal(acct, REGION, None, b"x", b"aad") for r in rings))
            default = f"arn:aws:kms:{REGION}:{acct}:alias/aws/secretsmanager"
            keys = [await StoreKmsKeys(s).find_kms_key(acct, REGION, default) for s in stores]
            assert len({k.arn for k in keys if k is not None}) == 1
            for ring, blob in zip(rings, sealed, strict=True):
                assert await ring.open(acct, REGION, blob, b"aad") == b"x"
            async with stores[0].read() as tx:
                n = await tx.x.fetchrow("SELECT count(*) AS n FROM kms_keys WHERE account = $1", acct)
            assert n is not None and n["n"] == 1
            dup = KmsKeyRow(key_id=str(uuid.uuid4()), arn=f"arn:aws:kms:{REGION}:{acct}:key/x", account=acct,
                         region=REGION, alias="alias/aws/secretsmanager", wrapped_material=b"w", created_at=0.0)
            assert (await StoreKmsKeys(stores[1]).insert_kms_key(dup)).arn == keys[0].arn  # type: ignore[union-attr]
        finally:
            for s in stores:
                await s.close()

    run(body)


def test_deadlocks_in_the_stores_own_transactions_are_retried(pg_url: str) -> None:
    async def body() -> None:
        store = await opened(pg_url)
        attempts = 0

        async def flaky(conn: asyncpg.Connection) -> int:
            nonlocal attempts
            attempts += 1
            if attempts < 3:
                raise asyncpg.DeadlockDetectedError("deadlock detected")
            return int(await conn.fetchval("SELECT 7"))

        try:
            assert await store._transaction(flaky) == 7
            assert attempts == 3
        finally:
            await store.close()

    run(body)


# --- GetSecretValue's statements, on both backends -------------------------------------------
class _Counting:
    """Wraps an executor and counts the statements it runs."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.statements = 0

    async def fetch(self, sql: str, *args: Any) -> Any:
        self.statements += 1
        return await self.inner.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.statements += 1
        return await self.inner.fetchrow(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        self.statements += 1
        return int(await self.inner.execute(sql, *args))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_get_version_reads_the_version_and_its_labels_in_one_statement(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    acct = account()

    async def body() -> None:
        if backend == "postgres":
            store: Any = await opened(request.getfixturevalue("pg_url"))
        else:
            store = SqliteStore(tmp_path / "one.db")
            await store.migrate()
        try:
            async with store.write() as tx:
                sid = await tx.secrets.insert_secret(secret_row(acct))
                await tx.secrets.insert_version(sid, "v1", 1.0, "string", b"c1")
                await tx.secrets.insert_version(sid, "v2", 2.0, "string", b"c2")
                for stage in ("b-label", "AWSCURRENT", "a-label", "Z-label"):
                    await tx.secrets.move_stage(sid, stage, "v2")
            async with store.read() as tx:
                assert isinstance(tx.x, _PgExecutor | _SqliteExecutor)
                counting = _Counting(tx.x)
                counted = SqlTx(counting).secrets
                by_stage = await counted.get_version(sid, stage="AWSCURRENT")
                by_id = await counted.get_version(sid, version_id="v1")
                assert counting.statements == 2
            assert by_stage is not None and by_stage.stages == ["AWSCURRENT", "Z-label", "a-label", "b-label"]
            assert by_id is not None and by_id.stages == [] and by_id.ciphertext == b"c1"
        finally:
            await store.close()

    run(body)
