"""The asyncio secret cache: :class:`AsyncSecretCache` over :class:`~strongroom.client.AsyncSecretsManager`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from strongroom.client._base import Shape
from strongroom.client.aio import AsyncSecretsManager
from strongroom.client.cache.base import CacheBase
from strongroom.client.cache.core import Entry, Launch, Outcome, Plan, unwrap
from strongroom.client.shapes import GetSecretValueResponse

Flight = asyncio.Future[Outcome]


class AsyncSender(Protocol):
    """What the cache needs of a client: :meth:`AsyncSecretsManager.send`."""

    async def send(self, request: Shape) -> Any: ...


async def run_plan(send: Callable[[Shape], Any], plan: Plan) -> GetSecretValueResponse | None:
    """Send each request of ``plan`` in turn; its return value."""
    request = next(plan)
    while True:
        result = await send(request)
        try:
            request = plan.send(result)
        except StopIteration as done:
            value: GetSecretValueResponse | None = done.value
            return value


class AsyncSecretCache(CacheBase[Flight, AsyncSender]):
    """A secret cache for asyncio: ``await cache.get_secret_string("db/password")``.

    ``client``: an :class:`~strongroom.client.AsyncSecretsManager` (without one, the cache makes one
    from the environment and closes it in :meth:`close`); the other arguments are
    :class:`~strongroom.client.cache.base.CacheBase`'s. Use it from one event loop, as its client;
    ``async with`` (or :meth:`close`) stops background refreshes. Each method is the coroutine form
    of :class:`~strongroom.client.cache.SecretCache`'s.
    """

    def _default_client(self) -> AsyncSender:
        return AsyncSecretsManager()

    def _init_form(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    async def get_secret_value(self, secret_id: str, version_stage: str | None = None) -> GetSecretValueResponse:
        return self._core.fresh(secret_id, version_stage) or await self._load(secret_id, version_stage)

    async def get_secret_string(self, secret_id: str, version_stage: str | None = None) -> str | None:
        return (self._core.fresh(secret_id, version_stage) or await self._load(secret_id, version_stage)).secret_string

    async def get_secret_binary(self, secret_id: str, version_stage: str | None = None) -> bytes | None:
        return (self._core.fresh(secret_id, version_stage) or await self._load(secret_id, version_stage)).secret_binary

    async def refresh_secret_now(self, secret_id: str, version_stage: str | None = None) -> GetSecretValueResponse:
        flight = self._core.in_flight(secret_id, version_stage)
        if flight is not None:
            await asyncio.shield(flight)
        self._core.expire(secret_id, version_stage)
        return await self._load(secret_id, version_stage)

    async def _load(self, secret_id: str, version_stage: str | None) -> GetSecretValueResponse:
        step = self._step(secret_id, version_stage)
        if step.outcome is not None:
            return unwrap(step.outcome)
        assert step.flight is not None
        # shield: a reader that is cancelled must not cancel the fetch the other readers wait for
        return unwrap(await asyncio.shield(step.flight))

    def _new_flight(self) -> Flight:
        return asyncio.get_running_loop().create_future()

    def _start(self, launch: Launch[Flight]) -> None:
        task = asyncio.get_running_loop().create_task(self._fly(launch.entry, launch.plan, launch.flight))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fly(self, entry: Entry[Flight], plan: Plan, flight: Flight) -> None:
        try:
            result: GetSecretValueResponse | BaseException | None = await run_plan(self._client.send, plan)
        except Exception as error:
            result = error
        except BaseException:
            self._core.abandon(entry)
            flight.cancel()
            raise
        flight.set_result(self._core.settle(entry, result))

    async def close(self) -> None:
        """Cancel the fetches in progress (their readers get CancelledError); close the client if
        the cache made it."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._owned and isinstance(self._client, AsyncSecretsManager):
            await self._client.close()

    async def __aenter__(self) -> AsyncSecretCache:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
