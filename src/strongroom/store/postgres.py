"""The PostgreSQL store: many server processes on many machines sharing one database (asyncpg).

Every instance runs the same SQL as the SQLite store (:mod:`strongroom.store.sql`); what differs is
how transactions isolate:

* :meth:`PostgresStore.read` lends a pooled connection with no explicit transaction, so each
  statement reads one committed snapshot and costs exactly one round trip (asyncpg prepares each
  statement text once per connection and caches it, so statement texts are kept stable). A read
  that must be consistent across tables is written as one statement (see ``SqlTx.get_version``).
  A read takes its connection at its first statement, so most cached GetSecretValue reads
  (below) take none.
* GetSecretValue's read is cached per process (:mod:`strongroom.store.read_cache`,
  ``read_cache_size``) and used only while ``txid_current_snapshot()`` is unchanged: no transaction
  has committed anywhere in the cluster since the cache was filled. The snapshot (xmin:xmax:
  in-progress ids) changes whenever a transaction that holds a transaction id commits or aborts,
  in any database of the cluster (read-only transactions hold none): a commit either leaves the
  in-progress list or moves xmax. The check is one round trip shared by every request of an
  event-loop iteration, so under load most GetSecretValue calls cost no round trip, and a request
  still sees every commit acknowledged before it was sent, whichever instance made it.
* :meth:`PostgresStore.write` runs one READ COMMITTED transaction. Domain code locks the secret
  row first (``SELECT ... FOR UPDATE``), so mutations of one secret serialize on that lock, and every
  later statement of the transaction takes a fresh snapshot that includes the previous holder's
  commit. Background jobs claim rows with ``FOR UPDATE SKIP LOCKED`` and never wait on each other.

Why no automatic retry of write transactions: under READ COMMITTED PostgreSQL never raises
serialization_failure, and deadlock_detected needs two transactions that each wait for a lock the
other holds. Every transaction that touches a secret's rows (versions, stages) locks the secret row
first; the only multi-secret transaction (the purge) claims with SKIP LOCKED and never waits; the
remaining writers (access-day updates, KMS key inserts) change one row in a transaction of their
own. So no wait-for cycle can form. The :class:`~strongroom.store.base.Store` protocol hands the
transaction to the caller as a context manager, which cannot be replayed; if a future operation
could deadlock, it would surface as InternalServiceError (HTTP 500), which AWS SDKs retry. The
store's own transaction (migrations) is a function and is retried, bounded.

A unique-constraint violation becomes :class:`~strongroom.store.base.Conflict`; the transaction is
then aborted, so the caller must end it (every caller raises).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg

from strongroom.store.base import Conflict, Row
from strongroom.store.read_cache import CachedSecrets, ReadCache
from strongroom.store.schema import MIGRATIONS, render
from strongroom.store.sql import SqlTx

log = logging.getLogger("strongroom.store")

T = TypeVar("T")

#: Key of the transaction-level advisory lock that serializes migrations across instances.
MIGRATION_LOCK = 0x5354524F4E47524D  # "STRONGRM"
#: Bounded retry of the store's own transactions on deadlock_detected / serialization_failure.
MAX_ATTEMPTS = 5
_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
#: Statement texts vary with IN-list lengths and UPDATE column sets; keep them all prepared.
STATEMENT_CACHE_SIZE = 512
#: The read cache's check. txid_current_snapshot(), not pg_current_snapshot(): the same value, and
#: present from PostgreSQL 10 on.
SNAPSHOT_SQL = "SELECT txid_current_snapshot()::text AS snapshot"
#: Session settings applied unless the URL sets them. A transaction of this service lasts
#: milliseconds; one idle for a minute belongs to a hung instance and must not keep its row locks.
DEFAULT_SERVER_SETTINGS = {
    "application_name": "strongroom",
    "idle_in_transaction_session_timeout": "60000",
}


def _rowcount(status: str) -> int:
    """Rows changed, from a command tag such as ``UPDATE 3`` or ``INSERT 0 1``."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class _PgExecutor:
    """One pooled connection, speaking the ``$1``-parameter SQL of :mod:`strongroom.store.sql`."""

    dialect = "postgres"
    __slots__ = ("conn",)

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        try:
            rows: Sequence[Row] = await self.conn.fetch(sql, *args)
            return rows
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(exc.constraint_name or "unique violation") from exc

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        try:
            row: Row | None = await self.conn.fetchrow(sql, *args)
            return row
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(exc.constraint_name or "unique violation") from exc

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            return _rowcount(await self.conn.execute(sql, *args))
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(exc.constraint_name or "unique violation") from exc


