"""What the database rotation functions share: the secret's JSON, TLS choice, logging in, and the
single-user strategy (the user changes its own password), whatever the driver.

A secret holds AWS's JSON for database credentials: ``engine``, ``host``, ``username``,
``password`` (required), ``port``, ``dbname``, ``ssl``, ``masterarn`` (optional). A password
never reaches a log or an exception message here.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Protocol

from .steps import CURRENT, PENDING, PREVIOUS, Step, create_pending_version, finish_secret, random_password

logger = logging.getLogger(__name__)

REQUIRED_KEYS = ("host", "username", "password")
TIMEOUT_S = 5


class Connection(Protocol):
    def cursor(self) -> Any: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


class Database(Protocol):
    """One kind of database server, as the rotation steps need it."""

    #: Accepted values of the secret's ``engine``; the first is the one named in errors.
    engines: tuple[str, ...]
    #: EXCLUDE_CHARACTERS when the environment does not set it.
    default_exclude: str
    #: What :meth:`connect` raises when it cannot log in.
    login_errors: tuple[type[Exception], ...]

    def connect(self, secret: dict[str, Any], use_tls: bool) -> Connection:
        """A connection logged in with the secret's credentials."""

    def set_own_password(self, conn: Connection, password: str) -> None:
        """Change the logged-in user's password."""


def parse_secret(text: str, engines: tuple[str, ...]) -> dict[str, Any]:
    """A database secret's JSON as a dict; KeyError (AWS's functions' error) if it lacks a
    required key or names another engine, ValueError if it is not a JSON object."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("The secret value is not a JSON object")
    if value.get("engine") not in engines:
        raise KeyError(f"Database engine must be set to '{engines[0]}' in order to use this rotation function")
    for key in REQUIRED_KEYS:
        if key not in value:
            raise KeyError(f"{key} key is missing from secret JSON")
    return value


def read_secret(client: Any, db: Database, arn: str, stage: str, token: str | None = None) -> dict[str, Any]:
    """The database secret ``arn`` at ``stage`` (and version ``token`` if given)."""
    if token:
        answer = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage=stage)
    else:
        answer = client.get_secret_value(SecretId=arn, VersionStage=stage)
    return parse_secret(answer["SecretString"], db.engines)


def tls_choice(secret: dict[str, Any]) -> tuple[bool, bool]:
    """(use TLS, fall back to plain on failure) from the secret's ``ssl``, as AWS's functions read
    it: true/"true" require TLS, false/"false" never use it, absent or anything else try TLS first."""
    value = secret.get("ssl")
    if isinstance(value, bool):
        return value, False
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true", False
    return True, True


def tls_context() -> ssl.SSLContext:
    """TLS that verifies the server's certificate and host name against the system's trust store
    (SSL_CERT_FILE / SSL_CERT_DIR name others): PostgreSQL's sslmode=verify-full."""
    return ssl.create_default_context()


def error_summary(exc: BaseException) -> str:
    """An error's class and text (PostgreSQL's server errors carry a dict: its code and message)."""
    detail = exc.args[0] if len(exc.args) == 1 else exc
    if isinstance(detail, dict):
        detail = f"{detail.get('C', '')} {detail.get('M', '')}".strip()
    return f"{type(exc).__name__}: {detail}"


def attempt(db: Database, secret: dict[str, Any], use_tls: bool) -> Connection | None:
    """One login attempt, logged (user, host, TLS, the server's reason; never the password)."""
    how = "TLS" if use_tls else "no TLS"
    errors: tuple[type[Exception], ...] = (*db.login_errors, OSError)
    try:
        conn = db.connect(secret, use_tls)
    except errors as exc:
        user, host = secret["username"], secret["host"]
        logger.info("Could not log in as '%s' to %s (%s): %s", user, host, how, error_summary(exc))
        return None
    logger.info("Logged in as '%s' to %s (%s)", secret["username"], secret["host"], how)
    return conn


def login(db: Database, secret: dict[str, Any]) -> Connection | None:
    """A connection with the secret's credentials, or None; TLS as :func:`tls_choice` says."""
    use_tls, fall_back = tls_choice(secret)
    conn = attempt(db, secret, use_tls)
    if conn is None and use_tls and fall_back:
        conn = attempt(db, secret, False)
    return conn


def can_login(db: Database, secret: dict[str, Any]) -> bool:
    conn = login(db, secret)
    if conn is None:
        return False
    conn.close()
    return True


