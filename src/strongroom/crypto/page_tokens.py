"""Opaque pagination tokens that a client can neither read nor forge.

A NextToken is a page position (any JSON value) sealed by a :class:`~strongroom.crypto.sealing.SealingBox`
with the request it belongs to (its *scope*: operation, caller, filters...) as AAD, in URL-safe
base64 without padding. Tokens are short-lived, so their format may change between releases.
Anything that does not open under the same scope raises :class:`~strongroom.crypto.errors.CannotOpen`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from strongroom.crypto.errors import CannotOpen
from strongroom.crypto.sealing import SealingBox

__all__ = ["PageTokens"]


class PageTokens:
    """Seals and opens pagination positions; every instance must share the box's key."""

    __slots__ = ("_box",)

    def __init__(self, box: SealingBox) -> None:
        self._box = box

    def seal(self, scope: str, position: Any) -> str:
        blob = self._box.seal(orjson.dumps(position), scope.encode())
        return base64.urlsafe_b64encode(blob).decode().rstrip("=")

    def open(self, scope: str, token: str) -> Any:
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return orjson.loads(self._box.open(blob, scope.encode()))
        except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
            raise CannotOpen() from exc
