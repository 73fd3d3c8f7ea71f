"""One sealing format for the small secrets Strongroom keeps or hands out under keys derived from the
master key: access-key secrets, session secrets and pagination tokens.

Format 0x03 of :mod:`strongroom.crypto.envelope`: format byte, key id, a random 96-bit nonce, then
AES-256-GCM of the plaintext with the header (format byte and key id) followed by the caller's AAD
as associated data. Each use binds its own AAD (an access key id; a page token's request scope),
so a sealed blob moved to another key or request does not open. The key id names the derived key
(``<master key id>/<purpose>``, :meth:`strongroom.kms.master_key.MasterKey.sealing_box`), so blobs
sealed under an old key can be found and sealed again after a key change.

Access-key and session secrets stored before this format are a bare nonce plus ciphertext with
the access key id as AAD, under the same derived key. A box made with ``legacy=True`` still opens
them: a blob is read in this format when it starts with the format byte and this box's key id,
and otherwise (or if that fails) as a legacy blob.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.crypto.envelope import FORMAT_SEALING_BOX_V1, KEY_SIZE, NONCE_SIZE, key_prefix
from strongroom.crypto.errors import CannotOpen

__all__ = ["SealingBox"]


class SealingBox:
    """Seals and opens small values under one key; CannotOpen when a blob does not open."""

    __slots__ = ("_aead", "_prefix", "key_id", "_legacy")

    def __init__(self, key: bytes, key_id: str, *, legacy: bool = False) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError("a sealing key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)
        self._prefix = key_prefix(FORMAT_SEALING_BOX_V1, key_id)
        self.key_id = key_id
        self._legacy = legacy

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return self._prefix + nonce + self._aead.encrypt(nonce, plaintext, self._prefix + aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """The plaintext ``blob`` was sealed from with ``aad``; CannotOpen if it was not (altered, other key)."""
        prefix = self._prefix
        if blob.startswith(prefix):
            at = len(prefix)
            try:
                return self._aead.decrypt(blob[at : at + NONCE_SIZE], blob[at + NONCE_SIZE :], prefix + aad)
            except (InvalidTag, ValueError):
                if not self._legacy:
                    raise CannotOpen() from None
        elif not self._legacy:
            raise CannotOpen()
        try:  # a blob sealed before this format: nonce + ciphertext, AAD as given
            return self._aead.decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], aad)
        except (InvalidTag, ValueError):
            raise CannotOpen() from None

    def __repr__(self) -> str:
        return f"SealingBox(key_id={self.key_id!r})"
