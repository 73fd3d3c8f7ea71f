"""Envelope encryption and Strongroom's versioned at-rest ciphertext format.

Pure functions over bytes: no I/O, no key lookup, no state. This is the reference for the binary
format of every encrypted value Strongroom stores.

Key hierarchy
-------------
::

    master key (32 bytes; key file, env var or external KMS)      kms/master_key.py
      └─ wraps  KMS key material (32 bytes per KMS key)           format 0x02, AAD = KMS key ARN
           └─ wraps  data key (32 bytes, fresh per secret version)  inside format 0x01
                └─ seals  the secret value                          AAD = header + secret ARN + version id

Every layer is AES-256-GCM (``cryptography``'s ``AESGCM``) with a random 96-bit nonce. A data key is
used for exactly one encryption, so nonce reuse under it is impossible; a KMS key or the master key
wraps at most a few billion keys over its life, far below GCM's 2**32 random-nonce bound.

Format 0x01: sealed value (what the store keeps for a secret version)
-----------------------------------------------------------------------
::

    offset  size   field
    0       1      format byte 0x01
    1       1      n = length of the KMS key id in bytes (1..255)
    2       n      KMS key id, UTF-8 (Strongroom uses the KMS key ARN)
    2+n     12     data-key nonce
    14+n    48     wrapped data key: AES-GCM(KEK, data key) = 32-byte ciphertext + 16-byte tag
    62+n    12     value nonce
    74+n    m+16   AES-GCM(data key, value) = m-byte ciphertext + 16-byte tag

Overhead is 90 + n bytes (about 170 bytes with a KMS key ARN). The associated data is:

* wrapped data key: bytes ``[0, 2+n)`` (format and key id), so a wrapped key can't be relabelled;
* value: bytes ``[0, 62+n)`` (the whole header) followed by the caller's ``aad``, so every header
  byte is authenticated. Strongroom's ``aad`` is :func:`version_aad` of the secret ARN and version
  id: a blob moved to another secret or version fails to open.

Format 0x02: wrapped key (KMS key material under the master key)
-----------------------------------------------------------------
::

    0       1      format byte 0x02
    1       1      n = length of the wrapping key's id
    2       n      wrapping key id, UTF-8 (for the master key: hex of a 64-bit fingerprint)
    2+n     12     nonce
    14+n    k+16   AES-GCM(KEK, key) + tag; AAD = bytes [0, 2+n) followed by the caller's aad

Format 0x03: sealing box (access-key and session secrets, page tokens: :mod:`strongroom.crypto.sealing`)
---------------------------------------------------------------------------------------------------------
::

    0       1      format byte 0x03
    1       1      n = length of the key id
    2       n      key id, UTF-8 (``<master key id>/<purpose>`` of the derived key that sealed it)
    2+n     12     nonce
    14+n    m+16   AES-GCM(key, plaintext) + tag; AAD = bytes [0, 2+n) followed by the caller's aad

Compatibility: the format byte names the layout. A new layout gets a new byte and this module keeps
reading every old one, so data written by earlier versions stays readable. The key id in the clear
lets a reader pick the right key (and lets rewrap jobs find blobs under an old key) without trying
keys. Any failure to open (tampering, a wrong key or AAD, truncation, an unknown format) raises
:class:`~strongroom.crypto.errors.CannotOpen`, whose reason says nothing about the value.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.crypto.errors import CannotOpen

__all__ = [
    "DataKey",
    "FORMAT_SEALED_V1",
    "FORMAT_SEALING_BOX_V1",
    "FORMAT_WRAPPED_KEY_V1",
    "KEY_SIZE",
    "key_id_of",
    "key_prefix",
    "open_",
    "open_data_key",
    "parse_key_prefix",
    "seal",
    "unwrap_key",
    "version_aad",
    "wrap_key",
]

FORMAT_SEALED_V1 = 0x01
FORMAT_WRAPPED_KEY_V1 = 0x02
FORMAT_SEALING_BOX_V1 = 0x03

KEY_SIZE = 32  # AES-256
NONCE_SIZE = 12  # 96-bit GCM nonce
TAG_SIZE = 16

#: CannotOpen's reason for a format byte this module does not know.
UNSUPPORTED_FORMAT = "unsupported ciphertext format"


def version_aad(secret_arn: str, version_id: str) -> bytes:
    """The associated data that binds a sealed value to one secret version.

    Each part is length-prefixed, so no two (ARN, version id) pairs encode to the same bytes.
    """
    arn = secret_arn.encode()
    version = version_id.encode()
    return len(arn).to_bytes(2, "big") + arn + len(version).to_bytes(2, "big") + version


def seal(plaintext: bytes, kek: bytes, kek_id: str, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` under a fresh data key wrapped by ``kek``; returns a format 0x01 blob."""
    prefix = key_prefix(FORMAT_SEALED_V1, kek_id)
    _check_key(kek)
    fresh = os.urandom(KEY_SIZE + 2 * NONCE_SIZE)  # one syscall for data key and both nonces
    data_key, dk_nonce, nonce = fresh[:KEY_SIZE], fresh[KEY_SIZE:-NONCE_SIZE], fresh[-NONCE_SIZE:]
    header = prefix + dk_nonce + AESGCM(kek).encrypt(dk_nonce, data_key, prefix)
    return header + nonce + AESGCM(data_key).encrypt(nonce, plaintext, header + aad)


