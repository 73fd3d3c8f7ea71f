"""The ASGI application: the request path of DESIGN.md, end to end.

HTTP -> protocol (JSON 1.1 or query) -> authenticate -> validate against the model -> operation ->
response. Every response carries ``x-amzn-RequestId``; every client error is AWS-shaped; unexpected
faults are logged (without request parameters) and answered as InternalServiceError.

Protocols on the one endpoint:

* JSON 1.1: ``POST /`` with ``X-Amz-Target: secretsmanager.<Op>``;
* query: ``GET /?Action=<Op>&Version=2017-10-17&...`` or a form ``POST /``
  (:mod:`strongroom.protocol.query`), answered with the same JSON as JSON 1.1;
* STS GetCallerIdentity and GetSessionToken, query (XML answer) or JSON 1.0
  (:mod:`strongroom.protocol.sts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

from strongroom import clock
from strongroom.audit.log import AuditLog
from strongroom.errors import (
    AccessDeniedException,
    ApiError,
    InternalServiceError,
    RequestEntityTooLargeException,
    RequestHeaderSectionTooLarge,
    SerializationException,
    UnknownOperationException,
)
from strongroom.iam.authenticate import Authenticator
from strongroom.iam.authorizer import Authorizer, request_context_keys
from strongroom.iam.caller import Caller
from strongroom.iam.identities import ADMIN_PROFILE, Identities
from strongroom.iam.policy import ContextValue
from strongroom.jobs import JobRuntime
from strongroom.kms.key_check import record_key_check
from strongroom.kms.master_key import MasterKey
from strongroom.protocol import json11, query, sts
from strongroom.protocol.dispatch import OPERATIONS, RESOURCELESS
from strongroom.protocol.validation import parse_input
from strongroom.secrets.unsupported import refuse_unsupported
from strongroom.server.background import background_jobs
from strongroom.server.config import Config
from strongroom.service.context import Authorize, CallerKind, RequestContext, allow_all
from strongroom.service.dependencies import Services
from strongroom.sigv4 import HeaderLayout, Headers, header_layout

log = logging.getLogger("strongroom")
#: Where the request path leaves what the audit record names (caller, action, secret).
AUDIT_FACTS = "strongroom.audit"

_HEALTH_BODY = orjson.dumps({"status": "ok"})

# Wire protocols of a request (they decide how its errors are written).
_JSON, _QUERY, _STS_QUERY, _STS_JSON = "json", "query", "sts-query", "sts-json"


class RequestIds:
    """UUID-shaped request ids: a random per-process prefix plus a counter (cheaper than uuid4)."""

    def __init__(self) -> None:
        self._prefix = str(uuid.uuid4())[:24]
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


_request_ids = RequestIds()


class StrongroomApp:
    """A raw ASGI app (no framework on the hot path)."""

    def __init__(
        self, config: Config, services: Services, authenticator: Authenticator, identities: Identities,
        authorizer: Authorizer, master: MasterKey,
    ) -> None:
        self.config = config
        self.master = master
        self.services = services
        self.authenticator = authenticator
        self.identities = identities
        self.authorizer = authorizer
        self._tasks: list[asyncio.Task[None]] = []
        self.audit: AuditLog | None = None
        self.jobs: JobRuntime | None = None

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
                    await record_key_check(self.services.store, self.master, self.config)  # before any write
                    if self.config.audit:
                        self.audit = AuditLog(self.config.data_dir / "audit")
                        self._tasks.append(asyncio.create_task(self.audit.run()))
                    if not self.config.dev:
                        await self._bootstrap_admin()
                    self.jobs = background_jobs(self.services, self.config)
                    await self.jobs.start()
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                _settle_heap()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.jobs is not None:
                    await self.jobs.stop()
                for task in self._tasks:
                    task.cancel()
                for task in self._tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await self.services.store.close()
                if self.audit is not None:
                    self.audit.close()
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

    # --- HTTP ----------------------------------------------------------------------------
    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = _request_ids.next()
        method, path = scope["method"], scope["path"]
        if path == "/health" and method in ("GET", "HEAD"):
            await _respond(send, 200, _HEALTH_BODY, request_id)
            return
        protocol = _JSON
        extra: Headers = []
        content_type = json11.CONTENT_TYPE
        facts: dict[str, Any] = {}
        scope[AUDIT_FACTS] = facts
        error_code = None
        try:
            headers = scope["headers"]
            _check_request_head(headers, scope, self.config.max_body_bytes)
            layout = header_layout(headers)
            length, target, media_type = _request_headers(headers, layout)
            body = await self._read_body(length, receive)
            protocol, envelope = _protocol_of(scope, body, target, media_type)
            if protocol in (_STS_QUERY, _STS_JSON):
                content_type, payload = await self._sts(scope, body, layout, protocol, envelope, target, request_id)
            elif envelope is not None:
                payload = json11.encode_result(await self._query(scope, body, layout, envelope, request_id))
            else:
                payload = json11.encode_result(
                    await self._api(scope, body, layout, request_id, target, media_type)
                )
            status = 200
        except ApiError as error:
            error_code = error.code
            status, content_type, payload, extra = _error_response(protocol, error, request_id)
        except Exception:  # noqa: BLE001 - never a stack trace to the client
            log.exception("internal error (request %s)", request_id)
            fault = InternalServiceError("An error occurred on the server side.")
            error_code = fault.code
            status, content_type, payload, extra = _error_response(protocol, fault, request_id)
        # Answer once every request that was ready in this event-loop iteration has been worked out:
        # the service code of those requests then runs back to back, and their responses are written
        # back to back. Writing in between (two system calls per response through the TCP stack)
        # evicted the service code's working set from the CPU caches before each next request
        # (docs/benchmarks.md, "Session 6: answering in batches"). A lone request waits one more
        # loop turn (an epoll_wait with a zero timeout).
        await asyncio.sleep(0)
        await _respond(send, status, payload, request_id, content_type, extra)
        if self.audit is not None:
            client = scope.get("client")
            facts["request_id"] = request_id
            facts["source_ip"] = client[0] if client else None
            facts["status"] = status
            if error_code is not None:
                facts["error"] = error_code
            self.audit.record(facts)

    async def _read_body(self, content_length: int | None, receive: Any) -> bytes:
        limit = self.config.max_body_bytes
        if content_length is not None and content_length > limit:
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

    async def _api(
        self, scope: dict[str, Any], body: bytes, layout: HeaderLayout, request_id: str, target: str | None,
        content_type: str | None,
    ) -> dict[str, Any]:
        if scope["method"] != "POST" or target is None or not target.startswith(json11.TARGET_PREFIX):
            raise UnknownOperationException("")
        operation = target[len(json11.TARGET_PREFIX) :]
        if operation not in OPERATIONS:
            raise UnknownOperationException("")
        if content_type not in json11.ACCEPTED_CONTENT_TYPES:
            raise SerializationException(f"Unsupported content type: {content_type}")
        caller = await self._authenticate(scope, body, layout, "secretsmanager")
        params = parse_input(operation, json11.decode_body(body))
        return await self._run(operation, caller, scope, params, request_id)

    async def _query(
        self, scope: dict[str, Any], body: bytes, layout: HeaderLayout, envelope: query.QueryRequest,
        request_id: str,
    ) -> dict[str, Any]:
        """The query protocol: same operations, parameters decoded from flattened pairs."""
        operation = query.operation_for(envelope.action, envelope.version, OPERATIONS.keys())
        caller = await self._authenticate(scope, body, layout, "secretsmanager")
        params = parse_input(operation, query.decode_params(operation, envelope.params))
        return await self._run(operation, caller, scope, params, request_id)

    async def _sts(
        self, scope: dict[str, Any], body: bytes, layout: HeaderLayout, protocol: str,
        envelope: query.QueryRequest | None, target: str | None, request_id: str,
    ) -> tuple[bytes, bytes]:
        """STS GetCallerIdentity and GetSessionToken (no permission needed, as on AWS).

        Returns (content type, payload).
        """
        if protocol == _STS_QUERY:
            assert envelope is not None
            if not envelope.action:
                raise query.MissingAction(query.MISSING_ACTION_MESSAGE)
            if envelope.action not in sts.STS_ACTIONS or envelope.version != sts.STS_VERSION:
                raise query.invalid_action(envelope.action, envelope.version)
            action = envelope.action
        else:
            action = target[len(sts.JSON_TARGET_PREFIX) :] if target is not None else ""
            if action not in sts.STS_ACTIONS:
                raise UnknownOperationException("")
        caller = await self._authenticate(scope, body, layout, "sts")
        scope[AUDIT_FACTS].update(
            action=f"sts:{action}", principal=caller.principal.arn,
            account=caller.account, access_key_id=caller.access_key_id,
        )
        if action == "GetSessionToken":
            if caller.temporary:
                raise AccessDeniedException(sts.SESSION_CREDENTIALS_REFUSED)
            params = dict(envelope.params) if envelope is not None else sts.json_params(body)
            duration = sts.session_token_input(params)
            creds = await self.identities.create_session(
                caller.account, caller.principal.username, duration, parent_key_id=caller.access_key_id
            )
            if protocol == _STS_QUERY:
                return sts.XML_CONTENT_TYPE, sts.session_xml(creds, request_id)
            return sts.JSON_CONTENT_TYPE, sts.session_json(creds)
        if protocol == _STS_QUERY:
            return sts.XML_CONTENT_TYPE, sts.identity_xml(caller.principal, request_id)
        return sts.JSON_CONTENT_TYPE, sts.identity_json(caller.principal)

    async def _authenticate(self, scope: dict[str, Any], body: bytes, layout: HeaderLayout, service: str) -> Caller:
        return await self.authenticator.authenticate(
            scope["method"], scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b""),
            scope["headers"], body, service, layout,
        )

    async def _run(
        self, operation: str, caller: Caller, scope: dict[str, Any], params: dict[str, Any], request_id: str
    ) -> dict[str, Any]:
        principal_arn, account = caller.principal.arn, caller.principal.account
        facts = scope[AUDIT_FACTS]
        facts["action"] = f"secretsmanager:{operation}"
        facts["principal"] = principal_arn
        facts["account"] = account
        facts["region"] = caller.region
        facts["access_key_id"] = caller.access_key_id
        facts["secret_id"] = params.get("SecretId") or params.get("Name")
        authorize = self._authorizer_for(caller, scope, params) if caller.kind is CallerKind.API else allow_all
        facts["time"] = now = clock.now()
        ctx = RequestContext(account, caller.region, principal_arn, now, request_id, operation, authorize, caller)
        refuse_unsupported(operation, params)
        if operation in RESOURCELESS:
            authorize(operation, "*", None)
        return await OPERATIONS[operation](self.services, ctx, params)

    def _authorizer_for(self, caller: Caller, scope: dict[str, Any], params: dict[str, Any]) -> Authorize:
        memo: list[Mapping[str, ContextValue]] = []

        def keys() -> Mapping[str, ContextValue]:
            if not memo:
                client = scope.get("client")
                memo.append(request_context_keys(params, client[0] if client else None, scope.get("scheme") == "https"))
            return memo[0]

        check = self.authorizer.check

        def authorize(action: str, resource: str, secret: Any, named: str | None = None) -> None:
            check(caller.principal, caller.policies, f"secretsmanager:{action}", resource, secret, keys, named)

        return authorize


#: Allocations (net of frees) between young-generation collections (CPython's default: 700).
GC_GEN0_THRESHOLD = 20_000


def _settle_heap() -> None:
    """After start-up: move what exists now out of the cyclic GC's sight and collect less often.

    Requests free almost everything they allocate by reference counting; what survives them lives
    long (caches, whose rows hold no reference cycles). Freezing the start-up heap, a larger
    first-generation threshold and rare full collections keep the collector from rescanning them:
    GC was about 6% of a GetSecretValue's CPU time, and a full collection over 10,000 cached
    reads takes about 20 ms, a latency spike for every request waiting meanwhile.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 50, 100)


