"""The dependencies every service's handlers receive (no HTTP, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field

from strongroom.iam.authorizer import Authorizer
from strongroom.iam.identities import Identities
from strongroom.kms.keyring import KeyRing
from strongroom.secrets.tokens import TokenSealer
from strongroom.store.base import Store


@dataclass(slots=True)
class Services:
    """The store, the key ring, the pagination-token sealer, identities and the authorizer, built
    once per process (server/build.py)."""

    store: Store
    keyring: KeyRing
    tokens: TokenSealer
    #: IAM identities (STS issues session credentials through them); None where nothing needs them.
    identities: Identities | None = None
    authorizer: Authorizer = field(default_factory=Authorizer)
