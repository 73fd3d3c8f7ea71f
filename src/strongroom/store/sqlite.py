"""The embedded SQLite store (the default): one file in the data directory, WAL mode.

Reads run inline on the event loop on a read connection (WAL readers never block on the writer
and a read takes microseconds). Writes take an in-process lock plus ``BEGIN IMMEDIATE`` (which
serializes writers across worker processes, waiting up to ``busy_timeout``), so every API
mutation is exactly one transaction. With ``synchronous=NORMAL`` (the default) a committed
transaction survives a crash of the process (kill -9); ``synchronous=FULL`` also survives power
loss at the cost of an fsync per commit.

GetSecretValue's read is cached per process (:mod:`strongroom.store.read_cache`): the whole cache
is dropped by every commit of this process and whenever ``PRAGMA data_version`` says another
connection has committed, checked once per event-loop iteration, so a request never reads
anything older than a commit acknowledged before it was sent. ``PRAGMA data_version`` changes
when another connection commits (another worker, an admin command); it costs a read lock (two
``fcntl`` calls) and no I/O, so the check always ends within its own iteration.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from strongroom.store.base import Row
from strongroom.store.read_cache import CachedSecrets, ReadCache
from strongroom.store.schema import MIGRATIONS, render
from strongroom.store.sql import SqlTx

_PARAM = re.compile(r"\$(\d+)")
_translated: dict[str, str] = {}


def _sqlite_sql(sql: str) -> str:
    out = _translated.get(sql)
    if out is None:
        out = _translated[sql] = _PARAM.sub(r"?\1", sql)
    return out


class _SqliteExecutor:
    dialect = "sqlite"
    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        return self.conn.execute(_sqlite_sql(sql), args).fetchall()

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return self.conn.execute(_sqlite_sql(sql), args).fetchone()

    async def execute(self, sql: str, *args: Any) -> int:
        return self.conn.execute(_sqlite_sql(sql), args).rowcount


def _connect(path: Path | str, synchronous: str, readonly: bool = False, uri: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0, uri=uri)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    return conn


@asynccontextmanager
async def inspect(path: Path) -> AsyncIterator[SqlTx | None]:
    """A read-only look at the database at ``path`` that creates and changes nothing; None if there is none.

    SQLite's ``mode=ro`` would create the ``-wal`` and ``-shm`` files of a WAL database that has
    none, and leave them behind. Without a ``-wal`` file (no server running, none killed) all the
    content is in the main file, which is read as ``immutable``; with one (and its ``-shm``), the
    database is opened ``mode=ro`` so that the committed content of the WAL is read too.
    """
    if not path.exists():
        yield None
        return
    wal, shm = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
    mode = "mode=ro" if wal.exists() and shm.exists() else "immutable=1"
    conn = _connect(f"{path.resolve().as_uri()}?{mode}", "NORMAL", readonly=True, uri=True)
    try:
        yield SqlTx(_SqliteExecutor(conn))
    finally:
        conn.close()


class _Ready:
    """An async context manager that just hands out a value (no generator frame on the hot path)."""

    __slots__ = ("value",)

    def __init__(self, value: SqlTx) -> None:
        self.value = value

    async def __aenter__(self) -> SqlTx:
        return self.value

    async def __aexit__(self, *exc: object) -> None:
        return None


class SqliteStore:
    """SQLite backend of :class:`strongroom.store.base.Store`."""

    dialect = "sqlite"

    def __init__(self, path: Path, synchronous: str = "NORMAL", read_cache_size: int = 10_000) -> None:
        if synchronous.upper() not in {"NORMAL", "FULL", "EXTRA"}:
            raise ValueError("synchronous must be NORMAL, FULL or EXTRA")
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        new = not path.exists()
        self._writer = _connect(path, synchronous.upper())
        if new:
            os.chmod(path, 0o600)
        self._writer.execute("PRAGMA journal_mode = WAL")
        self._reader = _connect(path, synchronous.upper(), readonly=True)
        self._write_lock = asyncio.Lock()
        self.read_cache = ReadCache(read_cache_size)
        reads = _SqliteExecutor(self._reader)
        self._read_tx = SqlTx(reads, secrets=CachedSecrets(reads, self.read_cache, self._data_version))
        self._reader_cm = _Ready(self._read_tx)

    async def _data_version(self) -> object:
        """The read cache's "changed?" check: another connection committed iff this changed."""
        return self._reader.execute("PRAGMA data_version").fetchone()[0]

    def read(self) -> _Ready:
        """Reads run in autocommit mode: each statement sees one committed snapshot."""
        return self._reader_cm

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlTx]:
        async with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqlTx(_SqliteExecutor(conn))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self.read_cache.clear()

    async def migrate(self) -> int:
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
            )
            done = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
            for number, migration in enumerate(MIGRATIONS, start=1):
                if number <= done:
                    continue
                for statement in render(migration, "sqlite"):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (number, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.read_cache.clear()
        return len(MIGRATIONS)

    async def close(self) -> None:
        self._reader.close()
        self._writer.close()