#: Largest header section accepted (names and values), in bytes: uvicorn's parser sets no limit,
#: and header values key several caches. Twice S3's 8 KiB (AWS publishes no figure for Secrets
#: Manager); the same as uvicorn's limit with its h11 parser. A larger section is S3's error for
#: it, RequestHeaderSectionTooLarge (versity/versitygw#2180 quotes S3's answer).
MAX_HEADER_BYTES = 16_384
HEADERS_TOO_LARGE = "Your request header section exceeds the maximum allowed size."
URL_TOO_LARGE = "Request URL is too large."


def _check_request_head(headers: Headers, scope: dict[str, Any], max_url_bytes: int) -> None:
    """Refuse a header section over MAX_HEADER_BYTES, and a URL (path and query) over
    ``max_url_bytes`` (the body limit: query-protocol parameters come in either)."""
    if sum([len(name) + len(value) for name, value in headers]) > MAX_HEADER_BYTES:
        raise RequestHeaderSectionTooLarge(HEADERS_TOO_LARGE)
    if len(scope.get("raw_path") or b"") + len(scope.get("query_string", b"")) > max_url_bytes:
        raise RequestEntityTooLargeException(URL_TOO_LARGE)


_MAX_LENGTH_DIGITS = 18
_TOO_LONG = 10**_MAX_LENGTH_DIGITS


