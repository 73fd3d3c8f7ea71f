"""What every HTTP endpoint of the server shares: request ids and writing a response."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

#: An ASGI HTTP endpoint: (scope, receive, send).
Endpoint = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class RequestIds:
    """UUID-shaped request ids: a random per-process prefix plus a counter (cheaper than uuid4)."""

    def __init__(self) -> None:
        self._prefix = str(uuid.uuid4())[:24]
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


#: The process's request ids (every response carries one as x-amzn-RequestId).
request_ids = RequestIds()


async def respond(
    send: Send, status: int, body: bytes, request_id: str, content_type: bytes, extra: Any = (),
) -> None:
    """Send a whole response with Content-Type, Content-Length, x-amzn-RequestId and ``extra`` headers."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"x-amzn-requestid", request_id.encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
