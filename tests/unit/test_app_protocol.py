"""The ASGI app driven directly (no network): lifespan, health, JSON 1.1 errors, faults, logging hygiene."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from strongroom.secrets.service import SERVICE as SECRETS_MANAGER
from strongroom.server.app import StrongroomApp
from strongroom.server.build import build_app
from strongroom.server.config import Config
from strongroom.server.registry import SERVICES, Registry
from strongroom.service.descriptor import Handler
from strongroom.sigv4 import Credentials, sign_headers

CREDS = Credentials("AKIAIOSFODNN7EXAMPLE", "dev")
REGION = "us-east-1"
SECRET_VALUE = "s3cr3t-Value-that-must-never-leak-7f1c"


class Response:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = {k.decode().lower(): v.decode() for k, v in headers}
        self.body = body

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def request_id(self) -> str:
        return self.headers["x-amzn-requestid"]


class Client:
    """Calls the app with hand-made ASGI scopes."""

    def __init__(self, app: StrongroomApp) -> None:
        self.app = app

    async def raw(self, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes],
                  query: bytes = b"") -> Response:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
            "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 7420),
        }
        pending = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
        ] or [{"type": "http.request", "body": b"", "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return pending.pop(0) if pending else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
        return Response(sent[0]["status"], sent[0]["headers"], sent[1]["body"])

    async def call(self, operation: str | None, body: bytes | dict[str, Any] = b"{}", *,
                   content_type: str = "application/x-amz-json-1.1", chunks: list[bytes] | None = None,
                   extra: dict[str, str] | None = None) -> Response:
        payload = orjson.dumps(body) if isinstance(body, dict) else body
        headers = {"host": "localhost:7420", "content-type": content_type, **(extra or {})}
        if operation is not None:
            headers["x-amz-target"] = f"secretsmanager.{operation}"
        headers.update(sign_headers("POST", "http://localhost:7420/", headers, payload, CREDS, REGION,
                                    "secretsmanager", time.time()))
        wire = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        wire.append((b"content-length", str(len(payload)).encode()))
        return await self.raw("POST", "/", wire, chunks if chunks is not None else [payload])


def with_handler(operation: str, handler: Handler) -> Registry:
    """The registry with one Secrets Manager operation's handler replaced."""
    replaced = dataclasses.replace(SECRETS_MANAGER.operations[operation], handler=handler)
    operations = {**SECRETS_MANAGER.operations, operation: replaced}
    secrets_manager = dataclasses.replace(SECRETS_MANAGER, operations=operations)
    return Registry.of([secrets_manager if s is SECRETS_MANAGER else s for s in SERVICES])


