"""The engine both clients share: settings, signing, retries, the transport, decoding, metadata.

A call: fill idempotency tokens once, encode the request, then per attempt take the current
credentials, sign (SigV4 from :mod:`strongroom.sigv4`), POST; a 2xx answer is decoded into the
operation's result type, an error answer becomes its exception class, and the standard retry
mode decides whether to wait and try again. The metadata of the last attempt is kept per request
object (:meth:`ClientCore.metadata`) and carried by every :class:`ClientError`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import msgspec

from strongroom.client import protocol
from strongroom.client._base import Operation, Shape
from strongroom.client.config import load_profile, profile_name, resolve_endpoint, resolve_region
from strongroom.client.credentials import CredentialProvider, resolve_credentials
from strongroom.client.errors import SdkError, TransportError
from strongroom.client.metadata import DEFAULT_METADATA_CACHE_SIZE, MetadataCache, ResponseMetadata
from strongroom.client.retries import DEFAULT_MAX_ATTEMPTS, StandardRetry
from strongroom.client.transport import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_MAX_POOL_CONNECTIONS,
    DEFAULT_READ_TIMEOUT_S,
    Transport,
)
from strongroom.sigv4 import sign_headers

R = TypeVar("R")
SIGNING_NAME = "secretsmanager"


class InvalidResponse(SdkError):
    """A 2xx response whose body is not the operation's result (not JSON, or wrong types)."""


class ClientCore:
    """Signs, sends, retries and decodes the calls of one client (one event loop at a time)."""

    def __init__(
        self,
        *,
        region: str,
        endpoint: str,
        credentials: CredentialProvider,
        transport: Transport,
        retry: StandardRetry,
        metadata: MetadataCache,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.region = region
        self.endpoint = endpoint
        self.credentials = credentials
        self.transport = transport
        self.retry = retry
        self.metadata = metadata
        self._sleep = sleep
        self._clock = clock
        self._headers: dict[str, dict[str, str]] = {}

    async def call(self, operation: Operation[R], request: Shape) -> R:
        body = protocol.encode(protocol.with_idempotency_tokens(operation, request))
        base = self._headers.get(operation.name) or self._headers.setdefault(
            operation.name, {"Host": self.transport.host_header, **protocol.base_headers(operation)}
        )
        attempt, last_cost = 0, None
        while True:
            attempt += 1
            error: SdkError
            response = None
            try:
                response = await self.transport.post(await self._signed(base, body), body)
            except TransportError as exc:
                exc.attempts = attempt
                error = exc
            else:
                if 200 <= response.status < 300:
                    self.metadata.put(request, protocol.metadata_of(response, attempt))
                    self.retry.succeeded(last_cost)
                    try:
                        return operation.decode(response.body)
                    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                        raise InvalidResponse(f"{operation.name}: the response is not a valid result: {exc}") from None
                error = protocol.error_of(response, protocol.metadata_of(response, attempt))
            decision = self.retry.retry_delay(error, attempt, operation.errors)
            if decision is None:
                self.metadata.put(request, protocol.metadata_of(response, attempt))
                raise error
            delay, last_cost = decision
            await self._sleep(delay)

    async def _signed(self, base: dict[str, str], body: bytes) -> dict[str, str]:
        """``base`` plus the SigV4 headers for the current credentials and time."""
        creds = self.credentials.fresh()
        if creds is None:
            creds = await asyncio.to_thread(self.credentials.get)
        signed = sign_headers("POST", self.endpoint, base, body, creds, self.region, SIGNING_NAME, self._clock())
        return {**base, **signed}

    def cached_metadata(self, request: Any) -> ResponseMetadata | None:
        return self.metadata.get(request)

    async def close(self) -> None:
        await self.transport.close()


class ClientBase:
    """Settings resolution and the engine, shared by :class:`AsyncSecretsManager` and
    :class:`SecretsManager`; every argument is optional (docs/client.md: where each comes from).

    ``region``, ``endpoint_url``, ``profile``; ``access_key_id``, ``secret_access_key``,
    ``session_token``; ``max_attempts`` (else ``AWS_MAX_ATTEMPTS``, the profile's ``max_attempts``, 3);
    ``max_pool_connections`` (64), ``connect_timeout`` and ``read_timeout`` (60 s);
    ``metadata_cache_size`` (50 requests); ``environ`` (default ``os.environ``, for tests).
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        max_attempts: int | None = None,
        max_pool_connections: int = DEFAULT_MAX_POOL_CONNECTIONS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout: float = DEFAULT_READ_TIMEOUT_S,
        metadata_cache_size: int = DEFAULT_METADATA_CACHE_SIZE,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        loaded = load_profile(profile_name(profile, env), env, required=True)
        resolved_region = resolve_region(region, env, loaded)
        endpoint = resolve_endpoint(endpoint_url, env, loaded, resolved_region)
        arguments = {
            "access_key_id": access_key_id, "secret_access_key": secret_access_key, "session_token": session_token,
        }  # fmt: skip
        credentials = resolve_credentials(arguments, env, loaded, profile_explicit=profile is not None)
        attempts = max_attempts or int(env.get("AWS_MAX_ATTEMPTS") or loaded.config.get("max_attempts") or 0)
        self._core = ClientCore(
            region=resolved_region,
            endpoint=endpoint,
            credentials=credentials,
            transport=Transport(
                endpoint,
                max_pool_connections=max_pool_connections,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
            ),
            retry=StandardRetry(attempts or DEFAULT_MAX_ATTEMPTS),
            metadata=MetadataCache(metadata_cache_size),
        )
        self._init_client()

    def _init_client(self) -> None:
        """What a client sets up beyond the engine (its threads, ...): nothing by default."""

    @property
    def region(self) -> str:
        return self._core.region

    @property
    def endpoint_url(self) -> str:
        return self._core.endpoint

    def get_cached_response_metadata(self, request: Any) -> ResponseMetadata | None:
        """The response metadata of a recent call of ``request`` (the same object), or None when it
        is not among the last ``metadata_cache_size`` requests."""
        return self._core.cached_metadata(request)


__all__ = ["ClientBase", "ClientCore", "InvalidResponse"]
