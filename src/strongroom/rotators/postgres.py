"""PostgreSQL for the rotation functions, through pg8000 (pure Python, so a deployment package
runs anywhere boto3 does).

Passwords are sent to the server as SCRAM-SHA-256 verifiers computed here, never as text: the
server stores a verifier as it is, so the password cannot reach its statement log.
Identifiers are quoted by the server's ``quote_ident``.
"""

from __future__ import annotations

import base64
import logging
from contextlib import closing
from typing import Any

import pg8000.dbapi
import scramp

from .database import TIMEOUT_S, Connection, master_connection, port_of, tls_context

logger = logging.getLogger(__name__)

DEFAULT_PORT = 5432
DEFAULT_DBNAME = "postgres"
SCRAM_ITERATIONS = 4096  # PostgreSQL's default scram_iterations


def scram_verifier(password: str) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL would store for ``password`` (fresh random salt)."""
    salt, stored_key, server_key, iterations = scramp.ScramMechanism("SCRAM-SHA-256").make_auth_info(
        password, iteration_count=SCRAM_ITERATIONS
    )
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored_key).decode()}:{b64(server_key).decode()}"


class PostgreSQL:
    engines: tuple[str, ...] = ("postgres", "aurora-postgresql")
    default_exclude: str = ":/@\"'\\"

    login_errors: tuple[type[Exception], ...] = (pg8000.dbapi.Error,)

    def connect(self, secret: dict[str, Any], use_tls: bool) -> Connection:
        return pg8000.dbapi.connect(
            user=secret["username"],
            password=secret["password"],
            host=secret["host"],
            port=port_of(secret, DEFAULT_PORT),
            database=secret.get("dbname") or DEFAULT_DBNAME,
            timeout=TIMEOUT_S,
            ssl_context=tls_context() if use_tls else False,
        )

    def set_own_password(self, conn: Connection, password: str) -> None:
        cursor = conn.cursor()
        cursor.execute("SELECT current_user")
        set_password(conn, cursor.fetchone()[0], password)


def quote_ident(conn: Connection, name: str) -> str:
    cursor = conn.cursor()
    cursor.execute("SELECT quote_ident(%s)", (name,))
    return str(cursor.fetchone()[0])


def run_with_password(conn: Connection, statements: list[str]) -> None:
    """Run statements that carry a password verifier in one transaction; a failure is re-raised
    without the statements or the server's text (which may quote them)."""
    try:
        cursor = conn.cursor()
        for statement in statements:
            cursor.execute(statement)
        conn.commit()
    except pg8000.dbapi.Error as exc:
        detail = exc.args[0] if exc.args else {}
        code = detail.get("C", "") if isinstance(detail, dict) else ""
        raise RuntimeError(f"PostgreSQL refused the change of user or password ({type(exc).__name__} {code})") from None


def set_password(conn: Connection, role: str, password: str) -> None:
    run_with_password(conn, [f"ALTER ROLE {quote_ident(conn, role)} WITH PASSWORD '{scram_verifier(password)}'"])


def role_exists(conn: Connection, role: str) -> bool:
    cursor = conn.cursor()
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    return bool(cursor.fetchall())


def create_login_role(
    conn: Connection, role: str, password: str, member_of: str | None = None, connect_to: str | None = None
) -> None:
    """Create a role that can log in with ``password``; in the same transaction make it a member of
    ``member_of`` (it gets that role's rights) and grant it CONNECT on database ``connect_to``."""
    quoted = quote_ident(conn, role)
    statements = [f"CREATE ROLE {quoted} WITH LOGIN PASSWORD '{scram_verifier(password)}'"]
    if member_of is not None:
        statements.append(f"GRANT {quote_ident(conn, member_of)} TO {quoted}")
    if connect_to is not None:
        statements.append(f"GRANT CONNECT ON DATABASE {quote_ident(conn, connect_to)} TO {quoted}")
    run_with_password(conn, statements)


def create_user_if_missing(client: Any, current: dict[str, Any]) -> None:
    """With a ``masterarn`` in the current secret, create its user (with its current password and
    CONNECT on its database) if the server does not have it, as AWS's single-user function does."""
    if not current.get("masterarn"):
        return
    with closing(master_connection(client, PostgreSQL(), current)) as conn:
        if role_exists(conn, current["username"]):
            return
        create_login_role(
            conn, current["username"], current["password"], connect_to=current.get("dbname") or DEFAULT_DBNAME
        )
        logger.info("create_user_if_missing: created user %s", current["username"])
