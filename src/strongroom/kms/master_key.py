"""The master key: the root of Strongroom's key hierarchy, and where it comes from.

The master key is 32 random bytes. It wraps the material of every KMS key (format 0x02 of
``strongroom.crypto.envelope``, with the KMS key's ARN as associated data) and nothing else; KMS keys
wrap data keys, data keys seal secret values. Lose the master key and every secret is gone; leak it
together with a copy of the database and every secret is exposed. Back it up apart from the data.

Sources, in order:

1. ``STRONGROOM_MASTER_KEY``: standard base64 of exactly 32 bytes. If set, it wins; a malformed
   value is an error, never a silent fallback to the key file.
2. ``<data_dir>/master.key``: one line, standard base64 of 32 bytes (the same text the variable
   takes, so moving between the two is a copy). The file must not be accessible by group or others
   (mode 0600 or stricter), or Strongroom refuses to start.
3. Neither: a new key is generated and written to ``<data_dir>/master.key`` on first start, created
   atomically with mode 0600 (written to a private temporary file, then hard-linked into place, which
   fails if another process got there first; that process's key is then used). The data directory is
   created with mode 0700, and tightened to 0700 if it exists with group or other permissions.

A master key's *key id* is the hex of the first 8 bytes of SHA-256 over a label and the key. It is
written in the clear in front of every wrapped KMS key, so a wrong master key is reported as such
rather than as corrupt data, and a future rewrap can tell which blobs still use an old master key.
A store records the id and a check value of the key that sealed it, and servers and admin commands
refuse to start with any other key (:mod:`strongroom.kms.key_check`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from strongroom.crypto import envelope
from strongroom.crypto.errors import CannotOpen
from strongroom.crypto.sealing import SealingBox

__all__ = [
    "ACCESS_KEYS", "ENV_VAR", "KEY_CHECK", "KEY_FILE_NAME", "PAGE_TOKENS", "MasterKey", "MasterKeyError",
    "describe_source", "find_master_key", "load_master_key",
]

ENV_VAR = "STRONGROOM_MASTER_KEY"
KEY_FILE_NAME = "master.key"
_KEY_ID_LABEL = b"strongroom master key id v1\x00"
#: The HKDF purposes of the keys derived from the master key: one per use, never shared.
#: Access-key and session secrets (SealingBox; blobs of earlier releases still open).
ACCESS_KEYS = b"access-keys"
#: Pagination tokens (SealingBox).
PAGE_TOKENS = b"next-token"
#: The key check value of a store (strongroom.kms.key_check).
KEY_CHECK = b"key-check"
#: CannotOpen's reason for key material wrapped by another master key.
OTHER_MASTER_KEY = "its KMS key was wrapped by a different master key"


class MasterKeyError(RuntimeError):
    """The master key can't be loaded; the server must not start. The message says how to fix it."""


