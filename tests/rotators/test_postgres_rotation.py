"""The PostgreSQL rotation functions against a real cluster with scram-sha-256 authentication and
a real dev-mode Strongroom: the new password logs in, the old one no longer does (single user),
AWSCURRENT always works (alternating users), failures leave AWSCURRENT alone, steps repeat safely.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
import uuid
from typing import Any

import pg8000.exceptions
import pg8000.native
import pytest
from e2e_server import make_client
from rotation_driver import create, invoke, labels, rotate
from rotator_servers import PostgresCluster

from strongroom.rotators import postgres, postgres_multi_user, postgres_single_user

pytestmark = pytest.mark.usefixtures("lambda_env")
READER_WAIT_S = 30


# --- helpers ---------------------------------------------------------------------------------
def admin(cluster: PostgresCluster) -> pg8000.native.Connection:
    return pg8000.native.Connection(
        user=cluster.superuser, password=cluster.password, host=cluster.host, port=cluster.port, ssl_context=False
    )


def create_role(cluster: PostgresCluster, password: str) -> str:
    role = f"app_{uuid.uuid4().hex[:10]}"
    conn = admin(cluster)
    try:
        conn.run(f"CREATE ROLE {pg8000.native.identifier(role)} LOGIN PASSWORD {pg8000.native.literal(password)}")
    finally:
        conn.close()
    return role


def db_secret(cluster: PostgresCluster, username: str, password: str, **extra: Any) -> dict[str, Any]:
    return {
        "engine": "postgres",
        "host": cluster.host,
        "port": cluster.port,
        "username": username,
        "password": password,
        "dbname": "postgres",
        **extra,
    }


def logs_in(cluster: PostgresCluster, secret: dict[str, Any]) -> bool:
    """Whether the secret's user and password open a session (plain TCP, scram-sha-256)."""
    try:
        conn = pg8000.native.Connection(
            user=secret["username"], password=secret["password"], host=cluster.host, port=cluster.port,
            database="postgres", ssl_context=False, timeout=5,
        )  # fmt: skip
    except (pg8000.exceptions.DatabaseError, pg8000.exceptions.InterfaceError):
        return False
    conn.run("SELECT 1")
    conn.close()
    return True


def current(sm: Any, arn: str) -> dict[str, Any]:
    return dict(json.loads(sm.get_secret_value(SecretId=arn)["SecretString"]))


def new_secret(sm: Any, name: str, value: dict[str, Any]) -> str:
    return str(sm.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])


@pytest.fixture
def app_user(pg_cluster: PostgresCluster, sm: Any, name: str) -> tuple[str, dict[str, Any]]:
    """A new login role and a secret (ARN, first value) holding its credentials."""
    password = f"first-{uuid.uuid4().hex}"
    value = db_secret(pg_cluster, create_role(pg_cluster, password), password)
    return new_secret(sm, name, value), value


@pytest.fixture
def master_arn(pg_cluster: PostgresCluster, sm: Any) -> str:
    value = db_secret(pg_cluster, pg_cluster.superuser, pg_cluster.password)
    return new_secret(sm, f"rotators-master-{uuid.uuid4().hex[:12]}", value)


# --- single user -----------------------------------------------------------------------------
def test_single_user_ten_rotations_new_password_works_old_does_not(
    pg_cluster: PostgresCluster, sm: Any, app_user: tuple[str, dict[str, Any]]
) -> None:
    arn, first = app_user
    seen = [first["password"]]
    for _ in range(10):
        before = current(sm, arn)
        [before_version] = [v for v, s in labels(sm, arn).items() if "AWSCURRENT" in s]
        token = rotate(postgres_single_user, sm, arn)
        after = current(sm, arn)
        assert after["username"] == before["username"] and after["password"] not in seen
        assert len(after["password"]) == 32 and not set(after["password"]) & set(":/@\"'\\")
        assert logs_in(pg_cluster, after), "the new AWSCURRENT password does not log in"
        assert not logs_in(pg_cluster, before), "the old password still logs in"
        stages = labels(sm, arn)
        assert sorted(stages[token]) == ["AWSCURRENT", "AWSPENDING"] and stages[before_version] == ["AWSPREVIOUS"]
        seen.append(after["password"])


