"""The sending side's HTTP (secrets/replication/peer_client.py) against small local servers: what each
kind of failure becomes (the StatusMessage of a target), and that requests are SigV4-signed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from strongroom.secrets.replication import peer_client
from strongroom.secrets.replication.peer_client import PeerCallFailed, call
from strongroom.service.peers import Peer
from strongroom.sigv4 import Credentials

Answer = Callable[[bytes], Awaitable[bytes | None]]


async def with_server(answer: Answer, body: Callable[[Peer], Awaitable[None]]) -> list[bytes]:
    """Run ``body`` against a server answering each request with ``answer(request)`` (None: never)."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = int(next(line.split(b":")[1] for line in lines if line.lower().startswith(b"content-length")))
        request = head + await reader.readexactly(length)
        seen.append(request)
        reply = await answer(request)
        if reply is None:
            await asyncio.sleep(3600)
        writer.write(reply or b"")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    peer = Peer("eu-west-1", b"k" * 32, f"http://127.0.0.1:{port}", Credentials("AKIDPEER", "secret"))
    try:
        await body(peer)
    finally:
        server.close()
    return seen


def response(status: int, body: bytes, content_type: str = "application/x-amz-json-1.1") -> bytes:
    return (f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode() + body


async def failure(peer: Peer, params: dict[str, Any] | None = None) -> PeerCallFailed:
    with pytest.raises(PeerCallFailed) as caught:
        await call(peer, "ApplyReplicaState", params or {})
    return caught.value


def test_an_answer_is_returned_and_the_request_is_signed() -> None:
    async def answer(request: bytes) -> bytes:
        return response(200, b'{"Applied": true}')

    async def body(peer: Peer) -> None:
        assert await call(peer, "ApplyReplicaState", {"Position": 1}) == {"Applied": True}

    [request] = asyncio.run(with_server(answer, body))
    assert b"X-Amz-Target: StrongroomReplication.ApplyReplicaState\r\n" in request
    assert b"Credential=AKIDPEER/" in request and b"/eu-west-1/strongroom-replication/aws4_request" in request


def test_error_answers_keep_the_peers_type_and_message() -> None:
    async def answer(request: bytes) -> bytes:
        return response(400, b'{"__type": "AccessDeniedException", "Message": "' + b"m" * 5000 + b'"}')

    async def body(peer: Peer) -> None:
        failed = await failure(peer)
        assert failed.code == "AccessDeniedException" and failed.message == "m" * peer_client.MAX_MESSAGE

    asyncio.run(with_server(answer, body))


def test_an_answer_that_is_not_the_protocols_names_the_status() -> None:
    async def answer(request: bytes) -> bytes:
        return response(502, b"<html>bad gateway</html>", "text/html")

    async def body(peer: Peer) -> None:
        failed = await failure(peer)
        assert (failed.code, failed.message) == (None, "peer eu-west-1 unreachable: it answered HTTP 502")

    asyncio.run(with_server(answer, body))


def test_a_peer_that_does_not_answer_in_time_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peer_client, "CALL_TIMEOUT", 0.2)

    async def answer(request: bytes) -> None:
        return None

    async def body(peer: Peer) -> None:
        failed = await failure(peer)
        assert (failed.code, failed.message) == (None, "peer eu-west-1 unreachable: no answer in time")

    asyncio.run(with_server(answer, body))


def test_a_closed_port_is_unreachable() -> None:
    async def body() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        peer = Peer("eu-west-1", b"k" * 32, f"http://127.0.0.1:{port}", Credentials("AKIDPEER", "secret"))
        failed = await failure(peer)
        assert (failed.code, failed.message) == (None, "peer eu-west-1 unreachable: connection refused")

    asyncio.run(body())
