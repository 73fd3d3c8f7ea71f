"""The deployment packages: deterministic bytes, the right files, and each one rotating a real
secret in an interpreter that has nothing but the standard library, boto3 (with its requirements)
and the unpacked zip, as a Lambda Python runtime has."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import io
import json
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pg8000.native
import pymysql
import pytest
from e2e_server import ACCESS_KEY, REGION, SECRET_KEY
from rotator_servers import MYSQL_ADMIN, MysqlAccounts, PostgresCluster

from strongroom.rotators import catalog

RUN_TIMEOUT_S = 120
ROTATE_SCRIPT = """
import importlib, json, os, sys, uuid
handler, arn, zip_dir = sys.argv[1:4]
module = importlib.import_module(handler.rsplit(".", 1)[0])
assert "strongroom" not in sys.modules, "a rotator imported strongroom"
outside = [m.__name__ for m in list(sys.modules.values())
           if getattr(m, "__file__", None) and m.__name__.split(".")[0] in {"pg8000", "pymysql", "scramp", "asn1crypto"}
           and not m.__file__.startswith(zip_dir)]
assert not outside, f"driver modules loaded from outside the zip: {outside}"
import boto3
sm = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])
token = str(uuid.uuid4())
module.STEPS["createSecret"](sm, arn, token)  # Secrets Manager's empty AWSPENDING version: see rotation_driver.py
for step in ("setSecret", "testSecret", "finishSecret"):
    module.lambda_handler({"Step": step, "SecretId": arn, "ClientRequestToken": token}, None)
print(json.dumps({"token": token}))
"""


def entries(name: str) -> list[zipfile.ZipInfo]:
    return zipfile.ZipFile(io.BytesIO(catalog.build_zip(name))).infolist()


@pytest.mark.parametrize("rotator", catalog.ROTATORS, ids=lambda r: r.name)
def test_zip_bytes_depend_only_on_the_files(rotator: catalog.Rotator) -> None:
    first, second = catalog.build_zip(rotator.name), catalog.build_zip(rotator.name)
    assert first == second
    infos = zipfile.ZipFile(io.BytesIO(first)).infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {(i.date_time, i.external_attr >> 16) for i in infos} == {((1980, 1, 1, 0, 0, 0), 0o644)}
    assert not [i.filename for i in infos if "__pycache__" in i.filename or i.filename.endswith(".pyc")]
    assert not [i.filename for i in infos if i.filename.rsplit("/", 1)[-1] in catalog.SKIPPED_METADATA]


@pytest.mark.parametrize(
    ("name", "modules", "drivers"),
    [
        ("strongroom-postgres-single-user", {"database", "postgres", "postgres_single_user", "steps"},
         {"pg8000", "scramp", "asn1crypto"}),
        ("strongroom-postgres-multi-user", {"database", "postgres", "postgres_multi_user", "steps"},
         {"pg8000", "scramp", "asn1crypto"}),
        ("strongroom-mysql-single-user", {"database", "mysql_single_user", "steps"}, {"pymysql"}),
        ("strongroom-random-password", {"random_password", "steps"}, set()),
    ],
)  # fmt: skip
def test_zip_holds_the_handler_its_siblings_and_its_drivers_only(
    name: str, modules: set[str], drivers: set[str]
) -> None:
    names = [i.filename for i in entries(name)]
    prefix = "strongroom_rotators/"
    own = {n.removeprefix(prefix).removesuffix(".py") for n in names if n.startswith(prefix)}
    assert own == {"__init__", *modules}
    top_level = {n.split("/")[0] for n in names} - {"strongroom_rotators"}
    assert {t for t in top_level if not t.endswith(".dist-info")} == drivers
    for driver in drivers:  # each carries its licence and the metadata its code may read
        info = {n for n in names if n.split("/")[0].startswith(f"{driver}-") and n.split("/")[0].endswith(".dist-info")}
        assert any("LICENSE" in n for n in info) and any(n.endswith("/METADATA") for n in info)


def test_rotator_modules_import_only_stdlib_boto3_drivers_and_siblings() -> None:
    allowed = set(sys.stdlib_module_names) | {"__future__", "boto3", "pg8000", "pymysql", "scramp"}
    for path in Path(catalog.__file__).parent.glob("*.py"):
        if path.name in ("catalog.py", "install.py"):  # run in the server's environment, never packaged
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            assert {n.split(".")[0] for n in names} <= allowed, f"{path.name} imports {names}"


def test_function_packages_carry_lambda_settings_and_code_sha256() -> None:
    packages = catalog.function_packages()
    assert [p.rotator.name for p in packages] == [r.name for r in catalog.ROTATORS]
    for package in packages:
        assert package.rotator.handler == f"strongroom_rotators.{package.rotator.module}.lambda_handler"
        settings = (package.rotator.runtime, package.rotator.timeout, package.rotator.memory_size)
        assert settings == ("python3.11", 30, 128)
        assert package.code_sha256 == catalog.FunctionPackage(package.rotator, package.zip_file).code_sha256
        assert len(package.code_sha256) == 44
    with pytest.raises(KeyError, match="known: strongroom-postgres-single-user"):
        catalog.rotator("strongroom-oracle")


@pytest.fixture(scope="module")
def bare_runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding only boto3 and what it requires (links to the installed packages)."""
    root = tmp_path_factory.mktemp("runtime")
    for distribution in catalog.requirement_closure({"boto3"}):
        for path in metadata.distribution(distribution).files or []:
            top = path.parts[0]
            if top.endswith(".dist-info") or ".." in path.parts or top == "__pycache__":
                continue
            link = root / top
            if not link.exists():
                link.symlink_to(Path(str(metadata.distribution(distribution).locate_file(top))))
    return root


