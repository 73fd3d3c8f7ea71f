"""HTTP for the client: aiohttp with a keep-alive connection pool (measurements in docs/client.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from yarl import URL

from strongroom.client.errors import ConnectionFailure, ReadTimeout, TransportError

DEFAULT_MAX_POOL_CONNECTIONS = 64
DEFAULT_CONNECT_TIMEOUT_S = 60.0
DEFAULT_READ_TIMEOUT_S = 60.0
#: The largest response body accepted (a full BatchGetSecretValue page is about 1.4 MiB).
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive, read-only
    body: bytes


class Transport:
    """POSTs to one endpoint over a pool of at most ``max_pool_connections`` keep-alive connections.

    The aiohttp session is made on first use, in the event loop that uses it: a transport belongs
    to one event loop. Errors without an answer raise :class:`ConnectionFailure` or :class:`ReadTimeout`.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        max_pool_connections: int = DEFAULT_MAX_POOL_CONNECTIONS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout: float = DEFAULT_READ_TIMEOUT_S,
    ) -> None:
        if max_pool_connections < 1:
            raise ValueError("max_pool_connections must be at least 1")
        self.url = URL(endpoint, encoded=True)
        self._pool_size = max_pool_connections
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=self._pool_size)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
        )
        return self._session

    async def post(self, headers: Mapping[str, str], body: bytes) -> HttpResponse:
        session = self._session or self._open()
        try:
            async with session.post(self.url, data=body, headers=headers) as response:
                if (response.content_length or 0) > MAX_RESPONSE_BYTES:
                    raise ConnectionFailure(f"response of {response.content_length} bytes is larger than allowed")
                data = await response.read()
                return HttpResponse(response.status, response.headers, data)
        except TransportError:
            raise
        except aiohttp.ConnectionTimeoutError as exc:
            raise ConnectionFailure(f"Connect timeout on endpoint URL: {self.url}") from exc
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise ReadTimeout(f"Read timeout on endpoint URL: {self.url}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectionFailure(f"Could not connect to the endpoint URL {self.url}: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
