"""The embedded SQLite store: migrations, SqlTx queries, schema invariants, transactions, listing, files."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import stat
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.kms.keyring import DEFAULT_ALIAS, KeyRing, StoreKmsKeys, alias_arn, key_arn
from strongroom.kms.master_key import MasterKey
from strongroom.store.records import KmsKeyRow, SecretRow
from strongroom.store.schema import MIGRATIONS
from strongroom.store.sql import SqlTx
from strongroom.store.sql.secrets import SORT_COLUMNS
from strongroom.store.sqlite import SqliteStore

ACCOUNT, REGION = "111111111111", "us-east-1"
T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def with_store(path: Path, body: Callable[[SqliteStore], Awaitable[T]], migrate: bool = True) -> T:
    """Open a store, migrate it, run ``body``, close it: all on one event loop."""

    async def main() -> T:
        store = SqliteStore(path)
        try:
            if migrate:
                await store.migrate()
            return await body(store)
        finally:
            await store.close()

    return run(main())


def secret_row(name: str, *, account: str = ACCOUNT, region: str = REGION, created: float = 1000.0,
               changed: float | None = None, tags: list[tuple[str, str]] | None = None) -> SecretRow:
    return SecretRow(
        id=0, account=account, region=region, name=name,
        arn=f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf", created_at=created,
        last_changed_at=changed if changed is not None else created, tags=tags,
    )


async def add_secret(store: SqliteStore, name: str, **kw: Any) -> SecretRow:
    row = secret_row(name, **kw)
    async with store.write() as tx:
        await tx.secrets.insert_secret(row)
    return row


def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "strongroom.db"


# --- migrations ------------------------------------------------------------------------------
def test_migration_5_forgets_default_key_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets stored under the default key by any of its names report no KmsKeyId once migrated."""
    import strongroom.store.sqlite as sqlite_module

    default_arn = key_arn(ACCOUNT, REGION, "0" * 8 + "-0000-0000-0000-" + "0" * 12)
    refs = {
        "alias": DEFAULT_ALIAS, "alias-arn": alias_arn(ACCOUNT, REGION, DEFAULT_ALIAS),
        "key-id": default_arn.rsplit("/", 1)[1], "key-arn": default_arn, "customer": "alias/app",
    }

    async def before(store: SqliteStore) -> None:
        async with store.write() as tx:
            await tx.x.execute(
                "INSERT INTO kms_keys (key_id, arn, account, region, alias, wrapped_material, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, 0)",
                refs["key-id"], default_arn, ACCOUNT, REGION, DEFAULT_ALIAS, b"w",
            )
            for name, ref in refs.items():
                await tx.x.execute(
                    "INSERT INTO secrets (account, region, name, arn, kms_key_id, created_at, last_changed_at) "
                    "VALUES ($1, $2, $3, $4, $5, 0, 0)",
                    ACCOUNT, REGION, name, f"arn:{name}", ref,
                )

    async def after(store: SqliteStore) -> dict[str, str | None]:
        out = {}
        async with store.read() as tx:
            for name in refs:
                secret = await tx.secrets.get_secret(ACCOUNT, REGION, name=name)
                assert secret is not None and secret.secret_type is None
                out[name] = secret.kms_key_id
        return out

    path = tmp_path / "db"
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:4])
    with_store(path, before)
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS)
    assert with_store(path, after) == {
        "alias": None, "alias-arn": None, "key-id": None, "key-arn": None, "customer": "alias/app"
    }


