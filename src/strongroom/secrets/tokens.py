"""Opaque pagination tokens that a client can neither read nor forge.

A NextToken is the page position (and the request it belongs to) sealed with AES-GCM under a
server key; anything that does not open, or belongs to another request, is
InvalidNextTokenException, as AWS answers a garbled token.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.errors import InvalidNextTokenException

INVALID_TOKEN = "The NextToken value is invalid."
T = TypeVar("T")


class TokenSealer:
    """Seals and opens pagination positions; ``key`` must be shared by every instance."""

    def __init__(self, key: bytes | None = None) -> None:
        self._aead = AESGCM(key or os.urandom(32))

    def seal(self, scope: str, position: Any) -> str:
        nonce = os.urandom(12)
        blob = self._aead.encrypt(nonce, orjson.dumps(position), scope.encode())
        return base64.urlsafe_b64encode(nonce + blob).decode().rstrip("=")

    def open(self, scope: str, token: str) -> Any:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return orjson.loads(self._aead.decrypt(raw[:12], raw[12:], scope.encode()))
        except (ValueError, InvalidTag, orjson.JSONDecodeError) as exc:
            raise InvalidNextTokenException(INVALID_TOKEN) from exc

    def offset_page(
        self, scope: str, items: Sequence[T], next_token: str | None, limit: int
    ) -> tuple[Sequence[T], str | None]:
        """One page of a list held in memory: up to ``limit`` items from the offset sealed in
        ``next_token`` (the start when None), and the token of the next page (None on the last)."""
        start = int(self.open(scope, next_token)) if next_token else 0
        end = start + limit
        return items[start:end], self.seal(scope, end) if end < len(items) else None
