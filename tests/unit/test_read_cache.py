"""The SQLite store's GetSecretValue read cache (store/read_cache.py): hits, invalidation, bounds, config.

The cache must never return anything older than the last commit the read connection could have
seen: every commit (this store's writer, a second store on the same file standing in for another
worker process, a raw sqlite3 connection standing in for an admin command) empties it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
import secret_rows

from strongroom.server.config import Config
from strongroom.store.factory import open_store
from strongroom.store.records import SecretRow, VersionRow
from strongroom.store.sql import SqlTx
from strongroom.store.sqlite import SqliteStore

ACCOUNT, OTHER_ACCOUNT, REGION = "111111111111", "222222222222", "us-east-1"
CURRENT, PREVIOUS = "AWSCURRENT", "AWSPREVIOUS"
T = TypeVar("T")
Found = tuple[SecretRow, VersionRow | None] | None


# --- helpers -------------------------------------------------------------------------------------
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "strongroom.db"


def arn_of(name: str, account: str = ACCOUNT) -> str:
    return secret_rows.arn_of(account, name)


def with_store(
    tmp_path: Path, body: Callable[[SqliteStore], Awaitable[T]], read_cache_size: int = 10_000
) -> T:
    """Open a migrated store with the given cache size, run ``body``, close it (one event loop)."""

    async def main() -> T:
        store = SqliteStore(db_path(tmp_path), read_cache_size=read_cache_size)
        try:
            await store.migrate()
            return await body(store)
        finally:
            await store.close()

    return asyncio.run(main())


async def create_secret(
    tx: SqlTx, name: str, versions: Sequence[tuple[str, Sequence[str]]] = (("v1", (CURRENT,)),),
    account: str = ACCOUNT,
) -> SecretRow:
    """Insert a secret and its versions (id, labels) through a write transaction's SqlTx."""
    return await secret_rows.create_secret(tx, account, name, versions)


async def add_secret(store: SqliteStore, name: str, **kw: Any) -> SecretRow:
    async with store.write() as tx:
        return await create_secret(tx, name, **kw)


async def read(
    store: SqliteStore, name: str | None = None, *, arn: str | None = None, version_id: str | None = None,
    stage: str | None = CURRENT, account: str = ACCOUNT, region: str = REGION,
) -> Found:
    """GetSecretValue's read, exactly as secrets.values.read_value calls it."""
    async with store.read() as tx:
        return await tx.secrets.get_secret_with_version(
            account, region, name=name, arn=arn, version_id=version_id,
            stage=None if version_id is not None else stage,
        )


async def next_request() -> None:
    """Let the event loop turn: what a request sent after a commit elsewhere goes through.

    Another connection's commits are checked for once per loop iteration (see strongroom.store.read_cache).
    """
    await asyncio.sleep(0)


def counters(store: SqliteStore) -> tuple[int, int]:
    cache = store.read_cache
    return cache.hits, cache.misses


class CountingExecutor:
    """Wraps the read connection's executor: counts the statements that reach the database.

    ``before_fetchrow`` / ``after_fetchrow`` (if set) run once, just before / after a fetchrow is
    passed on: hooks to interleave a commit from another connection with the cache's read.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.fetchrows = 0
        self.before_fetchrow: Callable[[], None] | None = None
        self.after_fetchrow: Callable[[], None] | None = None

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self.inner.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.fetchrows += 1
        if self.before_fetchrow is not None:
            hook, self.before_fetchrow = self.before_fetchrow, None
            hook()
        row = await self.inner.fetchrow(sql, *args)
        if self.after_fetchrow is not None:
            hook, self.after_fetchrow = self.after_fetchrow, None
            hook()
        return row

    async def execute(self, sql: str, *args: Any) -> int:
        return await self.inner.execute(sql, *args)


def count_queries(store: SqliteStore) -> CountingExecutor:
    counting = CountingExecutor(store._read_tx.secrets.x)
    store._read_tx.secrets.x = counting  # type: ignore[assignment]
    return counting


def raw_commit(path: Path, sql: str, *args: Any) -> None:
    """One statement committed by an unrelated sqlite3 connection (an admin command, another process)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute(sql, args)
    finally:
        conn.close()


