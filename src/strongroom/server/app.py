"""The ASGI application: the request path of DESIGN.md, end to end.

HTTP -> protocol (JSON 1.1) -> authenticate -> validate against the model -> operation -> response.
Every response carries ``x-amzn-RequestId``; every client error is AWS-shaped; unexpected faults
are logged (without request parameters) and answered as InternalServiceError.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import orjson

from strongroom.auth.authorizer import Authorizer, request_context_keys
from strongroom.auth.identities import ADMIN_PROFILE, Identities
from strongroom.errors import (
    ApiError,
    InternalServiceError,
    RequestEntityTooLargeException,
    SerializationException,
    UnknownOperationException,
)
from strongroom.protocol import json11
from strongroom.protocol.dispatch import OPERATIONS, RESOURCELESS
from strongroom.protocol.validation import parse_input
from strongroom.secrets.context import Authorize, RequestContext, allow_all
from strongroom.secrets.core import Services
from strongroom.secrets.deletion import purge_due
from strongroom.server.auth import Authenticator, Caller
from strongroom.server.config import Config

log = logging.getLogger("strongroom")

_JSON_HEADERS = [(b"content-type", json11.CONTENT_TYPE)]
_HEALTH_BODY = orjson.dumps({"status": "ok"})


class StrongroomApp:
    """A raw ASGI app (no framework on the hot path)."""

    def __init__(
        self, config: Config, services: Services, authenticator: Authenticator, identities: Identities,
        authorizer: Authorizer,
    ) -> None:
        self.config = config
        self.services = services
        self.authenticator = authenticator
        self.identities = identities
        self.authorizer = authorizer
        self._tasks: list[asyncio.Task[None]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    # --- lifespan ------------------------------------------------------------------------
    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.services.store.migrate()
                    if not self.config.dev:
                        await self._bootstrap_admin()
                    self._tasks.append(asyncio.create_task(self._purge_loop()))
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in self._tasks:
                    task.cancel()
                for task in self._tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await self.services.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _bootstrap_admin(self) -> None:
        path = await self.identities.bootstrap_admin(self.config.account_id, self.config.data_dir)
        if path is not None:
            print(
                f"First start: administrator credentials written to {path} (mode 0600), profile "
                f"[{ADMIN_PROFILE}].\n  Use them with: AWS_SHARED_CREDENTIALS_FILE={path} "
                f"AWS_PROFILE={ADMIN_PROFILE} aws --endpoint-url ... secretsmanager list-secrets",
                flush=True,
            )

    async def _purge_loop(self) -> None:
        import time

        while True:
            try:
                purged = await purge_due(self.services, time.time())
                if purged:
                    log.info("purged %d secret(s) past their recovery window", purged)
            except Exception:  # noqa: BLE001 - a background task must survive a bad round
                log.exception("purge round failed")
            await asyncio.sleep(self.config.purge_interval)

    # --- HTTP ----------------------------------------------------------------------------
    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = str(uuid.uuid4())
        method, path = scope["method"], scope["path"]
        if path == "/health" and method in ("GET", "HEAD"):
            await _respond(send, 200, _HEALTH_BODY, request_id)
            return
        try:
            body = await self._read_body(scope, receive)
            result = await self._api(scope, body, request_id)
            status, payload = 200, json11.encode_result(result)
        except ApiError as error:
            status, payload = error.status, json11.encode_error(error)
        except Exception:  # noqa: BLE001 - never a stack trace to the client
            log.exception("internal error (request %s)", request_id)
            error = InternalServiceError("An error occurred on the server side.")
            status, payload = error.status, json11.encode_error(error)
        await _respond(send, status, payload, request_id)

    async def _read_body(self, scope: dict[str, Any], receive: Any) -> bytes:
        limit = self.config.max_body_bytes
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise RequestEntityTooLargeException("Request body is too large.")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RequestEntityTooLargeException("Request body is too large.")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def _api(self, scope: dict[str, Any], body: bytes, request_id: str) -> dict[str, Any]:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        target = content_type = None
        for name, value in headers:
            if name == b"x-amz-target":
                target = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1").split(";")[0].strip().lower()
        if scope["method"] != "POST" or target is None or not target.startswith(json11.TARGET_PREFIX):
            raise UnknownOperationException("")
        operation = target[len(json11.TARGET_PREFIX) :]
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise UnknownOperationException("")
        if content_type not in json11.ACCEPTED_CONTENT_TYPES:
            raise SerializationException(f"Unsupported content type: {content_type}")
        caller = await self.authenticator.authenticate(
            scope["method"], scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b""),
            headers, body, "secretsmanager",
        )
        params = parse_input(operation, json11.decode_body(body))
        authorize = allow_all if caller.unrestricted else self._authorizer_for(caller, scope, params)
        ctx = RequestContext(
            account=caller.account, region=caller.region, principal_arn=caller.principal.arn,
            request_id=request_id, action=operation, authorize=authorize,
        )
        if operation in RESOURCELESS:
            authorize(operation, "*", None)
        return await handler(self.services, ctx, params)

    def _authorizer_for(self, caller: Caller, scope: dict[str, Any], params: dict[str, Any]) -> Authorize:
        client = scope.get("client")
        keys = request_context_keys(params, client[0] if client else None, scope.get("scheme") == "https")
        check = self.authorizer.check

        def authorize(action: str, resource: str, secret: Any) -> None:
            check(caller.principal, caller.policies, f"secretsmanager:{action}", resource, secret, keys)

        return authorize


async def _respond(send: Any, status: int, payload: bytes, request_id: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *_JSON_HEADERS,
                (b"content-length", str(len(payload)).encode()),
                (b"x-amzn-requestid", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