def test_single_user_window_between_set_and_finish(
    pg_cluster: PostgresCluster, sm: Any, app_user: tuple[str, dict[str, Any]]
) -> None:
    """AWS: between the password change in the database (setSecret) and the label move
    (finishSecret) AWSCURRENT no longer works; AWSPENDING does."""
    arn, _ = app_user
    observed: dict[str, tuple[bool, bool]] = {}

    def check(step: str) -> None:
        pending = json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSPENDING")["SecretString"])
        observed[step] = (logs_in(pg_cluster, current(sm, arn)), logs_in(pg_cluster, pending))

    rotate(postgres_single_user, sm, arn, between=check)
    assert observed == {
        "createSecret": (True, False),
        "setSecret": (False, True),
        "testSecret": (False, True),
        "finishSecret": (True, True),
    }


def test_single_user_steps_repeat_safely(
    pg_cluster: PostgresCluster, sm: Any, app_user: tuple[str, dict[str, Any]]
) -> None:
    arn, first = app_user
    token = str(uuid.uuid4())
    create(postgres_single_user, sm, arn, token)
    pending = sm.get_secret_value(SecretId=arn, VersionId=token)["SecretString"]
    create(postgres_single_user, sm, arn, token)
    assert sm.get_secret_value(SecretId=arn, VersionId=token)["SecretString"] == pending
    assert len(labels(sm, arn)) == 2
    for step in ("setSecret", "setSecret", "testSecret", "testSecret", "finishSecret", "finishSecret"):
        invoke(postgres_single_user, step, arn, token)
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):  # the whole rotation again: no-op
        invoke(postgres_single_user, step, arn, token)
    assert current(sm, arn) == json.loads(pending)
    assert logs_in(pg_cluster, json.loads(pending)) and not logs_in(pg_cluster, first)


def test_single_user_rotates_from_previous_when_current_was_never_set(
    pg_cluster: PostgresCluster, sm: Any, app_user: tuple[str, dict[str, Any]]
) -> None:
    """A value put as AWSCURRENT by hand that never reached the database: setSecret logs in with
    AWSPREVIOUS (the password the database has) and the rotation repairs the secret."""
    arn, first = app_user
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps({**first, "password": "never-set-in-db"}))
    rotate(postgres_single_user, sm, arn)
    assert logs_in(pg_cluster, current(sm, arn))
    assert not logs_in(pg_cluster, first)


def test_single_user_creates_missing_user_with_master_secret(
    pg_cluster: PostgresCluster, sm: Any, name: str, master_arn: str
) -> None:
    username = f"new_{uuid.uuid4().hex[:10]}"
    value = db_secret(pg_cluster, username, f"initial-{uuid.uuid4().hex}", masterarn=master_arn)
    arn = new_secret(sm, name, value)
    assert not logs_in(pg_cluster, value)
    rotate(postgres_single_user, sm, arn)
    assert logs_in(pg_cluster, current(sm, arn))
    conn = admin(pg_cluster)
    try:
        granted = conn.run("SELECT has_database_privilege(:u, 'postgres', 'CONNECT')", u=username)
    finally:
        conn.close()
    assert granted == [[True]]


@pytest.mark.parametrize("breakage", ["wrong master password", "ssl required, server has no TLS"])
def test_single_user_failed_set_secret_leaves_current_working(
    pg_cluster: PostgresCluster, sm: Any, name: str, master_arn: str, breakage: str
) -> None:
    password = f"first-{uuid.uuid4().hex}"
    value = db_secret(pg_cluster, create_role(pg_cluster, password), password)
    if breakage == "wrong master password":
        bad_master = {**current(sm, master_arn), "password": "not-the-master-password"}
        value["masterarn"] = new_secret(sm, f"{name}-master", bad_master)
    else:
        value["ssl"] = "true"
    arn = new_secret(sm, name, value)
    before = labels(sm, arn)
    token = str(uuid.uuid4())
    create(postgres_single_user, sm, arn, token)
    with pytest.raises(ValueError, match="Unable to log into database"):
        invoke(postgres_single_user, "setSecret", arn, token)
    current_version = [v for v, s in labels(sm, arn).items() if "AWSCURRENT" in s]
    assert current_version == [v for v, s in before.items() if "AWSCURRENT" in s]
    assert current(sm, arn) == value
    assert logs_in(pg_cluster, value), "the failed rotation changed the password"