@contextlib.asynccontextmanager
async def running_app(tmp_path: Path, registry: Registry | None = None, **config: Any) -> AsyncIterator[Client]:
    """The app of a dev-mode config (plus ``config``) in ``tmp_path``, between its lifespan's startup and shutdown."""
    app = build_app(Config(dev=True, data_dir=tmp_path / "data", **config), registry)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan = asyncio.create_task(app({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        yield Client(app)
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await lifespan


def with_app(tmp_path: Path, body: Callable[[Client], Awaitable[None]], registry: Registry | None = None,
             **config: Any) -> None:
    """Build the app, run its lifespan startup, run ``body``, then shut it down."""

    async def main() -> None:
        async with running_app(tmp_path, registry, **config) as client:
            await body(client)

    asyncio.run(main())


def assert_error(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, (response.status, response.body)
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert int(response.headers["content-length"]) == len(response.body)
    uuid.UUID(response.request_id)
    body = response.json()
    assert body["__type"] == code, body
    return body


# --- health and request ids --------------------------------------------------------------------
def test_health_and_request_ids(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        seen = set()
        for method in ("GET", "HEAD"):
            response = await client.raw(method, "/health", [(b"host", b"localhost")], [])
            assert response.status == 200 and response.json() == {"status": "ok"}
            seen.add(response.request_id)
        ok = await client.call("ListSecrets", {})
        assert ok.status == 200 and ok.json() == {"SecretList": []}
        seen.add(ok.request_id)
        bad = await client.call("Nope")
        seen.add(bad.request_id)
        for rid in seen:
            uuid.UUID(rid)
        assert len(seen) == 4  # a fresh id per response

    with_app(tmp_path, body)


def test_health_needs_no_signature_but_the_api_does(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        response = await client.raw(
            "POST", "/", [(b"host", b"localhost"), (b"content-type", b"application/x-amz-json-1.1"),
                          (b"x-amz-target", b"secretsmanager.ListSecrets")], [b"{}"],
        )
        assert_error(response, 403, "MissingAuthenticationTokenException")

    with_app(tmp_path, body)


# --- protocol errors -------------------------------------------------------------------------
def test_unknown_operation(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        for target in ("Nope", "getSecretValue", ""):
            assert_error(await client.call(target), 400, "UnknownOperationException")
        assert_error(await client.call(None), 400, "UnknownOperationException")  # no X-Amz-Target
        response = await client.call(None, extra={"x-amz-target": "kms.Encrypt"})
        assert_error(response, 400, "UnknownOperationException")

    with_app(tmp_path, body)


def test_wrong_content_type(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        for content_type in ("text/plain", "application/xml", "application/octet-stream"):
            response = await client.call("ListSecrets", content_type=content_type)
            message = assert_error(response, 400, "SerializationException")["Message"]
            assert content_type in message
        accepted = ("application/x-amz-json-1.1", "application/json", "application/x-amz-json-1.1; charset=utf-8")
        for content_type in accepted:
            assert (await client.call("ListSecrets", content_type=content_type)).status == 200

    with_app(tmp_path, body)


@pytest.mark.parametrize("payload", [b"{", b"not json", b'{"Name": }', b"\xff\xfe", b'{"a": 1} trailing'])
def test_malformed_json_is_a_serialization_error(tmp_path: Path, payload: bytes) -> None:
    async def body(client: Client) -> None:
        assert_error(await client.call("CreateSecret", payload), 400, "SerializationException")

    with_app(tmp_path, body)


def test_json_of_the_wrong_shape(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        for payload in (b"[]", b'"text"', b"123", orjson.dumps({"Name": 5}), orjson.dumps({"Name": ["x"]})):
            assert_error(await client.call("CreateSecret", payload), 400, "SerializationException")
        for payload in (b"", b"null"):  # an empty body is an empty request, as on AWS
            assert (await client.call("ListSecrets", payload)).status == 200

    with_app(tmp_path, body)


def test_body_over_the_limit_is_413(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        big = orjson.dumps({"Name": "x", "SecretString": "a" * 3000})
        # announced by Content-Length: refused before the body is read
        refused = await client.call("CreateSecret", big, chunks=[])
        assert_error(refused, 413, "RequestEntityTooLargeException")
        assert_error(await client.call("CreateSecret", big), 413, "RequestEntityTooLargeException")
        # streamed without a Content-Length: counted while reading
        headers = [(b"host", b"localhost"), (b"content-type", b"application/x-amz-json-1.1"),
                   (b"x-amz-target", b"secretsmanager.CreateSecret")]
        response = await client.raw("POST", "/", headers, [big[:1000], big[1000:2000], big[2000:]])
        assert_error(response, 413, "RequestEntityTooLargeException")
        # a Content-Length of more digits than Python converts to int (4,300) is too large, not a 500
        for digits in (19, 5000):
            announced = [*headers, (b"content-length", b"9" * digits)]
            assert_error(await client.raw("POST", "/", announced, []), 413, "RequestEntityTooLargeException")
        # at the limit is fine
        small = orjson.dumps({"Name": "fits", "SecretString": "b", "ClientRequestToken": str(uuid.uuid4())})
        padded = small + b" " * (2048 - len(small))
        assert (await client.call("CreateSecret", padded, extra={"x-client": "1"})).status == 200

    with_app(tmp_path, body, max_body_bytes=2048)


# --- faults and logging hygiene ------------------------------------------------------------------
def test_handler_fault_is_a_clean_500(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:
    async def explode(services: Any, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("handler exploded")

    caplog.set_level(logging.DEBUG)

    async def body(client: Client) -> None:
        response = await client.call("PutSecretValue", {
            "SecretId": "fault/secret-name", "SecretString": SECRET_VALUE,
            "ClientRequestToken": "11111111-2222-3333-4444-555555555555",
        })
        error = assert_error(response, 500, "InternalServiceError")
        assert set(error) == {"__type", "Message"}
        text = response.body.decode()
        for leaked in ("Traceback", "RuntimeError", "handler exploded", SECRET_VALUE, "fault/secret-name",
                       "11111111-2222-3333-4444-555555555555", "File "):
            assert leaked not in text
        # the fault is logged with the request id, for the operator
        faults = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert faults and any(response.request_id in r.getMessage() for r in faults)

    with_app(tmp_path, body, with_handler("PutSecretValue", explode))
    assert_no_secret_in_logs(caplog)


def assert_no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    handler_text = caplog.text
    assert SECRET_VALUE not in handler_text
    for record in caplog.records:
        rendered = [record.getMessage(), str(record.args), str(record.__dict__)]
        if record.exc_info:
            rendered.append(logging.Formatter().formatException(record.exc_info))
        for text in rendered:
            assert SECRET_VALUE not in text, record


def test_no_secret_value_in_logs_or_errors_on_normal_paths(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    binary = SECRET_VALUE.encode()

    async def body(client: Client) -> None:
        token = str(uuid.uuid4())
        created = await client.call("CreateSecret", {"Name": "logged", "SecretString": SECRET_VALUE,
                                                     "ClientRequestToken": token})
        assert created.status == 200 and SECRET_VALUE not in created.body.decode()
        got = await client.call("GetSecretValue", {"SecretId": "logged"})
        assert got.status == 200 and got.json()["SecretString"] == SECRET_VALUE
        # a retry with another value: an error that must not echo either value
        clash = await client.call("PutSecretValue", {"SecretId": "logged", "SecretString": SECRET_VALUE + "x",
                                                     "ClientRequestToken": token})
        assert_error(clash, 400, "ResourceExistsException")
        assert SECRET_VALUE not in clash.body.decode()
        # a value failing validation (too long): the message names the member, not the value
        too_long = await client.call("PutSecretValue", {"SecretId": "logged", "SecretString": SECRET_VALUE * 2000,
                                                        "ClientRequestToken": str(uuid.uuid4())})
        assert too_long.status == 400 and SECRET_VALUE not in too_long.body.decode()
        # both values at once
        both = await client.call("PutSecretValue", {
            "SecretId": "logged", "SecretString": SECRET_VALUE, "SecretBinary": binary.hex(),
            "ClientRequestToken": str(uuid.uuid4()),
        })
        assert both.status == 400 and SECRET_VALUE not in both.body.decode()
        # an unknown secret
        missing = await client.call("PutSecretValue", {"SecretId": "ghost", "SecretString": SECRET_VALUE,
                                                       "ClientRequestToken": str(uuid.uuid4())})
        assert_error(missing, 400, "ResourceNotFoundException")
        assert SECRET_VALUE not in missing.body.decode()

    with_app(tmp_path, body)
    assert_no_secret_in_logs(caplog)
    db = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("strongroom.db*"))
    assert SECRET_VALUE.encode() not in db  # the store never sees plaintext


def test_lifespan_startup_migrates_and_shutdown_closes(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        created = await client.call("CreateSecret", {"Name": "persisted", "SecretString": "v",
                                                     "ClientRequestToken": str(uuid.uuid4())})
        assert created.status == 200

    with_app(tmp_path, body)

    async def again(client: Client) -> None:  # a restart on the same data dir keeps the secret
        response = await client.call("GetSecretValue", {"SecretId": "persisted"})
        assert response.status == 200 and response.json()["SecretString"] == "v"

    with_app(tmp_path, again)


def test_ready_requests_are_worked_out_before_any_is_answered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests ready in the same event-loop iteration: every handler runs, then every response is sent."""
    events: list[str] = []
    real = SECRETS_MANAGER.operations["GetRandomPassword"].handler

    async def recording(services: Any, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        events.append(f"handled {params['PasswordLength']}")
        return await real(services, ctx, params)


    class Recording(Client):
        async def raw(self, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes],
                      query: bytes = b"") -> Response:
            length = orjson.loads(chunks[0])["PasswordLength"]
            response = await super().raw(method, path, headers, chunks, query)
            events.append(f"answered {length}")
            return response

    async def body(client: Client) -> None:
        recorder = Recording(client.app)
        responses = await asyncio.gather(
            *(recorder.call("GetRandomPassword", {"PasswordLength": n}) for n in (10, 11, 12))
        )
        assert [len(r.json()["RandomPassword"]) for r in responses] == [10, 11, 12]
        assert events == ["handled 10", "handled 11", "handled 12", "answered 10", "answered 11", "answered 12"]
        events.clear()
        # a request alone is answered as before
        alone = await recorder.call("GetRandomPassword", {"PasswordLength": 13})
        assert len(alone.json()["RandomPassword"]) == 13
        assert events == ["handled 13", "answered 13"]

    with_app(tmp_path, body, with_handler("GetRandomPassword", recording))
