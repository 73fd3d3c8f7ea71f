"""The sending side's HTTP for the peer protocol: one SigV4-signed JSON 1.1 POST to a peer deployment.

One connection per call (``Connection: close``): a relay tick makes a handful of calls per peer,
coalescing bursts of changes. https endpoints are checked against the peer's ``ca_file`` (or the
system's authorities) with the host name verified. Errors come back as :class:`PeerCallFailed`
with a message fit for a target's StatusMessage (never a value: requests carry sealed values only,
answers none).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httptools
import orjson

from strongroom.secrets.replication.peer_wire import SERVICE, TARGET_PREFIX
from strongroom.service.peers import Peer
from strongroom.sigv4 import sign_headers

#: Seconds to connect, and to send a request and read its answer.
CONNECT_TIMEOUT = 5.0
CALL_TIMEOUT = 30.0
#: The longest error message of a peer kept (it becomes a StatusMessage).
MAX_MESSAGE = 1000
#: The largest answer read (answers are a few bytes).
MAX_ANSWER_BYTES = 65_536


#: The message of a call without a protocol answer (the store finds these targets by it).
UNREACHABLE = "peer {region} unreachable: {reason}"


class PeerCallFailed(Exception):
    """A call that got no answer (``code`` None) or an error answer (``code``: its ``__type``)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class _Answer:
    """httptools callbacks collecting one response."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.complete = False

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


async def call(peer: Peer, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``operation`` at ``peer``; its answer's members, or PeerCallFailed."""
    assert peer.endpoint is not None and peer.credentials is not None, "a receiving-only peer"
    body = orjson.dumps(params)
    try:
        status, answer = await asyncio.wait_for(_post(peer, operation, body), CALL_TIMEOUT)
    except (TimeoutError, OSError, ssl.SSLError, httptools.HttpParserError) as exc:
        raise PeerCallFailed(UNREACHABLE.format(region=peer.region, reason=_reason(exc))) from None
    try:
        members = orjson.loads(answer) if answer else {}
    except orjson.JSONDecodeError:
        members = None
    if status == 200 and isinstance(members, dict):
        return members
    if isinstance(members, dict) and isinstance(members.get("__type"), str):
        code = members["__type"].rpartition("#")[2][:100]
        message = str(members.get("Message") or members.get("message") or "")[:MAX_MESSAGE]
        raise PeerCallFailed(message, code)
    raise PeerCallFailed(UNREACHABLE.format(region=peer.region, reason=f"it answered HTTP {status}"))


async def _post(peer: Peer, operation: str, body: bytes) -> tuple[int, bytes]:
    assert peer.endpoint is not None and peer.credentials is not None
    url = peer.endpoint + "/"
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    context = _tls_context(peer.ca_file) if secure else None
    headers = {
        "Host": parts.netloc.lower(), "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"{TARGET_PREFIX}{operation}",
    }
    headers.update(sign_headers("POST", url, headers, body, peer.credentials, peer.region, SERVICE, time.time()))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"POST / HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, port, ssl=context), CONNECT_TIMEOUT
    )
    try:
        writer.write(request)
        await writer.drain()
        answer = _Answer()
        parser = httptools.HttpResponseParser(answer)
        while not answer.complete:
            chunk = await reader.read(65_536)
            if not chunk:
                raise ConnectionResetError("the connection closed before the answer was complete")
            parser.feed_data(chunk)
            if len(answer.body) > MAX_ANSWER_BYTES:
                raise ConnectionResetError("the answer is too large")
        return parser.get_status_code(), bytes(answer.body)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass


@lru_cache(maxsize=16)
def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A client context checking certificates against ``ca_file`` (None: the system's), host names too."""
    return ssl.create_default_context(cafile=ca_file)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = str(exc) or type(exc).__name__
    return text[:200]
