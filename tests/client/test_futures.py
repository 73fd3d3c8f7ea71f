"""The futures client: handlers on success and on error, shutdown with calls in flight, response metadata."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest
from fault_proxy import FaultProxy
from test_operations import RecordingHandler
from test_retries import upstream

from strongroom.client import (
    ClientShutdown,
    GetSecretValueRequest,
    ResourceNotFoundException,
    SecretsManager,
    shapes,
)
from strongroom.client.metadata import MetadataCache, ResponseMetadata


def test_handler_is_told_on_success_and_on_error(settings: dict[str, Any], name: str) -> None:
    with SecretsManager(**settings) as sm:
        sm.create_secret(name=name, secret_string="v")
        ok, missing = RecordingHandler(), RecordingHandler()
        request = GetSecretValueRequest(secret_id=name)
        result = sm.get_secret_value_async(request, ok).result(timeout=30)
        assert ok.successes == [(request, result)] and result.secret_string == "v" and not ok.errors
        future = sm.get_secret_value_async(GetSecretValueRequest(secret_id=f"{name}-missing"), missing)
        with pytest.raises(ResourceNotFoundException):
            future.result(timeout=30)
        assert [type(e) for e in missing.errors] == [ResourceNotFoundException] and not missing.successes


def test_a_failing_handler_is_logged_and_leaves_the_future_alone(
    settings: dict[str, Any], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def on_success(self, request: Any, result: Any) -> None:
            raise RuntimeError("handler bug")

        def on_error(self, exception: BaseException) -> None:
            raise RuntimeError("handler bug")

    with SecretsManager(**settings) as sm, caplog.at_level(logging.ERROR, "strongroom.client.futures"):
        result = sm.get_random_password_async(shapes.GetRandomPasswordRequest(password_length=8), Broken()).result(30)
        assert len(result.random_password) == 8
        assert "completion handler raised" in caplog.text
        # the loop survived: the next call works
        assert len(sm.get_random_password(password_length=9).random_password) == 9


def test_a_handler_may_call_blocking_methods(settings: dict[str, Any]) -> None:
    with SecretsManager(**settings) as sm:
        inner: list[str] = []

        class Chained:
            def on_success(self, request: Any, result: Any) -> None:
                inner.append(sm.get_random_password(password_length=5).random_password)

            def on_error(self, exception: BaseException) -> None:
                raise AssertionError(exception)

        sm.get_random_password_async(shapes.GetRandomPasswordRequest(), Chained()).result(timeout=30)
        assert len(inner) == 1 and len(inner[0]) == 5


def test_shutdown_fails_calls_in_flight_and_refuses_new_ones(settings: dict[str, Any]) -> None:
    """Calls waiting on a server that never answers fail with ClientShutdown, handlers included."""
    loop = asyncio.new_event_loop()
    proxy = FaultProxy(upstream(settings), ["hang"] * 8)
    started = threading.Event()

    def serve() -> None:
        loop.run_until_complete(proxy.__aenter__())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        sm = SecretsManager(**{**settings, "endpoint_url": proxy.endpoint})
        handlers = [RecordingHandler() for _ in range(4)]
        futures = [sm.get_random_password_async(shapes.GetRandomPasswordRequest(), h) for h in handlers]
        futures.append(sm.get_random_password_async(shapes.GetRandomPasswordRequest()))
        for _ in range(1000):  # at most 10 s for the five requests to reach the proxy
            if len(proxy.requests) >= 5:
                break
            time.sleep(0.01)
        assert len(proxy.requests) == 5
        sm.shutdown()
        for future in futures:
            with pytest.raises(ClientShutdown):
                future.result(timeout=0)
        assert all(len(h.errors) == 1 and isinstance(h.errors[0], ClientShutdown) for h in handlers)
        with pytest.raises(ClientShutdown):
            sm.get_random_password_async(shapes.GetRandomPasswordRequest())
        with pytest.raises(ClientShutdown):
            sm.get_random_password()
        sm.shutdown()  # idempotent
        assert not [t for t in threading.enumerate() if t.name.startswith("strongroom-client")]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_response_metadata_of_recent_requests(settings: dict[str, Any], name: str) -> None:
    with SecretsManager(**settings, metadata_cache_size=2) as sm:
        created = shapes.CreateSecretRequest(name=name, secret_string="v")
        sm.create_secret_async(created).result(timeout=30)
        metadata = sm.get_cached_response_metadata(created)
        assert metadata is not None and metadata.http_status == 200 and metadata.attempts == 1
        assert metadata.request_id and metadata.headers["x-amzn-requestid"] == metadata.request_id
        assert sm.get_cached_response_metadata(shapes.CreateSecretRequest(name=name, secret_string="v")) is None
        failed = GetSecretValueRequest(secret_id=f"{name}-missing")
        with pytest.raises(ResourceNotFoundException) as caught:
            sm.get_secret_value_async(failed).result(timeout=30)
        assert sm.get_cached_response_metadata(failed) == caught.value.metadata
        assert caught.value.metadata is not None and caught.value.metadata.http_status == 400
        sm.get_random_password_async(shapes.GetRandomPasswordRequest()).result(timeout=30)
        assert sm.get_cached_response_metadata(created) is None  # evicted: the cache holds 2


def test_metadata_cache_is_a_bounded_lru_keyed_by_identity() -> None:
    cache = MetadataCache(size=2)
    a, b, c = object(), object(), object()
    meta = ResponseMetadata("r", 200, {}, 1)
    cache.put(a, meta)
    cache.put(b, meta)
    cache.put(a, meta)  # a is now the most recent
    cache.put(c, meta)
    assert cache.get(a) is meta and cache.get(c) is meta and cache.get(b) is None


def test_a_closed_async_client_refuses_calls(settings: dict[str, Any]) -> None:
    from strongroom.client import AsyncSecretsManager

    async def run() -> None:
        sm = AsyncSecretsManager(**settings)
        assert len((await sm.get_random_password(password_length=6)).random_password) == 6
        await sm.close()
        with pytest.raises(ClientShutdown):
            await sm.get_random_password()

    asyncio.run(run())
