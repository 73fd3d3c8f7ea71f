"""Support for the end-to-end suite: the ``strongroom serve`` subprocess, boto3 clients and
SigV4-signed raw HTTP requests. The pytest fixtures built on these live in conftest.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ACCOUNT_ID = "123456789012"  # the server's default --account-id in --dev mode
REGION = "us-east-1"
WEST = "us-west-2"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # any value works in --dev mode

READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
#: Filled by conftest when the session runs against PostgreSQL: the session's database URL and the
#: master key (base64) that every server on that database must share.
POSTGRES: dict[str, str] = {}


# ---------------------------------------------------------------------------------------------
# Server process management
# ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def store_args(store: str, database_url: str | None = None) -> list[str]:
    """Extra ``serve`` arguments that select ``store`` (on PostgreSQL: ``database_url``, else the session's)."""
    if store == "sqlite":
        return []
    if store == "postgres":
        return ["--database-url", database_url or POSTGRES["url"]]
    raise ValueError(f"unknown store {store!r}; add it to STORES and store_args")


def serve_command(
    data_dir: Path, port: int, store: str, extra_args: list[str] | None = None, *, master_key: str | None = None,
    database_url: str | None = None, dev: bool = True,
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of ``strongroom serve --dev`` (or, ``dev`` False, without) on ``store``.

    ``master_key`` (base64) goes to STRONGROOM_MASTER_KEY; without it, SQLite uses the data dir's key
    file and PostgreSQL the session's shared key."""
    argv = [
        sys.executable, "-m", "strongroom", "serve",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--data-dir", str(data_dir),
        *(["--dev"] if dev else []),
        *store_args(store, database_url),
        *(extra_args or []),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRONGROOM_"))}
    env["PYTHONUNBUFFERED"] = "1"
    if master_key is None and store == "postgres":
        master_key = POSTGRES["master_key"]
    if master_key is not None:
        env["STRONGROOM_MASTER_KEY"] = master_key
    return argv, env


@dataclass
class ServerProcess:
    """A ``strongroom serve`` subprocess; stdout/stderr go to files so they can be inspected."""

    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log_dir: Path
    store: str
    argv: list[str] = field(default_factory=list)
    escalated: bool = False

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / "stdout.log"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / "stderr.log"

    def output(self) -> bytes:
        """Everything the process has written to stdout and stderr so far."""
        out = b""
        for p in (self.stdout_path, self.stderr_path):
            if p.exists():
                out += p.read_bytes()
        return out

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` (SIGTERM by default), wait, escalate to SIGKILL; return the exit code.

        ``escalated`` records whether SIGKILL was needed."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.escalated = True
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        return int(self.proc.returncode)

    def kill(self) -> int:
        """SIGKILL: no chance to flush or clean up."""
        return self.stop(signal.SIGKILL)


def _tail(path: Path, limit: int = 4000) -> str:
    if not path.exists():
        return "<no output file>"
    data = path.read_bytes()
    return data[-limit:].decode("utf-8", "replace")


def start_server(
    data_dir: Path,
    log_dir: Path,
    store: str = "sqlite",
    extra_args: list[str] | None = None,
    *,
    master_key: str | None = None,
    database_url: str | None = None,
    dev: bool = True,
) -> ServerProcess:
    """Start ``strongroom serve`` on a free port and wait until ``GET /health`` answers 200.

    Fails the calling test (``pytest.fail``) with the process's stderr if it exits early or is not
    ready within READY_TIMEOUT_S; never hangs. ``master_key`` and ``database_url``: see
    :func:`serve_command`.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv, env = serve_command(
        data_dir, port, store, extra_args, master_key=master_key, database_url=database_url, dev=dev
    )
    out = (log_dir / "stdout.log").open("ab")
    err = (log_dir / "stderr.log").open("ab")
    try:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
    finally:
        out.close()
        err.close()
    server = ServerProcess(proc=proc, port=port, data_dir=data_dir, log_dir=log_dir, store=store, argv=argv)

    deadline = time.monotonic() + READY_TIMEOUT_S
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"strongroom serve exited with code {proc.returncode} before becoming ready.\n"
                f"argv: {argv}\n--- stderr ---\n{_tail(server.stderr_path)}\n"
                f"--- stdout ---\n{_tail(server.stdout_path)}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(f"{server.endpoint}/health", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return server
                last_error = f"HTTP {resp.status}"
        except urllib.error.HTTPError as e:
            last_error = f"HTTP {e.code}"
        except OSError as e:
            last_error = repr(e)
        time.sleep(0.1)
    server.kill()
    pytest.fail(
        f"strongroom serve was not ready within {READY_TIMEOUT_S:.0f}s (last: {last_error}).\n"
        f"argv: {argv}\n--- stderr ---\n{_tail(server.stderr_path)}\n"
        f"--- stdout ---\n{_tail(server.stdout_path)}",
        pytrace=False,
    )
    raise AssertionError("unreachable")


def make_client(endpoint: str, region: str = REGION, validate: bool = True, service: str = "secretsmanager") -> Any:
    """A boto3 client of ``service`` (Secrets Manager's by default) for ``endpoint``: no retries (a 5xx must
    surface), bounded timeouts (nothing may hang)."""
    cfg = Config(
        region_name=region,
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        parameter_validation=validate,
    )
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=cfg,
    )


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-amzn-requestid")


def signed_headers(
    endpoint: str,
    target: str | None,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    region: str = REGION,
) -> dict[str, str]:
    """Headers for a JSON 1.1 POST, signed with a real SigV4 signature (botocore's signer)."""
    hdrs: dict[str, str] = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        hdrs["X-Amz-Target"] = target
    if headers:
        hdrs.update(headers)
    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=hdrs)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "secretsmanager", region).add_auth(req)
    return {k: v for k, v in req.headers.items()}


def raw_request(
    endpoint: str,
    target: str | None,
    body: bytes | Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    region: str = REGION,
    method: str = "POST",
) -> RawResponse:
    import http.client
    from urllib.parse import urlsplit

    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    hdrs = signed_headers(endpoint, target, data, headers, region)
    u = urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request(method, "/", body=data, headers=hdrs)
        resp = conn.getresponse()
        return RawResponse(
            status=resp.status,
            headers={k.lower(): v for k, v in resp.getheaders()},
            body=resp.read(),
        )
    finally:
        conn.close()


def unique_name(tag: str = "e2e") -> str:
    return f"{tag}-{uuid.uuid4().hex[:16]}"