def _request_headers(headers: Headers, layout: HeaderLayout) -> tuple[int | None, str | None, str | None]:
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


def _protocol_of(
    scope: dict[str, Any], body: bytes, target: str | None, content_type: str | None
) -> tuple[str, query.QueryRequest | None]:
    """Which wire protocol a request speaks, with the envelope of a query request."""
    if target is not None:
        return (_STS_JSON if target.startswith(sts.JSON_TARGET_PREFIX) else _JSON), None
    method, raw_query = scope["method"], scope.get("query_string", b"")
    if not query.is_query_request(method, content_type, raw_query):
        return _JSON, None
    envelope = query.parse_query_request(method, raw_query, body)
    return (_STS_QUERY if sts.is_sts_query(envelope.action, envelope.version) else _QUERY), envelope


def _error_response(protocol: str, error: ApiError, request_id: str) -> tuple[int, bytes, bytes, Headers]:
    """(status, content type, body, extra headers) of an error in the request's protocol."""
    if protocol == _STS_QUERY:
        status, payload = sts.error_xml(error, request_id)
        return status, sts.XML_CONTENT_TYPE, payload, []
    if protocol == _STS_JSON:
        status, payload, query_error = sts.error_json(error)
        return status, sts.JSON_CONTENT_TYPE, payload, [(b"x-amzn-query-error", query_error)]
    return error.status, json11.CONTENT_TYPE, json11.encode_error(error), []


async def _respond(
    send: Any, status: int, payload: bytes, request_id: str, content_type: bytes = json11.CONTENT_TYPE,
    extra: Headers | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(payload)).encode()),
                (b"x-amzn-requestid", request_id.encode()),
                *(extra or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
