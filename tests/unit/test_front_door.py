"""The front door: the router, the registry's tables, and the RequestRecord each request leaves for observers."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest
from test_app_protocol import CREDS, REGION, Client, with_app

from strongroom.audit.log import AuditLog, audit_files
from strongroom.secrets.service import SERVICE as SECRETS_MANAGER
from strongroom.server.observers import RequestRecord, audit_observer
from strongroom.server.registry import SERVICES, Registry
from strongroom.server.router import Router, health
from strongroom.sigv4 import sign_headers
from strongroom.sts.service import SERVICE as STS

ACCOUNT = "123456789012"


def records_of(client: Client) -> list[RequestRecord]:
    seen: list[RequestRecord] = []
    client.app.api.observers.append(seen.append)
    return seen


def test_every_request_leaves_one_record(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        seen = records_of(client)
        assert (await client.call("ListSecrets", {})).status == 200
        ok = seen[-1]
        assert ok.request_id and ok.time is not None and ok.source_ip == "127.0.0.1"
        assert (ok.service, ok.action, ok.principal, ok.account, ok.region, ok.access_key_id) == (
            "secretsmanager", "ListSecrets", f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, REGION, CREDS.access_key_id,
        )  # fmt: skip
        assert (ok.subject, ok.status, ok.error) == (None, 200, None)

        await client.call("GetSecretValue", {"SecretId": "nope"})
        missing = seen[-1]
        assert (missing.action, missing.subject, missing.status, missing.error) == (
            "GetSecretValue", "nope", 400, "ResourceNotFoundException",
        )  # fmt: skip

        await client.call("Nope")  # the service is known by its target prefix, the operation is not
        unknown = seen[-1]
        assert (unknown.service, unknown.action, unknown.principal, unknown.time) == (
            "secretsmanager", None, None, None,
        )  # fmt: skip
        assert (unknown.status, unknown.error) == (400, "UnknownOperationException")
        await client.call(None, extra={"x-amz-target": "kms.Encrypt"})  # no service either
        assert (seen[-1].service, seen[-1].error) == (None, "UnknownOperationException")

        unsigned = [(b"host", b"localhost"), (b"content-type", b"application/x-amz-json-1.1"),
                    (b"x-amz-target", b"secretsmanager.ListSecrets")]  # fmt: skip
        await client.raw("POST", "/", unsigned, [b"{}"])  # routed, but not authenticated
        refused = seen[-1]
        assert (refused.service, refused.action, refused.principal) == ("secretsmanager", "ListSecrets", None)
        assert refused.error == "MissingAuthenticationTokenException"

        form = {"host": "localhost:7420", "content-type": "application/x-www-form-urlencoded"}
        payload = b"Action=GetCallerIdentity&Version=2011-06-15"
        form.update(sign_headers("POST", "http://localhost:7420/", form, payload, CREDS, REGION, "sts", time.time()))
        answer = await client.raw("POST", "/", [(k.lower().encode(), v.encode()) for k, v in form.items()], [payload])
        assert answer.status == 200, answer.body
        sts = seen[-1]
        assert (sts.service, sts.action, sts.status, sts.principal) == (
            "sts", "GetCallerIdentity", 200, f"arn:aws:iam::{ACCOUNT}:root",
        )  # fmt: skip
        assert len(seen) == 6

    with_app(tmp_path, body)


def test_the_audit_observer_writes_the_trails_keys(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit")
    observe = audit_observer(log)
    observe(RequestRecord("r1", 1.5, "secretsmanager", "GetSecretValue", "arn:p", ACCOUNT, REGION, "AKID", "db",
                          "10.0.0.1", 200, None))  # fmt: skip
    observe(RequestRecord("r2", None, None, None, None, None, None, None, None, None, 400, "UnknownOperationException"))
    log.close()
    lines = [json.loads(line) for line in next(audit_files(tmp_path / "audit")).read_text().splitlines()]
    first, second = ({k: v for k, v in line.items() if k != "prev"} for line in lines)
    assert first == {
        "request_id": "r1", "time": 1.5, "action": "secretsmanager:GetSecretValue", "principal": "arn:p",
        "account": ACCOUNT, "region": REGION, "access_key_id": "AKID", "secret_id": "db", "source_ip": "10.0.0.1",
        "status": 200,
    }  # fmt: skip
    assert set(second) == {"request_id", "time", "status", "error"}  # unknown fields left out, the log's time


def test_the_router_serves_health_and_hands_the_rest_to_the_api() -> None:
    async def api(scope: dict[str, Any], receive: Any, send: Any) -> None: ...

    router = Router(api)
    for method in ("GET", "HEAD"):
        assert router.endpoint({"path": "/health", "method": method}) is health
    for path, method in (("/health", "POST"), ("/", "POST"), ("/2015-03-31/functions", "GET")):
        assert router.endpoint({"path": path, "method": method}) is api


def test_the_registry_refuses_services_that_would_share_a_route() -> None:
    names = ["secretsmanager", "sts", "lambda", "strongroom-replication"]
    assert [s.name for s in Registry.of().services] == names == [s.name for s in SERVICES]
    clashes = [
        dataclasses.replace(STS, name="secretsmanager"),
        dataclasses.replace(STS, name="other", json_target_prefix=SECRETS_MANAGER.json_target_prefix),
        dataclasses.replace(STS, name="other", json_target_prefix="Other.", query_version="2017-10-17"),
    ]
    for clash in clashes:
        with pytest.raises(ValueError):
            Registry.of([SECRETS_MANAGER, clash])
