"""The dependencies every service's handlers receive (no HTTP, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.kms.keyring import KeyRing
from strongroom.secrets.tokens import TokenSealer
from strongroom.store.base import Store


@dataclass(slots=True)
class Services:
    """The store, the key ring and the pagination-token sealer, built once per process."""

    store: Store
    keyring: KeyRing
    tokens: TokenSealer
