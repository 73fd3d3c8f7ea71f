"""The client's SigV4 signatures are byte-identical to botocore's for the same request."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from strongroom.client import AsyncSecretsManager
from strongroom.client.transport import HttpResponse

NOW = datetime.datetime(2026, 12, 3, 21, 7, 9, tzinfo=datetime.UTC)
KEY = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


class Recorder:
    """Stands in for the transport: keeps what the client would send, answers ``{}``."""

    def __init__(self, host_header: str) -> None:
        self.host_header = host_header
        self.sent: list[tuple[dict[str, str], bytes]] = []

    async def post(self, headers: dict[str, str], body: bytes) -> HttpResponse:
        self.sent.append((dict(headers), body))
        return HttpResponse(200, {}, b"{}")

    async def close(self) -> None:
        return None


def client_request(endpoint: str, region: str, token: str | None, call: str, kwargs: dict[str, Any]) -> Any:
    """The headers and body the client sends for one call at NOW."""
    sm = AsyncSecretsManager(
        endpoint_url=endpoint, region=region, access_key_id=KEY[0], secret_access_key=KEY[1],
        session_token=token, environ={},
    )  # fmt: skip
    recorder = Recorder(sm._core.transport.host_header)
    sm._core.transport = recorder  # type: ignore[assignment]
    sm._core._clock = NOW.timestamp
    asyncio.run(getattr(sm, call)(**kwargs))
    return recorder.sent[0]


CASES = [
    ("http://127.0.0.1:7420", "us-east-1", None, "get_secret_value", {"secret_id": "db/password"}),
    ("https://secretsmanager.eu-west-1.amazonaws.com", "eu-west-1", "FwoGZXIvYXdzEXAMPLE//token+/=",
     "create_secret", {"name": "x", "secret_binary": b"\x00\x01", "client_request_token": "t" * 32}),
    ("https://secretsmanager.us-west-2.amazonaws.com:443/", "us-west-2", None, "list_secrets", {"max_results": 5}),
    ("http://[::1]:8080", "ap-south-1", "tok", "put_secret_value",
     {"secret_id": "a b/ü", "secret_string": "välue \" \\ \n", "client_request_token": "u" * 32}),
]  # fmt: skip


@pytest.mark.parametrize("endpoint,region,token,call,kwargs", CASES)
def test_signature_is_botocores(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, region: str, token: str | None, call: str, kwargs: dict[str, Any]
) -> None:
    headers, body = client_request(endpoint, region, token, call, kwargs)
    # botocore works the Host header out from the URL itself: leave ours out so it must agree.
    dropped = ("Host", "X-Amz-Date", "X-Amz-Security-Token", "Authorization")
    unsigned = {k: v for k, v in headers.items() if k not in dropped}
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: NOW.replace(tzinfo=None))
    request = AWSRequest(method="POST", url=endpoint.rstrip("/") + "/", data=body, headers=unsigned)
    SigV4Auth(BotoCredentials(KEY[0], KEY[1], token), "secretsmanager", region).add_auth(request)
    botocore_headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    assert headers["Authorization"] == botocore_headers["Authorization"]
    signed = botocore_headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in set(signed) - {"host"}:  # the host is in the signature compared above
        expected = next(v for k, v in botocore_headers.items() if k.lower() == name)
        assert lowered[name] == expected, name
    expected_names = {"content-type", "host", "x-amz-date", "x-amz-target"}
    assert set(signed) == expected_names | ({"x-amz-security-token"} if token else set())


def test_client_sends_the_json_1_1_headers() -> None:
    headers, _ = client_request(*CASES[0])
    assert headers["X-Amz-Target"] == "secretsmanager.GetSecretValue"
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert headers["User-Agent"].startswith("strongroom-client/")
    assert headers["Host"] == "127.0.0.1:7420"
