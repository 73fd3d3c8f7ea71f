"""The ready rotators end to end: installed with ``strongroom admin install-rotators``, run by RotateSecret.

A dev-mode server with functions on (its own SQLite store) gets the four functions from the
command; secrets hold AWS's JSON for a throwaway scram-sha-256 PostgreSQL cluster and for the local
MariaDB. RotateSecret (boto3) starts each rotation; the test waits until the rotation finished
(AWSCURRENT on the new version and a new LastRotatedDate) and then logs in: the new password works
and the old one no longer does (single user), the user alternates (alternating users). A reader
thread reads AWSCURRENT and logs in with it throughout several rotations: with alternating users
every password it gets works; with a single user only the password being replaced may be refused,
in the window between setSecret and finishSecret that AWS documents (docs/rotation.md).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pg8000.exceptions
import pg8000.native
import pymysql
import pytest
from botocore.exceptions import ClientError
from e2e_server import ServerProcess, make_client, start_server
from functions_support import functions_args
from install_cli import StoreOf, installed
from rotator_servers import MYSQL_ADMIN, MysqlAccounts, PostgresCluster

from strongroom.secrets.service import SERVICE

pytestmark = pytest.mark.skipif(
    "RotateSecret" not in SERVICE.operations,
    reason="RotateSecret is not served yet (the rotation engine of issue 15 is on branch i15-rotation)",
)
#: Seconds a rotation may take before the test gives up (a bound against hanging, never a measurement).
ROTATION_WAIT_S = 90.0
READER_WAIT_S = 30.0
Secret = dict[str, Any]


# --- the server and its rotators ----------------------------------------------------------------
@dataclass
class Rotating:
    server: ServerProcess
    sm: Any
    functions: dict[str, str]  # name -> ARN, as install-rotators printed them
    where: StoreOf


@pytest.fixture(scope="module")
def rotating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rotating]:
    base = tmp_path_factory.mktemp("rotate-e2e")
    extra = functions_args(base)
    if not extra:
        pytest.skip("no Python interpreter that the function workers' user can run: functions are off")
    where = StoreOf(base / "data")
    server = start_server(where.data_dir, base / "logs", "sqlite", extra)
    try:
        report = installed(where)
        functions = {f["FunctionName"]: f["FunctionArn"] for f in report["Functions"]}
        yield Rotating(server, make_client(server.endpoint), functions, where)
    finally:
        server.stop()


def value_of(sm: Any, arn: str, stage: str = "AWSCURRENT") -> Secret:
    return dict(json.loads(sm.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"]))


def rotate(rotating: Rotating, arn: str, function: str) -> str:
    """RotateSecret with the installed ``function``, then wait until that rotation finished; its version."""
    sm = rotating.sm
    before = sm.describe_secret(SecretId=arn).get("LastRotatedDate")
    version = str(sm.rotate_secret(SecretId=arn, RotationLambdaARN=rotating.functions[function],
                                   RotationRules={"AutomaticallyAfterDays": 30})["VersionId"])
    deadline = time.monotonic() + ROTATION_WAIT_S
    while True:
        described = sm.describe_secret(SecretId=arn)
        stages = described["VersionIdsToStages"].get(version, [])
        if "AWSCURRENT" in stages and described.get("LastRotatedDate") not in (None, before):
            return version
        if time.monotonic() > deadline:
            log = rotating.server.output().decode("utf-8", "replace")[-4000:]
            pytest.fail(f"rotation {version} of {arn} did not finish: {described}\n--- server ---\n{log}")
        time.sleep(0.05)


class CurrentReader(threading.Thread):
    """Reads AWSCURRENT and logs in with it, again and again, recording every password and whether it worked."""

    def __init__(self, endpoint: str, arn: str, logs_in: Callable[[Secret], bool]) -> None:
        super().__init__(daemon=True)
        self.sm, self.arn, self.logs_in = make_client(endpoint), arn, logs_in
        self.seen: list[tuple[str, str, bool]] = []  # (username, password, logged in)
        self.done = threading.Event()
        self.changed = threading.Condition()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.done.is_set():
                secret = value_of(self.sm, self.arn)
                worked = self.logs_in(secret)
                with self.changed:
                    self.seen.append((secret["username"], secret["password"], worked))
                    self.changed.notify_all()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
            with self.changed:
                self.changed.notify_all()

    def wait_for_fresh_reads(self) -> None:
        """Return once a whole read-and-login began after this call (two more reads finished)."""
        with self.changed:
            target = len(self.seen) + 2
            assert self.changed.wait_for(lambda: len(self.seen) >= target or self.error is not None,
                                         READER_WAIT_S), "the reader stalled"
        assert self.error is None, self.error

    def stop(self) -> list[tuple[str, str, bool]]:
        self.done.set()
        self.join(READER_WAIT_S)
        assert self.error is None, self.error
        return self.seen


# --- PostgreSQL -----------------------------------------------------------------------------------
def pg_logs_in(cluster: PostgresCluster) -> Callable[[Secret], bool]:
    def logs_in(secret: Secret) -> bool:
        try:
            conn = pg8000.native.Connection(user=secret["username"], password=secret["password"], host=cluster.host,
                                            port=cluster.port, database="postgres", ssl_context=False, timeout=5)
        except (pg8000.exceptions.DatabaseError, pg8000.exceptions.InterfaceError):
            return False
        conn.run("SELECT 1")
        conn.close()
        return True

    return logs_in


def pg_secret(cluster: PostgresCluster, username: str, password: str, **extra: Any) -> Secret:
    return {"engine": "postgres", "host": cluster.host, "port": cluster.port, "username": username,
            "password": password, "dbname": "postgres", **extra}


def pg_role(cluster: PostgresCluster, password: str) -> str:
    role = f"e2e_{uuid.uuid4().hex[:10]}"
    conn = pg8000.native.Connection(user=cluster.superuser, password=cluster.password, host=cluster.host,
                                    port=cluster.port, ssl_context=False)
    try:
        conn.run(f"CREATE ROLE {pg8000.native.identifier(role)} LOGIN PASSWORD {pg8000.native.literal(password)}")
    finally:
        conn.close()
    return role


def new_secret(sm: Any, value: Secret) -> str:
    return str(sm.create_secret(Name=f"rotate-e2e-{uuid.uuid4().hex[:12]}", SecretString=json.dumps(value))["ARN"])


def single_user_rotations(rotating: Rotating, arn: str, function: str, logs_in: Callable[[Secret], bool],
                          rotations: int) -> None:
    """``rotations`` rotations of ``arn``: each new password logs in, the one it replaced no longer does,
    and a reader of AWSCURRENT is refused only a password being replaced (AWS's single-user window)."""
    reader = CurrentReader(rotating.server.endpoint, arn, logs_in)
    reader.start()
    replaced = []
    try:
        for _ in range(rotations):
            before = value_of(rotating.sm, arn)
            version = rotate(rotating, arn, function)
            after = value_of(rotating.sm, arn)
            assert rotating.sm.get_secret_value(SecretId=arn)["VersionId"] == version
            assert after["username"] == before["username"] and after["password"] != before["password"]
            assert logs_in(after), "the new AWSCURRENT password does not log in"
            assert not logs_in(before), "the replaced password still logs in"
            replaced.append(before["password"])
            reader.wait_for_fresh_reads()
    finally:
        seen = reader.stop()
    refused = {password for _, password, worked in seen if not worked}
    assert refused <= set(replaced), "the reader was refused a password that no rotation replaced"
    assert seen and seen[-1][2], "the last password the reader got does not log in"


def test_postgres_single_user_through_rotate_secret(rotating: Rotating, pg_cluster: PostgresCluster) -> None:
    password = f"first-{uuid.uuid4().hex}"
    arn = new_secret(rotating.sm, pg_secret(pg_cluster, pg_role(pg_cluster, password), password))
    single_user_rotations(rotating, arn, "strongroom-postgres-single-user", pg_logs_in(pg_cluster), rotations=3)
    described = rotating.sm.describe_secret(SecretId=arn)
    assert described["RotationEnabled"] is True
    assert described["RotationLambdaARN"] == rotating.functions["strongroom-postgres-single-user"]


def test_postgres_alternating_users_switch_and_current_always_logs_in(
    rotating: Rotating, pg_cluster: PostgresCluster
) -> None:
    sm, logs_in = rotating.sm, pg_logs_in(pg_cluster)
    master_arn = new_secret(sm, pg_secret(pg_cluster, pg_cluster.superuser, pg_cluster.password))
    password = f"first-{uuid.uuid4().hex}"
    role = pg_role(pg_cluster, password)
    first = pg_secret(pg_cluster, role, password, masterarn=master_arn)
    arn = new_secret(sm, first)
    reader = CurrentReader(rotating.server.endpoint, arn, logs_in)
    reader.start()
    users, previous = [], first
    try:
        for _ in range(4):
            rotate(rotating, arn, "strongroom-postgres-multi-user")
            now = value_of(sm, arn)
            assert now["username"] != previous["username"] and now["password"] != previous["password"]
            assert logs_in(now) and logs_in(previous), "both users of the pair log in"
            users.append(now["username"])
            previous = now
            reader.wait_for_fresh_reads()
    finally:
        seen = reader.stop()
    assert users == [f"{role}_clone", role, f"{role}_clone", role]
    assert [(user, worked) for user, _, worked in seen if not worked] == [], "AWSCURRENT was refused"
    assert {user for user, _, _ in seen} == {role, f"{role}_clone"}
    assert not logs_in(first), "the first password survived two rotations of its user"


# --- MariaDB --------------------------------------------------------------------------------------
def mysql_logs_in(secret: Secret) -> bool:
    try:
        conn = pymysql.connect(host=MYSQL_ADMIN["host"], port=MYSQL_ADMIN["port"], user=secret["username"],
                               password=secret["password"], database=secret.get("dbname"), connect_timeout=5,
                               ssl_disabled=True)
    except pymysql.err.OperationalError:
        return False
    with conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
    return True


@pytest.mark.mariadb
def test_mariadb_single_user_through_rotate_secret(rotating: Rotating, mysql_accounts: MysqlAccounts) -> None:
    password = f"first-{uuid.uuid4().hex}"
    value = {"engine": "mariadb", "host": MYSQL_ADMIN["host"], "port": MYSQL_ADMIN["port"],
             "username": mysql_accounts.create_user(password), "password": password,
             "dbname": mysql_accounts.database}
    arn = new_secret(rotating.sm, value)
    single_user_rotations(rotating, arn, "strongroom-mysql-single-user", mysql_logs_in, rotations=3)


# --- random password and the permission ----------------------------------------------------------
def test_random_password_through_rotate_secret(rotating: Rotating) -> None:
    sm = rotating.sm
    arn = new_secret(sm, {"username": "svc", "password": "first"})
    passwords = ["first"]
    for _ in range(2):
        version = rotate(rotating, arn, "strongroom-random-password")
        now = value_of(sm, arn)
        assert now["username"] == "svc" and now["password"] not in passwords and len(now["password"]) == 32
        assert sm.describe_secret(SecretId=arn)["VersionIdsToStages"][version] == ["AWSCURRENT"]
        passwords.append(now["password"])


def test_without_the_installed_permission_rotate_secret_is_refused(rotating: Rotating) -> None:
    """The statement install-rotators adds is what lets Secrets Manager invoke the function; running
    the command again puts it back."""
    name = "strongroom-random-password"
    functions = make_client(rotating.server.endpoint, service="lambda")
    arn = new_secret(rotating.sm, {"password": "first"})
    functions.remove_permission(FunctionName=name, StatementId="SecretsManagerAccess")
    try:
        with pytest.raises(ClientError) as refused:
            rotating.sm.rotate_secret(SecretId=arn, RotationLambdaARN=rotating.functions[name])
        assert refused.value.response["Error"] == {
            "Code": "AccessDeniedException",
            "Message": "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function "
                       "policy grants access to the principal secretsmanager.amazonaws.com."}
    finally:
        report = installed(rotating.where, "--only", name)
    assert report["Functions"][0]["Changed"] == ["permission"]
    rotate(rotating, arn, name)
