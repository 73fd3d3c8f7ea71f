"""The PostgreSQL store: many server processes on many machines sharing one database (asyncpg).

Every instance runs the same SQL as the SQLite store (:mod:`strongroom.store.sql`); what differs is
how transactions isolate:

* :meth:`PostgresStore.read` lends a pooled connection with no explicit transaction, so each
  statement reads one committed snapshot and costs exactly one round trip (asyncpg prepares each
  statement text once per connection and caches it, so statement texts are kept stable). A read
  that must be consistent across tables is written as one statement (see ``SqlTx.get_version``).
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
store's own transactions (migrations, KMS key inserts) are functions and are retried, bounded.

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

from strongroom.kms.keyring import KmsKey
from strongroom.store.base import Conflict, Row
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


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset hook: nothing to undo, so releasing a connection costs no round trip.

    asyncpg already rolls back an open transaction before calling this. The default reset
    (``RESET ALL; UNLISTEN *; CLOSE ALL; pg_advisory_unlock_all()``) would add a round trip to
    every request; this store never changes session settings, listens, opens cursors or takes
    session-level advisory locks (migrations use a transaction-level lock).
    """


def safe_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class PostgresStore:
    """PostgreSQL backend of :class:`strongroom.store.base.Store` (and the key ring's KmsKeyStore).

    The pool opens on first use (inside the server's event loop, in each worker process). Each
    instance holds at most ``max_size`` connections; size ``max_connections`` on the server for
    instances x workers x ``max_size``.
    """

    dialect = "postgres"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 10.0) -> None:
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ValueError("need 0 <= min_size <= max_size and max_size >= 1")
        self.url = url
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
                given = set(parse_qs(urlsplit(self.url).query))
                settings = {k: v for k, v in DEFAULT_SERVER_SETTINGS.items() if k not in given}
                self._pool = await asyncpg.create_pool(
                    self.url, min_size=self.min_size, max_size=self.max_size, timeout=self.timeout,
                    statement_cache_size=STATEMENT_CACHE_SIZE, server_settings=settings, reset=_keep_session,
                )
        return self._pool

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqlTx]:
        """A pooled connection in autocommit mode: each statement sees one committed snapshot."""
        pool = self._pool or await self._open()
        async with pool.acquire() as conn:
            yield SqlTx(_PgExecutor(conn))

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlTx]:
        """One READ COMMITTED transaction; committed on normal exit, rolled back on an exception."""
        pool = self._pool or await self._open()
        async with pool.acquire() as conn, conn.transaction(isolation="read_committed"):
            yield SqlTx(_PgExecutor(conn))

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

    # --- the key ring's KmsKeyStore --------------------------------------------------------
    async def find_kms_key(self, account: str, region: str, ref: str) -> KmsKey | None:
        async with self.read() as tx:
            return await tx.find_kms_key(account, region, ref)

    async def insert_kms_key(self, key: KmsKey) -> KmsKey:
        async def insert(conn: asyncpg.Connection) -> KmsKey:
            return await SqlTx(_PgExecutor(conn)).insert_kms_key(key)

        return await self._transaction(insert)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), self.timeout)
        except TimeoutError:
            pool.terminate()
