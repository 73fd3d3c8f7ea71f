"""The one wiring: services and the app from a Config, for the server, the admin CLI and the benchmark."""

from __future__ import annotations

from strongroom.iam.authenticate import Authenticator, DevAuthenticator, SigV4Authenticator
from strongroom.kms.master_key import MasterKey, load_master_key
from strongroom.regions import AcceptedRegions
from strongroom.server.api import ApiEndpoint
from strongroom.server.app import StrongroomApp
from strongroom.server.config import Config
from strongroom.server.lifespan import Lifespan
from strongroom.server.observers import Observer
from strongroom.server.registry import Registry
from strongroom.service.dependencies import Services
from strongroom.store.factory import open_store


def build_services(config: Config, master: MasterKey | None = None) -> Services:
    """The store, key ring, sealers, identities and authorizer of ``config`` (the store not yet
    migrated). ``master`` defaults to the data directory's master key."""
    master = master if master is not None else load_master_key(config.data_dir)
    return Services.build(open_store(config.store_settings()), master, AcceptedRegions(config.regions))


def build_app(config: Config, registry: Registry | None = None) -> StrongroomApp:
    """The ASGI app of ``config``: every registered service behind one API endpoint."""
    master = load_master_key(config.data_dir)
    services = build_services(config, master)
    regions = services.regions
    authenticator: Authenticator
    if config.dev:
        authenticator = DevAuthenticator(config.account_id, regions)
    else:
        authenticator = SigV4Authenticator(services.identities, regions=regions)
    observers: list[Observer] = []
    api = ApiEndpoint(registry or Registry.of(), services, authenticator, config.max_body_bytes, observers)
    return StrongroomApp(api, Lifespan(config, services, master, observers))
