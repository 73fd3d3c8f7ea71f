"""Fixtures for the end-to-end suite: a real ``strongroom serve`` process driven over HTTP.

One server per store per session (shared by every test; tests isolate themselves with unique,
uuid-based secret names and never assume an empty server). Tests that need their own server
(restart/durability) call :func:`e2e_server.start_server` directly.

Fixtures
--------
``store``     the store under test (parametrized from STORES)
``server``    the running session server (:class:`e2e_server.ServerProcess`)
``endpoint``  its base URL, e.g. ``http://127.0.0.1:54321``
``sm``        boto3 ``secretsmanager`` client, us-east-1, client-side parameter validation on
``sm_raw``    same, but with botocore's client-side parameter validation off, so that
              out-of-model values reach the server and its own validation is what is tested
``sm_west``   boto3 client for us-west-2 (regions are separate namespaces)
``aws_cli``   ``aws_cli(*args) -> CompletedProcess`` running the AWS CLI (v1, ``python -m awscli``) for
              Secrets Manager; ``aws(service, *args)`` for any service
``lambda_client`` boto3 ``lambda`` client (functions are on in the session servers when the workers'
              user has an interpreter: else the tests that use it are skipped)
``raw_post``  ``raw_post(target, body, headers=..., region=...) -> RawResponse`` (SigV4-signed)
``name``      a fresh unique secret name
``prefix``    a fresh unique prefix, for tests that create several related secrets
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pg"))  # the PostgreSQL test helpers
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))  # functions' configuration
from e2e_server import (  # noqa: E402
    ACCESS_KEY,
    POSTGRES,
    REGION,
    SECRET_KEY,
    WEST,
    RawResponse,
    ServerProcess,
    make_client,
    raw_request,
    start_server,
    unique_name,
)
from functions_support import functions_args  # noqa: E402
from pg_servers import (  # noqa: E402
    create_database,
    database_url,
    drop_database,
    new_master_key,
    require_postgres,
)

# The stores the e2e suite runs against. Every test that uses the ``server`` fixture (directly or
# through ``sm``, ``endpoint``, ...) runs once per entry.
STORES: list[str] = ["sqlite", "postgres"]


@pytest.fixture(scope="session", params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        request.getfixturevalue("postgres_database")
    return str(request.param)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database (and shared master key) for this session, dropped at the end."""
    require_postgres()
    name = create_database("e2e")
    POSTGRES.update(url=database_url(name), master_key=new_master_key())
    try:
        yield POSTGRES["url"]
    finally:
        POSTGRES.clear()
        drop_database(name)


@pytest.fixture(scope="session")
def server(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp(f"server-{store}")
    srv = start_server(base / "data", base / "logs", store=store, extra_args=functions_args(base))
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def endpoint(server: ServerProcess) -> str:
    return server.endpoint


# ---------------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sm(endpoint: str) -> Any:
    return make_client(endpoint)


@pytest.fixture(scope="session")
def sm_raw(endpoint: str) -> Any:
    return make_client(endpoint, validate=False)


@pytest.fixture(scope="session")
def sm_west(endpoint: str) -> Any:
    return make_client(endpoint, region=WEST)


@pytest.fixture(scope="session")
def lambda_client(server: ServerProcess, endpoint: str) -> Any:
    if "--config" not in server.argv:
        pytest.skip("no Python interpreter that the function workers' user can run: functions are off")
    return make_client(endpoint, service="lambda")


@pytest.fixture(scope="session")
def aws_cli(aws: Callable[..., subprocess.CompletedProcess[str]]) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return aws("secretsmanager", *args, check=check)

    return run


@pytest.fixture(scope="session")
def aws(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess[str]]:
    home = tmp_path_factory.mktemp("aws-cli-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_CONFIG_FILE=str(home / "does-not-exist" / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "does-not-exist" / "credentials"),
        AWS_PAGER="",
        AWS_MAX_ATTEMPTS="1",
        HOME=str(home),
    )

    def run(service: str, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        argv = [
            sys.executable, "-m", "awscli",
            "--endpoint-url", endpoint,
            "--region", REGION,
            "--output", "json",
            service, *args,
        ]  # fmt: skip
        return subprocess.run(  # noqa: S603
            argv, env=env, capture_output=True, text=True, timeout=120, check=check
        )

    return run


# ---------------------------------------------------------------------------------------------
# Raw HTTP
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def raw_post(endpoint: str) -> Callable[..., RawResponse]:
    def post(
        target: str | None,
        body: bytes | Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
        region: str = REGION,
    ) -> RawResponse:
        return raw_request(endpoint, target, body, headers, region)

    return post


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def name() -> str:
    return unique_name()


@pytest.fixture
def prefix() -> str:
    return unique_name("e2ep")
