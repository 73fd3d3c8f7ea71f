"""The PostgreSQL store's GetSecretValue read cache against a real server: hits, and every commit seen.

The cache must never hand a request anything older than the commits acknowledged before the
request was sent, whichever instance (or raw connection) made them: each commit below is made,
then a read started after it must see it. The snapshot the cache is checked against
(``SNAPSHOT_SQL``) is cluster-wide, so a commit anywhere in the cluster (autovacuum's ANALYZE,
another test run) may empty the cache at any moment: tests that need a hit read until they get
one (bounded), and never count on one otherwise.
Nothing here depends on timings; interleavings are forced with hooks on the read's statements.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from strongroom.store import postgres as pg
from strongroom.store.postgres import PostgresStore, _LazyPgExecutor, _PgExecutor
from strongroom.store.records import SecretRow, VersionRow
from strongroom.store.sql import SqlTx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))  # shared task helpers
from secret_rows import (  # noqa: E402
    DELETED_AT,
    DELETION_DATE,
    arn_of,
    check_deleted,
    check_stage_gone,
    create_secret,
)
from task_outcomes import outcomes_of, settle  # noqa: E402

pytestmark = pytest.mark.postgres
REGION = "us-east-1"
CURRENT, PREVIOUS = "AWSCURRENT", "AWSPREVIOUS"
#: Reads tried before giving up on a quiet moment in the cluster (one is enough on an idle server).
ATTEMPTS = 200
Found = tuple[SecretRow, VersionRow | None] | None
Statement = tuple[Any, ...]  # (sql, *args)


def run(body: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(body())


def account() -> str:
    return str(uuid.uuid4().int)[:12]


async def opened(url: str, **kw: Any) -> PostgresStore:
    store = PostgresStore(url, **kw)
    await store.migrate()
    return store


def with_store(url: str, body: Callable[[PostgresStore], Coroutine[Any, Any, Any]], **kw: Any) -> Any:
    """Run ``body`` with a migrated store on ``url`` (closed afterwards, whatever happens)."""

    async def main() -> Any:
        store = await opened(url, **kw)
        try:
            return await body(store)
        finally:
            await store.close()

    return asyncio.run(main())


async def add_secret(store: PostgresStore, acct: str, name: str, **kw: Any) -> SecretRow:
    async with store.write() as tx:
        return await create_secret(tx, acct, name, **kw)


async def read(
    store: PostgresStore, acct: str, name: str | None = None, *, arn: str | None = None,
    version_id: str | None = None, stage: str | None = CURRENT,
) -> Found:
    """GetSecretValue's read, exactly as secrets.values.read_value calls it."""
    async with store.read() as tx:
        return await tx.secrets.get_secret_with_version(
            acct, REGION, name=name, arn=arn, version_id=version_id,
            stage=None if version_id is not None else stage,
        )


async def cached(store: PostgresStore, acct: str, name: str | None = None, **kw: Any) -> Found:
    """Read until the answer comes from the cache (always the same answer); return it."""
    first = await read(store, acct, name, **kw)
    for _ in range(ATTEMPTS):
        hits = store.read_cache.hits
        found = await read(store, acct, name, **kw)
        assert found == first
        if store.read_cache.hits == hits + 1:
            return found
    raise AssertionError("no read was answered from the cache")


async def raw_commit(url: str, *statements: Statement) -> None:
    """One transaction committed by a plain asyncpg connection (an admin, another service)."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        async with conn.transaction():
            for sql, *args in statements:
                await conn.execute(sql, *args)
    finally:
        await conn.close()


def version_of(found: Found) -> str | None:
    assert found is not None
    return found[1].version_id if found[1] is not None else None


class Statements:
    """Records the statements reads send (``_LazyPgExecutor.fetchrow``), with one-shot hooks.

    ``before_row`` / ``after_row`` (if set) are awaited once, just before / after the next
    GetSecretValue row statement (not the snapshot check) goes to the server.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sql: list[str] = []
        self.before_row: Callable[[], Awaitable[None]] | None = None
        self.after_row: Callable[[], Awaitable[None]] | None = None
        original = _LazyPgExecutor.fetchrow
        recorder = self

        async def fetchrow(executor: _LazyPgExecutor, sql: str, *args: Any) -> Any:
            recorder.sql.append(sql)
            check = sql == pg.SNAPSHOT_SQL
            if not check and recorder.before_row is not None:
                hook, recorder.before_row = recorder.before_row, None
                await hook()
            row = await original(executor, sql, *args)
            if not check and recorder.after_row is not None:
                hook, recorder.after_row = recorder.after_row, None
                await hook()
            return row

        monkeypatch.setattr(_LazyPgExecutor, "fetchrow", fetchrow)

    @property
    def checks(self) -> int:
        return sum(1 for sql in self.sql if sql == pg.SNAPSHOT_SQL)

    @property
    def rows(self) -> int:
        return len(self.sql) - self.checks


