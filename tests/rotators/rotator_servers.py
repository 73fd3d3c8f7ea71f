"""Database servers with password authentication for the rotation-function tests.

PostgreSQL: a throwaway cluster made with ``initdb`` (scram-sha-256 for every connection) on a
free port in a temporary directory, removed when stopped; the machine's own PostgreSQL trusts
local connections, so a wrong password would pass there. ``initdb`` refuses to run as root: as
root the cluster belongs to, and runs as, the ``postgres`` user.

MariaDB/MySQL: the server at STRONGROOM_TEST_MYSQL_HOST:PORT (default 127.0.0.1:3306, root with an
empty password); the tests make their own users with passwords and drop them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

#: Set to 1 (CI) to fail instead of skipping when a database server is missing.
REQUIRE_ENV = "STRONGROOM_REQUIRE_POSTGRES"
COMMAND_TIMEOUT_S = 60
MYSQL_ADMIN = {
    "host": os.environ.get("STRONGROOM_TEST_MYSQL_HOST", "127.0.0.1"),
    "port": int(os.environ.get("STRONGROOM_TEST_MYSQL_PORT", "3306")),
    "user": os.environ.get("STRONGROOM_TEST_MYSQL_USER", "root"),
    "password": os.environ.get("STRONGROOM_TEST_MYSQL_PASSWORD", ""),
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: STRONGROOM_TEST_PG_BINDIR, else the newest
    /usr/lib/postgresql/<version>/bin, else the directory of an initdb on PATH."""
    configured = os.environ.get("STRONGROOM_TEST_PG_BINDIR")
    if configured:
        return Path(configured)
    versions = Path("/usr/lib/postgresql")
    if versions.is_dir():
        candidates = [p / "bin" for p in versions.iterdir() if (p / "bin" / "initdb").exists()]
        if candidates:
            return max(candidates, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass
class PostgresCluster:
    """A running throwaway cluster; ``superuser``/``password`` log in over TCP at host:port."""

    root: Path
    bindir: Path
    port: int
    run_as: list[str]
    superuser: str = "postgres"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    host: str = "127.0.0.1"
    #: The CA that signed the server's certificate, for a cluster started with TLS only.
    ca_file: Path | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.run_as, str(self.bindir / tool), *args],
            check=True, capture_output=True, timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-c port={self.port} -c listen_addresses={self.host} -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self.run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.root / "server.log"), "-w", "-o", options, "start")

    def stop(self) -> None:
        """Stop the server and delete everything the cluster wrote."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self.run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def write_tls_files(directory: Path, host: str) -> Path:
    """A CA and a server certificate for ``host`` (an IP address) signed by it: writes ca.crt,
    server.crt and server.key (0600) into ``directory``; returns the CA file to trust."""
    now = dt.datetime.now(dt.UTC)

    def certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: Any, ca: bool) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "strongroom test CA")])
    ca_cert = certificate("strongroom test CA", ca_key, ca_name, ca_key, ca=True)
    server_cert = certificate(host, server_key, ca_name, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (directory / "ca.crt").write_bytes(ca_cert.public_bytes(pem))
    (directory / "server.crt").write_bytes(server_cert.public_bytes(pem))
    key_file = directory / "server.key"
    key_file.write_bytes(
        server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    return directory / "ca.crt"


def start_postgres_cluster(bindir: Path, tls_only: bool = False) -> PostgresCluster:
    """initdb a cluster with scram-sha-256 authentication and start it on a free port; with
    ``tls_only`` the server has a certificate for its address (``cluster.ca_file`` signs it) and
    refuses connections without TLS."""
    root = Path(tempfile.mkdtemp(prefix="strongroom-rotators-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    cluster = PostgresCluster(root=root, bindir=bindir, port=free_port(), run_as=run_as)
    try:
        password_file = root / "password"
        password_file.write_text(cluster.password)
        password_file.chmod(0o600)
        if run_as:
            os.chown(password_file, owner.pw_uid, owner.pw_gid)
        cluster.run(
            "initdb", "-D", str(cluster.data_dir), "-U", cluster.superuser, f"--pwfile={password_file}",
            "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        password_file.unlink()
        if tls_only:
            cluster.ca_file = write_tls_files(root, cluster.host)
            if run_as:
                for name in ("server.crt", "server.key"):
                    os.chown(root / name, owner.pw_uid, owner.pw_gid)
            with (cluster.data_dir / "postgresql.conf").open("a") as conf:
                conf.write(f"ssl = on\nssl_cert_file = '{root}/server.crt'\nssl_key_file = '{root}/server.key'\n")
            hba = cluster.data_dir / "pg_hba.conf"
            hba.write_text(hba.read_text().replace("\nhost ", "\nhostssl "))
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def unavailable(reason: str) -> None:
    """Skip the test, or fail it when the environment says the servers must be there (CI)."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} and {REQUIRE_ENV}=1", pytrace=False)
    pytest.skip(reason)


def running_cluster(tls_only: bool = False) -> Iterator[PostgresCluster]:
    """A fixture body: a started cluster (skip or fail without the binaries), stopped after."""
    bindir = postgres_bindir()
    if bindir is None:
        unavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    assert bindir is not None
    cluster = start_postgres_cluster(bindir, tls_only)
    try:
        yield cluster
    finally:
        cluster.stop()


def mysql_unreachable() -> str | None:
    """Why the MariaDB/MySQL server can't be used, or None if it can."""
    try:
        pymysql.connect(**MYSQL_ADMIN, connect_timeout=5, ssl_disabled=True).close()
    except (pymysql.Error, OSError) as exc:
        return f"MariaDB/MySQL is not reachable at {MYSQL_ADMIN['host']}:{MYSQL_ADMIN['port']} ({exc})"
    return None


@dataclass
class MysqlAccounts:
    """Users and one database made for a test session on the MariaDB/MySQL server, dropped by
    :meth:`drop`."""

    database: str = field(default_factory=lambda: f"rot_{secrets.token_hex(6)}")
    users: list[str] = field(default_factory=list)

    def admin(self) -> pymysql.connections.Connection:
        return pymysql.connect(**MYSQL_ADMIN, connect_timeout=5, ssl_disabled=True, autocommit=True)

    def create_database(self) -> None:
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{self.database}`")

    def create_user(self, password: str) -> str:
        """A new user with ``password`` and all rights on the session's database."""
        name = f"rot_{secrets.token_hex(6)}"
        self.users.append(name)
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, password))
            cur.execute(f"GRANT ALL ON `{self.database}`.* TO %s@'%%'", (name,))
        return name

    def drop(self) -> None:
        with self.admin() as conn, conn.cursor() as cur:
            for name in self.users:
                cur.execute("DROP USER IF EXISTS %s@'%%'", (name,))
            cur.execute(f"DROP DATABASE IF EXISTS `{self.database}`")
