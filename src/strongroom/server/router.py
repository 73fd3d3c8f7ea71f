"""Which endpoint answers an HTTP request: a few paths of Strongroom's own, everything else the AWS API.

``/health`` (GET, HEAD) answers ``{"status": "ok"}`` without authentication; ``/metrics`` and
``/console`` will be such pages. Other methods on those paths, and every other path, go to the
AWS API endpoint (server/api.py), where a REST service's routes or the JSON and query protocols
take them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from strongroom.server.http import Endpoint, request_ids, respond

_HEALTH_BODY = orjson.dumps({"status": "ok"})
_JSON = b"application/json"


async def health(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The liveness check: 200 while the process serves requests."""
    await respond(send, 200, _HEALTH_BODY, request_ids.next(), _JSON)


class Router:
    """Maps (path, method) to a page of the server's own, falling back to the API endpoint."""

    def __init__(self, api: Endpoint, pages: Mapping[str, tuple[frozenset[str], Endpoint]] | None = None) -> None:
        self.api = api
        self._pages = dict(pages if pages is not None else {"/health": (frozenset({"GET", "HEAD"}), health)})

    def endpoint(self, scope: dict[str, Any]) -> Endpoint:
        """The endpoint of a request."""
        page = self._pages.get(scope["path"])
        if page is not None and scope["method"] in page[0]:
            return page[1]
        return self.api
