"""X-Forwarded-For / -Proto are believed only from the proxies named by --forwarded-allow-ips.

A resource policy denies GetSecretValue unless aws:SourceIp is in 10.0.0.0/8. Clients connect from
127.0.0.1: by default a forged ``X-Forwarded-For: 10.1.2.3`` changes nothing (uvicorn's own default
would trust it from 127.0.0.1); a server told that 127.0.0.1 is its proxy uses the forwarded address.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from authz_support import AuthzServer, admin_creds, running_server
from botocore.exceptions import ClientError

SOURCE_IP_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}},
        }
    ],
}


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthzServer]:
    yield from running_server(tmp_path_factory.mktemp("proxied"), "--forwarded-allow-ips", "127.0.0.1")


def _forwarding_client(server: AuthzServer, forwarded_for: str | None) -> Any:
    sm = server.client(admin_creds(server))

    def add_header(request: Any, **_: Any) -> None:
        if forwarded_for is not None:
            request.headers["X-Forwarded-For"] = forwarded_for

    sm.meta.events.register("before-send.secrets-manager.*", add_header)
    return sm


def _guarded_secret(server: AuthzServer, name: str) -> str:
    sm = server.client(admin_creds(server))
    arn = sm.create_secret(Name=name, SecretString="guarded")["ARN"]
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(SOURCE_IP_POLICY))
    return arn


def _denied(sm: Any, arn: str) -> bool:
    try:
        sm.get_secret_value(SecretId=arn)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDeniedException"
        return True
    return False


def test_forged_forwarded_for_is_ignored_by_default(authz: AuthzServer) -> None:
    arn = _guarded_secret(authz, "forwarded/default")
    assert _denied(_forwarding_client(authz, None), arn)
    assert _denied(_forwarding_client(authz, "10.1.2.3"), arn)


def test_forwarded_for_from_a_named_proxy_is_the_source_ip(proxied: AuthzServer) -> None:
    arn = _guarded_secret(proxied, "forwarded/proxied")
    assert _denied(_forwarding_client(proxied, None), arn)
    assert not _denied(_forwarding_client(proxied, "10.1.2.3"), arn)
    assert _denied(_forwarding_client(proxied, "192.0.2.7"), arn)