class MasterKey:
    """A loaded master key. Wraps and unwraps KMS key material; never reveals the key bytes."""

    __slots__ = ("_key", "key_id", "source")

    def __init__(self, key: bytes, source: str = "memory") -> None:
        if len(key) != envelope.KEY_SIZE:
            raise MasterKeyError(f"a master key must be exactly {envelope.KEY_SIZE} bytes, not {len(key)}")
        self._key = bytes(key)
        self.key_id: str = hashlib.sha256(_KEY_ID_LABEL + self._key).digest()[:8].hex()
        self.source = source

    def wrap(self, material: bytes, aad: bytes) -> bytes:
        """Wrap KMS key material; ``aad`` is the KMS key's ARN (UTF-8)."""
        return envelope.wrap_key(material, self._key, self.key_id, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        """Unwrap KMS key material; CannotOpen if it was wrapped by another master key or altered."""
        return envelope.unwrap_key(blob, self._resolve, aad)

    def derive_key(self, purpose: bytes) -> bytes:
        """A 32-byte key for one purpose (e.g. pagination tokens), derived with HKDF-SHA256.

        Every instance sharing this master key derives the same key, and no derived key
        reveals the master key or another purpose's key.
        """
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"strongroom/" + purpose).derive(
            self._key
        )

    def sealing_box(self, purpose: bytes) -> SealingBox:
        """A :class:`SealingBox` under the key derived for ``purpose`` (one of the purposes above).

        Its key id is ``<master key id>/<purpose>``; the access-key box also opens the blobs
        sealed before the sealing format existed.
        """
        key_id = f"{self.key_id}/{purpose.decode()}"
        return SealingBox(self.derive_key(purpose), key_id, legacy=purpose == ACCESS_KEYS)

    def _resolve(self, key_id: str) -> bytes:
        if key_id != self.key_id:
            raise CannotOpen(OTHER_MASTER_KEY)
        return self._key

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r}, source={self.source!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("MasterKey can't be pickled or copied")


def load_master_key(data_dir: Path, env: Mapping[str, str] = os.environ) -> MasterKey:
    """Load the master key from the environment or the key file, creating the file on first start."""
    data_dir = Path(data_dir)
    if ENV_VAR not in env:
        _ensure_private_dir(data_dir)
    found = find_master_key(data_dir, env)
    if found is not None:
        return found
    path = data_dir / KEY_FILE_NAME
    return MasterKey(_create_key_file(path), source=f"file:{path}")


def find_master_key(data_dir: Path, env: Mapping[str, str] = os.environ) -> MasterKey | None:
    """The master key from the environment or an existing key file; None if there is neither.

    Creates and changes nothing (not even the data directory), so the key can be checked against a
    store before anything is written (:mod:`strongroom.kms.key_check`).
    """
    if ENV_VAR in env:
        return MasterKey(_decode(env[ENV_VAR], f"${ENV_VAR}"), source=f"env:{ENV_VAR}")
    path = Path(data_dir) / KEY_FILE_NAME
    key = _read_key_file(path)
    return None if key is None else MasterKey(key, source=f"file:{path}")


def describe_source(master: MasterKey | None, data_dir: Path) -> str:
    """Where a master key came from, for messages (never the key itself)."""
    if master is None:
        return f"no master key was found (${ENV_VAR} is not set and {Path(data_dir) / KEY_FILE_NAME} does not exist)"
    kind, _, where = master.source.partition(":")
    return f"the master key from {dict(env='$' + where, file=where).get(kind, master.source)}"


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(
            f"{where} is not valid base64; it must be the standard base64 of exactly 32 random bytes "
            "(e.g. the output of: head -c 32 /dev/urandom | base64)"
        ) from None
    if len(key) != envelope.KEY_SIZE:
        raise MasterKeyError(
            f"{where} decodes to {len(key)} bytes; a master key must be exactly 32 bytes "
            "(e.g. the output of: head -c 32 /dev/urandom | base64)"
        )
    return key


def _ensure_private_dir(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = data_dir.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise MasterKeyError(f"data directory {data_dir} is not a directory")
    if st.st_mode & 0o077:
        try:
            os.chmod(data_dir, 0o700)
        except OSError as e:
            raise MasterKeyError(
                f"data directory {data_dir} has mode {stat.S_IMODE(st.st_mode):04o} and can't be "
                f"restricted to 0700 ({e.strerror}); run: chmod 700 {data_dir}"
            ) from None


def _read_key_file(path: Path) -> bytes | None:
    """The key in ``path``, or None if there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as e:
        raise MasterKeyError(f"can't open master key file {path}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise MasterKeyError(f"master key file {path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise MasterKeyError(
                f"master key file {path} has mode {mode:04o}: it is accessible by group or others. "
                f"Refusing to start; restrict it with: chmod 600 {path}"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(4096)
    finally:
        os.close(fd)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = "\x00"  # not base64; reported below
    return _decode(text, f"master key file {path}")


def _create_key_file(path: Path) -> bytes:
    """Write a new random key to ``path`` atomically (mode 0600); if another process won, use theirs."""
    key = os.urandom(envelope.KEY_SIZE)
    content = base64.b64encode(key) + b"\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(content)
            f.flush()
            os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic, and fails if the name exists
    except FileExistsError:
        return _read_existing(path)
    except OSError:  # pragma: no cover - a filesystem without hard links: O_EXCL on the final name
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            return _read_existing(path)
        try:
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return key


def _read_existing(path: Path) -> bytes:
    existing = _read_key_file(path)
    if existing is None:  # pragma: no cover - removed between our attempt and this read
        raise MasterKeyError(f"master key file {path} appeared and vanished while starting")
    return existing


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
