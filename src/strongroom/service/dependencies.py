"""The dependencies every service's handlers receive (no HTTP, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.crypto.page_tokens import PageTokens
from strongroom.crypto.sealing import SealingBox
from strongroom.kms.keyring import KeyRing, StoreKmsKeys
from strongroom.kms.master_key import ACCESS_KEYS, PAGE_TOKENS, MasterKey
from strongroom.store.base import Store


@dataclass(slots=True)
class Services:
    """The store, the key ring, the pagination-token sealer and the access-key box, built once per process."""

    store: Store
    keyring: KeyRing
    tokens: PageTokens
    #: Seals access-key and session secrets (identities).
    access_keys: SealingBox

    @classmethod
    def build(cls, store: Store, master: MasterKey) -> Services:
        """Everything over one store, every key derived from one master key."""
        return cls(
            store=store,
            keyring=KeyRing(master, StoreKmsKeys(store)),
            tokens=PageTokens(master.sealing_box(PAGE_TOKENS)),
            access_keys=master.sealing_box(ACCESS_KEYS),
        )
