"""Assemble the service from a Config: store, master key, key ring, tokens, authenticator."""

from __future__ import annotations

from strongroom.auth.authorizer import Authorizer
from strongroom.auth.identities import Identities
from strongroom.kms.keyring import KeyRing
from strongroom.kms.master_key import load_master_key
from strongroom.secrets.core import Services
from strongroom.secrets.tokens import TokenSealer
from strongroom.server.app import StrongroomApp
from strongroom.server.auth import Authenticator, DevAuthenticator, SigV4Authenticator
from strongroom.server.config import Config
from strongroom.store.base import Store


def open_store(config: Config) -> Store:
    """The configured store: PostgreSQL for a ``postgresql://`` URL, else SQLite in the data dir."""
    if config.database_url:
        scheme = config.database_url.partition("://")[0].lower()
        if scheme not in ("postgresql", "postgres"):
            raise SystemExit(
                f"strongroom: unsupported database URL scheme {scheme!r}; "
                "use postgresql://user:password@host:5432/dbname"
            )
        from strongroom.store.postgres import PostgresStore

        return PostgresStore(config.database_url)
    from strongroom.store.sqlite import SqliteStore

    return SqliteStore(config.data_dir / "strongroom.db", synchronous=config.sqlite_synchronous)


def build_app(config: Config) -> StrongroomApp:
    master = load_master_key(config.data_dir)
    store = open_store(config)
    tokens = TokenSealer(master.derive_key(b"next-token"))
    services = Services(store=store, keyring=KeyRing(master, store), tokens=tokens)
    identities = Identities(store, master.derive_key(b"access-keys"))
    authenticator: Authenticator = (
        DevAuthenticator(config.account_id) if config.dev else SigV4Authenticator(identities)
    )
    return StrongroomApp(config, services, authenticator, identities, Authorizer())
