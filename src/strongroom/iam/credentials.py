"""What every kind of credential shares: unique ids, IAM's name rule, and minting temporary
credentials (an ``ASIA...`` key id, a secret sealed with the access-key box, a token kept only as
its SHA-256) for GetSessionToken and AssumeRole alike."""

from __future__ import annotations

import hashlib
import math
import secrets
import string
from collections.abc import Iterator
from dataclasses import dataclass

from strongroom.crypto.sealing import SealingBox
from strongroom.errors import InvalidParameterException

_ID_ALPHABET = string.ascii_uppercase + "234567"
_NAME_OK = frozenset(string.ascii_letters + string.digits + "+=,.@_-")
SESSION_KEY_PREFIX = "ASIA"
#: Bytes of randomness in a session token (64 URL-safe characters).
TOKEN_BYTES = 48


def random_id(prefix: str) -> str:
    """A unique id in AWS's style: ``prefix`` and 16 characters of base32 (AIDA..., AROA..., ASIA...)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


def check_name(kind: str, name: str) -> None:
    """IAM's rule for user, group, role and policy names: 1-64 of letters, digits and ``+=,.@_-``."""
    if not 1 <= len(name) <= 64 or not set(name) <= _NAME_OK:
        raise InvalidParameterException(
            f"Invalid {kind} name {name!r}: use 1-64 letters, digits and +=,.@_- characters."
        )


def token_digest(token: str) -> str:
    """The SHA-256 of a session token, hex: what the store keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionCredentials:
    """Temporary credentials as STS returns them (shown once, never stored in the clear)."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: float  # epoch seconds

    def __repr__(self) -> str:  # never show the secret or the token
        return f"SessionCredentials({self.access_key_id!r}, expiration={self.expiration})"

    def __iter__(self) -> Iterator[str | float]:  # unpacks as (key id, secret, token, expiration)
        return iter((self.access_key_id, self.secret_access_key, self.session_token, self.expiration))


@dataclass(frozen=True, slots=True)
class MintedCredentials:
    """New temporary credentials and what the store keeps of them (sealed secret, token digest)."""

    credentials: SessionCredentials
    sealed_secret: bytes
    token_hash: str

    def __repr__(self) -> str:
        return f"MintedCredentials({self.credentials!r})"


def mint_temporary(box: SealingBox, expiration: float, min_token_size: int = 0) -> MintedCredentials:
    """Fresh ``ASIA...`` credentials expiring at ``expiration``; the token is at least
    ``min_token_size`` characters (AssumeRole's MinimumSessionTokenSize)."""
    access_key_id = random_id(SESSION_KEY_PREFIX)
    secret = secrets.token_urlsafe(30)[:40]
    token = secrets.token_urlsafe(max(TOKEN_BYTES, math.ceil(min_token_size * 3 / 4)))
    sealed = box.seal(secret.encode(), access_key_id.encode())
    return MintedCredentials(
        SessionCredentials(access_key_id, secret, token, expiration), sealed, token_digest(token)
    )
