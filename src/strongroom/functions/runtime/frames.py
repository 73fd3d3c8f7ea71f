"""The messages between the runtime and a worker, on their own socket pair (never stdout).

A message is a JSON header and a byte body: ``!II`` (header length, body length), the header, the
body. The worker reads with blocking calls (:func:`receive`, :func:`send`); the parent reads with
asyncio (:func:`read_message`) and never buffers more than ``max_body`` bytes of what a worker,
whose process runs untrusted code, sends: a larger body is read and thrown away
(:class:`BodyTooLarge`), so the channel stays in step and the worker can stay warm.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the worker imports this module and needs no asyncio
    import asyncio

PREFIX = struct.Struct("!II")
MAX_HEADER_BYTES = 64 * 1024
_DISCARD_CHUNK = 1 << 20


def end_marker(tag: str) -> bytes:
    """What a worker writes to its log pipe once its output for ``tag`` (a request id, or "init") is complete.

    The parent reads the log pipe and the socket separately; the marker tells it that everything the
    worker printed before answering has arrived, so each invocation's log is whole.
    """
    return b"\0strongroom-log-end " + tag.encode() + b"\0"


class FrameError(Exception):
    """The peer broke the protocol (bad lengths or header); the channel is no longer usable."""


class BodyTooLarge(Exception):
    """A well-formed message whose body was over the limit; it was consumed and discarded."""

    def __init__(self, header: dict[str, Any], size: int) -> None:
        super().__init__(f"message body of {size} bytes")
        self.header, self.size = header, size


def encode_head(header: dict[str, Any], body_size: int) -> bytes:
    """The prefix and header of a message whose body (``body_size`` bytes) follows."""
    head = json.dumps(header, separators=(",", ":")).encode()
    return PREFIX.pack(len(head), body_size) + head


def _decode_header(raw: bytes) -> dict[str, Any]:
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise FrameError("header is not JSON") from exc
    if not isinstance(header, dict):
        raise FrameError("header is not an object")
    return header


def send(sock: socket.socket, header: dict[str, Any], body: bytes = b"") -> None:
    sock.sendall(encode_head(header, len(body)))
    if body:
        sock.sendall(body)


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket) -> tuple[dict[str, Any], bytes] | None:
    """The next message, or None when the parent has closed the channel (the worker's cue to exit)."""
    prefix = _receive_exactly(sock, PREFIX.size)
    if prefix is None:
        return None
    head_size, body_size = PREFIX.unpack(prefix)
    head = _receive_exactly(sock, head_size)
    body = _receive_exactly(sock, body_size)
    if head is None or body is None:
        return None
    return _decode_header(head), body


async def read_message(reader: asyncio.StreamReader, max_body: int) -> tuple[dict[str, Any], bytes]:
    """The next message from a worker; IncompleteReadError when it closed the channel (it died)."""
    head_size, body_size = PREFIX.unpack(await reader.readexactly(PREFIX.size))
    if head_size > MAX_HEADER_BYTES:
        raise FrameError(f"header of {head_size} bytes")
    header = _decode_header(await reader.readexactly(head_size))
    if body_size <= max_body:
        return header, await reader.readexactly(body_size)
    left = body_size
    while left:
        left -= len(await reader.readexactly(min(left, _DISCARD_CHUNK)))
    raise BodyTooLarge(header, body_size)
