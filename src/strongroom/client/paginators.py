"""Paginators: the pages of a paginated operation (NextToken in, NextToken out) and their items."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

import msgspec

from strongroom.client._base import Shape

PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")


class RepeatedNextToken(RuntimeError):
    """The service answered the same NextToken twice: following it would never end."""


def _next_request(request: Shape, page: Any, previous_token: str | None) -> Shape | None:
    """The request for the page after ``page``, or None when ``page`` is the last one."""
    token = getattr(page, "next_token", None)
    if not token:
        return None
    if token == previous_token:
        raise RepeatedNextToken(f"the service returned the NextToken it was given ({token[:16]}...)")
    return msgspec.structs.replace(request, next_token=token)


def _items_of(page: Any, items: str) -> tuple[Any, ...]:
    return getattr(page, items) or ()


class AsyncPaginator(Generic[PageT, ItemT]):
    """``async for page in paginator`` fetches page after page; ``async for x in paginator.items()``
    yields every item of every page. Each iteration starts again from the first page."""

    def __init__(self, fetch: Callable[[Shape], Awaitable[PageT]], request: Shape, items: str) -> None:
        self._fetch = fetch
        self._request = request
        self._items = items

    async def _pages(self) -> AsyncIterator[PageT]:
        request: Shape | None = self._request
        token = None
        while request is not None:
            page = await self._fetch(request)
            yield page
            request, token = _next_request(request, page, token), getattr(page, "next_token", None)

    def __aiter__(self) -> AsyncIterator[PageT]:
        return self._pages()

    async def items(self) -> AsyncIterator[ItemT]:
        async for page in self:
            for item in _items_of(page, self._items):
                yield item


class Paginator(Generic[PageT, ItemT]):
    """The blocking form of :class:`AsyncPaginator`: ``for page in paginator``, ``paginator.items()``."""

    def __init__(self, fetch: Callable[[Shape], PageT], request: Shape, items: str) -> None:
        self._fetch = fetch
        self._request = request
        self._items = items

    def __iter__(self) -> Iterator[PageT]:
        request: Shape | None = self._request
        token = None
        while request is not None:
            page = self._fetch(request)
            yield page
            request, token = _next_request(request, page, token), getattr(page, "next_token", None)

    def items(self) -> Iterator[ItemT]:
        for page in self:
            yield from _items_of(page, self._items)