def test_engine_other_than_postgres_is_refused(pg_cluster: PostgresCluster, sm: Any, name: str) -> None:
    arn = new_secret(sm, name, {**db_secret(pg_cluster, "someone", "pw"), "engine": "mysql"})
    with pytest.raises(KeyError, match="engine must be set to 'postgres'"):
        create(postgres_single_user, sm, arn, str(uuid.uuid4()))
    assert len(labels(sm, arn)) == 1


def test_no_password_reaches_the_log(
    pg_cluster: PostgresCluster, sm: Any, app_user: tuple[str, dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """Everything the rotators log, at every level (botocore's own DEBUG log of response bodies is
    off by default, and not the rotators')."""
    arn, first = app_user
    caplog.set_level(logging.DEBUG, logger="strongroom.rotators")
    rotate(postgres_single_user, sm, arn)
    rotated = current(sm, arn)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("strongroom.rotators"))
    assert "setSecret: Successfully set password" in logged
    assert first["password"] not in logged and rotated["password"] not in logged


# --- alternating users -----------------------------------------------------------------------
@pytest.fixture
def multi_user(
    pg_cluster: PostgresCluster, sm: Any, name: str, master_arn: str
) -> tuple[str, dict[str, Any]]:
    """A role that owns a table with one row, and its secret naming the master secret."""
    password = f"first-{uuid.uuid4().hex}"
    role = create_role(pg_cluster, password)
    conn = admin(pg_cluster)
    try:
        table = pg8000.native.identifier(f"{role}_data")
        conn.run(f"CREATE TABLE {table} (v text)")
        conn.run(f"INSERT INTO {table} VALUES ('owned by {role}')")
        conn.run(f"ALTER TABLE {table} OWNER TO {pg8000.native.identifier(role)}")
    finally:
        conn.close()
    value = db_secret(pg_cluster, role, password, masterarn=master_arn)
    return new_secret(sm, name, value), value


def reads_table(cluster: PostgresCluster, secret: dict[str, Any], owner: str) -> list[list[Any]]:
    conn = pg8000.native.Connection(
        user=secret["username"], password=secret["password"], host=cluster.host, port=cluster.port,
        database="postgres", ssl_context=False,
    )  # fmt: skip
    try:
        return list(conn.run(f"SELECT v FROM {pg8000.native.identifier(owner + '_data')}"))
    finally:
        conn.close()


def test_multi_user_clones_then_alternates(
    pg_cluster: PostgresCluster, sm: Any, multi_user: tuple[str, dict[str, Any]]
) -> None:
    arn, first = multi_user
    role = first["username"]
    expected_users = [f"{role}_clone", role, f"{role}_clone", role]
    previous = first
    for expected in expected_users:
        rotate(postgres_multi_user, sm, arn)
        now = current(sm, arn)
        assert now["username"] == expected and now["password"] != previous["password"]
        assert logs_in(pg_cluster, now) and logs_in(pg_cluster, previous), "both users of the pair log in"
        assert reads_table(pg_cluster, now, role) == [[f"owned by {role}"]]
        previous = now
    conn = admin(pg_cluster)
    try:
        membership = conn.run(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :clone",
            clone=f"{role}_clone",
        )
    finally:
        conn.close()
    assert membership == [[role]]
    assert not logs_in(pg_cluster, first), "the original password survived two rotations of its user"


class CurrentReader(threading.Thread):
    """Reads AWSCURRENT and logs in with it, again and again, recording every failure."""

    def __init__(self, endpoint: str, arn: str, cluster: PostgresCluster) -> None:
        super().__init__(daemon=True)
        self.sm, self.arn, self.cluster = make_client(endpoint), arn, cluster
        self.reads = 0
        self.failures: list[str] = []
        self.done = threading.Event()
        self.changed = threading.Condition()

    def run(self) -> None:
        while not self.done.is_set():
            secret = current(self.sm, self.arn)
            if not logs_in(self.cluster, secret):
                self.failures.append(secret["username"])
            with self.changed:
                self.reads += 1
                self.changed.notify_all()

    def wait_for_fresh_reads(self, step: str) -> None:
        """Return once a whole read-and-login began after this call (two more reads finished)."""
        with self.changed:
            target = self.reads + 2
            assert self.changed.wait_for(lambda: self.reads >= target, READER_WAIT_S), f"reader stalled after {step}"


def test_multi_user_current_always_logs_in_during_ten_rotations(
    pg_cluster: PostgresCluster, sm: Any, strongroom: Any, multi_user: tuple[str, dict[str, Any]]
) -> None:
    arn, _ = multi_user
    reader = CurrentReader(strongroom.endpoint, arn, pg_cluster)
    reader.start()
    try:
        for _ in range(10):
            rotate(postgres_multi_user, sm, arn, between=reader.wait_for_fresh_reads)
    finally:
        reader.done.set()
        reader.join(READER_WAIT_S)
    assert reader.failures == []
    assert reader.reads >= 10 * 4 * 2


def test_multi_user_wrong_master_fails_then_the_same_token_completes(
    pg_cluster: PostgresCluster, sm: Any, name: str, master_arn: str
) -> None:
    password = f"first-{uuid.uuid4().hex}"
    role = create_role(pg_cluster, password)
    master = current(sm, master_arn)
    broken_master_arn = new_secret(sm, f"{name}-master", {**master, "password": "wrong"})
    value = db_secret(pg_cluster, role, password, masterarn=broken_master_arn)
    arn = new_secret(sm, name, value)
    current_version = [v for v, s in labels(sm, arn).items() if "AWSCURRENT" in s]
    token = str(uuid.uuid4())
    create(postgres_multi_user, sm, arn, token)
    create(postgres_multi_user, sm, arn, token)
    pending = sm.get_secret_value(SecretId=arn, VersionId=token)["SecretString"]
    with pytest.raises(ValueError, match="Unable to log into database using credentials in master secret"):
        invoke(postgres_multi_user, "setSecret", arn, token)
    assert [v for v, s in labels(sm, arn).items() if "AWSCURRENT" in s] == current_version
    assert current(sm, arn) == value and logs_in(pg_cluster, value)
    assert not logs_in(pg_cluster, json.loads(pending)), "the clone exists after a failed setSecret"

    sm.put_secret_value(SecretId=broken_master_arn, SecretString=json.dumps(master))  # the operator fixes it
    for step in ("setSecret", "setSecret", "testSecret", "finishSecret", "finishSecret"):
        invoke(postgres_multi_user, step, arn, token)
    assert current(sm, arn) == json.loads(pending)
    assert logs_in(pg_cluster, json.loads(pending)) and logs_in(pg_cluster, value)


def test_multi_user_refuses_a_pending_user_outside_the_pair(
    pg_cluster: PostgresCluster, sm: Any, multi_user: tuple[str, dict[str, Any]]
) -> None:
    """A pending version naming any user but the current one's alternate is never acted on."""
    arn, first = multi_user
    token = str(uuid.uuid4())
    intruder = {**first, "username": "postgres", "password": "taken-over"}
    sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(intruder),
                        VersionStages=["AWSPENDING"])  # fmt: skip
    with pytest.raises(ValueError, match="other than the current user's alternate"):
        invoke(postgres_multi_user, "setSecret", arn, token)
    assert logs_in(pg_cluster, db_secret(pg_cluster, pg_cluster.superuser, pg_cluster.password))


def test_refused_password_change_names_no_password_or_statement(pg_cluster: PostgresCluster) -> None:
    conn = postgres.PostgreSQL().connect(db_secret(pg_cluster, pg_cluster.superuser, pg_cluster.password), False)
    try:
        with pytest.raises(RuntimeError) as refused:
            postgres.set_password(conn, "no_such_role", "the-secret-password")
    finally:
        conn.close()
    text = "".join(traceback.format_exception_only(refused.value))
    assert refused.value.__cause__ is None and refused.value.__suppress_context__, "the driver's error is printed"
    assert "42704" in text  # undefined_object: the code says why
    assert "the-secret-password" not in text and "SCRAM-SHA-256$" not in text and "no_such_role" not in text
