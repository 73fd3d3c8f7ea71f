"""Secrets Manager's pagination tokens: the page position sealed by :class:`~strongroom.crypto.page_tokens.PageTokens`.

A token that does not open, or belongs to another request, is InvalidNextTokenException, as AWS
answers a garbled token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from strongroom.crypto.errors import CannotOpen
from strongroom.crypto.page_tokens import PageTokens
from strongroom.errors import InvalidNextTokenException

INVALID_TOKEN = "The NextToken value is invalid."
T = TypeVar("T")


def open_position(tokens: PageTokens, scope: str, token: str) -> Any:
    """The position sealed in a client's NextToken for ``scope``; InvalidNextTokenException if none."""
    try:
        return tokens.open(scope, token)
    except CannotOpen:
        raise InvalidNextTokenException(INVALID_TOKEN) from None


def offset_page(
    tokens: PageTokens, scope: str, items: Sequence[T], next_token: str | None, limit: int
) -> tuple[Sequence[T], str | None]:
    """One page of a list held in memory: up to ``limit`` items from the offset sealed in
    ``next_token`` (the start when None), and the token of the next page (None on the last)."""
    start = int(open_position(tokens, scope, next_token)) if next_token else 0
    end = start + limit
    return items[start:end], tokens.seal(scope, end) if end < len(items) else None