class DataKey:
    """The opened data key of one format 0x01 blob, ready to decrypt that blob's value."""

    __slots__ = ("_cipher", "_header_end")

    def __init__(self, cipher: AESGCM, header_end: int) -> None:
        self._cipher = cipher
        self._header_end = header_end

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """Decrypt the value of the blob this key was opened from (CannotOpen if it fails)."""
        header_end = self._header_end
        value_at = header_end + NONCE_SIZE
        try:
            return self._cipher.decrypt(blob[header_end:value_at], blob[value_at:], blob[:header_end] + aad)
        except (InvalidTag, ValueError):
            raise CannotOpen() from None


def open_data_key(blob: bytes, resolve_kek: Callable[[str], bytes]) -> DataKey:
    """Unwrap the data key of a format 0x01 blob. ``resolve_kek`` maps the blob's key id to the KEK.

    ``resolve_kek`` may raise (e.g. for an unknown or disabled key); its error
    propagates unchanged.
    """
    kek_id, at = parse_key_prefix(blob, (FORMAT_SEALED_V1,))
    header_end = at + NONCE_SIZE + KEY_SIZE + TAG_SIZE  # prefix + data-key nonce + wrapped data key
    if len(blob) < header_end + NONCE_SIZE + TAG_SIZE:
        raise CannotOpen()
    kek = resolve_kek(kek_id)
    _check_key(kek)
    dk_at = at + NONCE_SIZE
    try:
        data_key = AESGCM(kek).decrypt(blob[at:dk_at], blob[dk_at:header_end], blob[:at])
        return DataKey(AESGCM(data_key), header_end)
    except (InvalidTag, ValueError):
        raise CannotOpen() from None


def open_(blob: bytes, resolve_kek: Callable[[str], bytes], aad: bytes) -> bytes:
    """Decrypt a format 0x01 blob: :func:`open_data_key`, then :meth:`DataKey.open`."""
    return open_data_key(blob, resolve_kek).open(blob, aad)


def wrap_key(key: bytes, kek: bytes, kek_id: str, aad: bytes) -> bytes:
    """Encrypt key material under ``kek``; returns a format 0x02 blob."""
    prefix = key_prefix(FORMAT_WRAPPED_KEY_V1, kek_id)
    _check_key(kek)
    nonce = os.urandom(NONCE_SIZE)
    return prefix + nonce + AESGCM(kek).encrypt(nonce, key, prefix + aad)


def unwrap_key(blob: bytes, resolve_kek: Callable[[str], bytes], aad: bytes) -> bytes:
    """Decrypt a format 0x02 blob; ``resolve_kek`` as for :func:`open_`."""
    kek_id, at = parse_key_prefix(blob, (FORMAT_WRAPPED_KEY_V1,))
    if len(blob) < at + NONCE_SIZE + TAG_SIZE:
        raise CannotOpen()
    kek = resolve_kek(kek_id)
    _check_key(kek)
    try:
        return AESGCM(kek).decrypt(blob[at : at + NONCE_SIZE], blob[at + NONCE_SIZE :], blob[:at] + aad)
    except (InvalidTag, ValueError):
        raise CannotOpen() from None


def key_id_of(blob: bytes) -> str:
    """The id of the key that wrapped this blob (format 0x01 or 0x02), without decrypting anything."""
    return parse_key_prefix(blob, (FORMAT_SEALED_V1, FORMAT_WRAPPED_KEY_V1))[0]


def key_prefix(fmt: int, key_id: str) -> bytes:
    """The header every format starts with: format byte, key id length, key id (UTF-8)."""
    kid = key_id.encode()
    if not 0 < len(kid) < 256:
        raise ValueError("key id must be 1 to 255 bytes of UTF-8")
    return bytes((fmt, len(kid))) + kid


def parse_key_prefix(blob: bytes, formats: tuple[int, ...]) -> tuple[str, int]:
    """Return (key id, offset just past it) of a blob in one of ``formats``; CannotOpen otherwise."""
    if len(blob) < 3:
        raise CannotOpen()
    if blob[0] not in formats:
        raise CannotOpen(UNSUPPORTED_FORMAT)
    end = 2 + blob[1]
    if blob[1] == 0 or len(blob) < end:
        raise CannotOpen()
    try:
        return blob[2:end].decode(), end
    except UnicodeDecodeError:
        raise CannotOpen() from None


def _check_key(kek: bytes) -> None:
    if len(kek) != KEY_SIZE:
        raise ValueError("key-encryption key must be 32 bytes (AES-256)")
