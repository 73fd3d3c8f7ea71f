"""Fixtures for the client suite: one ``strongroom serve`` with authentication on (SQLite), as
tests/authz runs it, and the settings of a client signed with its administrator's access key.

Fixtures
--------
``server``     the running server (authz_support.AuthzServer)
``settings``   keyword arguments for AsyncSecretsManager / SecretsManager against it; ``environ``
               is empty so nothing from the developer's environment or ~/.aws leaks in
``name``       a fresh unique secret name
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "authz"))
from authz_support import AuthzServer, admin_creds, running_server  # noqa: E402

REGION = "us-east-1"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthzServer]:
    yield from running_server(tmp_path_factory.mktemp("client-server"))


@pytest.fixture(scope="session")
def settings(server: AuthzServer) -> dict[str, Any]:
    creds = admin_creds(server)
    return {
        "endpoint_url": server.endpoint,
        "region": REGION,
        "access_key_id": creds.access_key_id,
        "secret_access_key": creds.secret_access_key,
        "environ": {},
    }


@pytest.fixture
def name() -> str:
    return f"client-{uuid.uuid4().hex[:16]}"
