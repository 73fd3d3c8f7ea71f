"""Fixtures for the fuzz suite: one ``strongroom serve`` with authentication on (SQLite).

``fuzz``  a :class:`Fuzz`: the raw-HTTP client (administrator's key), a second principal without
          any identity policy (only resource policies can let it in), and a secret to aim at
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "authz"))  # the authenticated server helpers
from authz_support import ACCOUNT, admin_creds, make_principals, running_server  # noqa: E402
from fuzz_support import TARGET_SECRET, Fuzz, FuzzClient  # noqa: E402

from strongroom.sigv4 import Credentials  # noqa: E402


@pytest.fixture(scope="session")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    running = running_server(tmp_path_factory.mktemp("fuzz"))
    server = next(running)
    try:
        creds = admin_creds(server)
        admin = Credentials(creds.access_key_id, creds.secret_access_key)
        made = make_principals(server.data_dir, {"nobody": (ACCOUNT, "fuzz-nobody", None)})["nobody"]
        nobody = Credentials(made.access_key_id, made.secret_access_key)
        port = int(server.endpoint.rsplit(":", 1)[1])
        client = FuzzClient(port, admin, server.log_path, lambda: server.proc.poll() is None)
        created = client.json_request("CreateSecret", orjson.dumps(
            {"Name": TARGET_SECRET, "SecretString": "v", "ClientRequestToken": str(uuid.uuid4())}
        ))  # fmt: skip
        assert created.status == 200, created.body
        yield Fuzz(server, client, admin, nobody)
    finally:
        running.close()  # stops the server