class _LazyPgExecutor(_PgExecutor):
    """A read's executor: takes a pooled connection at its first statement (see :class:`_PgRead`)."""

    __slots__ = ("pool",)

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self.pool = pool

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]:
        if self.conn is None:
            self.conn = await self.pool.acquire()
        return await super().fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        if self.conn is None:
            self.conn = await self.pool.acquire()
        return await super().fetchrow(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        if self.conn is None:
            self.conn = await self.pool.acquire()
        return await super().execute(sql, *args)

    async def snapshot(self) -> object:
        """The read cache's "changed?" check: ``txid_current_snapshot()`` (one round trip)."""
        row = await self.fetchrow(SNAPSHOT_SQL)
        assert row is not None
        return str(row["snapshot"])


class _PgRead:
    """``async with store.read() as tx``: a class, not a generator (this is every read's path)."""

    __slots__ = ("_store", "_executor")

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._executor: _LazyPgExecutor | None = None

    async def __aenter__(self) -> SqlTx:
        store = self._store
        pool = store._pool or await store._open()
        self._executor = executor = _LazyPgExecutor(pool)
        return SqlTx(executor, secrets=CachedSecrets(executor, store.read_cache, executor.snapshot))

    async def __aexit__(self, *exc: object) -> None:
        executor = self._executor
        if executor is not None and executor.conn is not None:
            conn, executor.conn = executor.conn, None
            await executor.pool.release(conn)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset hook: nothing to undo, so releasing a connection costs no round trip.

    asyncpg already rolls back an open transaction before calling this. The default reset
    (``RESET ALL; UNLISTEN *; CLOSE ALL; pg_advisory_unlock_all()``) would add a round trip to
    every request; this store never changes session settings, listens, opens cursors or takes
    session-level advisory locks (migrations use a transaction-level lock).
    """


def _server_settings(url: str) -> dict[str, str]:
    """DEFAULT_SERVER_SETTINGS, except those the URL sets itself."""
    given = set(parse_qs(urlsplit(url).query))
    return {k: v for k, v in DEFAULT_SERVER_SETTINGS.items() if k not in given}


@asynccontextmanager
async def inspect(url: str, timeout: float = 10.0) -> AsyncIterator[SqlTx]:
    """A look at the database that changes nothing: one connection, one READ ONLY transaction."""
    conn = await asyncpg.connect(url, timeout=timeout, server_settings=_server_settings(url))
    try:
        async with conn.transaction(readonly=True):
            yield SqlTx(_PgExecutor(conn))
    finally:
        await conn.close()


def safe_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class PostgresStore:
    """PostgreSQL backend of :class:`strongroom.store.base.Store`.

    The pool opens on first use (inside the server's event loop, in each worker process). Each
    instance holds at most ``max_size`` connections; size ``max_connections`` on the server for
    instances x workers x ``max_size``.
    """

    dialect = "postgres"

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 10.0, read_cache_size: int = 10_000,
    ) -> None:
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ValueError("need 0 <= min_size <= max_size and max_size >= 1")
        self.url = url
        self.read_cache = ReadCache(read_cache_size)
        self.min_size = min_size
        self.max_size = max_size
        self.timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"PostgresStore({safe_url(self.url)!r}, max_size={self.max_size})"

    # --- connections ---------------------------------------------------------------------
    async def _open(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.url, min_size=self.min_size, max_size=self.max_size, timeout=self.timeout,
                    statement_cache_size=STATEMENT_CACHE_SIZE, server_settings=_server_settings(self.url),
                    reset=_keep_session,
                )
        return self._pool

    def read(self) -> _PgRead:
        """Autocommit reads: each statement sees one committed snapshot. A connection is taken at the
        first statement: a GetSecretValue answered from the read cache takes none, except the one
        request of each event-loop iteration that runs the shared check. A failing check fails the
        request that ran it, as a failing read would; the requests that joined it read the database."""
        return _PgRead(self)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlTx]:
        """One READ COMMITTED transaction; committed on normal exit, rolled back on an exception."""
        pool = self._pool or await self._open()
        try:
            async with pool.acquire() as conn, conn.transaction(isolation="read_committed"):
                yield SqlTx(_PgExecutor(conn))
        finally:  # committed, rolled back or unknown: what was cached may be stale for this process
            self.read_cache.clear()

    async def _transaction(self, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``body`` in a transaction, again (bounded, with jittered backoff) on a deadlock."""
        pool = await self._open()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with pool.acquire() as conn, conn.transaction(isolation="read_committed"):
                    return await body(conn)
            except _RETRYABLE as exc:
                if attempt == MAX_ATTEMPTS:
                    raise
                log.warning("retrying a transaction after %s (attempt %d)", exc.sqlstate, attempt)
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    # --- schema --------------------------------------------------------------------------
    async def migrate(self) -> int:
        """Apply pending migrations; safe when several instances start at once.

        All of it runs in one transaction under a transaction-level advisory lock: instances that
        start together wait for the first, then find nothing left to do. PostgreSQL DDL is
        transactional, so a failed migration leaves the schema as it was. An up-to-date schema
        costs no DDL, so servers may run as a role without CREATE rights once ``strongroom admin
        migrate`` has run as the owner. A database migrated by a newer release (more migrations
        than this one knows) is accepted: migrations only add.
        """

        async def apply(conn: asyncpg.Connection) -> int:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NULL"):
                await conn.execute(
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
                )
            done = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
            for number, migration in enumerate(MIGRATIONS, start=1):
                if number <= done:
                    continue
                for statement in render(migration, "postgres"):
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_migrations VALUES ($1, $2)", number, time.time())
                log.info("applied schema migration %d", number)
            if done > len(MIGRATIONS):
                log.warning(
                    "the database schema is at version %d, newer than this release's %d", done, len(MIGRATIONS)
                )
            return max(done, len(MIGRATIONS))

        return await self._transaction(apply)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), self.timeout)
        except TimeoutError:
            pool.terminate()
