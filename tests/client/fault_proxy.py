"""A proxy in front of the real server that fails on purpose: each request it receives takes the next
fault from its script (then passes), and it records every request it saw.

Faults: ``pass`` (forward to the server), ``500`` (InternalServiceError), ``503``
(ServiceUnavailable), ``throttle`` (400 ThrottlingException), ``429`` (empty body), ``reset``
(close the connection without answering), ``hang`` (never answer). Without faults it is a
counting pass-through (``operations()``), which bench/cache.py uses too.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

CANNED = {
    "500": (500, "Internal Server Error", {"__type": "InternalServiceError", "Message": "injected"}),
    "503": (503, "Service Unavailable", {"__type": "ServiceUnavailable", "Message": "injected"}),
    "throttle": (400, "Bad Request", {"__type": "ThrottlingException", "Message": "Rate exceeded"}),
    "429": (429, "Too Many Requests", None),
}


def _response(status: int, reason: str, document: dict[str, str] | None) -> bytes:
    body = json.dumps(document).encode() if document is not None else b""
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\n"
    head += f"x-amzn-RequestId: injected-{status}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _header(head: bytes, wanted: bytes) -> bytes:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == wanted:
            return value.strip()
    return b""


def _content_length(head: bytes) -> int:
    return int(_header(head, b"content-length") or 0)


@dataclass
class FaultProxy:
    upstream_port: int
    faults: list[str]
    requests: list[tuple[bytes, bytes]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(body) for _, body in self.requests]

    def operations(self) -> list[str]:
        """The operation (X-Amz-Target without its prefix) of every request received, in order."""
        return [_header(head, b"x-amz-target").decode().removeprefix("secretsmanager.") for head, _ in self.requests]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                body = await reader.readexactly(_content_length(head))
                self.requests.append((head, body))
                fault = self.faults.pop(0) if self.faults else "pass"
                if fault == "reset":
                    writer.transport.abort()
                    return
                if fault == "hang":
                    await asyncio.sleep(3600)
                writer.write(await self._forward(head + body) if fault == "pass" else _response(*CANNED[fault]))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    async def _forward(self, request: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            return head + await reader.readexactly(_content_length(head))
        finally:
            writer.close()