class CountingPool:
    """Stands in for the store's asyncpg pool: counts the connections taken and given back."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.acquired = self.released = 0

    def acquire(self, *args: Any, **kw: Any) -> Any:
        self.acquired += 1
        return self.pool.acquire(*args, **kw)

    async def release(self, conn: Any, *args: Any, **kw: Any) -> None:
        self.released += 1
        await self.pool.release(conn, *args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


async def count_connections(store: PostgresStore) -> CountingPool:
    counting = CountingPool(await store._open())
    store._pool = counting  # type: ignore[assignment]
    return counting


def all_idle(store: PostgresStore) -> bool:
    pool = store._pool
    assert pool is not None
    return pool.get_idle_size() == pool.get_size()


# --- hits ----------------------------------------------------------------------------------------
def test_a_repeated_read_is_a_hit_without_the_row_statement(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    acct = account()
    statements = Statements(monkeypatch)

    async def body(store: PostgresStore) -> None:
        await add_secret(store, acct, "db", versions=[("v1", [PREVIOUS]), ("v2", [CURRENT, "blue"])])
        cache = store.read_cache
        statements.sql.clear()
        first = await read(store, acct, "db")
        assert statements.sql[0] == pg.SNAPSHOT_SQL and (statements.checks, statements.rows) == (1, 1)
        assert (cache.hits, cache.misses) == (0, 1)
        for _ in range(ATTEMPTS):
            statements.sql.clear()
            hits = cache.hits
            assert await read(store, acct, "db") == first
            if cache.hits == hits + 1:
                assert statements.sql == [pg.SNAPSHOT_SQL]  # the check only, no row statement
                break
            assert (statements.checks, statements.rows) == (1, 1)  # the cluster committed meanwhile
        else:
            raise AssertionError("no read was answered from the cache")
        assert first is not None and first[1] is not None
        secret, version = first
        assert (secret.name, secret.arn, secret.account) == ("db", arn_of(acct, "db"), acct)
        assert (version.version_id, version.stages, version.ciphertext) == ("v2", [CURRENT, "blue"], b"sealed-v2")
        pool = store._pool
        assert pool is not None
        async with pool.acquire() as conn:
            plain = await SqlTx(_PgExecutor(conn)).secrets.get_secret_with_version(
                acct, REGION, name="db", arn=None, version_id=None, stage=CURRENT
            )
        assert plain == first  # the cached answer is exactly the plain statement's
        assert all_idle(store)

    with_store(pg_url, body)


def test_requests_of_one_iteration_share_one_check_and_hits_take_no_connection(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    acct = account()
    statements = Statements(monkeypatch)

    async def body(store: PostgresStore) -> None:
        await add_secret(store, acct, "db")
        cache = store.read_cache
        pool = await count_connections(store)
        statements.sql.clear()
        checks = cache.checks
        cold = await asyncio.gather(*(read(store, acct, "db") for _ in range(20)))
        assert cache.checks == checks + 1
        assert statements.checks == 1 and statements.rows == 20  # all missed together
        assert len({repr(found) for found in cold}) == 1 and version_of(cold[0]) == "v1"
        for _ in range(ATTEMPTS):
            statements.sql.clear()
            checks, hits, pool.acquired, pool.released = cache.checks, cache.hits, 0, 0
            found = await asyncio.gather(*(read(store, acct, "db") for _ in range(20)))
            assert found == cold
            assert cache.checks == checks + 1  # one shared check, whatever it found
            assert statements.checks == 1
            assert pool.released == pool.acquired
            if cache.hits == hits + 20:
                assert statements.rows == 0
                assert pool.acquired == 1  # the check's connection; the 19 others took none
                break
            assert cache.hits == hits  # the snapshot moved: they all went to the database
        else:
            raise AssertionError("no round of reads was answered from the cache")
        assert all_idle(store)

    with_store(pg_url, body)


def test_read_cache_size_zero_never_caches(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    acct = account()
    statements = Statements(monkeypatch)

    async def body(store: PostgresStore) -> None:
        row = await add_secret(store, acct, "db", versions=[("v0", []), ("v1", [CURRENT])])
        assert not store.read_cache.enabled
        statements.sql.clear()
        for _ in range(4):
            assert version_of(await read(store, acct, "db")) == "v1"
            assert await read(store, acct, "missing") is None
        found = await asyncio.gather(*(read(store, acct, "db") for _ in range(5)))
        assert [version_of(f) for f in found] == ["v1"] * 5
        assert statements.sql and statements.checks == 0  # no snapshot check either
        assert statements.rows == 13
        await raw_commit(pg_url, ("UPDATE stages SET version_id = 'v0' WHERE secret_id = $1", row.id))
        assert version_of(await read(store, acct, "db")) == "v0"
        cache = store.read_cache
        assert (cache.hits, cache.misses, cache.checks) == (0, 0, 0)
        assert cache._found == {}

    with_store(pg_url, body, read_cache_size=0)


# --- commits by a raw connection (another instance, an admin) -------------------------------------
def _stmts(*statements: Statement) -> Callable[[int], list[Statement]]:
    return lambda secret_id: [(sql, secret_id, *args) for sql, *args in statements]


def _check_resealed(found: Found) -> None:
    assert found is not None and found[1] is not None and found[1].ciphertext == b"resealed"


def _check_moved(found: Found) -> None:
    assert found is not None and found[1] is not None
    assert (found[1].version_id, found[1].stages, found[1].ciphertext) == ("v0", [CURRENT], b"sealed-v0")


def _check_label_added(found: Found) -> None:
    assert found is not None and found[1] is not None
    assert (found[1].version_id, found[1].stages) == ("v1", [CURRENT, "blue"])


def _check_new_version(found: Found) -> None:
    assert found is not None and found[1] is not None
    assert (found[1].version_id, found[1].stages, found[1].ciphertext) == ("v2", [CURRENT], b"sealed-v2")


def _check_described(found: Found) -> None:
    assert found is not None and found[0].description == "from admin"


def _check_purged(found: Found) -> None:
    assert found is None


RAW_CHANGES: dict[str, tuple[Callable[[int], list[Statement]], Callable[[Found], None]]] = {
    "value": (
        _stmts(("UPDATE versions SET ciphertext = $2 WHERE secret_id = $1 AND version_id = 'v1'", b"resealed")),
        _check_resealed,
    ),
    "label-moved": (
        _stmts(("UPDATE stages SET version_id = 'v0' WHERE secret_id = $1 AND stage = $2", CURRENT)),
        _check_moved,
    ),
    "label-added": (
        _stmts(("INSERT INTO stages (secret_id, stage, version_id) VALUES ($1, 'blue', 'v1')",)),
        _check_label_added,
    ),
    "label-removed": (
        _stmts(("DELETE FROM stages WHERE secret_id = $1 AND stage = $2", CURRENT)),
        check_stage_gone,
    ),
    "version-added": (
        _stmts(
            ("INSERT INTO versions (secret_id, version_id, created_at, kind, ciphertext) "
             "VALUES ($1, 'v2', 2000.0, 'string', $2)", b"sealed-v2"),
            ("UPDATE stages SET version_id = 'v2' WHERE secret_id = $1 AND stage = $2", CURRENT),
        ),
        _check_new_version,
    ),
    "deletion-mark": (
        _stmts(("UPDATE secrets SET deleted_at = $2, deletion_date = $3 WHERE id = $1", DELETED_AT, DELETION_DATE)),
        check_deleted,
    ),
    "metadata": (
        _stmts(("UPDATE secrets SET description = 'from admin' WHERE id = $1",)),
        _check_described,
    ),
    "purged": (
        _stmts(
            ("DELETE FROM stages WHERE secret_id = $1",),
            ("DELETE FROM versions WHERE secret_id = $1",),
            ("DELETE FROM secrets WHERE id = $1",),
        ),
        _check_purged,
    ),
}


@pytest.mark.parametrize("change", sorted(RAW_CHANGES))
def test_a_raw_commit_is_seen_by_the_next_read(pg_url: str, change: str) -> None:
    statements_of, check = RAW_CHANGES[change]
    acct = account()

    async def body(store: PostgresStore) -> None:
        row = await add_secret(store, acct, "db", versions=[("v1", [CURRENT]), ("v0", [])])
        before = await cached(store, acct, "db")
        assert version_of(before) == "v1"
        misses = store.read_cache.misses
        await raw_commit(pg_url, *statements_of(row.id))
        after = await read(store, acct, "db")
        check(after)
        assert after != before
        assert store.read_cache.misses == misses + 1  # the commit moved the snapshot
        assert await cached(store, acct, "db") == after  # and the fresh answer is cached again

    with_store(pg_url, body)


def test_a_negative_answer_is_not_served_after_a_raw_insert(pg_url: str) -> None:
    acct = account()
    arn = arn_of(acct, "later")

    async def body(store: PostgresStore) -> None:
        assert await cached(store, acct, "later") is None
        assert await cached(store, acct, arn=arn) is None
        await raw_commit(
            pg_url,
            ("INSERT INTO secrets (account, region, name, arn, created_at, last_changed_at) "
             "VALUES ($1, $2, 'later', $3, 1.0, 1.0)", acct, REGION, arn),
        )
        by_name = await read(store, acct, "later")
        assert by_name is not None and by_name[0].arn == arn and by_name[1] is None
        assert await read(store, acct, arn=arn) == by_name

    with_store(pg_url, body)


def test_a_missing_version_is_not_served_after_it_is_added_elsewhere(pg_url: str) -> None:
    acct = account()

    async def body(store: PostgresStore) -> None:
        row = await add_secret(store, acct, "db")
        missing = await cached(store, acct, "db", version_id="v9")
        assert missing is not None and missing[0].name == "db" and missing[1] is None
        assert await cached(store, acct, "db", stage="blue") == missing
        await raw_commit(
            pg_url,
            ("INSERT INTO versions (secret_id, version_id, created_at, kind, ciphertext) "
             "VALUES ($1, 'v9', 2000.0, 'string', $2)", row.id, b"sealed-v9"),
            ("INSERT INTO stages (secret_id, stage, version_id) VALUES ($1, 'blue', 'v9')", row.id),
        )
        assert version_of(await read(store, acct, "db", version_id="v9")) == "v9"
        assert version_of(await read(store, acct, "db", stage="blue")) == "v9"

    with_store(pg_url, body)


# --- another store on the same database (another instance) ---------------------------------------
def test_a_commit_through_a_second_store_is_seen_both_ways(pg_url: str) -> None:
    acct = account()

    async def body() -> None:
        store = await opened(pg_url)
        other = await opened(pg_url)
        try:
            row = await add_secret(store, acct, "db", versions=[("v0", []), ("v1", [CURRENT])])
            assert version_of(await cached(store, acct, "db")) == "v1"
            assert version_of(await cached(other, acct, "db")) == "v1"
            async with other.write() as tx:
                await tx.secrets.insert_version(row.id, "v2", 2000.0, "string", b"sealed-v2")
                await tx.secrets.move_stage(row.id, PREVIOUS, "v1")
                await tx.secrets.move_stage(row.id, CURRENT, "v2")
            found = await read(store, acct, "db")
            assert found is not None and found[1] is not None
            assert (found[1].version_id, found[1].stages, found[1].ciphertext) == ("v2", [CURRENT], b"sealed-v2")
            previous = await read(store, acct, "db", stage=PREVIOUS)
            assert previous is not None and previous[1] is not None and previous[1].stages == [PREVIOUS]
            assert version_of(await cached(other, acct, "db")) == "v2"
            async with store.write() as tx:  # and the other way round
                await tx.secrets.move_stage(row.id, CURRENT, "v0")
            assert version_of(await read(other, acct, "db")) == "v0"
        finally:
            await other.close()
            await store.close()

    run(body)


# --- writes through the same store ---------------------------------------------------------------
def test_a_write_through_the_store_empties_its_cache(pg_url: str) -> None:
    acct = account()

    async def body(store: PostgresStore) -> None:
        row = await add_secret(store, acct, "db", versions=[("v0", []), ("v1", [CURRENT])])
        await add_secret(store, acct, "other")
        assert version_of(await cached(store, acct, "db")) == "v1"
        await cached(store, acct, "other")
        cache = store.read_cache
        generation = cache.generation
        async with store.write() as tx:
            await tx.secrets.move_stage(row.id, CURRENT, "v0")
        assert cache._found == {}  # every entry, not only the secret written
        assert cache.generation > generation
        misses = cache.misses
        assert version_of(await read(store, acct, "db")) == "v0"
        assert cache.misses == misses + 1

    with_store(pg_url, body)


def test_a_rolled_back_write_empties_the_cache_and_changes_nothing(pg_url: str) -> None:
    acct = account()

    async def body(store: PostgresStore) -> None:
        row = await add_secret(store, acct, "db")
        before = await cached(store, acct, "db")
        cache = store.read_cache
        generation = cache.generation
        with pytest.raises(RuntimeError):
            async with store.write() as tx:
                await tx.secrets.update_secret(row.id, description="never committed")
                raise RuntimeError("abort")
        assert cache._found == {}
        assert cache.generation > generation
        after = await read(store, acct, "db")
        assert after == before and after is not None and after[0].description is None
        assert all_idle(store)

    with_store(pg_url, body)


# --- commits racing a read -----------------------------------------------------------------------
def test_a_commit_between_the_check_and_the_read_is_not_hidden(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The row read may be newer than the snapshot it is filed under; the next read still refreshes."""
    acct = account()
    statements = Statements(monkeypatch)

    async def body(store: PostgresStore) -> None:
        row = await add_secret(store, acct, "db", versions=[("v0", []), ("v1", [CURRENT])])
        stages = "UPDATE stages SET version_id = $2 WHERE secret_id = $1 AND stage = 'AWSCURRENT'"

        async def commit() -> None:
            await raw_commit(pg_url, (stages, row.id, "v0"))

        statements.before_row = commit
        assert version_of(await read(store, acct, "db")) == "v0"  # read after the racing commit
        await raw_commit(pg_url, (stages, row.id, "v1"))
        assert version_of(await read(store, acct, "db")) == "v1"

    with_store(pg_url, body)


