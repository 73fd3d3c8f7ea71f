"""Open (or only look at) a store from its settings: PostgreSQL for a ``postgresql://`` URL, else SQLite."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from strongroom.store.base import Store, Tx

#: The SQLite store's file in the data directory.
SQLITE_FILE = "strongroom.db"


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """What opening a store needs (the server's configuration converts to this)."""

    #: A ``postgresql://`` URL, or None for SQLite.
    database_url: str | None
    #: The SQLite database file (used without a database URL).
    sqlite_path: Path
    #: Largest number of PostgreSQL connections per process.
    pool_size: int = 10
    #: SQLite durability: NORMAL, FULL or EXTRA.
    synchronous: str = "NORMAL"
    #: GetSecretValue reads each process keeps (0 disables the read cache).
    read_cache_size: int = 10_000


def check_database_url(url: str | None) -> None:
    """Refuse a database URL no backend serves (before any worker starts)."""
    if url:
        scheme = url.partition("://")[0].lower()
        if scheme not in ("postgresql", "postgres"):
            raise SystemExit(
                f"strongroom: unsupported database URL scheme {scheme!r}; "
                "use postgresql://user:password@host:5432/dbname"
            )


def open_store(settings: StoreSettings) -> Store:
    check_database_url(settings.database_url)
    if settings.database_url:
        from strongroom.store.postgres import PostgresStore

        return PostgresStore(
            settings.database_url, max_size=settings.pool_size, read_cache_size=settings.read_cache_size
        )
    from strongroom.store.sqlite import SqliteStore

    return SqliteStore(
        settings.sqlite_path, synchronous=settings.synchronous, read_cache_size=settings.read_cache_size
    )


def inspect_store(settings: StoreSettings) -> AbstractAsyncContextManager[Tx | None]:
    """A read-only look at the store that creates and changes nothing (None: no SQLite file yet)."""
    check_database_url(settings.database_url)
    if settings.database_url:
        from strongroom.store.postgres import inspect as inspect_postgres

        return inspect_postgres(settings.database_url)
    from strongroom.store.sqlite import inspect as inspect_sqlite

    return inspect_sqlite(settings.sqlite_path)


def describe_store(settings: StoreSettings) -> str:
    """Where the store is, without a password (for messages)."""
    if settings.database_url:
        from strongroom.store.postgres import safe_url

        return safe_url(settings.database_url)
    return f"SQLite in {settings.sqlite_path.parent}"
