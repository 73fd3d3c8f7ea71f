"""Open the configured store: PostgreSQL for a ``postgresql://`` URL, else SQLite in the data dir."""

from __future__ import annotations

from strongroom.server.config import Config
from strongroom.store.base import Store


def open_store(config: Config) -> Store:
    if config.database_url:
        scheme = config.database_url.partition("://")[0].lower()
        if scheme not in ("postgresql", "postgres"):
            raise SystemExit(
                f"strongroom: unsupported database URL scheme {scheme!r}; "
                "use postgresql://user:password@host:5432/dbname"
            )
        from strongroom.store.postgres import PostgresStore

        return PostgresStore(config.database_url, max_size=config.database_pool_size)
    from strongroom.store.sqlite import SqliteStore

    return SqliteStore(config.data_dir / "strongroom.db", synchronous=config.sqlite_synchronous)
