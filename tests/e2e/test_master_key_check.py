"""A master key that is not the store's refuses to start (``serve``, ``serve --workers``, ``admin``):
a clear message, a non-zero exit, and nothing created or changed; the right key still works.

Each test has a store of its own (a fresh data dir, and on PostgreSQL a fresh database), since a
store's check value is recorded once. Issue 13, item 7; docs/security.md, "The master key check".
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_server import free_port, make_client, serve_command, start_server
from pg_servers import create_database, database_url, drop_database, new_master_key, pg_run

from strongroom.kms.master_key import MasterKey

MISMATCH = "strongroom: the master key does not match this store: "
EXIT_TIMEOUT_S = 60


def key_id(key_b64: str) -> str:
    return MasterKey(base64.b64decode(key_b64)).key_id


@pytest.fixture
def own_database(store: str) -> Iterator[str | None]:
    """A PostgreSQL database for this test alone (None on SQLite)."""
    if store != "postgres":
        yield None
        return
    name = create_database("keycheck")
    try:
        yield database_url(name)
    finally:
        drop_database(name)


def first_key(store: str, key: str) -> str | None:
    """How the first start gets key A: SQLite creates its key file (and reads it later), PostgreSQL the env."""
    return None if store == "sqlite" else key


def files_of(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file and directory under ``root``: size, mtime (ns) and the content's SHA-256."""
    found: dict[str, tuple[int, int, str]] = {}
    for path in sorted(root.rglob("*")):
        st = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        found[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns, digest)
    return found


def database_rows(url: str | None) -> dict[str, list[str]]:
    """Every row of every table of the PostgreSQL database (empty for SQLite: its file is in files_of)."""
    if url is None:
        return {}
    tables = [r["tablename"] for r in pg_run(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return {t: sorted(repr(sorted(r.items())) for r in pg_run(url, f'SELECT * FROM "{t}"')) for t in tables}


def state(data_dir: Path, url: str | None) -> tuple[Any, ...]:
    return files_of(data_dir) if data_dir.exists() else None, database_rows(url)


def recorded_key_id(data_dir: Path, url: str | None) -> str | None:
    if url is not None:
        rows = pg_run(url, "SELECT key_id FROM master_key_check")
        return rows[0]["key_id"] if rows else None
    with sqlite3.connect(data_dir / "strongroom.db") as conn:
        row = conn.execute("SELECT key_id FROM master_key_check").fetchone()
    return row[0] if row else None


def forget_check_value(data_dir: Path, url: str | None) -> None:
    """Make the store look as if an earlier release wrote it."""
    if url is not None:
        pg_run(url, "DELETE FROM master_key_check")
        return
    with sqlite3.connect(data_dir / "strongroom.db") as conn:
        conn.execute("DELETE FROM master_key_check")


def refused(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command that must exit on its own (a server that started instead is killed, and fails the test)."""
    proc = subprocess.Popen(  # noqa: S603
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{command[3]} did not refuse to start with a wrong master key")
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def serve_refused(
    data_dir: Path, store: str, key: str, url: str | None, extra_args: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv, env = serve_command(data_dir, free_port(), store, extra_args, master_key=key, database_url=url)
    return refused(argv, env)


def assert_refusal(result: subprocess.CompletedProcess[str], expected_id: str, given_id: str, *keys: str) -> None:
    assert result.returncode not in (0, None), result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(MISMATCH), result.stderr
    assert f"master key id {expected_id}, but the master key from $STRONGROOM_MASTER_KEY has id {given_id}" in (
        result.stderr
    ), result.stderr
    assert "Strongroom is listening" not in result.stdout
    for key in keys:  # never key material, in any form
        raw = base64.b64decode(key)
        for form in (key, raw.hex(), base64.urlsafe_b64encode(raw).decode()):
            assert form not in result.stdout + result.stderr


def test_a_wrong_master_key_refuses_to_start_and_changes_nothing(
    store: str, tmp_path: Path, own_database: str | None
) -> None:
    data, key_a = tmp_path / "data", new_master_key()
    srv = start_server(data, tmp_path / "logs-a", store, master_key=first_key(store, key_a), database_url=own_database)
    if store == "sqlite":
        key_a = (data / "master.key").read_text().strip()
    name, value = f"mk-{uuid.uuid4().hex[:12]}", f"kept-{uuid.uuid4().hex}"
    make_client(srv.endpoint).create_secret(Name=name, SecretString=value)
    srv.stop()
    before = state(data, own_database)

    key_b = new_master_key()
    for workers in ([], ["--workers", "2"]):
        result = serve_refused(data, store, key_b, own_database, workers)
        assert_refusal(result, key_id(key_a), key_id(key_b), key_a, key_b)
        assert state(data, own_database) == before
    if store == "postgres":  # another instance's data dir: not even created
        fresh = tmp_path / "other-instance"
        assert_refusal(serve_refused(fresh, store, key_b, own_database), key_id(key_a), key_id(key_b))
        assert not fresh.exists()

    srv = start_server(data, tmp_path / "logs-a2", store, master_key=first_key(store, key_a), database_url=own_database)
    assert make_client(srv.endpoint).get_secret_value(SecretId=name)["SecretString"] == value
    srv.stop()


def test_a_store_without_check_value_is_checked_against_its_data(
    store: str, tmp_path: Path, own_database: str | None
) -> None:
    data, key_a = tmp_path / "data", new_master_key()
    srv = start_server(data, tmp_path / "logs-a", store, master_key=key_a, database_url=own_database)
    name = f"old-{uuid.uuid4().hex[:12]}"
    make_client(srv.endpoint).create_secret(Name=name, SecretString="old-value")
    srv.stop()
    assert recorded_key_id(data, own_database) == key_id(key_a)
    forget_check_value(data, own_database)  # as written by a release without check values

    key_b = new_master_key()
    assert_refusal(serve_refused(data, store, key_b, own_database), key_id(key_a), key_id(key_b), key_a, key_b)
    assert recorded_key_id(data, own_database) is None

    srv = start_server(data, tmp_path / "logs-a2", store, master_key=key_a, database_url=own_database)
    assert make_client(srv.endpoint).get_secret_value(SecretId=name)["SecretString"] == "old-value"
    srv.stop()
    assert recorded_key_id(data, own_database) == key_id(key_a)


def test_admin_commands_refuse_a_wrong_master_key(
    store: str, tmp_path: Path, own_database: str | None
) -> None:
    data, key_a = tmp_path / "data", new_master_key()

    def admin(key: str, *args: str) -> tuple[list[str], dict[str, str]]:
        command = [sys.executable, "-m", "strongroom", "admin", *args, "--data-dir", str(data)]
        if own_database is not None:
            command += ["--database-url", own_database]
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
        env["STRONGROOM_MASTER_KEY"] = key
        return command, env

    def succeeds(key: str, *args: str) -> str:
        command, env = admin(key, *args)
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=EXIT_TIMEOUT_S, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    succeeds(key_a, "create-user", "--user-name", "alice")
    before = state(data, own_database)

    key_b = new_master_key()
    for args in (("create-user", "--user-name", "mallory"), ("create-access-key", "--user-name", "alice"),
                 ("list-users",)):  # fmt: skip
        result = refused(*admin(key_b, *args))
        assert result.stdout == ""
        assert_refusal(result, key_id(key_a), key_id(key_b), key_a, key_b)
        assert state(data, own_database) == before

    listed = succeeds(key_a, "list-users")
    assert "alice" in listed and "mallory" not in listed
