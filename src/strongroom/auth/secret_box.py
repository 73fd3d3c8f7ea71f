"""How access-key secrets are kept in the store: sealed under a key derived from the master key.

SigV4 verification needs an access key's secret itself, so the store keeps it sealed, never in the
clear: a random 96-bit nonce, then AES-256-GCM of the secret with the access key id as associated
data (a sealed secret copied to another key id does not open). The box key is
``MasterKey.derive_key(PURPOSE)``. A module of its own so that the start-up master key check
(:mod:`strongroom.kms.key_check`) can try to open one without importing the identity machinery.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: The ``MasterKey.derive_key`` purpose of the box key.
PURPOSE = b"access-keys"
_NONCE_SIZE = 12


class SecretBox:
    """Seals and opens access-key secrets with one box key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, access_key_id: str, secret: str) -> bytes:
        nonce = os.urandom(_NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, secret.encode(), access_key_id.encode())

    def open(self, access_key_id: str, sealed: bytes) -> str | None:
        """The secret, or None if this box key did not seal it (another master key) or it was altered."""
        try:
            return self._aead.decrypt(sealed[:_NONCE_SIZE], sealed[_NONCE_SIZE:], access_key_id.encode()).decode()
        except (InvalidTag, ValueError):
            return None
