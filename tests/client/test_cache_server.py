"""The cache end to end against a real Strongroom server (SQLite, authentication on), through a proxy
that counts what reaches the server and fails on purpose: 1,000 coroutines and 100 threads make
one request, DescribeSecret revalidates, a new version is fetched, stages, binary values, stale
values while the service fails, a deleted secret, a decorator, a cache that makes its own client."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from cache_fakes import FakeClock
from fault_proxy import FaultProxy
from test_retries import upstream

from strongroom.client import (
    AsyncSecretsManager,
    InvalidRequestException,
    SecretsManager,
    ServiceUnavailable,
)
from strongroom.client.cache import (
    AsyncSecretCache,
    SecretCache,
    SecretCacheConfig,
    inject_keyworded_secret_string,
)

TTL = 3600
CONFIG = SecretCacheConfig(max_stale=300)
READERS = 1000
THREADS = 100


def test_a_thousand_coroutines_make_one_request_per_fetch(settings: dict[str, Any], name: str) -> None:
    async def run() -> None:
        async with (
            AsyncSecretsManager(**settings) as direct,
            FaultProxy(upstream(settings), []) as proxy,
            AsyncSecretsManager(**{**settings, "endpoint_url": proxy.endpoint}) as client,
        ):
            await direct.create_secret(name=name, secret_string="first")
            clock = FakeClock()
            cache = AsyncSecretCache(client, CONFIG, clock=clock)

            async def everyone(stage: str | None = None) -> set[str | None]:
                return set(await asyncio.gather(*(cache.get_secret_string(name, stage) for _ in range(READERS))))

            assert await everyone() == {"first"}
            assert proxy.operations() == ["GetSecretValue"]
            clock.advance(TTL)
            assert await everyone() == {"first"}
            assert proxy.operations() == ["GetSecretValue", "DescribeSecret"]
            await direct.put_secret_value(secret_id=name, secret_string="second")
            clock.advance(TTL)
            assert await everyone() == {"second"}
            assert proxy.operations() == ["GetSecretValue", "DescribeSecret", "DescribeSecret", "GetSecretValue"]
            assert await everyone("AWSPREVIOUS") == {"first"}
            assert proxy.operations()[4:] == ["GetSecretValue"]

            await direct.create_secret(name=f"{name}-bin", secret_binary=b"\x00\xffbin")
            assert await cache.get_secret_binary(f"{name}-bin") == b"\x00\xffbin"
            assert await cache.get_secret_string(f"{name}-bin") is None
            await cache.close()

    asyncio.run(run())


@pytest.fixture
def threaded_proxy(settings: dict[str, Any]) -> Iterator[FaultProxy]:
    """A FaultProxy served from a thread of its own, for the blocking form."""
    loop = asyncio.new_event_loop()
    proxy = FaultProxy(upstream(settings), [])
    loop.run_until_complete(proxy.__aenter__())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_many_threads_make_one_request_per_fetch(
    settings: dict[str, Any], name: str, threaded_proxy: FaultProxy
) -> None:
    with (
        SecretsManager(**settings) as direct,
        SecretsManager(**{**settings, "endpoint_url": threaded_proxy.endpoint}) as client,
    ):
        direct.create_secret(name=name, secret_string="first")
        clock = FakeClock()
        cache = SecretCache(client, CONFIG, clock=clock)

        def everyone() -> set[str | None]:
            results: list[str | None] = []
            barrier = threading.Barrier(THREADS)

            def read() -> None:
                barrier.wait(30)
                results.append(cache.get_secret_string(name))

            threads = [threading.Thread(target=read) for _ in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert len(results) == THREADS
            return set(results)

        assert everyone() == {"first"}
        assert threaded_proxy.operations() == ["GetSecretValue"]
        clock.advance(TTL)
        assert everyone() == {"first"}
        direct.put_secret_value(secret_id=name, secret_string="second")
        clock.advance(TTL)
        assert everyone() == {"second"}
        assert threaded_proxy.operations() == ["GetSecretValue", "DescribeSecret", "DescribeSecret", "GetSecretValue"]


def test_stale_values_while_the_service_fails_then_a_deleted_secret(settings: dict[str, Any], name: str) -> None:
    async def run() -> None:
        async with (
            AsyncSecretsManager(**settings) as direct,
            FaultProxy(upstream(settings), []) as proxy,
            AsyncSecretsManager(**{**settings, "endpoint_url": proxy.endpoint, "max_attempts": 1}) as client,
        ):
            await direct.create_secret(name=name, secret_string="v1")
            clock = FakeClock()
            cache = AsyncSecretCache(client, CONFIG, clock=clock)
            assert await cache.get_secret_string(name) == "v1"
            proxy.faults += ["503"] * 2
            clock.advance(TTL)
            assert await cache.get_secret_string(name) == "v1"  # the refresh failed: stale
            clock.advance(CONFIG.max_stale)  # past the bound (and past the backoff): the error
            with pytest.raises(ServiceUnavailable):
                await cache.get_secret_string(name)
            assert proxy.operations() == ["GetSecretValue", "DescribeSecret", "DescribeSecret"]

            await direct.delete_secret(secret_id=name)  # marked for deletion, recoverable for 30 days
            clock.advance(CONFIG.exception_retry_delay_max)
            with pytest.raises(InvalidRequestException):
                await cache.get_secret_string(name)
            assert proxy.operations()[3:] == ["DescribeSecret", "GetSecretValue"]
            await cache.close()

    asyncio.run(run())


def test_a_decorator_and_a_cache_with_its_own_client(
    settings: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for variable, value in {
        "AWS_ENDPOINT_URL": settings["endpoint_url"], "AWS_REGION": settings["region"],
        "AWS_ACCESS_KEY_ID": settings["access_key_id"], "AWS_SECRET_ACCESS_KEY": settings["secret_access_key"],
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }.items():  # fmt: skip
        monkeypatch.setenv(variable, value)
    with SecretsManager(**settings) as direct:
        direct.create_secret(name=name, secret_string='{"username": "app", "password": "pw"}')
    with SecretCache() as cache:

        @inject_keyworded_secret_string(cache, name, user="username", password="password")
        def dsn(host: str, *, user: str, password: str) -> str:
            return f"postgresql://{user}:{password}@{host}"

        assert dsn("db") == "postgresql://app:pw@db"
    assert not [t for t in threading.enumerate() if t.name.startswith("strongroom-client")]