def port_of(secret: dict[str, Any], default: int) -> int:
    return int(secret["port"]) if "port" in secret else default


def master_connection(client: Any, db: Database, current: dict[str, Any]) -> Connection:
    """A connection as the user of the secret ``current["masterarn"]`` to ``current``'s database
    on the same host; ValueError if the hosts differ or the login fails."""
    master_arn = current["masterarn"]
    master = read_secret(client, db, master_arn, CURRENT)
    master["dbname"] = current.get("dbname")
    if master["host"] != current["host"]:
        raise ValueError(f"Current database host {current['host']} is not the same host as master {master['host']}")
    conn = login(db, master)
    if conn is None:
        raise ValueError(f"Unable to log into database using credentials in master secret {master_arn}")
    return conn


def same_user_and_host(expected: dict[str, Any], pending: dict[str, Any], which: str) -> None:
    """ValueError unless the pending secret names the same user and host as ``expected``: a
    rotation never changes another account's password."""
    for key in ("username", "host"):
        if expected[key] != pending[key]:
            raise ValueError(
                f"Attempting to modify the user of {key} {pending[key]} other than the {which} {key} {expected[key]}"
            )


def new_password_version(client: Any, db: Database, rename: Callable[[str], str] = str) -> Callable[[str], str]:
    """createSecret's new value: the current JSON with a new random password (and the user name
    ``rename(username)``)."""

    def next_value(current_text: str) -> str:
        secret = parse_secret(current_text, db.engines)
        secret["username"] = rename(secret["username"])
        secret["password"] = random_password(client, db.default_exclude)
        return json.dumps(secret)

    return next_value


def create_step(db: Database, rename: Callable[[str], str] = str) -> Step:
    def create_secret(client: Any, arn: str, token: str) -> None:
        create_pending_version(client, arn, token, new_password_version(client, db, rename))

    return create_secret


def test_step(db: Database) -> Step:
    """testSecret: log in with the pending secret and run a query."""

    def test_secret(client: Any, arn: str, token: str) -> None:
        conn = login(db, read_secret(client, db, arn, PENDING, token))
        if conn is None:
            raise ValueError(f"Unable to log into database with pending secret of secret ARN {arn}")
        with closing(conn):
            cursor = conn.cursor()
            cursor.execute("SELECT NOW()")
            cursor.fetchall()
            conn.commit()
        logger.info("testSecret: Successfully signed into the database with AWSPENDING secret in %s.", arn)

    return test_secret


def finish_step(client: Any, arn: str, token: str) -> None:
    finish_secret(client, arn, token)


@dataclass(frozen=True)
class SingleUser:
    """The single-user strategy for ``db``; ``prepare`` (if given) runs first in setSecret with the
    current secret, e.g. to create a missing user with the master secret."""

    db: Database
    prepare: Callable[[Any, dict[str, Any]], None] | None = None

    def steps(self) -> dict[str, Step]:
        return {
            "createSecret": create_step(self.db),
            "setSecret": self.set_secret,
            "testSecret": test_step(self.db),
            "finishSecret": finish_step,
        }

    def set_secret(self, client: Any, arn: str, token: str) -> None:
        """setSecret: done if the pending password already logs in; otherwise log in with the
        current password (or the previous one, if the current never reached the database) and
        change the user's own password to the pending one."""
        try:
            previous: dict[str, Any] | None = read_secret(client, self.db, arn, PREVIOUS)
        except (client.exceptions.ResourceNotFoundException, KeyError):
            previous = None
        current = read_secret(client, self.db, arn, CURRENT)
        pending = read_secret(client, self.db, arn, PENDING, token)
        if self.prepare is not None:
            self.prepare(client, current)
        if can_login(self.db, pending):
            logger.info("setSecret: AWSPENDING secret is already set as password in the database for %s.", arn)
            return
        same_user_and_host(current, pending, "current")
        conn = login(self.db, current)
        if conn is None and previous is not None:
            previous.pop("ssl", None)
            if "ssl" in current:
                previous["ssl"] = current["ssl"]
            same_user_and_host(previous, pending, "previous valid")
            conn = login(self.db, previous)
        if conn is None:
            raise ValueError(f"Unable to log into database with previous, current, or pending secret of {arn}")
        with closing(conn):
            self.db.set_own_password(conn, pending["password"])
        logger.info("setSecret: Successfully set password for user %s for secret arn %s.", pending["username"], arn)