def run_from_zip(rotator: catalog.Rotator, arn: str, tmp_path: Path, runtime: Path, endpoint: str) -> None:
    unpacked = tmp_path / "function"
    zipfile.ZipFile(io.BytesIO(catalog.build_zip(rotator.name))).extractall(unpacked)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{unpacked}{os.pathsep}{runtime}",
        "SECRETS_MANAGER_ENDPOINT": endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    result = subprocess.run(
        [sys.executable, "-S", "-c", ROTATE_SCRIPT, rotator.handler, arn, str(unpacked)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]


def pg_secret(cluster: PostgresCluster, username: str, password: str, **extra: Any) -> dict[str, Any]:
    return {"engine": "postgres", "host": cluster.host, "port": cluster.port, "username": username,
            "password": password, "dbname": "postgres", **extra}  # fmt: skip


def pg_logs_in(cluster: PostgresCluster, secret: dict[str, Any]) -> bool:
    try:
        pg8000.native.Connection(
            user=secret["username"], password=secret["password"], host=cluster.host, port=cluster.port,
            database="postgres", ssl_context=False,
        ).close()  # fmt: skip
    except pg8000.native.DatabaseError:
        return False
    return True


@pytest.mark.parametrize("multi_user", [False, True], ids=["single-user", "multi-user"])
def test_postgres_packages_rotate_from_the_zip_alone(
    pg_cluster: PostgresCluster, sm: Any, strongroom: Any, bare_runtime: Path, tmp_path: Path, name: str,
    multi_user: bool,
) -> None:  # fmt: skip
    role, password = f"zip_{uuid.uuid4().hex[:10]}", f"first-{uuid.uuid4().hex}"
    admin = pg8000.native.Connection(
        user=pg_cluster.superuser, password=pg_cluster.password, host=pg_cluster.host, port=pg_cluster.port,
        ssl_context=False,
    )  # fmt: skip
    try:
        admin.run(f"CREATE ROLE {pg8000.native.identifier(role)} LOGIN PASSWORD {pg8000.native.literal(password)}")
    finally:
        admin.close()
    extra = {}
    if multi_user:
        master = pg_secret(pg_cluster, pg_cluster.superuser, pg_cluster.password)
        extra["masterarn"] = sm.create_secret(Name=f"{name}-master", SecretString=json.dumps(master))["ARN"]
    first = pg_secret(pg_cluster, role, password, **extra)
    arn = sm.create_secret(Name=name, SecretString=json.dumps(first))["ARN"]
    rotator = catalog.rotator("strongroom-postgres-multi-user" if multi_user else "strongroom-postgres-single-user")
    run_from_zip(rotator, arn, tmp_path, bare_runtime, strongroom.endpoint)
    rotated = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    assert rotated["username"] == (f"{role}_clone" if multi_user else role)
    assert pg_logs_in(pg_cluster, rotated)


@pytest.mark.mariadb
def test_mysql_package_rotates_from_the_zip_alone(
    mysql_accounts: MysqlAccounts, sm: Any, strongroom: Any, bare_runtime: Path, tmp_path: Path, name: str
) -> None:
    password = f"first-{uuid.uuid4().hex}"
    first = {"engine": "mariadb", "host": MYSQL_ADMIN["host"], "port": MYSQL_ADMIN["port"],
             "username": mysql_accounts.create_user(password), "password": password}  # fmt: skip
    arn = sm.create_secret(Name=name, SecretString=json.dumps(first))["ARN"]
    run_from_zip(catalog.rotator("strongroom-mysql-single-user"), arn, tmp_path, bare_runtime, strongroom.endpoint)
    rotated = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    pymysql.connect(host=MYSQL_ADMIN["host"], port=MYSQL_ADMIN["port"], user=rotated["username"],
                    password=rotated["password"], ssl_disabled=True).close()  # fmt: skip
    assert rotated["password"] != password


def test_random_password_package_rotates_from_the_zip_alone(
    sm: Any, strongroom: Any, bare_runtime: Path, tmp_path: Path, name: str
) -> None:
    arn = sm.create_secret(Name=name, SecretString="first")["ARN"]
    run_from_zip(catalog.rotator("strongroom-random-password"), arn, tmp_path, bare_runtime, strongroom.endpoint)
    assert sm.get_secret_value(SecretId=arn)["SecretString"] != "first"