def test_a_commit_right_after_the_read_is_seen_by_the_next_read(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row read just before another commit is stored under the older snapshot, so it is not used."""
    acct = account()
    statements = Statements(monkeypatch)

    async def body(store: PostgresStore) -> None:
        row = await add_secret(store, acct, "db", versions=[("v0", []), ("v1", [CURRENT])])

        async def commit() -> None:
            await raw_commit(
                pg_url, ("UPDATE stages SET version_id = 'v0' WHERE secret_id = $1 AND stage = $2", row.id, CURRENT)
            )

        statements.after_row = commit
        assert version_of(await read(store, acct, "db")) == "v1"  # read before the racing commit
        assert version_of(await read(store, acct, "db")) == "v0"
        assert version_of(await cached(store, acct, "db")) == "v0"

    with_store(pg_url, body)


def test_a_read_in_flight_while_another_request_finds_a_commit_is_not_stored(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read, commit, another request's check (new snapshot), then the first read ends: not cached.

    Filed under the new snapshot, the row read before the commit would be served as current.
    """
    acct = account()
    statements = Statements(monkeypatch)

    async def body(store: PostgresStore) -> None:
        row = await add_secret(store, acct, "db", versions=[("v0", []), ("v1", [CURRENT])])
        await add_secret(store, acct, "other")
        checks = store.read_cache.checks

        async def commit_then_another_request() -> None:
            await raw_commit(
                pg_url, ("UPDATE stages SET version_id = 'v0' WHERE secret_id = $1 AND stage = $2", row.id, CURRENT)
            )
            await asyncio.sleep(0)
            assert version_of(await read(store, acct, "other")) == "v1"  # its check sees the commit

        statements.after_row = commit_then_another_request
        assert version_of(await read(store, acct, "db")) == "v1"  # arrived before the commit
        assert store.read_cache.checks == checks + 2
        assert version_of(await read(store, acct, "db")) == "v0"

    with_store(pg_url, body)


def test_a_request_after_a_commit_does_not_rely_on_an_older_check_in_flight(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that observed the snapshot before a commit and answers late serves only the requests
    that arrived before it started; a request sent after the commit runs a check of its own."""
    acct = account()
    original = _LazyPgExecutor.snapshot
    armed = [False]
    held: list[asyncio.Event] = []
    release: list[asyncio.Event] = []

    async def slow_first_check(self: _LazyPgExecutor) -> object:
        value = await original(self)
        if armed[0]:
            armed[0] = False
            held[0].set()
            await release[0].wait()
        return value

    monkeypatch.setattr(_LazyPgExecutor, "snapshot", slow_first_check)

    async def body(store: PostgresStore) -> None:
        row = await add_secret(store, acct, "db", versions=[("v0", []), ("v1", [CURRENT])])
        assert version_of(await cached(store, acct, "db")) == "v1"
        held.append(asyncio.Event())
        release.append(asyncio.Event())
        armed[0] = True
        checks = store.read_cache.checks
        early = asyncio.create_task(read(store, acct, "db"))
        waiting = asyncio.create_task(held[0].wait())
        await asyncio.wait({early, waiting}, return_when=asyncio.FIRST_COMPLETED)
        assert held[0].is_set(), "the read ran no check"  # it has observed the snapshot; answers late
        await raw_commit(
            pg_url, ("UPDATE stages SET version_id = 'v0' WHERE secret_id = $1 AND stage = $2", row.id, CURRENT)
        )
        late = asyncio.create_task(read(store, acct, "db"))
        await settle()  # the late request reaches the cache while the early check is pending
        release[0].set()
        assert version_of(await late) == "v0"
        assert version_of(await early) in ("v0", "v1")  # it arrived before the commit: either is right
        assert store.read_cache.checks == checks + 2
        assert version_of(await read(store, acct, "db")) == "v0"

    with_store(pg_url, body)


# --- unrelated commits -----------------------------------------------------------------------------
def test_an_unrelated_commit_only_causes_a_miss(
    pg_url: str, new_database: Callable[[str], str], request: pytest.FixtureRequest
) -> None:
    """Another secret, another table, another database of the cluster: the snapshot is cluster-wide."""
    acct = account()
    elsewhere = new_database("unrelated")

    async def body() -> None:
        await raw_commit(elsewhere, ("CREATE TABLE unrelated (n INTEGER)",))
        store = await opened(pg_url)
        try:
            await add_secret(store, acct, "db", versions=[("v0", [PREVIOUS]), ("v1", [CURRENT])])
            commits: list[tuple[str, Statement]] = [
                (pg_url, ("INSERT INTO secrets (account, region, name, arn, created_at, last_changed_at) "
                          "VALUES ($1, $2, 'another', $3, 1.0, 1.0)", acct, REGION, arn_of(acct, "another"))),
                (pg_url, ("INSERT INTO kms_keys (key_id, arn, account, region, alias, wrapped_material, created_at, "
                          "enabled) VALUES ($1, $2, $3, $4, NULL, $5, 1.0, 1)", str(uuid.uuid4()),
                          f"arn:aws:kms:{REGION}:{acct}:key/{uuid.uuid4()}", acct, REGION, b"w")),
                (elsewhere, ("INSERT INTO unrelated VALUES (1)",)),
            ]
            cache = store.read_cache
            for url, statement in commits:
                before = await cached(store, acct, "db")
                previous = await cached(store, acct, "db", stage=PREVIOUS)
                hits, misses = cache.hits, cache.misses
                await raw_commit(url, statement)
                assert await read(store, acct, "db") == before
                assert await read(store, acct, "db", stage=PREVIOUS) == previous
                assert (cache.hits, cache.misses) == (hits, misses + 2)
                assert version_of(before) == "v1" and version_of(previous) == "v0"
        finally:
            await store.close()

    run(body)


# --- a failed check ------------------------------------------------------------------------------
def test_a_check_failing_on_the_server_fails_its_request_and_the_others_read_the_database(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request that ran the check gets the check's error; those that joined it read the row."""
    acct = account()

    async def body(store: PostgresStore) -> None:
        row = await add_secret(store, acct, "db", versions=[("v0", []), ("v1", [CURRENT])])
        assert version_of(await cached(store, acct, "db")) == "v1"
        await raw_commit(
            pg_url, ("UPDATE stages SET version_id = 'v0' WHERE secret_id = $1 AND stage = $2", row.id, CURRENT)
        )
        cache = store.read_cache
        checks, hits = cache.checks, cache.hits
        monkeypatch.setattr(pg, "SNAPSHOT_SQL", "SELECT (1 / 0)::text")
        results = await asyncio.gather(*(read(store, acct, "db") for _ in range(4)), return_exceptions=True)
        assert isinstance(results[0], asyncpg.DivisionByZeroError)
        assert [version_of(r) for r in results[1:]] == ["v0"] * 3  # not the cached v1
        assert (cache.checks, cache.hits) == (checks, hits)
        assert all_idle(store)  # the failed check's connection went back
        monkeypatch.undo()
        assert version_of(await read(store, acct, "db")) == "v0"
        assert cache.checks == checks + 1

    with_store(pg_url, body)


@pytest.mark.parametrize("error", [OSError("connection reset"), asyncpg.PostgresError("check failed")])
def test_a_failing_check_raises_for_its_request_and_the_others_read_the_database(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    acct = account()

    async def failing(self: _LazyPgExecutor) -> object:
        await asyncio.sleep(0)  # as a round trip would
        raise error

    async def body(store: PostgresStore) -> None:
        row = await add_secret(store, acct, "db", versions=[("v0", []), ("v1", [CURRENT])])
        assert version_of(await cached(store, acct, "db")) == "v1"
        await raw_commit(pg_url, ("UPDATE secrets SET description = 'changed' WHERE id = $1", row.id))
        cache = store.read_cache
        checks, hits, misses = cache.checks, cache.hits, cache.misses
        with monkeypatch.context() as patch:
            patch.setattr(_LazyPgExecutor, "snapshot", failing)
            with pytest.raises(type(error)):
                await read(store, acct, "db")  # alone: it ran the check
            results = await asyncio.gather(*(read(store, acct, "db") for _ in range(3)), return_exceptions=True)
        assert results[0] is error
        for found in results[1:]:
            assert not isinstance(found, BaseException) and found is not None
            assert found[0].description == "changed" and version_of(found) == "v1"
        assert (cache.checks, cache.hits, cache.misses) == (checks, hits, misses)  # nothing used or stored
        assert all_idle(store)
        found = await read(store, acct, "db")
        assert found is not None and found[0].description == "changed"
        assert cache.checks == checks + 1

    with_store(pg_url, body)


# --- checks that end without suspending ---------------------------------------------------------
def test_reads_while_the_pool_closes_all_end(pg_url: str) -> None:
    acct = account()

    async def body() -> list[Any]:
        store = await opened(pg_url)
        pool = store._pool
        assert pool is not None
        reads = [store.read() for _ in range(3)]
        txs = [await r.__aenter__() for r in reads]  # requests in flight at shutdown
        closing = asyncio.create_task(pool.close())
        await asyncio.sleep(0)
        tasks = [
            asyncio.create_task(
                tx.secrets.get_secret_with_version(acct, REGION, name="db", arn=None, version_id=None, stage=CURRENT)
            )
            for tx in txs
        ]
        outcomes = await outcomes_of(tasks)
        for r in reads:
            await r.__aexit__(None, None, None)
        await closing
        store._pool = None
        return outcomes

    outcomes = run(body)
    assert outcomes[0] is asyncpg.InterfaceError  # "pool is closing", as the plain read would raise
    assert "pending" not in outcomes, outcomes


def test_a_check_failing_at_once_does_not_strand_the_other_requests(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    acct = account()

    async def failing_at_once(self: _LazyPgExecutor) -> object:
        raise OSError("no route to host")

    async def body(store: PostgresStore) -> list[Any]:
        await add_secret(store, acct, "db")
        monkeypatch.setattr(_LazyPgExecutor, "snapshot", failing_at_once)
        return await outcomes_of([asyncio.create_task(read(store, acct, "db")) for _ in range(3)])

    outcomes = with_store(pg_url, body)
    assert outcomes[0] is OSError
    assert "pending" not in outcomes, outcomes