def version_of(found: Found) -> str | None:
    assert found is not None
    return found[1].version_id if found[1] is not None else None


# --- hits ----------------------------------------------------------------------------------------
def test_repeated_read_is_a_hit_with_equal_data_and_no_query(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        await add_secret(store, "db", versions=[("v1", [PREVIOUS]), ("v2", [CURRENT, "blue"])])
        queries = count_queries(store)
        first = await read(store, "db")
        assert counters(store) == (0, 1)
        assert queries.fetchrows == 1
        second = await read(store, "db")
        assert counters(store) == (1, 1)
        assert queries.fetchrows == 1  # served without touching the database
        assert second == first
        assert first is not None and first[1] is not None
        secret, version = first
        assert (secret.name, secret.arn, secret.account) == ("db", arn_of("db"), ACCOUNT)
        assert (version.version_id, version.stages, version.ciphertext) == ("v2", [CURRENT, "blue"], b"sealed-v2")
        for _ in range(5):
            assert await read(store, "db") == first
        assert counters(store) == (6, 1)
        assert queries.fetchrows == 1

    with_store(tmp_path, body)


def test_cached_answer_equals_an_uncached_read(tmp_path: Path) -> None:
    """What the cache hands out is exactly what the plain SqlTx query returns."""

    async def body(store: SqliteStore) -> None:
        await add_secret(store, "db", versions=[("v1", [PREVIOUS]), ("v2", [CURRENT])])
        await read(store, "db")
        cached = await read(store, "db")
        assert store.read_cache.hits == 1
        plain = await SqlTx(store._read_tx.secrets.x).secrets.get_secret_with_version(
            ACCOUNT, REGION, name="db", arn=None, version_id=None, stage=CURRENT
        )
        assert cached == plain

    with_store(tmp_path, body)


def test_other_reads_through_the_read_tx_are_not_cached_and_do_not_disturb_it(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db")
        await read(store, "db")
        async with store.read() as tx:
            assert (await tx.secrets.get_secret(ACCOUNT, REGION, name="db")) is not None
            assert [v.version_id for v in await tx.secrets.list_versions(row.id)] == ["v1"]
        await read(store, "db")
        assert counters(store) == (1, 1)

    with_store(tmp_path, body)


# --- writes through the same store ---------------------------------------------------------------
async def new_current_version(tx: SqlTx, secret_id: int) -> None:
    await tx.secrets.insert_version(secret_id, "v2", 2000.0, "string", b"sealed-v2")
    await tx.secrets.move_stage(secret_id, PREVIOUS, "v1")
    await tx.secrets.move_stage(secret_id, CURRENT, "v2")


def test_new_current_version_is_visible_on_the_next_read(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db")
        assert version_of(await read(store, "db")) == "v1"
        assert version_of(await read(store, "db")) == "v1"
        assert counters(store) == (1, 1)
        async with store.write() as tx:
            await new_current_version(tx, row.id)
        found = await read(store, "db")
        assert counters(store) == (1, 2)
        assert found is not None and found[1] is not None
        assert (found[1].version_id, found[1].stages, found[1].ciphertext) == ("v2", [CURRENT], b"sealed-v2")
        previous = await read(store, "db", stage=PREVIOUS)
        assert previous is not None and previous[1] is not None
        assert (previous[1].version_id, previous[1].stages) == ("v1", [PREVIOUS])

    with_store(tmp_path, body)


def _set_label(label: str, version_id: str) -> Callable[[SqlTx, int], Awaitable[None]]:
    async def change(tx: SqlTx, secret_id: int) -> None:
        await tx.secrets.move_stage(secret_id, label, version_id)

    return change


async def _remove_current(tx: SqlTx, secret_id: int) -> None:
    await tx.secrets.remove_stage(secret_id, CURRENT)


async def _mark_deleted(tx: SqlTx, secret_id: int) -> None:
    await tx.secrets.update_secret(
        secret_id, deleted_at=secret_rows.DELETED_AT, deletion_date=secret_rows.DELETION_DATE
    )


async def _describe(tx: SqlTx, secret_id: int) -> None:
    await tx.secrets.update_secret(secret_id, description="rotated", last_changed_at=3000.0)


async def _touch_secret(tx: SqlTx, secret_id: int) -> None:
    await tx.secrets.touch_secret_accessed(secret_id, 86400.0 * 20000)


async def _touch_version(tx: SqlTx, secret_id: int) -> None:
    await tx.secrets.touch_version_accessed(secret_id, "v1", 86400.0 * 20000)


async def _new_ciphertext(tx: SqlTx, secret_id: int) -> None:
    await tx.secrets.update_version_ciphertext(secret_id, "v1", b"resealed")


async def _resource_policy(tx: SqlTx, secret_id: int) -> None:
    await tx.secrets.update_secret(secret_id, resource_policy='{"Version": "2012-10-17", "Statement": []}')


async def _purge(tx: SqlTx, secret_id: int) -> None:
    await tx.secrets.delete_secret(secret_id)


def _check_label_moved(found: Found) -> None:
    assert found is not None and found[1] is not None
    assert (found[1].version_id, found[1].stages) == ("v1", [CURRENT, "blue"])


def _check_described(found: Found) -> None:
    assert found is not None
    assert (found[0].description, found[0].last_changed_at) == ("rotated", 3000.0)


def _check_secret_touched(found: Found) -> None:
    assert found is not None and found[0].last_accessed_at == 86400.0 * 20000


def _check_version_touched(found: Found) -> None:
    assert found is not None and found[1] is not None and found[1].last_accessed_at == 86400.0 * 20000


def _check_resealed(found: Found) -> None:
    assert found is not None and found[1] is not None and found[1].ciphertext == b"resealed"


def _check_policy(found: Found) -> None:
    assert found is not None and found[0].resource_policy == '{"Version": "2012-10-17", "Statement": []}'


def _check_purged(found: Found) -> None:
    assert found is None


WRITES = {
    "label-added": (_set_label("blue", "v1"), _check_label_moved),
    "current-removed": (_remove_current, secret_rows.check_stage_gone),
    "deletion-mark": (_mark_deleted, secret_rows.check_deleted),
    "metadata": (_describe, _check_described),
    "secret-last-accessed": (_touch_secret, _check_secret_touched),
    "version-last-accessed": (_touch_version, _check_version_touched),
    "ciphertext": (_new_ciphertext, _check_resealed),
    "resource-policy": (_resource_policy, _check_policy),
    "purge": (_purge, _check_purged),
}


@pytest.mark.parametrize("change", sorted(WRITES))
def test_a_write_through_the_same_store_is_visible_on_the_very_next_read(tmp_path: Path, change: str) -> None:
    write, check = WRITES[change]

    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db", versions=[("v1", [CURRENT]), ("v0", ["blue"])])
        before = await read(store, "db")
        assert await read(store, "db") == before
        assert counters(store) == (1, 1)
        async with store.write() as tx:
            await write(tx, row.id)
        after = await read(store, "db")
        assert counters(store) == (1, 2)
        check(after)
        assert after != before
        assert await read(store, "db") == after  # and the fresh answer is cached again
        assert counters(store) == (2, 2)

    with_store(tmp_path, body)


def test_label_move_between_versions_is_visible_for_both_lookups(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db", versions=[("v1", [CURRENT, "blue"]), ("v2", [])])
        assert version_of(await read(store, "db", stage="blue")) == "v1"
        by_id = await read(store, "db", version_id="v2")
        assert by_id is not None and by_id[1] is not None and by_id[1].stages == []
        async with store.write() as tx:
            await tx.secrets.move_stage(row.id, "blue", "v2")
        assert version_of(await read(store, "db", stage="blue")) == "v2"
        by_id = await read(store, "db", version_id="v2")
        assert by_id is not None and by_id[1] is not None and by_id[1].stages == ["blue"]
        assert counters(store) == (0, 4)

    with_store(tmp_path, body)


def test_any_commit_empties_the_whole_cache(tmp_path: Path) -> None:
    """A commit about another secret still drops every entry (the epoch is database-wide)."""

    async def body(store: SqliteStore) -> None:
        await add_secret(store, "a")
        await add_secret(store, "b")
        await read(store, "a")
        await read(store, "a")
        assert counters(store) == (1, 1)
        await add_secret(store, "c")
        await read(store, "a")
        assert counters(store) == (1, 2)

    with_store(tmp_path, body)


def test_a_rolled_back_write_leaves_the_cache_in_place(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db")
        found = await read(store, "db")
        with pytest.raises(RuntimeError):
            async with store.write() as tx:
                await tx.secrets.update_secret(row.id, description="never committed")
                raise RuntimeError("abort")
        assert await read(store, "db") == found
        assert counters(store) == (1, 1)

    with_store(tmp_path, body)


# --- commits from other connections ("other processes") --------------------------------------------
def test_a_commit_from_a_second_store_on_the_same_file_is_visible(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db")
        other = SqliteStore(db_path(tmp_path))
        try:
            assert version_of(await read(store, "db")) == "v1"
            assert version_of(await read(store, "db")) == "v1"
            assert counters(store) == (1, 1)
            async with other.write() as tx:
                await new_current_version(tx, row.id)
            await next_request()
            assert version_of(await read(store, "db")) == "v2"
            assert counters(store) == (1, 2)
            # and the other way round: the second store's own cache sees the first store's commit
            assert version_of(await read(other, "db")) == "v2"
            async with store.write() as tx:
                await tx.secrets.move_stage(row.id, CURRENT, "v1")
            await next_request()
            assert version_of(await read(other, "db")) == "v1"
            assert counters(other) == (0, 2)
        finally:
            await other.close()

    with_store(tmp_path, body)


def test_a_commit_from_a_raw_sqlite_connection_is_visible(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db")
        await read(store, "db")
        await read(store, "db")
        raw_commit(db_path(tmp_path), "UPDATE secrets SET description = ? WHERE id = ?", "from admin", row.id)
        await next_request()
        found = await read(store, "db")
        assert found is not None and found[0].description == "from admin"
        assert counters(store) == (1, 2)

    with_store(tmp_path, body)


def test_a_commit_from_another_os_process_is_visible(tmp_path: Path) -> None:
    script = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10.0)\n"
        "conn.execute(\"UPDATE stages SET version_id = 'v0' WHERE stage = 'AWSCURRENT'\")\n"
        "conn.close()\n"
    )

    async def body(store: SqliteStore) -> None:
        await add_secret(store, "db", versions=[("v0", []), ("v1", [CURRENT])])
        assert version_of(await read(store, "db")) == "v1"
        subprocess.run([sys.executable, "-c", script, str(db_path(tmp_path))], check=True, timeout=30)
        await next_request()
        assert version_of(await read(store, "db")) == "v0"
        assert counters(store) == (0, 2)

    with_store(tmp_path, body)


def test_a_negative_result_is_cached_until_the_secret_is_created_elsewhere(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        queries = count_queries(store)
        assert await read(store, "later") is None
        assert await read(store, "later") is None
        assert counters(store) == (1, 1)
        assert queries.fetchrows == 1
        other = SqliteStore(db_path(tmp_path))
        try:
            await add_secret(other, "later")
        finally:
            await other.close()
        await next_request()
        assert version_of(await read(store, "later")) == "v1"
        assert counters(store) == (1, 2)

    with_store(tmp_path, body)


def test_a_negative_result_by_arn_is_not_served_after_a_raw_insert(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        assert await read(store, arn=arn_of("later")) is None
        assert await read(store, arn=arn_of("later")) is None
        raw_commit(
            db_path(tmp_path),
            "INSERT INTO secrets (account, region, name, arn, created_at, last_changed_at) VALUES (?, ?, ?, ?, ?, ?)",
            ACCOUNT, REGION, "later", arn_of("later"), 1.0, 1.0,
        )
        await next_request()
        found = await read(store, arn=arn_of("later"))
        assert found is not None and found[0].name == "later" and found[1] is None
        assert counters(store) == (1, 2)

    with_store(tmp_path, body)


def test_a_secret_without_the_version_is_cached_until_the_version_appears(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db")
        missing = await read(store, "db", version_id="v9")
        assert missing is not None and missing[0].name == "db" and missing[1] is None
        assert await read(store, "db", version_id="v9") == missing
        assert await read(store, "db", stage="blue") == missing
        assert await read(store, "db", stage="blue") == missing
        assert counters(store) == (2, 2)
        other = SqliteStore(db_path(tmp_path))
        try:
            async with other.write() as tx:
                await tx.secrets.insert_version(row.id, "v9", 2000.0, "string", b"sealed-v9")
                await tx.secrets.move_stage(row.id, "blue", "v9")
        finally:
            await other.close()
        await next_request()
        assert version_of(await read(store, "db", version_id="v9")) == "v9"
        assert version_of(await read(store, "db", stage="blue")) == "v9"
        assert counters(store) == (2, 4)

    with_store(tmp_path, body)


def test_a_commit_between_the_epoch_check_and_the_read_is_not_hidden(tmp_path: Path) -> None:
    """The row read may be newer than the epoch it is filed under; the next read must still refresh."""

    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db", versions=[("v0", []), ("v1", [CURRENT])])
        queries = count_queries(store)
        queries.before_fetchrow = lambda: raw_commit(
            db_path(tmp_path), "UPDATE stages SET version_id = 'v0' WHERE secret_id = ? AND stage = ?", row.id, CURRENT
        )
        assert version_of(await read(store, "db")) == "v0"  # read after the racing commit
        raw_commit(db_path(tmp_path), "UPDATE stages SET version_id = 'v1' WHERE secret_id = ? AND stage = ?",
                   row.id, CURRENT)
        await next_request()
        assert version_of(await read(store, "db")) == "v1"
        assert counters(store) == (0, 2)

    with_store(tmp_path, body)


def test_a_commit_right_after_the_read_is_seen_by_the_next_read(tmp_path: Path) -> None:
    """A row read just before another commit must not be filed under the newer epoch."""

    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db", versions=[("v0", []), ("v1", [CURRENT])])
        queries = count_queries(store)
        queries.after_fetchrow = lambda: raw_commit(
            db_path(tmp_path), "UPDATE stages SET version_id = 'v0' WHERE secret_id = ? AND stage = ?", row.id, CURRENT
        )
        assert version_of(await read(store, "db")) == "v1"  # read before the racing commit
        await next_request()
        assert version_of(await read(store, "db")) == "v0"
        assert counters(store) == (0, 2)
        assert version_of(await read(store, "db")) == "v0"
        assert counters(store) == (1, 2)

    with_store(tmp_path, body)


# --- keys ----------------------------------------------------------------------------------------
def test_version_id_and_stage_lookups_are_distinct_keys(tmp_path: Path) -> None:
    """A version whose id reads like a label ("blue") and another version labelled "blue"."""

    async def body(store: SqliteStore) -> None:
        await add_secret(store, "db", versions=[("blue", [CURRENT]), ("v2", ["blue"])])
        by_id = await read(store, "db", version_id="blue")
        by_stage = await read(store, "db", stage="blue")
        assert version_of(by_id) == "blue"
        assert version_of(by_stage) == "v2"
        assert counters(store) == (0, 2)
        assert version_of(await read(store, "db", version_id="blue")) == "blue"
        assert version_of(await read(store, "db", stage="blue")) == "v2"
        assert counters(store) == (2, 2)

    with_store(tmp_path, body)


def test_every_argument_is_part_of_the_key(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        await add_secret(store, "db", versions=[("v1", [PREVIOUS]), ("v2", [CURRENT])])
        await add_secret(store, "db", versions=[("o1", [CURRENT])], account=OTHER_ACCOUNT)
        await add_secret(store, "db2", versions=[("w1", [CURRENT])])
        lookups: list[tuple[dict[str, Any], str | None]] = [
            ({"name": "db"}, "v2"),
            ({"name": "db", "stage": PREVIOUS}, "v1"),
            ({"name": "db", "version_id": "v1"}, "v1"),
            ({"name": "db", "version_id": "v2"}, "v2"),
            ({"arn": arn_of("db")}, "v2"),
            ({"name": "db", "account": OTHER_ACCOUNT}, "o1"),
            ({"arn": arn_of("db", OTHER_ACCOUNT), "account": OTHER_ACCOUNT}, "o1"),
            ({"name": "db2"}, "w1"),
        ]
        for kwargs, expected in lookups:
            assert version_of(await read(store, **kwargs)) == expected
        assert counters(store) == (0, len(lookups))
        for kwargs, expected in lookups:
            assert version_of(await read(store, **kwargs)) == expected
        assert counters(store) == (len(lookups), len(lookups))
        # another region holds nothing, and that answer is its own entry too
        assert await read(store, "db", region="eu-west-1") is None
        assert counters(store) == (len(lookups), len(lookups) + 1)

    with_store(tmp_path, body)


# --- bounds and switching off --------------------------------------------------------------------
def test_the_cache_is_bounded_and_drops_the_oldest_entry(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        for name in ("a", "b", "c"):
            await add_secret(store, name)
        queries = count_queries(store)
        for name in ("a", "b", "c"):  # c pushes a out
            await read(store, name)
        assert counters(store) == (0, 3)
        await read(store, "c")
        await read(store, "b")
        assert counters(store) == (2, 3)
        await read(store, "a")  # evicted: a miss, which pushes b (now the oldest) out
        assert counters(store) == (2, 4)
        await read(store, "c")
        await read(store, "a")
        assert counters(store) == (4, 4)
        await read(store, "b")
        assert counters(store) == (4, 5)
        assert len(store.read_cache._found) == 2
        assert queries.fetchrows == 5

    with_store(tmp_path, body, read_cache_size=2)


def test_eviction_is_by_insertion_order_not_by_use(tmp_path: Path) -> None:
    """"When full the oldest entry is dropped": a hit does not make an entry younger."""

    async def body(store: SqliteStore) -> None:
        for name in ("a", "b", "c"):
            await add_secret(store, name)
        await read(store, "a")
        await read(store, "b")
        await read(store, "a")  # a hit
        await read(store, "c")  # drops a, the first inserted
        assert counters(store) == (1, 3)
        await read(store, "b")
        assert counters(store) == (2, 3)
        await read(store, "a")
        assert counters(store) == (2, 4)

    with_store(tmp_path, body, read_cache_size=2)


def test_negative_results_count_against_the_bound(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        await read(store, "x")
        await read(store, "y")
        await read(store, "x")
        assert counters(store) == (0, 3)
        assert len(store.read_cache._found) == 1

    with_store(tmp_path, body, read_cache_size=1)


@pytest.mark.parametrize("size", [0, -1])
def test_size_zero_never_caches(tmp_path: Path, size: int) -> None:
    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db")
        queries = count_queries(store)
        for _ in range(4):
            assert version_of(await read(store, "db")) == "v1"
            assert await read(store, "missing") is None
        assert queries.fetchrows == 8  # every read reached the database
        assert store.read_cache.hits == 0
        assert store.read_cache._found == {}
        async with store.write() as tx:
            await new_current_version(tx, row.id)
        assert version_of(await read(store, "db")) == "v2"
        assert store.read_cache.hits == 0

    with_store(tmp_path, body, read_cache_size=size)


# --- configuration -------------------------------------------------------------------------------
def test_config_read_cache_size_default_and_validation(tmp_path: Path) -> None:
    assert Config(data_dir=tmp_path).read_cache_size == 10_000
    assert Config(data_dir=tmp_path, read_cache_size=0).read_cache_size == 0
    assert Config(data_dir=tmp_path, read_cache_size=3).to_dict()["read_cache_size"] == 3
    with pytest.raises(ValueError, match="read_cache_size must be 0 or more"):
        Config(data_dir=tmp_path, read_cache_size=-1)
    for wrong in ("10", 1.5, True, None):
        with pytest.raises(ValueError, match="read_cache_size"):
            Config(data_dir=tmp_path, read_cache_size=wrong)  # type: ignore[arg-type]


def test_config_file_sets_read_cache_size(tmp_path: Path) -> None:
    file = tmp_path / "strongroom.toml"
    file.write_text("read_cache_size = 42\n")
    assert Config.load(file, data_dir=tmp_path).read_cache_size == 42
    assert Config.load(file, data_dir=tmp_path, read_cache_size=7).read_cache_size == 7
    file.write_text("read_cache_size = -5\n")
    with pytest.raises(ValueError, match="read_cache_size"):
        Config.load(file, data_dir=tmp_path)


@pytest.mark.parametrize("size", [0, 1, 10_000])
def test_open_store_passes_read_cache_size_through(tmp_path: Path, size: int) -> None:
    async def main() -> None:
        store = open_store(Config(data_dir=tmp_path / "data", read_cache_size=size).store_settings())
        assert isinstance(store, SqliteStore)
        try:
            await store.migrate()
            assert store.read_cache._size == size
            await add_secret(store, "a")
            await add_secret(store, "b")
            for name in ("a", "b", "a", "b"):
                await read(store, name)
            if size == 0:
                assert store.read_cache.hits == 0
            else:
                assert counters(store) == {1: (0, 4), 10_000: (2, 2)}[size]
        finally:
            await store.close()

    asyncio.run(main())


# --- once per loop iteration -------------------------------------------------------------------
def test_another_connection_is_checked_once_per_loop_iteration(tmp_path: Path) -> None:
    """Requests handled in the same iteration arrived before its check: one PRAGMA serves them all."""

    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db", versions=[("v0", []), ("v1", [CURRENT])])
        await next_request()
        cache = store.read_cache
        before = cache.checks
        for _ in range(5):
            assert version_of(await read(store, "db")) == "v1"
        assert cache.checks == before + 1
        raw_commit(db_path(tmp_path), "UPDATE stages SET version_id = 'v0' WHERE secret_id = ? AND stage = ?",
                   row.id, CURRENT)
        # a read in the same iteration belongs to a request that arrived before the commit
        assert version_of(await read(store, "db")) == "v1"
        await next_request()
        assert version_of(await read(store, "db")) == "v0"
        assert cache.checks == before + 2

    with_store(tmp_path, body)


def test_this_process_commit_is_visible_within_the_same_iteration(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        row = await add_secret(store, "db", versions=[("v0", []), ("v1", [CURRENT])])
        assert version_of(await read(store, "db")) == "v1"
        async with store.write() as tx:
            await tx.secrets.move_stage(row.id, CURRENT, "v0")
        assert version_of(await read(store, "db")) == "v0"  # no loop turn needed

    with_store(tmp_path, body)


def test_a_purge_round_with_nothing_due_keeps_the_cache_and_a_real_purge_empties_it(tmp_path: Path) -> None:
    """The purge loop runs every minute in every process: with nothing due it must not commit (a
    commit empties the cache); when a secret is due it is purged and no longer read from the cache."""
    from types import SimpleNamespace

    from strongroom.secrets.deletion import purge_due

    async def body(store: SqliteStore) -> None:
        services: Any = SimpleNamespace(store=store)
        kept = await add_secret(store, "kept")
        doomed = await add_secret(store, "doomed")
        async with store.write() as tx:
            await tx.secrets.update_secret(doomed.id, deleted_at=1.0, deletion_date=500.0)
        assert await read(store, "kept") is not None and await read(store, "doomed") is not None
        assert counters(store) == (0, 2)
        changes = store._writer.total_changes
        assert await purge_due(services, now=499.0) == 0
        assert store._writer.total_changes == changes
        assert await read(store, "kept") is not None and await read(store, "doomed") is not None
        assert counters(store) == (2, 2)  # both still cached
        assert await purge_due(services, now=500.0) == 1
        assert await read(store, "doomed") is None
        assert (await read(store, "kept") or (kept,))[0].id == kept.id
        assert counters(store) == (2, 4)  # the purge's commit emptied the cache

    with_store(tmp_path, body)
