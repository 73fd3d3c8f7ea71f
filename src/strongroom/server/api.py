"""The AWS API endpoint: one request from bytes to an operation's answer, for every registered service.

Bounded header section -> the wire adapter (X-Amz-Target: JSON RPC; a form POST or a GET with
Action: query; otherwise a REST route) -> the body, bounded by the server's limit or the REST
operation's own -> the service and operation it routes to ->
authenticate (SigV4, scoped to the service's signing name) -> validate against the service's
model -> the caller's request context -> input refusals, resource-less authorization -> the
handler -> the answer in the adapter's protocol. Every response carries ``x-amzn-RequestId``;
every client error is answered in the protocol's AWS form; unexpected faults are logged (without
request parameters) and answered as InternalServiceError. A :class:`RequestRecord` of each
request goes to the observers after the response.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from strongroom import clock
from strongroom.errors import (
    ApiError,
    InternalServiceError,
    RequestEntityTooLargeException,
    RequestHeaderSectionTooLarge,
)
from strongroom.iam.authenticate import Authenticator
from strongroom.iam.authorizer import request_context_keys
from strongroom.iam.caller import Caller, CallerKind
from strongroom.iam.policy import ContextValue
from strongroom.protocol.adapter import Adapter, Unroutable
from strongroom.protocol.validation import parse_input
from strongroom.server.http import request_ids, respond
from strongroom.server.observers import Observer, RequestRecord
from strongroom.server.registry import Registry
from strongroom.service.context import Authorize, RequestContext, allow_all
from strongroom.service.dependencies import Services
from strongroom.service.descriptor import BodyLimit, ServiceDescriptor
from strongroom.sigv4 import HeaderLayout, Headers, header_layout

log = logging.getLogger("strongroom")

#: Largest header section accepted (names and values), in bytes: uvicorn's parser sets no limit,
#: and header values key several caches (docs/api.md, "Numbers, regions and sizes").
MAX_HEADER_BYTES = 16_384
HEADERS_TOO_LARGE = "Your request header section exceeds the maximum allowed size."
URL_TOO_LARGE = "Request URL is too large."
BODY_TOO_LARGE = "Request body is too large."
INTERNAL_ERROR = "An error occurred on the server side."


class ApiEndpoint:
    """The ASGI endpoint of the AWS API (raw ASGI: no framework on the hot path)."""

    def __init__(
        self, registry: Registry, services: Services, authenticator: Authenticator, max_body_bytes: int,
        observers: list[Observer] | None = None,
    ) -> None:
        self.registry = registry
        self.services = services
        self.authenticator = authenticator
        self.max_body_bytes = max_body_bytes
        self._default_limit = BodyLimit(max_body_bytes, BODY_TOO_LARGE)
        #: told about every request after its response (the lifespan adds the audit log)
        self.observers: list[Observer] = observers if observers is not None else []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = request_ids.next()
        adapter: Adapter = self.registry.json_rpc  # answers what fails before a protocol is known
        service: ServiceDescriptor | None = None
        action: str | None = None
        caller: Caller | None = None
        params: dict[str, Any] | None = None
        now: float | None = None
        error: ApiError | None = None
        try:
            headers = scope["headers"]
            check_request_head(headers, scope, self.max_body_bytes)
            layout = header_layout(headers)
            length, target, media_type = request_headers(headers, layout)
            adapter = self._adapter(scope, target, media_type)
            limit = self._default_limit
            if adapter is self.registry.rest_json:
                own = self.registry.rest_json.body_limit(scope)
                if own is not None:
                    service, limit = own
            body = await read_body(length, receive, limit.size, limit.message)
            route, payload = adapter.route(scope, body, target, media_type)
            service, operation = route
            action = operation.name
            caller = await self.authenticator.authenticate(
                scope["method"], scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b""),
                headers, body, service.signing_name, layout,
            )
            params = parse_input(service, action, adapter.params(route, payload))
            now = clock.now()
            authorize = self._authorizer(service, caller, scope, params) if caller.kind is CallerKind.API else allow_all
            ctx = RequestContext.of(caller, now, request_id, action, authorize)
            if service.check_input is not None:
                service.check_input(action, params)
            if operation.resourceless:
                authorize(action, "*", None)
            answer = adapter.answer(route, await operation.handler(self.services, ctx, params), request_id)
        except Unroutable as exc:
            service, error = exc.service, exc.error
            answer = adapter.error(service, error, request_id)
        except ApiError as exc:
            error = exc
            answer = adapter.error(service, error, request_id)
        except Exception:  # noqa: BLE001 - never a stack trace to the client
            log.exception("internal error (request %s)", request_id)
            error = InternalServiceError(INTERNAL_ERROR)
            answer = adapter.error(service, error, request_id)
        # Answer once every request that was ready in this event-loop iteration has been worked out:
        # the service code of those requests then runs back to back, and their responses are written
        # back to back (docs/architecture.md, "The GetSecretValue hot path"). A lone request waits
        # one more loop turn (an epoll_wait with a zero timeout).
        await asyncio.sleep(0)
        status, content_type, answer_body, extra_headers = answer
        await respond(send, status, answer_body, request_id, content_type, extra_headers)
        if self.observers:
            self._observe(scope, request_id, now, service, action, caller, params, status, error)

    def _adapter(self, scope: dict[str, Any], target: str | None, media_type: str | None) -> Adapter:
        registry = self.registry
        if target is not None:
            return registry.json_rpc
        if registry.query.accepts(scope["method"], media_type, scope.get("query_string", b"")):
            return registry.query
        return registry.rest_json

    def _authorizer(
        self, service: ServiceDescriptor, caller: Caller, scope: dict[str, Any], params: dict[str, Any]
    ) -> Authorize:
        """``authorize`` for an API caller: the service's IAM actions, the request's context keys built
        on first use (most decisions come from the cache without them)."""
        memo: list[Mapping[str, ContextValue]] = []

        def keys() -> Mapping[str, ContextValue]:
            if not memo:
                client = scope.get("client")
                found = request_context_keys(client[0] if client else None, scope.get("scheme") == "https")
                found.update(service.context_keys(params))
                memo.append(found)
            return memo[0]

        check = self.services.authorizer.check
        prefix, resource_keys = service.name, service.resource_keys
        principal, policies = caller.principal, caller.policies

        def authorize(action: str, resource: str, secret: Any, named: str | None = None) -> None:
            # An action of another service ("lambda:InvokeFunction" for RotateSecret) comes qualified.
            qualified = action if ":" in action else f"{prefix}:{action}"
            check(principal, policies, qualified, resource, secret, keys, named, resource_keys)

        return authorize

    def _observe(
        self, scope: dict[str, Any], request_id: str, now: float | None, service: ServiceDescriptor | None,
        action: str | None, caller: Caller | None, params: dict[str, Any] | None, status: int,
        error: ApiError | None,
    ) -> None:
        client = scope.get("client")
        record = RequestRecord(
            request_id, now, service.name if service is not None else None, action,
            caller.principal.arn if caller is not None else None,
            caller.principal.account if caller is not None else None,
            caller.region if caller is not None else None,
            caller.access_key_id if caller is not None else None,
            service.audit_subject(params) if service is not None and params is not None else None,
            client[0] if client else None, status, error.code if error is not None else None,
        )
        for observe in self.observers:
            observe(record)


async def read_body(content_length: int | None, receive: Any, limit: int, too_large: str = BODY_TOO_LARGE) -> bytes:
    """The request body, refused (413, ``too_large``) past ``limit`` bytes: by its Content-Length, or as it arrives."""
    if content_length is not None and content_length > limit:
        raise RequestEntityTooLargeException(too_large)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLargeException(too_large)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def check_request_head(headers: Headers, scope: dict[str, Any], max_url_bytes: int) -> None:
    """Refuse a header section over MAX_HEADER_BYTES, and a URL (path and query) over
    ``max_url_bytes`` (the body limit: query-protocol parameters come in either)."""
    if sum([len(name) + len(value) for name, value in headers]) > MAX_HEADER_BYTES:
        raise RequestHeaderSectionTooLarge(HEADERS_TOO_LARGE)
    if len(scope.get("raw_path") or b"") + len(scope.get("query_string", b"")) > max_url_bytes:
        raise RequestEntityTooLargeException(URL_TOO_LARGE)


_MAX_LENGTH_DIGITS = 18
_TOO_LONG = 10**_MAX_LENGTH_DIGITS


def request_headers(headers: Headers, layout: HeaderLayout) -> tuple[int | None, str | None, str | None]:
    """(Content-Length if a number, X-Amz-Target, media type of Content-Type).

    The media type is lower case without parameters. The first of a repeated header counts.
    """
    first = layout.first
    at = first.get(b"content-length")
    value = headers[at][1] if at is not None else b""
    # More digits than any body limit: too large, without converting a huge number.
    length = (int(value) if len(value) <= _MAX_LENGTH_DIGITS else _TOO_LONG) if value.isdigit() else None
    at = first.get(b"x-amz-target")
    target = headers[at][1].decode("latin-1") if at is not None else None
    at = first.get(b"content-type")
    return length, target, (_media_type(headers[at][1]) if at is not None else None)


@lru_cache(maxsize=64)  # clients send a handful of distinct Content-Type values
def _media_type(content_type: bytes) -> str:
    """The media type of a Content-Type value: lower case, without parameters."""
    return content_type.decode("latin-1").split(";")[0].strip().lower()