def test_migrate_returns_schema_version_and_is_idempotent(tmp_path: Path) -> None:
    path = db_path(tmp_path)

    async def body(store: SqliteStore) -> None:
        assert await store.migrate() == len(MIGRATIONS)  # second run on the same store
        async with store.read() as tx:
            rows = await tx.x.fetch("SELECT version FROM schema_migrations ORDER BY version")
            assert [r["version"] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
            tables = {r["name"] for r in await tx.x.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")}
        expected = {"secrets", "versions", "stages", "kms_keys", "iam_users", "iam_access_keys", "iam_session_keys"}
        assert expected <= tables

    version = with_store(path, lambda s: s.migrate())
    assert version == len(MIGRATIONS) >= 4
    with_store(path, body)  # a reopened store migrates again: nothing to apply, nothing duplicated


def test_migrate_keeps_data(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    with_store(path, lambda s: add_secret(s, "kept"))

    async def body(store: SqliteStore) -> None:
        await store.migrate()
        async with store.read() as tx:
            assert (await tx.secrets.get_secret(ACCOUNT, REGION, name="kept")) is not None

    with_store(path, body)


def test_journal_mode_is_wal_and_foreign_keys_on(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        async with store.read() as tx:
            assert (await tx.x.fetchrow("PRAGMA journal_mode"))[0].lower() == "wal"
            assert (await tx.x.fetchrow("PRAGMA foreign_keys"))[0] == 1

    with_store(db_path(tmp_path), body)


def test_synchronous_setting_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SqliteStore(db_path(tmp_path), synchronous="OFF")


# --- secrets CRUD ----------------------------------------------------------------------------
def test_secret_crud(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        row = secret_row("app/db", created=10.5, tags=[("env", "prod"), ("team", "a")])
        async with store.write() as tx:
            new_id = await tx.secrets.insert_secret(row)
        assert new_id == row.id > 0
        async with store.read() as tx:
            by_name = await tx.secrets.get_secret(ACCOUNT, REGION, name="app/db")
            by_arn = await tx.secrets.get_secret(ACCOUNT, REGION, arn=row.arn)
            assert await tx.secrets.get_secret(ACCOUNT, "eu-west-1", name="app/db") is None
            assert await tx.secrets.get_secret("222222222222", REGION, name="app/db") is None
        assert by_name == by_arn == row
        assert by_name is not None and by_name.tags == [("env", "prod"), ("team", "a")]
        assert by_name.rotation_enabled is None and by_name.description is None

        async with store.write() as tx:
            await tx.secrets.update_secret(
                row.id, description="d", rotation_enabled=True, tags=[], last_changed_at=20.0
            )
        async with store.read() as tx:
            got = await tx.secrets.get_secret(ACCOUNT, REGION, name="app/db")
        assert got is not None
        assert (got.description, got.rotation_enabled, got.tags, got.last_changed_at) == ("d", True, [], 20.0)

        async with store.write() as tx:
            await tx.secrets.update_secret(row.id, tags=None, rotation_enabled=False)
        async with store.read() as tx:
            got = await tx.secrets.get_secret(ACCOUNT, REGION, name="app/db")
        assert got is not None and got.tags is None and got.rotation_enabled is False

        async with store.write() as tx:
            with pytest.raises(ValueError, match="not updatable"):
                await tx.secrets.update_secret(row.id, name="renamed")
            with pytest.raises(ValueError, match="not updatable"):
                await tx.secrets.update_secret(row.id, arn="x")

        async with store.write() as tx:
            await tx.secrets.insert_version(row.id, "v1", 1.0, "string", b"sealed")
            await tx.secrets.move_stage(row.id, "AWSCURRENT", "v1")
            await tx.secrets.delete_secret(row.id)
        async with store.read() as tx:
            assert await tx.secrets.get_secret(ACCOUNT, REGION, name="app/db") is None
            assert await tx.secrets.count_versions(row.id) == 0
            assert await tx.secrets.stage_map(row.id) == {}

    with_store(db_path(tmp_path), body)


def test_versions_and_stages(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        s = await add_secret(store, "s")
        async with store.write() as tx:
            await tx.secrets.insert_version(s.id, "v2", 5.0, "binary", b"\x00two")
            await tx.secrets.insert_version(s.id, "v1", 5.0, "string", b"one")
            await tx.secrets.insert_version(s.id, "v0", 9.0, "string", b"zero")
            await tx.secrets.move_stage(s.id, "AWSCURRENT", "v1")
            await tx.secrets.move_stage(s.id, "custom", "v1")
            await tx.secrets.move_stage(s.id, "AWSPENDING", "v2")
        async with store.read() as tx:
            v1 = await tx.secrets.get_version(s.id, version_id="v1")
            by_stage = await tx.secrets.get_version(s.id, stage="AWSCURRENT")
            no_value = await tx.secrets.get_version(s.id, stage="AWSPENDING", with_value=False)
            assert await tx.secrets.get_version(s.id, version_id="nope") is None
            assert await tx.secrets.get_version(s.id, stage="nope") is None
            listed = await tx.secrets.list_versions(s.id)
            assert await tx.secrets.count_versions(s.id) == 3
            assert await tx.secrets.stage_map(s.id) == {"v1": ["AWSCURRENT", "custom"], "v2": ["AWSPENDING"]}
        assert v1 == by_stage
        assert v1 is not None and v1.ciphertext == b"one" and v1.kind == "string"
        assert v1.stages == ["AWSCURRENT", "custom"]
        assert no_value is not None and no_value.ciphertext is None and no_value.kind == "binary"
        # oldest first, ties by version id; no values in listings
        assert [(v.version_id, v.stages, v.ciphertext) for v in listed] == [
            ("v1", ["AWSCURRENT", "custom"], None), ("v2", ["AWSPENDING"], None), ("v0", [], None),
        ]

        async with store.write() as tx:
            await tx.secrets.move_stage(s.id, "AWSCURRENT", "v0")  # a move detaches the label from v1
            await tx.secrets.remove_stage(s.id, "custom")
            await tx.secrets.update_version_ciphertext(s.id, "v2", b"resealed")
            await tx.secrets.delete_versions(s.id, ["v1"])
        async with store.read() as tx:
            assert await tx.secrets.stage_map(s.id) == {"v0": ["AWSCURRENT"], "v2": ["AWSPENDING"]}
            v2 = await tx.secrets.get_version(s.id, version_id="v2")
            assert v2 is not None and v2.ciphertext == b"resealed"
            assert [v.version_id for v in await tx.secrets.list_versions(s.id)] == ["v2", "v0"]

    with_store(db_path(tmp_path), body)


def test_access_dates_only_move_forward(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        s = await add_secret(store, "s")
        async with store.write() as tx:
            await tx.secrets.insert_version(s.id, "v", 1.0, "string", b"x")
            await tx.secrets.touch_secret_accessed(s.id, 86400.0)
            await tx.secrets.touch_version_accessed(s.id, "v", 86400.0)
            await tx.secrets.touch_secret_accessed(s.id, 0.0)
            await tx.secrets.touch_version_accessed(s.id, "v", 0.0)
        async with store.read() as tx:
            got = await tx.secrets.get_secret(ACCOUNT, REGION, name="s")
            version = await tx.secrets.get_version(s.id, version_id="v")
        assert got is not None and got.last_accessed_at == 86400.0
        assert version is not None and version.last_accessed_at == 86400.0

    with_store(db_path(tmp_path), body)


def test_page_with_stages(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        a, b = await add_secret(store, "a"), await add_secret(store, "b")
        async with store.write() as tx:
            await tx.secrets.insert_version(a.id, "va", 1.0, "string", b"x")
            await tx.secrets.move_stage(a.id, "AWSCURRENT", "va")
            await tx.secrets.move_stage(a.id, "Z", "va")
        async with store.read() as tx:
            page = await tx.secrets.page_with_stages([a, b])
            empty = await tx.secrets.page_with_stages([])
        assert page.stages == {a.id: {"va": ["AWSCURRENT", "Z"]}, b.id: {}}
        assert empty.secrets == [] and empty.stages == {}

    with_store(db_path(tmp_path), body)


# --- invariants enforced by the schema itself --------------------------------------------------
def test_schema_refuses_a_second_holder_of_a_stage(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        s = await add_secret(store, "s")
        async with store.write() as tx:
            await tx.secrets.insert_version(s.id, "v1", 1.0, "string", b"x")
            await tx.secrets.insert_version(s.id, "v2", 2.0, "string", b"y")
            await tx.x.execute("INSERT INTO stages (secret_id, stage, version_id) VALUES ($1, $2, $3)",
                               s.id, "AWSCURRENT", "v1")
        with pytest.raises(sqlite3.IntegrityError):
            async with store.write() as tx:
                await tx.x.execute("INSERT INTO stages (secret_id, stage, version_id) VALUES ($1, $2, $3)",
                                   s.id, "AWSCURRENT", "v2")
        async with store.read() as tx:
            assert await tx.secrets.stage_map(s.id) == {"v1": ["AWSCURRENT"]}

    with_store(db_path(tmp_path), body)


def test_schema_refuses_a_stage_on_a_missing_version(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        s = await add_secret(store, "s")
        with pytest.raises(sqlite3.IntegrityError):
            async with store.write() as tx:
                await tx.secrets.move_stage(s.id, "AWSCURRENT", "ghost")

    with_store(db_path(tmp_path), body)


def test_schema_refuses_a_duplicate_version_id(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        s, other = await add_secret(store, "s"), await add_secret(store, "other")
        async with store.write() as tx:
            await tx.secrets.insert_version(s.id, "token-1", 1.0, "string", b"x")
            await tx.secrets.insert_version(other.id, "token-1", 1.0, "string", b"x")  # per secret: fine
        with pytest.raises(sqlite3.IntegrityError):
            async with store.write() as tx:
                await tx.secrets.insert_version(s.id, "token-1", 2.0, "string", b"y")
        async with store.read() as tx:
            version = await tx.secrets.get_version(s.id, version_id="token-1")
        assert version is not None and version.ciphertext == b"x"

    with_store(db_path(tmp_path), body)


def test_schema_refuses_a_duplicate_name_per_account_and_region(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        await add_secret(store, "dup")
        await add_secret(store, "dup", region="eu-west-1")  # another region: another namespace
        await add_secret(store, "dup", account="222222222222")  # another account too
        dup = secret_row("dup")
        dup.arn = dup.arn.replace("AbCdEf", "ZzZzZz")
        with pytest.raises(sqlite3.IntegrityError):
            async with store.write() as tx:
                await tx.secrets.insert_secret(dup)
        async with store.read() as tx:
            rows = await tx.x.fetch("SELECT COUNT(*) AS n FROM secrets WHERE name = 'dup'")
        assert rows[0]["n"] == 3

    with_store(db_path(tmp_path), body)


def test_schema_refuses_a_duplicate_arn(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        first = await add_secret(store, "one")
        clash = secret_row("two")
        clash.arn = first.arn
        with pytest.raises(sqlite3.IntegrityError):
            async with store.write() as tx:
                await tx.secrets.insert_secret(clash)

    with_store(db_path(tmp_path), body)


# --- transactions ----------------------------------------------------------------------------
class Boom(Exception):
    pass


@pytest.mark.parametrize("error", [Boom, asyncio.CancelledError])
def test_write_rolls_back_on_exception(tmp_path: Path, error: type[BaseException]) -> None:
    async def body(store: SqliteStore) -> None:
        kept = await add_secret(store, "kept")
        with pytest.raises(error):
            async with store.write() as tx:
                s = secret_row("lost")
                await tx.secrets.insert_secret(s)
                await tx.secrets.insert_version(s.id, "v", 1.0, "string", b"x")
                await tx.secrets.move_stage(s.id, "AWSCURRENT", "v")
                await tx.secrets.update_secret(kept.id, description="changed")
                raise error()
        async with store.read() as tx:
            assert await tx.secrets.get_secret(ACCOUNT, REGION, name="lost") is None
            got = await tx.secrets.get_secret(ACCOUNT, REGION, name="kept")
            assert got is not None and got.description is None
            assert (await tx.x.fetchrow("SELECT COUNT(*) AS n FROM versions"))["n"] == 0
        # the store is usable after a rollback (no transaction left open, lock released)
        await add_secret(store, "after")
        async with store.read() as tx:
            assert await tx.secrets.get_secret(ACCOUNT, REGION, name="after") is not None

    with_store(db_path(tmp_path), body)


def test_rolled_back_write_is_not_visible_after_reopen(tmp_path: Path) -> None:
    path = db_path(tmp_path)

    async def body(store: SqliteStore) -> None:
        with pytest.raises(Boom):
            async with store.write() as tx:
                await tx.secrets.insert_secret(secret_row("ghost"))
                raise Boom

    with_store(path, body)

    async def check(store: SqliteStore) -> None:
        async with store.read() as tx:
            assert await tx.secrets.get_secret(ACCOUNT, REGION, name="ghost") is None

    with_store(path, check)


def test_reads_see_committed_data_only(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        async with store.write() as tx:
            await tx.secrets.insert_secret(secret_row("pending"))
            async with store.read() as reader:  # a reader never sees an uncommitted write
                assert await reader.secrets.get_secret(ACCOUNT, REGION, name="pending") is None
        async with store.read() as reader:
            assert await reader.secrets.get_secret(ACCOUNT, REGION, name="pending") is not None

    with_store(db_path(tmp_path), body)


def test_another_store_on_the_same_file_sees_commits(tmp_path: Path) -> None:
    path = db_path(tmp_path)

    async def main() -> None:
        one, two = SqliteStore(path), SqliteStore(path)
        try:
            await one.migrate()
            await two.migrate()
            await add_secret(one, "shared")
            async with two.read() as tx:
                assert await tx.secrets.get_secret(ACCOUNT, REGION, name="shared") is not None
        finally:
            await one.close()
            await two.close()

    run(main())


def test_reader_connection_is_read_only(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        async with store.read() as tx:
            with pytest.raises(sqlite3.OperationalError):
                await tx.secrets.insert_secret(secret_row("nope"))

    with_store(db_path(tmp_path), body)


# --- listing: keyset pagination ------------------------------------------------------------------
def _sort_value(s: SecretRow, sort_by: str) -> Any:
    return {
        "created-date": s.created_at,
        "last-changed-date": s.last_changed_at,
        "last-accessed-date": s.last_accessed_at or 0,
        "name": s.name,
    }[sort_by]


async def _paginate(tx: SqlTx, *, sort_by: str, descending: bool, limit: int, include_deleted: bool,
                    name_ranges: list[tuple[str, str | None]] | None) -> list[int]:
    seen: list[int] = []
    after: tuple[Any, int] | None = None
    for _ in range(1000):
        batch = await tx.secrets.list_secrets(
            ACCOUNT, REGION, sort_by=sort_by, descending=descending, after=after, limit=limit,
            include_deleted=include_deleted, name_ranges=name_ranges,
        )
        assert len(batch) <= limit
        seen.extend(s.id for s in batch)
        if len(batch) < limit:
            return seen
        after = (_sort_value(batch[-1], sort_by), batch[-1].id)
    raise AssertionError("pagination did not terminate")


def _in_ranges(name: str, ranges: list[tuple[str, str | None]] | None) -> bool:
    if not ranges:
        return True
    return any(name >= low and (high is None or name < high) for low, high in ranges)


async def _fill(store: SqliteStore, specs: list[tuple[str, float, float, float | None, bool]]) -> list[SecretRow]:
    rows = []
    async with store.write() as tx:
        for name, created, changed, accessed, deleted in specs:
            row = secret_row(name, created=created, changed=changed)
            await tx.secrets.insert_secret(row)
            fields: dict[str, Any] = {}
            if accessed is not None:
                fields["last_accessed_at"] = accessed
            if deleted:
                fields["deleted_at"] = 1.0
            if fields:
                await tx.secrets.update_secret(row.id, **fields)
            row.last_accessed_at = accessed
            row.deleted_at = 1.0 if deleted else None
            rows.append(row)
        # noise in another account and region never shows up
        await tx.secrets.insert_secret(secret_row("a-other-account", account="222222222222"))
        await tx.secrets.insert_secret(secret_row("a-other-region", region="eu-west-1"))
    return rows


RANGES: list[list[tuple[str, str | None]] | None] = [
    None, [("b", "c")], [("a", "b"), ("c", None)], [("zz", None)], [("b/x", "b/y"), ("b", "b0")],
]


async def _check_all_orders(store: SqliteStore, rows: list[SecretRow], limits: list[int]) -> None:
    async with store.read() as tx:
        for sort_by, descending, include_deleted, ranges, limit in itertools.product(
            SORT_COLUMNS, (False, True), (False, True), RANGES, limits
        ):
            got = await _paginate(tx, sort_by=sort_by, descending=descending, limit=limit,
                                  include_deleted=include_deleted, name_ranges=ranges)
            wanted = sorted(
                (r for r in rows if (include_deleted or r.deleted_at is None) and _in_ranges(r.name, ranges)),
                key=lambda r: (_sort_value(r, sort_by), r.id), reverse=descending,
            )
            assert got == [r.id for r in wanted], (sort_by, descending, include_deleted, ranges, limit)
            assert len(set(got)) == len(got)


def test_list_secrets_pagination_visits_every_row_once_in_every_order(tmp_path: Path) -> None:
    # many ties in every sort key (ties are broken by id), some never-accessed and deleted rows
    names = ["a", "a/1", "a/2", "b", "b/x1", "b/x2", "b0", "b1", "c", "c/z", "d", "zz", "zz/top", "é"]
    specs = [
        (name, float(i % 3), float(i % 4) + 0.5, None if i % 5 == 0 else float(i % 2) * 86400, i % 6 == 1)
        for i, name in enumerate(names)
    ]

    async def body(store: SqliteStore) -> None:
        rows = await _fill(store, specs)
        await _check_all_orders(store, rows, limits=[1, 2, 3, 5, 100])

    with_store(db_path(tmp_path), body)


_name = st.text(alphabet="abcz/-_", min_size=1, max_size=5)
_spec = st.tuples(
    _name,
    st.sampled_from([0.0, 1.0, 2.5]),
    st.sampled_from([0.0, 3.0, 1e9]),
    st.one_of(st.none(), st.sampled_from([0.0, 86400.0, 172800.0])),
    st.booleans(),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(_spec, max_size=12, unique_by=lambda s: s[0]), limit=st.integers(1, 4))
def test_list_secrets_pagination_property(specs: list[tuple[str, float, float, float | None, bool]],
                                          limit: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async def body(store: SqliteStore) -> None:
            rows = await _fill(store, specs)
            await _check_all_orders(store, rows, limits=[limit])

        with_store(Path(tmp) / "db", body)


# --- purge claim -----------------------------------------------------------------------------
def test_secrets_due_for_purge(tmp_path: Path) -> None:
    async def body(store: SqliteStore) -> None:
        ids = {}
        for name, due in [("late", 300.0), ("early", 100.0), ("future", 10_000.0), ("now", 500.0), ("kept", None)]:
            s = await add_secret(store, name)
            ids[name] = s.id
            if due is not None:
                async with store.write() as tx:
                    await tx.secrets.update_secret(s.id, deleted_at=1.0, deletion_date=due)
        async with store.read() as tx:  # the check before a purge round: a read, inclusive like the claim
            assert await tx.secrets.purge_is_due(100.0)
            assert not await tx.secrets.purge_is_due(99.9)
        async with store.write() as tx:
            due_now = await tx.secrets.secrets_due_for_purge(500.0, 10)
            limited = await tx.secrets.secrets_due_for_purge(500.0, 2)
            assert await tx.secrets.secrets_due_for_purge(50.0, 10) == []
        assert [s.name for s in due_now] == ["early", "late", "now"]  # by deletion date, inclusive
        assert [s.name for s in limited] == ["early", "late"]
        async with store.write() as tx:
            for s in due_now:
                await tx.secrets.delete_secret(s.id)
        async with store.read() as tx:
            assert await tx.secrets.secrets_due_for_purge(500.0, 10) == []
            assert not await tx.secrets.purge_is_due(500.0)
            assert await tx.secrets.purge_is_due(10_000.0)  # "future"; "kept" has no deletion date
            left = await tx.x.fetch("SELECT name FROM secrets ORDER BY name")
        assert [r["name"] for r in left] == ["future", "kept"]

    with_store(db_path(tmp_path), body)


# --- files -----------------------------------------------------------------------------------
def test_new_database_file_is_private_and_data_dir_created_0700(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "data" / "strongroom.db"
    with_store(path, lambda s: add_secret(s, "x"))
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for sidecar in path.parent.glob("strongroom.db-*"):  # WAL and shared-memory files follow the db
        assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600, sidecar.name


# --- KMS keys --------------------------------------------------------------------------------
def _kms_key(key_id: str, alias: str | None = DEFAULT_ALIAS, material: bytes = b"w" * 40) -> KmsKeyRow:
    return KmsKeyRow(key_id=key_id, arn=key_arn(ACCOUNT, REGION, key_id), account=ACCOUNT, region=REGION,
                  alias=alias, wrapped_material=material, created_at=1.0)


def test_kms_key_insert_race_returns_the_existing_row(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    first = _kms_key("11111111-1111-4111-8111-111111111111", material=b"first")
    second = _kms_key("22222222-2222-4222-8222-222222222222", material=b"second")

    async def main() -> None:
        one, two = SqliteStore(path), SqliteStore(path)  # two processes sharing the file
        keys_one, keys_two = StoreKmsKeys(one), StoreKmsKeys(two)
        try:
            await one.migrate()
            assert await keys_one.insert_kms_key(first) == first
            winner = await keys_two.insert_kms_key(second)  # same alias: the loser gets the winner's row
            assert winner == first
            assert await keys_two.find_kms_key(ACCOUNT, REGION, second.arn) is None
            assert await keys_two.find_kms_key(ACCOUNT, REGION, alias_arn(ACCOUNT, REGION, DEFAULT_ALIAS)) == first
            assert await keys_two.find_kms_key(ACCOUNT, REGION, DEFAULT_ALIAS) == first
            assert await keys_two.find_kms_key(ACCOUNT, REGION, first.key_id) == first
            assert await keys_two.find_kms_key(ACCOUNT, REGION, first.arn) == first
            assert await keys_two.find_kms_key("222222222222", REGION, first.arn) is None
            # same key id without alias: also the existing row, not an error
            clash = _kms_key(first.key_id, alias=None, material=b"other")
            assert await keys_one.insert_kms_key(clash) == first
        finally:
            await one.close()
            await two.close()

    run(main())


def test_two_key_rings_on_one_file_agree_on_the_default_key(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    master = MasterKey(bytes(range(32)))

    async def main() -> None:
        one, two = SqliteStore(path), SqliteStore(path)
        try:
            await one.migrate()
            ring_one, ring_two = KeyRing(master, StoreKmsKeys(one)), KeyRing(master, StoreKmsKeys(two))
            key_one, key_two = await asyncio.gather(
                ring_one.resolve(ACCOUNT, REGION, None), ring_two.resolve(ACCOUNT, REGION, None)
            )
            assert key_one.arn == key_two.arn
            sealed = await ring_one.seal(ACCOUNT, REGION, None, b"value", b"aad")
            assert await ring_two.open(ACCOUNT, REGION, sealed, b"aad") == b"value"
            async with one.read() as tx:
                assert (await tx.x.fetchrow("SELECT COUNT(*) AS n FROM kms_keys"))["n"] == 1
        finally:
            await one.close()
            await two.close()

    run(main())
