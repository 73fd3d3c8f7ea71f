"""Support for the authorization suite: the server process, admin CLI, boto3 clients, policies.

The fixtures built on these live in conftest.py.
"""

from __future__ import annotations

import asyncio
import configparser
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from botocore.config import Config

ACCOUNT = "123456789012"  # the server's default account
OTHER_ACCOUNT = "210987654321"
REGION = "us-east-1"
READY_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    arn: str


@dataclass
class AuthzServer:
    proc: subprocess.Popen[bytes]
    endpoint: str
    data_dir: Path
    log_path: Path

    def admin(self, *args: str) -> Any:
        """Run ``strongroom admin <args> --data-dir D`` and return its JSON output."""
        argv = [sys.executable, "-m", "strongroom", "admin", *args, "--data-dir", str(self.data_dir)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=clean_env())
        if done.returncode != 0:
            raise AssertionError(f"admin {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return json.loads(done.stdout)

    def client(self, creds: Creds, service: str = "secretsmanager", region: str = REGION) -> Any:
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            config=Config(
                region_name=region,
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(server: AuthzServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(f"strongroom serve exited early:\n{server.log_path.read_text()[-4000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{server.endpoint}/health", timeout=2) as resp:
                if resp.status == 200 and (server.data_dir / "admin-credentials").exists():
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    pytest.fail(f"strongroom serve not ready:\n{server.log_path.read_text()[-4000:]}", pytrace=False)


def running_server(base: Path, *extra_args: str) -> Iterator[AuthzServer]:
    """``strongroom serve`` without --dev on a fresh data dir under ``base``, until the generator closes."""
    data_dir = base / "data"
    data_dir.mkdir(parents=True)
    port = free_port()
    log_path = base / "server.log"
    argv = [
        sys.executable, "-m", "strongroom", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir), *extra_args,
    ]  # fmt: skip
    with log_path.open("ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=clean_env())
    server = AuthzServer(proc, f"http://127.0.0.1:{port}", data_dir, log_path)
    try:
        wait_ready(server)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def admin_creds(server: AuthzServer) -> Creds:
    parser = configparser.ConfigParser()
    parser.read(server.data_dir / "admin-credentials")
    section = parser["strongroom-admin"]
    return Creds(section["aws_access_key_id"], section["aws_secret_access_key"], f"arn:aws:iam::{ACCOUNT}:user/admin")


def secret_arn_pattern(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{account}:secret:{name}"


def allow(actions: list[str], resource: str = "*", condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@dataclass
class World:
    """Everything the tests share: the prefix, the principals (name -> creds) and secret ARNs."""

    prefix: str
    admin: Creds
    principals: dict[str, Creds] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # short name -> ARN
    user_names: dict[str, str] = field(default_factory=dict)  # principal name -> IAM user name


#: Principals made with the admin CLI (the others are made in-process with the Identities API).
CLI_PRINCIPALS = frozenset({"reader", "other_root", "other_bob"})


def make_principals(data_dir: Path, specs: dict[str, tuple[str, str | None, str | None]]) -> dict[str, Creds]:
    """Users, inline policies and access keys through :class:`Identities`, on the server's store
    (safe while the server runs: SQLite WAL), as ``strongroom admin`` does."""
    from strongroom.iam.identities import Identities
    from strongroom.kms.master_key import ACCESS_KEYS, load_master_key
    from strongroom.store.sqlite import SqliteStore

    async def run() -> dict[str, Creds]:
        store = SqliteStore(data_dir / "strongroom.db")
        try:
            identities = Identities(store, load_master_key(data_dir).sealing_box(ACCESS_KEYS))
            out = {}
            for name, (account, user, document) in specs.items():
                if user is not None:
                    await identities.create_user(account, user)
                    if document is not None:
                        await identities.put_policy(account, "user", user, "main", document)
                key = await identities.create_access_key(account, user)
                out[name] = Creds(key.access_key_id, key.secret_access_key, key.principal_arn)
            return out
        finally:
            await store.close()

    return asyncio.run(run())


def principal_specs(p: str) -> dict[str, tuple[str, str | None, str | None]]:
    """name -> (account, IAM user name or None for the account root, identity policy or None)."""
    app = secret_arn_pattern(f"{p}/app/*")
    return {
        "reader": (ACCOUNT, f"{p}-reader", policy(
            allow(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], app),
            allow(["secretsmanager:BatchGetSecretValue"]),
        )),
        "writer": (ACCOUNT, f"{p}-writer", policy(allow(["secretsmanager:PutSecretValue"], app))),
        "denied": (ACCOUNT, f"{p}-denied", policy(
            allow(["secretsmanager:*"]),
            {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue",
             "Resource": secret_arn_pattern(f"{p}/app/blocked-*")},
        )),
        "team": (ACCOUNT, f"{p}-team", policy(
            allow(["secretsmanager:GetSecretValue"], condition={
                "StringEquals": {"secretsmanager:ResourceTag/team": "blue"}}),
        )),
        "carol": (ACCOUNT, f"{p}-carol", policy(
            allow(["secretsmanager:GetSecretValue"],
                  "arn:aws:secretsmanager:*:*:secret:" + p + "/home/${aws:username}/*"),
        )),
        "tagger": (ACCOUNT, f"{p}-tagger", policy(
            allow(["secretsmanager:TagResource", "secretsmanager:DescribeSecret"], condition={
                "StringEquals": {"secretsmanager:ResourceTag/team": "blue"}}),
        )),
        "manager": (ACCOUNT, f"{p}-manager", policy(
            allow([
                "secretsmanager:PutResourcePolicy", "secretsmanager:GetResourcePolicy",
                "secretsmanager:DeleteResourcePolicy", "secretsmanager:ValidateResourcePolicy",
            ], secret_arn_pattern(f"{p}/rp/*")),
            allow(["secretsmanager:ValidateResourcePolicy"]),
        )),
        "nobody": (ACCOUNT, f"{p}-nobody", None),
        # BatchGetSecretValue with filters: may list everything, read only batchf/readable/*.
        "lister": (ACCOUNT, f"{p}-lister", policy(
            allow(["secretsmanager:BatchGetSecretValue", "secretsmanager:ListSecrets"]),
            allow(["secretsmanager:GetSecretValue"], secret_arn_pattern(f"{p}/batchf/readable/*")),
        )),
        # A policy on the full ARN's shape (name plus "-" and six characters).
        "suffixed": (ACCOUNT, f"{p}-suffixed", policy(
            allow(["secretsmanager:GetSecretValue"], secret_arn_pattern(f"{p}/teamb/s1-??????")),
        )),
        "expiring": (ACCOUNT, f"{p}-expiring", policy(allow(["secretsmanager:ListSecrets"]))),
        "other_root": (OTHER_ACCOUNT, None, None),
        "other_bob": (OTHER_ACCOUNT, f"{p}-bob", policy(allow(["secretsmanager:GetSecretValue"]))),
        "other_eve": (OTHER_ACCOUNT, f"{p}-eve", None),
    }  # fmt: skip


T = TypeVar("T")


def run_identities(authz: AuthzServer, body: Callable[[Any], Awaitable[T]]) -> T:
    """``body(Identities)`` on the server's store (safe while it runs: SQLite WAL), as the admin CLI does."""
    from strongroom.iam.identities import Identities
    from strongroom.kms.master_key import ACCESS_KEYS, load_master_key
    from strongroom.store.sqlite import SqliteStore

    async def main() -> T:
        store = SqliteStore(authz.data_dir / "strongroom.db")
        try:
            return await body(Identities(store, load_master_key(authz.data_dir).sealing_box(ACCESS_KEYS)))
        finally:
            await store.close()

    return asyncio.run(main())


def trust(principal: Any, **extra: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra},
    ]})  # fmt: skip


def make_role(authz: AuthzServer, name: str, trust_policy: str, role_policy: str | None = None, **options: Any) -> str:
    async def body(ids: Any) -> str:
        role = await ids.roles.create_role(ACCOUNT, name, trust_policy, **options)
        if role_policy is not None:
            await ids.put_policy(ACCOUNT, "role", name, "main", role_policy)
        return str(role.arn)

    return run_identities(authz, body)
