"""Open (or only look at) the configured store: PostgreSQL for a ``postgresql://`` URL, else SQLite in the data dir."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from strongroom.server.config import Config
from strongroom.store.base import Store

if TYPE_CHECKING:
    from strongroom.store.sql import SqlTx

#: The SQLite store's file in the data directory.
SQLITE_FILE = "strongroom.db"


def check_database_url(url: str | None) -> None:
    """Refuse a database URL no backend serves (before any worker starts)."""
    if url:
        scheme = url.partition("://")[0].lower()
        if scheme not in ("postgresql", "postgres"):
            raise SystemExit(
                f"strongroom: unsupported database URL scheme {scheme!r}; "
                "use postgresql://user:password@host:5432/dbname"
            )


def open_store(config: Config) -> Store:
    check_database_url(config.database_url)
    if config.database_url:
        from strongroom.store.postgres import PostgresStore

        return PostgresStore(
            config.database_url, max_size=config.database_pool_size, read_cache_size=config.read_cache_size
        )
    from strongroom.store.sqlite import SqliteStore

    return SqliteStore(
        config.data_dir / SQLITE_FILE, synchronous=config.sqlite_synchronous,
        read_cache_size=config.read_cache_size,
    )


def inspect_store(config: Config) -> AbstractAsyncContextManager[SqlTx | None]:
    """A read-only look at the configured store that creates and changes nothing (None: no SQLite file yet)."""
    check_database_url(config.database_url)
    if config.database_url:
        from strongroom.store.postgres import inspect as inspect_postgres

        return inspect_postgres(config.database_url)
    from strongroom.store.sqlite import inspect as inspect_sqlite

    return inspect_sqlite(config.data_dir / SQLITE_FILE)


def describe_store(config: Config) -> str:
    """Where the store is, without a password (for messages)."""
    if config.database_url:
        from strongroom.store.postgres import safe_url

        return safe_url(config.database_url)
    return f"SQLite in {config.data_dir}"
