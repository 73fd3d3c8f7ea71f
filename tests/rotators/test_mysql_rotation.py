"""The MySQL/MariaDB single-user rotation function against the machine's MariaDB (users with
passwords made by the test) and a dev-mode Strongroom."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pymysql
import pytest
from rotation_driver import create, invoke, labels, rotate
from rotator_servers import MYSQL_ADMIN, MysqlAccounts

from strongroom.rotators import mysql_single_user
from strongroom.rotators.mysql_single_user import password_expression

pytestmark = [pytest.mark.usefixtures("lambda_env"), pytest.mark.mariadb]


def logs_in(secret: dict[str, Any]) -> bool:
    try:
        conn = pymysql.connect(
            host=MYSQL_ADMIN["host"], port=MYSQL_ADMIN["port"], user=secret["username"], password=secret["password"],
            database=secret.get("dbname"), connect_timeout=5, ssl_disabled=True,
        )  # fmt: skip
    except pymysql.err.OperationalError:
        return False
    with conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
    return True


def current(sm: Any, arn: str) -> dict[str, Any]:
    return dict(json.loads(sm.get_secret_value(SecretId=arn)["SecretString"]))


@pytest.fixture
def make_user(mysql_accounts: MysqlAccounts, sm: Any, name: str) -> Any:
    """``make_user(engine="mariadb", **extra) -> (arn, value)``: a new user and its secret."""

    def make(engine: str = "mariadb", **extra: Any) -> tuple[str, dict[str, Any]]:
        password = f"first-{uuid.uuid4().hex}"
        value = {
            "engine": engine,
            "host": MYSQL_ADMIN["host"],
            "port": MYSQL_ADMIN["port"],
            "username": mysql_accounts.create_user(password),
            "password": password,
            "dbname": mysql_accounts.database,
            **extra,
        }
        return str(sm.create_secret(Name=f"{name}-{engine}", SecretString=json.dumps(value))["ARN"]), value

    return make


def test_ten_rotations_new_password_works_old_does_not(sm: Any, make_user: Any) -> None:
    arn, first = make_user()
    seen = [first["password"]]
    for _ in range(10):
        before = current(sm, arn)
        rotate(mysql_single_user, sm, arn)
        after = current(sm, arn)
        assert after["password"] not in seen and not set(after["password"]) & set("/@\"'\\")
        assert logs_in(after), "the new AWSCURRENT password does not log in"
        assert not logs_in(before), "the old password still logs in"
        seen.append(after["password"])


def test_engine_mysql_is_accepted_and_postgres_refused(sm: Any, make_user: Any) -> None:
    arn, _ = make_user(engine="mysql")
    rotate(mysql_single_user, sm, arn)
    assert logs_in(current(sm, arn))
    other, _ = make_user(engine="postgres")
    with pytest.raises(KeyError, match="engine must be set to 'mysql'"):
        create(mysql_single_user, sm, other, str(uuid.uuid4()))


def test_steps_repeat_safely(sm: Any, make_user: Any) -> None:
    arn, first = make_user()
    token = str(uuid.uuid4())
    create(mysql_single_user, sm, arn, token)
    create(mysql_single_user, sm, arn, token)
    pending = json.loads(sm.get_secret_value(SecretId=arn, VersionId=token)["SecretString"])
    for step in ("setSecret", "setSecret", "testSecret", "testSecret", "finishSecret", "finishSecret"):
        invoke(mysql_single_user, step, arn, token)
    assert current(sm, arn) == pending and logs_in(pending) and not logs_in(first)
    assert len(labels(sm, arn)) == 2


def test_required_tls_the_server_lacks_fails_set_secret_and_leaves_current(sm: Any, make_user: Any) -> None:
    """``"ssl": "true"`` means TLS or nothing; this MariaDB has no TLS, so setSecret cannot log in
    and changes nothing."""
    arn, first = make_user(ssl="true")
    token = str(uuid.uuid4())
    create(mysql_single_user, sm, arn, token)
    with pytest.raises(ValueError, match="Unable to log into database"):
        invoke(mysql_single_user, "setSecret", arn, token)
    assert current(sm, arn) == first and logs_in(first)
    assert "AWSCURRENT" not in labels(sm, arn)[token]


@pytest.mark.parametrize(
    ("version", "expression"),
    [
        ("10.11.19-MariaDB-0+deb12u1", "PASSWORD(%s)"),
        ("11.4.2-MariaDB", "PASSWORD(%s)"),
        ("5.7.44-log", "PASSWORD(%s)"),
        ("8.0.36", "%s"),
        ("9.1.0", "%s"),
    ],
)
def test_password_expression_per_server(version: str, expression: str) -> None:
    assert password_expression(version) == expression
