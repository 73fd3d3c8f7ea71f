"""The asyncio client: every operation a coroutine with keyword arguments, typed immutable results."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from strongroom.client._base import Operation, R, Shape
from strongroom.client._operations import OPERATIONS, AsyncOperations
from strongroom.client.core import ClientBase
from strongroom.client.paginators import AsyncPaginator


class AsyncSecretsManager(ClientBase, AsyncOperations):
    """Secrets Manager for asyncio: ``await sm.get_secret_value(secret_id="db")``.

    Settings are the keyword arguments of :class:`~strongroom.client.core.ClientBase`. Use it
    from one event loop; ``async with`` (or :meth:`close`) closes its connections.
    """

    async def _call(self, operation: Operation[R], request: Shape) -> R:
        return await self._core.call(operation, request)

    def _pages(self, operation: Operation[R], request: Shape) -> AsyncPaginator[R, Any]:
        assert operation.items is not None
        return AsyncPaginator(lambda page_request: self._core.call(operation, page_request), request, operation.items)

    async def send(self, request: Shape) -> Any:
        """Call the operation of a request object (``GetSecretValueRequest(...)`` -> GetSecretValue);
        its metadata is then available from :meth:`get_cached_response_metadata`."""
        return await self._core.call(OPERATIONS[type(request)], request)

    async def close(self) -> None:
        await self._core.close()

    async def __aenter__(self) -> AsyncSecretsManager:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
