"""HTTP/1.1 for the client: a pool of keep-alive connections to one endpoint, on asyncio's
transports, with httptools (the llhttp parser uvicorn uses) reading the responses.

Why not aiohttp: the client's whole job is one small POST and one small answer, and a request
through aiohttp's ClientSession cost 184-310 us of CPU against 53-88 us for this module on the
same machine, same server (docs/client.md, "Choosing the HTTP layer"): at concurrency 64 on one
core, the HTTP layer is most of the client's cost. What it leaves out: proxies (``HTTPS_PROXY``
is not honoured), HTTP/2, redirects and compression, none of which the AWS JSON protocol needs.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

from strongroom.client.errors import ClientShutdown, ConnectionFailure, ReadTimeout

DEFAULT_MAX_POOL_CONNECTIONS = 64
DEFAULT_CONNECT_TIMEOUT_S = 60.0
DEFAULT_READ_TIMEOUT_S = 60.0
#: The largest response body accepted (a full BatchGetSecretValue page is about 1.4 MiB).
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.reusable = False
        self._waiter: asyncio.Future[HttpResponse] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.reusable = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._fail(ConnectionFailure(f"the connection closed before the response was complete ({exc or 'EOF'})"))

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionFailure(f"malformed HTTP response: {exc}"))
            self.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._headers = {}
        self._body = []
        self._size = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self._headers[key] = f"{self._headers[key]}, {text}" if key in self._headers else text

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_RESPONSE_BYTES:
            self._fail(ConnectionFailure(f"the response is larger than {MAX_RESPONSE_BYTES} bytes"))
            self.close()
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if not self._parser.should_keep_alive():
            self.reusable = False
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(HttpResponse(self._parser.get_status_code(), self._headers, b"".join(self._body)))
        if not self.reusable:
            self.close()

    # the pool's side
    async def exchange(self, request: bytes, read_timeout: float) -> HttpResponse:
        assert self.transport is not None
        waiter = self._waiter = self._loop.create_future()
        timer = self._loop.call_later(read_timeout, self._timed_out)
        try:
            self.transport.write(request)
            return await waiter
        finally:
            timer.cancel()

    def _timed_out(self) -> None:
        self._fail(ReadTimeout("no response within the read timeout"))
        self.close()

    def _fail(self, error: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


class Transport:
    """POSTs to one endpoint URL over at most ``max_pool_connections`` keep-alive connections.

    Belongs to the event loop that first uses it. Failures without a complete answer raise
    :class:`ConnectionFailure` (refused, reset, closed, connect timeout) or :class:`ReadTimeout`.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        max_pool_connections: int = DEFAULT_MAX_POOL_CONNECTIONS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout: float = DEFAULT_READ_TIMEOUT_S,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if max_pool_connections < 1:
            raise ValueError("max_pool_connections must be at least 1")
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {endpoint}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        default_port = 443 if parts.scheme == "https" else 80
        bracketed = f"[{self.host}]" if ":" in self.host else self.host
        #: The Host header, as signed: the default port left out (as botocore and HTTP clients do).
        self.host_header = bracketed if self.port == default_port else f"{bracketed}:{self.port}"
        self._request_line = f"POST {parts.path or '/'} HTTP/1.1\r\n".encode("ascii")
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._slots = asyncio.Semaphore(max_pool_connections)
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._closed = False

    async def post(self, headers: Mapping[str, str], body: bytes) -> HttpResponse:
        """Send ``headers`` (Host included: see :attr:`host_header`) and ``body``; the answer."""
        lines = []
        for name, value in headers.items():
            if "\r" in value or "\n" in value:
                raise ValueError(f"header {name} has a line break in its value")
            lines.append(f"{name}: {value}\r\n")
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        request = self._request_line + "".join(lines).encode("latin-1") + body
        async with self._slots:
            if self._closed:
                raise ClientShutdown("the client is closed")
            connection = self._idle_connection() or await self._connect()
            try:
                response = await connection.exchange(request, self._read_timeout)
            except BaseException:
                self._discard(connection)
                raise
            if connection.reusable:
                self._idle.append(connection)
            else:
                self._discard(connection)
            return response

    def _idle_connection(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable:
                return connection
            self._discard(connection)
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop), self.host, self.port, ssl=self._ssl,
                    server_hostname=self.host if self._ssl else None,
                )  # fmt: skip
        except TimeoutError as exc:
            raise ConnectionFailure(f"Connect timeout on endpoint {self.host}:{self.port}") from exc
        except OSError as exc:
            raise ConnectionFailure(f"Could not connect to the endpoint {self.host}:{self.port}: {exc}") from exc
        self._open.add(connection)
        return connection

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    async def close(self) -> None:
        """Close every connection; calls in flight fail and later calls raise ClientShutdown."""
        self._closed = True
        for connection in list(self._open):
            self._discard(connection)
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports run their connection_lost callbacks
