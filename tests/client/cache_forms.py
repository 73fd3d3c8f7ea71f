"""Both cache forms behind one face, so a policy test is written once and runs on each:
``SyncForm`` (SecretCache on FuturesFake) and ``AsyncForm`` (AsyncSecretCache on AsyncFake, driven
on an event loop of its own). ``drain()`` lets background refreshes finish."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from cache_fakes import AsyncFake, FakeClock, FakeService, FuturesFake

from strongroom.client.cache import AsyncSecretCache, SecretCache, SecretCacheConfig
from strongroom.client.shapes import GetSecretValueResponse

T = TypeVar("T")

#: TTL 100 s, refresh ahead from 90 s (random() is 0), stale up to 30 s past the TTL, backoff 1, 2, 4, 8 s.
CONFIG = SecretCacheConfig(
    secret_refresh_interval=100, refresh_ahead=0.1, max_stale=30,
    exception_retry_delay_base=1, exception_retry_growth_factor=2, exception_retry_delay_max=8,
)  # fmt: skip


class SyncForm:
    name = "sync"

    def __init__(self, config: SecretCacheConfig = CONFIG) -> None:
        self.clock = FakeClock()
        self.service = FakeService()
        self.fake = FuturesFake(self.service)
        self.cache = SecretCache(self.fake, config, clock=self.clock, random=lambda: 0.0)

    def value(self, secret_id: str, stage: str | None = None) -> GetSecretValueResponse:
        return self.cache.get_secret_value(secret_id, stage)

    def string(self, secret_id: str, stage: str | None = None) -> str | None:
        return self.cache.get_secret_string(secret_id, stage)

    def binary(self, secret_id: str, stage: str | None = None) -> bytes | None:
        return self.cache.get_secret_binary(secret_id, stage)

    def refresh_now(self, secret_id: str, stage: str | None = None) -> GetSecretValueResponse:
        return self.cache.refresh_secret_now(secret_id, stage)

    def drain(self) -> None:
        """Background fetches on FuturesFake complete within the read that starts them."""

    def close(self) -> None:
        self.cache.close()


class AsyncForm:
    name = "async"

    def __init__(self, config: SecretCacheConfig = CONFIG) -> None:
        self.clock = FakeClock()
        self.service = FakeService()
        self.fake = AsyncFake(self.service)
        self.cache = AsyncSecretCache(self.fake, config, clock=self.clock, random=lambda: 0.0)
        self.loop = asyncio.new_event_loop()

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def value(self, secret_id: str, stage: str | None = None) -> GetSecretValueResponse:
        return self.run(self.cache.get_secret_value(secret_id, stage))

    def string(self, secret_id: str, stage: str | None = None) -> str | None:
        return self.run(self.cache.get_secret_string(secret_id, stage))

    def binary(self, secret_id: str, stage: str | None = None) -> bytes | None:
        return self.run(self.cache.get_secret_binary(secret_id, stage))

    def refresh_now(self, secret_id: str, stage: str | None = None) -> GetSecretValueResponse:
        return self.run(self.cache.refresh_secret_now(secret_id, stage))

    def drain(self) -> None:
        async def wait_for_others() -> None:
            others = asyncio.all_tasks() - {asyncio.current_task()}
            await asyncio.gather(*others)

        self.run(wait_for_others())

    def close(self) -> None:
        self.run(self.cache.close())
        self.loop.close()


Form = SyncForm | AsyncForm
FORMS: list[Any] = [SyncForm, AsyncForm]
