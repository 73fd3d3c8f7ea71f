"""Support for the multi-instance tests: throwaway PostgreSQL databases, ``strongroom serve``
processes sharing one of them, boto3 clients, and running many calls at once.

Nothing here asserts on timings: deadlines only keep a broken run from hanging.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

#: A database the tests may connect to in order to create and drop their own databases.
ADMIN_URL = os.environ.get("STRONGROOM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
#: Set to 1 (CI) to fail instead of skipping when PostgreSQL is unreachable.
REQUIRE_ENV = "STRONGROOM_REQUIRE_POSTGRES"
READY_TIMEOUT_S = 40.0
STOP_TIMEOUT_S = 10.0
REGION = "us-east-1"


# --- databases -------------------------------------------------------------------------------
def postgres_unreachable() -> str | None:
    """Why PostgreSQL at ADMIN_URL can't be used, or None if it can."""

    async def probe() -> None:
        conn = await asyncpg.connect(ADMIN_URL, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return f"PostgreSQL is not reachable at {ADMIN_URL} ({type(exc).__name__}: {exc})"
    return None


def require_postgres() -> None:
    """Skip the calling test when PostgreSQL is unreachable (fail instead under REQUIRE_ENV=1)."""
    import pytest

    reason = postgres_unreachable()
    if reason is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason} and {REQUIRE_ENV}=1", pytrace=False)
        pytest.skip(reason)


def database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def pg_run(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run one statement on ``url`` from synchronous test code; rows as dicts."""

    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())


def create_database(tag: str) -> str:
    """A new empty database; returns its name."""
    name = f"strongroom_test_{tag}_{uuid.uuid4().hex[:10]}"
    pg_run(ADMIN_URL, f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    pg_run(ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


# --- server processes ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Instance:
    """One ``strongroom serve`` process (its own port and data dir, the shared database)."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    argv: list[str]
    _clients: dict[int, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        """A boto3 client for this instance (clients are thread-safe; one per instance is enough)."""
        if 0 not in self._clients:
            self._clients[0] = make_client(self.endpoint)
        return self._clients[0]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def purged_count(self) -> int:
        """Secrets this instance reported purging (its purge job logs each round's count)."""
        return sum(int(n) for n in re.findall(r"purged (\d+) secret", self.log()))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the server (its whole process group, for --workers): no chance to clean up."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        if not self.alive():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def children(self) -> list[int]:
        """Process ids whose parent is this server (uvicorn's worker processes)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid:
                found.append(int(entry.name))
        return found


def start_instances(
    count: int, root: Path, *, master_key: str, database_url: str | None = None,
    config: dict[str, Any] | None = None, extra_args: Sequence[str] = (), tag: str = "sr",
) -> list[Instance]:
    """Start ``count`` servers at once (so they also migrate at once) and wait until each is ready."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRONGROOM_"))}
    env.update(STRONGROOM_MASTER_KEY=master_key, PYTHONUNBUFFERED="1")
    config_args: list[str] = []
    if config:
        config_file = root / f"{tag}-config.toml"
        config_file.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in config.items()))
        config_args = ["--config", str(config_file)]
    instances = []
    for i in range(count):
        data_dir = root / f"{tag}{i}"
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        argv = [
            sys.executable, "-m", "strongroom", "serve", "--dev",
            "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
            *(["--database-url", database_url] if database_url else []),
            *config_args, *extra_args,
        ]  # fmt: skip
        log_path = root / f"{tag}{i}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(  # noqa: S603
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True,
            )
        instances.append(Instance(f"{tag}{i}", proc, port, log_path, argv))
    try:
        for instance in instances:
            _wait_ready(instance)
    except BaseException:
        for instance in instances:
            instance.kill()
        raise
    return instances


def running_instances(count: int, root: Path, **options: Any) -> Iterator[list[Instance]]:
    """:func:`start_instances`, stopped when the generator closes (for module fixtures: ``yield from``)."""
    instances = start_instances(count, root, **options)
    try:
        yield instances
    finally:
        for instance in instances:
            instance.stop()


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``check`` until it holds; the bound only stops a broken run from hanging."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


def postgres_opener(url: str) -> Callable[[], Awaitable[Any]]:
    """For the in-process store scenarios: a function opening a migrated PostgresStore on ``url``."""
    from strongroom.store.postgres import PostgresStore

    async def open_store() -> PostgresStore:
        store = PostgresStore(url, max_size=4)
        await store.migrate()
        return store

    return open_store


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wait_ready(instance: Instance) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no attempt"
    while time.monotonic() < deadline:
        if not instance.alive():
            raise RuntimeError(
                f"{instance.name} exited with {instance.proc.returncode} before it was ready:\n{instance.log()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(f"{instance.endpoint}/health", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"{instance.name} not ready within {READY_TIMEOUT_S}s ({last}):\n{instance.log()[-4000:]}")


def make_client(endpoint: str, service: str = "secretsmanager") -> Any:
    """A client of ``service`` (Secrets Manager's by default): no retries (every outcome is seen as it
    happened), bounded timeouts, a pool for many threads."""
    cfg = Config(
        region_name=REGION, retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5, read_timeout=30, max_pool_connections=64,
    )
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="test", config=cfg,
    )


# --- many calls at once ----------------------------------------------------------------------
@dataclass
class Outcome:
    """What one API call did: its response, or its AWS error code, or a transport failure."""

    response: dict[str, Any] | None = None
    error: str | None = None  # AWS error code, or the exception type for a transport failure

    @property
    def ok(self) -> bool:
        return self.response is not None


def call(fn: Callable[..., dict[str, Any]], **params: Any) -> Outcome:
    try:
        return Outcome(response=fn(**params))
    except ClientError as exc:
        return Outcome(error=str(exc.response.get("Error", {}).get("Code")))
    except BotoCoreError as exc:  # connection refused/reset: not acknowledged
        return Outcome(error=type(exc).__name__)


def concurrently(calls: Sequence[Callable[[], Outcome]], threads: int | None = None) -> list[Outcome]:
    """Run every call at once (one thread each, up to ``threads``); outcomes in call order."""
    with ThreadPoolExecutor(max_workers=threads or max(1, len(calls))) as pool:
        return list(pool.map(lambda f: f(), calls))


def put(client: Any, secret: str, token: str, value: str) -> Callable[[], Outcome]:
    return lambda: call(client.put_secret_value, SecretId=secret, ClientRequestToken=token, SecretString=value)


def create(client: Any, name: str, token: str, value: str) -> Callable[[], Outcome]:
    return lambda: call(client.create_secret, Name=name, ClientRequestToken=token, SecretString=value)


def get_value(client: Any, secret: str) -> Callable[[], Outcome]:
    return lambda: call(client.get_secret_value, SecretId=secret)


def move_current(client: Any, secret: str, to: str, from_: str) -> Callable[[], Outcome]:
    """UpdateSecretVersionStage moving AWSCURRENT from version ``from_`` to version ``to``."""
    return lambda: call(
        client.update_secret_version_stage, SecretId=secret, VersionStage="AWSCURRENT", MoveToVersionId=to,
        RemoveFromVersionId=from_,
    )
