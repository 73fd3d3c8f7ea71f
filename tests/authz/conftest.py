"""Fixtures for the authorization suite: one ``strongroom serve`` WITHOUT --dev, real identities.

The server runs on a temporary data dir; its first start writes the administrator's credentials
to ``<data-dir>/admin-credentials`` (profile ``strongroom-admin``). Every other identity is made
with the admin CLI (``python -m strongroom admin ...``), the way an operator would, in parallel
at session start so the suite stays fast. Secrets, users and policies carry a per-session
prefix, so the suite never depends on what else is on the server.

Fixtures
--------
``authz``       the running server (:class:`AuthzServer`)
``world``       the identities and secrets every test uses (:class:`World`)
``admin_sm``    boto3 secretsmanager client of the administrator (account 123456789012)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from authz_support import (
    CLI_PRINCIPALS,
    AuthzServer,
    Creds,
    World,
    admin_creds,
    make_principals,
    principal_specs,
    running_server,
)


@pytest.fixture(scope="session")
def authz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthzServer]:
    yield from running_server(tmp_path_factory.mktemp("authz"))


@pytest.fixture(scope="session")
def world(authz: AuthzServer) -> World:
    prefix = f"authz{uuid.uuid4().hex[:8]}"
    world = World(prefix=prefix, admin=admin_creds(authz))
    specs = principal_specs(prefix)

    def make(name: str) -> tuple[str, Creds]:
        """One principal through the admin CLI, as an operator makes it."""
        account, user, document = specs[name]
        if user is None:
            key = authz.admin("create-access-key", "--account-id", account)
        else:
            authz.admin("create-user", "--user-name", user, "--account-id", account)
            if document is not None:
                authz.admin(
                    "put-user-policy", "--user-name", user, "--policy-name", "main",
                    "--policy-document", document, "--account-id", account,
                )  # fmt: skip
            key = authz.admin("create-access-key", "--user-name", user, "--account-id", account)
        return name, Creds(key["AccessKeyId"], key["SecretAccessKey"], key["Arn"])

    # Each CLI call is a Python start-up (about a second of CPU): the CLI makes the principals that
    # show it works (a user, the second account's root and a user there); the rest go through the
    # same Identities API in this process, at the same time, to keep the suite fast.
    by_cli = [name for name in specs if name in CLI_PRINCIPALS]
    with ThreadPoolExecutor(max_workers=len(by_cli)) as pool:
        made = pool.map(make, by_cli)
        world.principals.update(make_principals(authz.data_dir, {n: s for n, s in specs.items() if n not in by_cli}))
        world.principals.update(dict(made))
    world.user_names = {name: spec[1] for name, spec in specs.items() if spec[1] is not None}

    sm = authz.client(world.admin)
    p = prefix
    carol = world.user_names["carol"]
    secrets: dict[str, tuple[str, list[dict[str, str]]]] = {
        "app_db": (f"{p}/app/db", []),
        "app_blocked": (f"{p}/app/blocked-1", []),
        "other": (f"{p}/other/x", []),
        "carol_home": (f"{p}/home/{carol}/mine", []),
        "dave_home": (f"{p}/home/dave/theirs", []),
        "blue": (f"{p}/team/blue", [{"Key": "team", "Value": "blue"}]),
        "red": (f"{p}/team/red", [{"Key": "team", "Value": "red"}]),
        "tagged": (f"{p}/tag/t1", [{"Key": "team", "Value": "blue"}]),
        "rp": (f"{p}/rp/s1", []),
        "rp_lock": (f"{p}/rp/s2", []),
        "rp_deleted": (f"{p}/rp/s3", []),
        "shared": (f"{p}/xacct/shared", []),
        "unshared": (f"{p}/xacct/unshared", []),
        "rp_deny": (f"{p}/app/rp-deny", []),
    }
    for short, (name, tags) in secrets.items():
        kwargs: dict[str, Any] = {"Name": name, "SecretString": f"value-of-{short}"}
        if tags:
            kwargs["Tags"] = tags
        world.secrets[short] = sm.create_secret(**kwargs)["ARN"]
    return world


@pytest.fixture(scope="session")
def admin_sm(authz: AuthzServer, world: World) -> Any:
    return authz.client(world.admin)


@pytest.fixture(scope="session")
def client_of(authz: AuthzServer, world: World) -> Callable[..., Any]:
    """client_of(principal name, service="secretsmanager") -> boto3 client."""

    def make(name: str, service: str = "secretsmanager") -> Any:
        return authz.client(world.principals[name], service)

    return make
