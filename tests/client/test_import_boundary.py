"""Importing the client (and its cache) loads nothing of the server and none of its heavy dependencies."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SERVER_PACKAGES = (
    "server", "store", "secrets", "sts", "service", "protocol", "iam", "auth", "kms", "cli", "audit", "errors", "jobs",
    "functions", "rotators",
)
#: Dependencies of the server (pyproject.toml extras) and of the tests: a client installation has none of them.
FORBIDDEN = ("uvicorn", "asyncpg", "cryptography", "botocore", "boto3", "orjson", "aiohttp", "platformdirs", "pg8000")


@pytest.mark.parametrize("module", ["strongroom.client", "strongroom.client.cache"])
def test_importing_the_client_loads_no_server_module(module: str) -> None:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)
    ours = [m for m in loaded if m.startswith("strongroom.")]
    assert not [m for m in ours if m.split(".")[1] in SERVER_PACKAGES], ours
    assert [m for m in ours if m.startswith("strongroom.crypto")] == ["strongroom.crypto", "strongroom.crypto.digests"]
    assert not [m for m in loaded if m.split(".")[0] in FORBIDDEN]
