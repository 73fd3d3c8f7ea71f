"""Assemble the service from a Config: store, master key, key ring, tokens, authenticator."""

from __future__ import annotations

from strongroom.auth import secret_box
from strongroom.iam.authenticate import Authenticator, DevAuthenticator, SigV4Authenticator
from strongroom.iam.authorizer import Authorizer
from strongroom.iam.identities import Identities
from strongroom.kms.keyring import KeyRing
from strongroom.kms.master_key import load_master_key
from strongroom.regions import AcceptedRegions
from strongroom.secrets.tokens import TokenSealer
from strongroom.server.app import StrongroomApp
from strongroom.server.config import Config
from strongroom.service.dependencies import Services
from strongroom.store.factory import open_store


def build_app(config: Config) -> StrongroomApp:
    master = load_master_key(config.data_dir)
    store = open_store(config)
    tokens = TokenSealer(master.derive_key(b"next-token"))
    services = Services(store=store, keyring=KeyRing(master, store), tokens=tokens)
    identities = Identities(store, master.derive_key(secret_box.PURPOSE))
    regions = AcceptedRegions(config.regions)
    authenticator: Authenticator = (
        DevAuthenticator(config.account_id, regions) if config.dev else SigV4Authenticator(identities, regions=regions)
    )
    return StrongroomApp(config, services, authenticator, identities, Authorizer(), master)
