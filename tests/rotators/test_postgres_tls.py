"""TLS as the secret's ``ssl`` asks, against a cluster that accepts TLS connections only and has a
certificate from a test CA: verified (certificate and host name) when the function's environment
trusts the CA (SSL_CERT_FILE), refused when it does not."""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import pg8000.native
import pytest
from rotation_driver import create, invoke, labels, rotate
from rotator_servers import PostgresCluster, running_cluster

from strongroom.rotators import postgres_single_user

pytestmark = pytest.mark.usefixtures("lambda_env")


@pytest.fixture(scope="module")
def tls_cluster() -> Iterator[PostgresCluster]:
    yield from running_cluster(tls_only=True)


def connect(cluster: PostgresCluster, user: str, password: str) -> pg8000.native.Connection:
    assert cluster.ca_file is not None
    return pg8000.native.Connection(
        user=user, password=password, host=cluster.host, port=cluster.port, database="postgres",
        ssl_context=ssl.create_default_context(cafile=str(cluster.ca_file)),
    )  # fmt: skip


def logs_in(cluster: PostgresCluster, secret: dict[str, Any]) -> bool:
    try:
        connect(cluster, secret["username"], secret["password"]).close()
    except pg8000.native.DatabaseError:
        return False
    return True


@pytest.fixture
def tls_user(tls_cluster: PostgresCluster, sm: Any, name: str) -> Any:
    """``tls_user(**ssl) -> (arn, value)``: a new role and its secret."""

    def make(**extra: Any) -> tuple[str, dict[str, Any]]:
        role, password = f"tls_{uuid.uuid4().hex[:10]}", f"first-{uuid.uuid4().hex}"
        admin = connect(tls_cluster, tls_cluster.superuser, tls_cluster.password)
        try:
            admin.run(f"CREATE ROLE {pg8000.native.identifier(role)} LOGIN PASSWORD {pg8000.native.literal(password)}")
        finally:
            admin.close()
        value = {"engine": "postgres", "host": tls_cluster.host, "port": tls_cluster.port, "username": role,
                 "password": password, **extra}  # fmt: skip
        arn = sm.create_secret(Name=f"{name}-{uuid.uuid4().hex[:6]}", SecretString=json.dumps(value))["ARN"]
        return str(arn), value

    return make


def test_plain_connections_are_refused(tls_cluster: PostgresCluster) -> None:
    with pytest.raises(pg8000.native.DatabaseError, match="no pg_hba.conf entry"):
        pg8000.native.Connection(
            user=tls_cluster.superuser, password=tls_cluster.password, host=tls_cluster.host, port=tls_cluster.port,
            ssl_context=False,
        )  # fmt: skip


@pytest.mark.parametrize("ssl_key", [{"ssl": True}, {"ssl": "TRUE"}, {}], ids=["true", "string", "absent"])
def test_rotation_over_verified_tls(
    tls_cluster: PostgresCluster, sm: Any, tls_user: Any, monkeypatch: pytest.MonkeyPatch, ssl_key: dict[str, Any]
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_cluster.ca_file))
    arn, first = tls_user(**ssl_key)
    rotate(postgres_single_user, sm, arn)
    rotated = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    assert logs_in(tls_cluster, rotated) and not logs_in(tls_cluster, first)


def test_untrusted_certificate_is_refused_and_nothing_changes(
    tls_cluster: PostgresCluster, sm: Any, tls_user: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The system's trust store does not know the test CA: required TLS cannot be verified, so
    setSecret logs in nowhere and changes nothing."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    arn, first = tls_user(ssl=True)
    token = str(uuid.uuid4())
    create(postgres_single_user, sm, arn, token)
    with pytest.raises(ValueError, match="Unable to log into database"):
        invoke(postgres_single_user, "setSecret", arn, token)
    assert logs_in(tls_cluster, first) and "AWSCURRENT" not in labels(sm, arn)[token]
