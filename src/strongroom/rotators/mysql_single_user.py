"""Rotation function: MySQL and MariaDB, single user (the user changes its own password).

Secret JSON: ``engine`` (mysql, aurora-mysql or mariadb), ``host``, ``username``, ``password``,
optional ``port`` (3306), ``dbname``, ``ssl``. Driver: PyMySQL.
"""

from __future__ import annotations

from typing import Any

import pymysql

from .database import TIMEOUT_S, Connection, SingleUser, port_of, tls_context
from .steps import make_handler

DEFAULT_PORT = 3306


def password_expression(server_version: str) -> str:
    """How ``SET PASSWORD`` takes a clear-text password on this server: MariaDB and MySQL before
    8 hash it with ``PASSWORD()``; MySQL 8 and later take it as it is (and removed PASSWORD())."""
    if "mariadb" in server_version.lower():
        return "PASSWORD(%s)"
    major = server_version.split(".", 1)[0]
    return "%s" if major.isdigit() and int(major) >= 8 else "PASSWORD(%s)"


class MySQL:
    engines: tuple[str, ...] = ("mysql", "aurora-mysql", "mariadb")
    default_exclude: str = "/@\"'\\"

    login_errors: tuple[type[Exception], ...] = (pymysql.Error,)

    def connect(self, secret: dict[str, Any], use_tls: bool) -> Connection:
        tls: dict[str, Any] = {"ssl": tls_context()} if use_tls else {"ssl_disabled": True}
        return pymysql.connect(
            host=secret["host"],
            user=secret["username"],
            password=secret["password"],
            port=port_of(secret, DEFAULT_PORT),
            database=secret.get("dbname"),
            connect_timeout=TIMEOUT_S,
            **tls,
        )

    def set_own_password(self, conn: Connection, password: str) -> None:
        cursor = conn.cursor()
        cursor.execute("SELECT VERSION()")
        expression = password_expression(str(cursor.fetchone()[0]))
        try:
            cursor.execute(f"SET PASSWORD = {expression}", (password,))
            conn.commit()
        except pymysql.Error as exc:
            code = exc.args[0] if exc.args else ""
            raise RuntimeError(f"The server refused the password change ({type(exc).__name__} {code})") from None


STEPS = SingleUser(MySQL()).steps()
lambda_handler = make_handler(STEPS)
