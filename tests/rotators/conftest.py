"""Fixtures for the rotation-function tests.

``strongroom``      a dev-mode ``strongroom serve`` for the session (tests/e2e/e2e_server.py)
``sm``              a boto3 Secrets Manager client for it
``lambda_env``      the environment a rotation function runs with: SECRETS_MANAGER_ENDPOINT, region
                    and credentials for the server, nothing from the machine's AWS configuration
``pg_cluster``      a throwaway PostgreSQL cluster with scram-sha-256 authentication (session)
``mysql_accounts``  users and a database on the MariaDB/MySQL server, dropped at session end
``name``            a fresh unique secret name
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))  # functions' configuration
from e2e_server import ACCESS_KEY, REGION, SECRET_KEY, ServerProcess, make_client, start_server  # noqa: E402
from rotator_servers import (  # noqa: E402
    MysqlAccounts,
    PostgresCluster,
    mysql_unreachable,
    running_cluster,
    unavailable,
)


@pytest.fixture(scope="session")
def strongroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("rotators-server")
    server = start_server(base / "data", base / "logs")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sm(strongroom: ServerProcess) -> Any:
    return make_client(strongroom.endpoint)


@pytest.fixture
def lambda_env(strongroom: ServerProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in list(os.environ):
        if variable.startswith("AWS_") or variable in {"EXCLUDE_CHARACTERS", "PASSWORD_LENGTH"}:
            monkeypatch.delenv(variable)
    monkeypatch.setenv("SECRETS_MANAGER_ENDPOINT", strongroom.endpoint)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    yield from running_cluster()


@pytest.fixture(scope="session")
def mysql_accounts() -> Iterator[MysqlAccounts]:
    reason = mysql_unreachable()
    if reason is not None:
        unavailable(reason)
    accounts = MysqlAccounts()
    accounts.create_database()
    try:
        yield accounts
    finally:
        accounts.drop()


@pytest.fixture
def name() -> str:
    return f"rotators-{uuid.uuid4().hex[:16]}"
