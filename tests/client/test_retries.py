"""Standard retry mode against a server that fails on purpose, and its rules one by one."""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
from fault_proxy import FaultProxy

from strongroom.client import (
    AsyncSecretsManager,
    ClientError,
    ConnectionFailure,
    ResourceNotFoundException,
    ServiceUnavailable,
    shapes,
)
from strongroom.client.metadata import ResponseMetadata
from strongroom.client.retries import RetryKind, RetryQuota, StandardRetry, classify


def proxied(settings: dict[str, Any], proxy: FaultProxy, **extra: Any) -> tuple[AsyncSecretsManager, list[float]]:
    """A client through ``proxy`` whose backoff waits are recorded instead of slept, with the jitter
    fixed at its maximum (random() == 1) so the delays are exact."""
    sm = AsyncSecretsManager(**{**settings, "endpoint_url": proxy.endpoint, **extra})
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    sm._core._sleep = sleep
    sm._core.retry._random = lambda: 1.0
    return sm, delays


def upstream(settings: dict[str, Any]) -> int:
    return int(urlsplit(settings["endpoint_url"]).port or 0)


def test_transient_errors_are_retried_with_the_same_client_request_token(settings: dict[str, Any], name: str) -> None:
    async def run() -> None:
        async with FaultProxy(upstream(settings), ["500", "reset", "pass"]) as proxy:
            sm, delays = proxied(settings, proxy)
            async with sm:
                request = shapes.CreateSecretRequest(name=name, secret_string="v")
                created = await sm.send(request)
                tokens = {body["ClientRequestToken"] for body in proxy.bodies()}
                assert len(proxy.requests) == 3 and tokens == {created.version_id}
                metadata = sm.get_cached_response_metadata(request)
                assert metadata is not None and metadata.attempts == 3 and metadata.http_status == 200
                assert delays == [0.05, 0.1]  # 50 ms * 2 ** (attempt - 1)
                assert (await sm.get_secret_value(secret_id=name)).version_id == created.version_id

    asyncio.run(run())


def test_throttling_is_retried_with_the_throttling_backoff(settings: dict[str, Any], name: str) -> None:
    async def run() -> None:
        async with FaultProxy(upstream(settings), []) as proxy:
            sm, delays = proxied(settings, proxy)
            async with sm:
                await sm.create_secret(name=name, secret_string="v1")
                proxy.requests.clear()
                proxy.faults[:] = ["throttle", "429", "pass"]
                put = await sm.put_secret_value(secret_id=name, secret_string="v2")
                assert {body["ClientRequestToken"] for body in proxy.bodies()} == {put.version_id}
                assert len(proxy.requests) == 3 and delays == [1.0, 2.0]  # 1 s * 2 ** (attempt - 1)

    asyncio.run(run())


def test_gives_up_after_max_attempts_with_the_last_error(settings: dict[str, Any]) -> None:
    async def run() -> None:
        async with FaultProxy(upstream(settings), ["503"] * 5) as proxy:
            sm, delays = proxied(settings, proxy)
            async with sm:
                with pytest.raises(ServiceUnavailable) as caught:
                    await sm.get_random_password()
                assert caught.value.metadata is not None and caught.value.metadata.attempts == 3
                assert caught.value.status == 503 and caught.value.request_id == "injected-503"
                assert len(proxy.requests) == 3 and len(delays) == 2
            proxy.requests.clear()
            sm, _ = proxied(settings, proxy, max_attempts=1)
            async with sm:
                with pytest.raises(ServiceUnavailable):
                    await sm.get_random_password()
                assert len(proxy.requests) == 1

    asyncio.run(run())


def test_client_errors_are_not_retried(settings: dict[str, Any], name: str) -> None:
    async def run() -> None:
        async with FaultProxy(upstream(settings), []) as proxy:
            sm, delays = proxied(settings, proxy)
            async with sm:
                with pytest.raises(ResourceNotFoundException):
                    await sm.describe_secret(secret_id=name)
                assert len(proxy.requests) == 1 and delays == []

    asyncio.run(run())


def test_read_timeout_is_retried(settings: dict[str, Any]) -> None:
    async def run() -> None:
        async with FaultProxy(upstream(settings), ["hang", "pass"]) as proxy:
            sm, delays = proxied(settings, proxy, read_timeout=0.3)
            async with sm:
                request = shapes.GetRandomPasswordRequest(password_length=12)
                assert len((await sm.send(request)).random_password) == 12
                assert len(proxy.requests) == 2 and sm.get_cached_response_metadata(request).attempts == 2

    asyncio.run(run())


def test_connection_refused_is_retried_then_raised(settings: dict[str, Any]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens on it once closed

    async def run() -> None:
        sm = AsyncSecretsManager(**{**settings, "endpoint_url": f"http://127.0.0.1:{port}"})
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        sm._core._sleep = sleep
        async with sm:
            with pytest.raises(ConnectionFailure) as caught:
                await sm.get_random_password()
            assert caught.value.attempts == 3 and len(slept) == 2

    asyncio.run(run())


def _error(code: str, status: int, headers: dict[str, str] | None = None) -> ClientError:
    return ClientError("m", code=code, metadata=ResponseMetadata("r", status, headers or {}, 1))


def test_classification_follows_botocore_standard_mode() -> None:
    modeled = frozenset({"ResourceNotFoundException"})
    assert classify(_error("ThrottlingException", 400), modeled) is RetryKind.THROTTLING
    assert classify(_error("LimitExceededException", 400), modeled) is RetryKind.THROTTLING
    assert classify(_error("Unknown", 429), modeled) is RetryKind.THROTTLING
    assert classify(_error("ResourceNotFoundException", 429), modeled) is None  # the model decides
    assert classify(_error("InternalServiceError", 500), modeled) is RetryKind.TRANSIENT
    assert classify(_error("RequestTimeout", 400), modeled) is RetryKind.TRANSIENT
    assert classify(_error("ValidationException", 400), modeled) is None
    assert classify(ConnectionFailure("x"), modeled) is RetryKind.TRANSIENT


def test_backoff_is_capped_and_honours_retry_after() -> None:
    retry = StandardRetry(max_attempts=10, rand=lambda: 1.0)
    assert retry.retry_delay(_error("ThrottlingException", 400), 6, frozenset()) == (20.0, 5)  # min(2**5, 20)
    assert retry.retry_delay(_error("X", 500, {"x-amz-retry-after": "1500"}), 1, frozenset()) == (1.5, 14)
    assert retry.retry_delay(_error("X", 500, {"x-amz-retry-after": "60000"}), 1, frozenset()) == (5.05, 14)
    assert retry.retry_delay(_error("X", 500, {"x-amz-retry-after": "bad"}), 1, frozenset()) == (0.05, 14)


def test_retry_quota_runs_out_and_refills_on_success() -> None:
    retry = StandardRetry(max_attempts=3, quota=RetryQuota(capacity=20), rand=lambda: 0.0)
    assert retry.retry_delay(_error("X", 500), 1, frozenset()) == (0.0, 14)
    assert retry.retry_delay(_error("X", 500), 1, frozenset()) is None  # 6 left < 14
    assert retry.retry_delay(_error("ThrottlingException", 400), 1, frozenset()) == (0.0, 5)
    retry.succeeded(14)
    assert retry.quota.available == 15
    retry.succeeded(None)
    assert retry.quota.available == 16
