"""The ASGI application: HTTP requests to the router's endpoint, lifespan events to the lifespan."""

from __future__ import annotations

from typing import Any

from strongroom.server.api import ApiEndpoint
from strongroom.server.lifespan import Lifespan
from strongroom.server.router import Router


class StrongroomApp:
    """A raw ASGI app (no framework on the hot path)."""

    def __init__(self, api: ApiEndpoint, lifespan: Lifespan, router: Router | None = None) -> None:
        self.api = api
        self.lifespan = lifespan
        self.router = router if router is not None else Router(api)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.router.endpoint(scope)(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)
