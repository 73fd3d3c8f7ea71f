"""Open the configured store: PostgreSQL for a ``postgresql://`` URL, else SQLite in the data dir."""

from __future__ import annotations

from strongroom.server.config import Config
from strongroom.store.base import Store


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
        config.data_dir / "strongroom.db", synchronous=config.sqlite_synchronous,
        read_cache_size=config.read_cache_size,
    )
