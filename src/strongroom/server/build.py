"""The one wiring: services and the app from a Config, for the server, the admin CLI and the benchmark."""

from __future__ import annotations

from strongroom.auth import secret_box
from strongroom.iam.authenticate import Authenticator, DevAuthenticator, SigV4Authenticator
from strongroom.iam.authorizer import Authorizer
from strongroom.iam.identities import Identities
from strongroom.kms.keyring import KeyRing
from strongroom.kms.master_key import MasterKey, load_master_key
from strongroom.regions import AcceptedRegions
from strongroom.secrets.tokens import TokenSealer
from strongroom.server.api import ApiEndpoint
from strongroom.server.app import StrongroomApp
from strongroom.server.config import Config
from strongroom.server.lifespan import Lifespan
from strongroom.server.observers import Observer
from strongroom.server.registry import Registry
from strongroom.service.dependencies import Services
from strongroom.store.factory import open_store

#: ``MasterKey.derive_key`` labels: one derived key per use, never shared between uses.
ACCESS_KEYS_LABEL = secret_box.PURPOSE  # sealed access-key and session secrets
PAGE_TOKENS_LABEL = b"next-token"  # sealed pagination tokens


def build_services(config: Config, master: MasterKey | None = None) -> Services:
    """The store, key ring, token sealer, identities and authorizer of ``config`` (the store not yet
    migrated). ``master`` defaults to the data directory's master key."""
    master = master if master is not None else load_master_key(config.data_dir)
    store = open_store(config)
    return Services(
        store=store,
        keyring=KeyRing(master, store),
        tokens=TokenSealer(master.derive_key(PAGE_TOKENS_LABEL)),
        identities=Identities(store, master.derive_key(ACCESS_KEYS_LABEL)),
        authorizer=Authorizer(),
    )


def build_app(config: Config, registry: Registry | None = None) -> StrongroomApp:
    """The ASGI app of ``config``: every registered service behind one API endpoint."""
    master = load_master_key(config.data_dir)
    services = build_services(config, master)
    regions = AcceptedRegions(config.regions)
    authenticator: Authenticator
    if config.dev:
        authenticator = DevAuthenticator(config.account_id, regions)
    else:
        assert services.identities is not None
        authenticator = SigV4Authenticator(services.identities, regions=regions)
    observers: list[Observer] = []
    api = ApiEndpoint(registry or Registry.of(), services, authenticator, config.max_body_bytes, observers)
    return StrongroomApp(api, Lifespan(config, services, master, observers))
