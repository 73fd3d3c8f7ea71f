"""The dependencies every service's handlers receive (no HTTP, no SQL)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from strongroom.crypto.page_tokens import PageTokens
from strongroom.crypto.sealing import SealingBox
from strongroom.iam.authorizer import Authorizer
from strongroom.iam.identities import Identities
from strongroom.jobs import JobRuntime
from strongroom.kms.keyring import KeyRing, StoreKmsKeys
from strongroom.kms.master_key import ACCESS_KEYS, PAGE_TOKENS, MasterKey
from strongroom.regions import AcceptedRegions
from strongroom.service.functions import FunctionInvoker
from strongroom.service.peers import Peer
from strongroom.store.base import Store


@dataclass(slots=True)
class Services:
    """The store, the key ring, the sealers, identities, the authorizer and the functions service, built
    once per process (server/build.py)."""

    store: Store
    keyring: KeyRing
    tokens: PageTokens
    #: Seals access-key and session secrets (identities).
    access_keys: SealingBox
    #: IAM identities (STS issues session credentials through them).
    identities: Identities
    authorizer: Authorizer = field(default_factory=Authorizer)
    #: The regions this deployment serves (the ``regions`` setting): where secrets may live.
    regions: AcceptedRegions = field(default_factory=AcceptedRegions)
    #: Runs functions for other services (rotation); None when functions are switched off. The wiring
    #: (server/build.py) sets it, since the functions service itself works over these services.
    functions: FunctionInvoker | None = None
    #: Peer deployments by the region they serve (the ``replication.peers`` setting).
    peers: Mapping[str, Peer] = field(default_factory=dict)
    #: This process's jobs runtime once the server started (the lifespan sets it): domain code
    #: enqueues work items through it inside its own transactions (rotation runs, removals at peers).
    jobs: JobRuntime | None = None

    @classmethod
    def build(
        cls, store: Store, master: MasterKey, regions: AcceptedRegions | None = None,
        peers: Mapping[str, Peer] | None = None,
    ) -> Services:
        """Everything over one store, every key derived from one master key."""
        access_keys = master.sealing_box(ACCESS_KEYS)
        return cls(
            store=store,
            keyring=KeyRing(master, StoreKmsKeys(store)),
            tokens=PageTokens(master.sealing_box(PAGE_TOKENS)),
            access_keys=access_keys,
            identities=Identities(store, access_keys),
            regions=regions if regions is not None else AcceptedRegions(),
            peers=dict(peers or {}),
        )
