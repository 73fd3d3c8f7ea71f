"""SQLite with several worker processes: ``strongroom serve --workers 3`` on one database file.

WAL lets readers run beside the writer; BEGIN IMMEDIATE with busy_timeout makes the workers'
writers take turns. Racing writes through the one port (the kernel spreads connections over the
workers) must keep the same invariants as on PostgreSQL, and never fail with "database is locked".
(This file lives in tests/pg/ with the other many-process tests, but needs no PostgreSQL.)
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pg_invariants import CURRENT, check_current_value, check_labels
from pg_servers import (
    Instance,
    concurrently,
    create,
    get_value,
    make_client,
    move_current,
    new_master_key,
    put,
    start_instances,
)

from strongroom.sigv4 import Credentials, sign_headers

WORKERS = 3
PURGE_INTERVAL = 0.3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    root = tmp_path_factory.mktemp("sqlite-workers")
    instance = start_instances(
        1, root, master_key=new_master_key(), extra_args=["--workers", str(WORKERS)],
        config={"purge_interval": PURGE_INTERVAL},
    )[0]
    try:
        _wait_listening(instance.port, WORKERS)  # ready means one worker answers; the others may still start
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def clients(server: Instance) -> list[Any]:
    return [make_client(server.endpoint) for _ in range(3)]  # separate connection pools


def test_the_workers_are_separate_processes_on_one_database(server: Instance) -> None:
    assert len(server.children()) >= WORKERS
    db = Path(server.argv[server.argv.index("--data-dir") + 1]) / "strongroom.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_one_worker_runs_the_purge(server: Instance, clients: list[Any]) -> None:
    """Every worker runs the jobs scheduler; one holds the purge job's lease and purges for all.
    (Only the lease holder ticks: tests/unit/test_jobs.py and test_background_jobs.py.)"""
    db = Path(server.argv[server.argv.index("--data-dir") + 1]) / "strongroom.db"
    names = [f"purge-{uuid.uuid4().hex[:10]}" for _ in range(3)]
    for name in names:
        clients[0].create_secret(Name=name, SecretString="doomed")
        clients[1].delete_secret(SecretId=name, RecoveryWindowInDays=7)
    marks = ", ".join("?" for _ in names)
    with sqlite3.connect(db, timeout=10) as conn:
        conn.execute(f"UPDATE secrets SET deletion_date = ? WHERE name IN ({marks})", (time.time() - 1, *names))
    deadline = time.monotonic() + 60
    while _count_named(db, names) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _count_named(db, names) == 0
    with sqlite3.connect(db, timeout=10) as conn:
        (holder,) = conn.execute("SELECT holder FROM job_leases WHERE name = 'purge'").fetchone()
    assert int(holder.split(":")[-2]) in server.children()  # a worker, not the supervisor


def _count_named(db: Path, names: list[str]) -> int:
    marks = ", ".join("?" for _ in names)
    with sqlite3.connect(db, timeout=10) as conn:
        return int(conn.execute(f"SELECT count(*) FROM secrets WHERE name IN ({marks})", names).fetchone()[0])


def test_racing_writes_keep_the_invariants(server: Instance, clients: list[Any]) -> None:
    names = [f"w-{uuid.uuid4().hex[:10]}" for _ in range(4)]
    values: dict[str, str] = {}

    # CreateSecret races on each name: one winner.
    calls, sent = [], []
    for name in names:
        for i in range(5):
            token = str(uuid.uuid4())
            values[token] = f"{name}:{token}"
            calls.append(create(clients[i % 3], name, token, values[token]))
            sent.append(name)
    outcomes = concurrently(calls)
    for name in names:
        mine = [o for n, o in zip(sent, outcomes, strict=True) if n == name]
        assert sum(o.ok for o in mine) == 1
        assert {o.error for o in mine if not o.ok} == {"ResourceExistsException"}

    known = {name: set(check_labels(clients[0], name).versions) for name in names}
    for round_ in range(3):
        calls, puts = [], []
        for name in names:
            tokens = [str(uuid.uuid4()) for _ in range(6)]
            for i, token in enumerate(tokens):
                values[token] = f"{name}:{token}:{round_}"
                calls.append(put(clients[i % 3], name, token, values[token]))
                puts.append((name, token))
            # the same token again (a client retry) at the same moment: still one version
            calls.append(put(clients[2], name, tokens[0], values[tokens[0]]))
        reads = [get_value(clients[i % 3], name) for name in names for i in range(4)]
        outcomes = concurrently(calls + reads)
        assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
        for o in outcomes[len(calls) :]:  # a version read by its label comes with that moment's labels
            assert o.response is not None and CURRENT in o.response["VersionStages"]
            assert o.response["SecretString"] == values[o.response["VersionId"]]
        for name in names:
            new = {t for n, t in puts if n == name}
            labels = check_labels(clients[round_ % 3], name)
            assert set(labels.versions) == known[name] | new
            known[name] |= new
            assert labels.current in new and labels.previous in new
            assert labels.labelled == {labels.current, labels.previous}
            check_current_value(clients, name, labels, values)

        # UpdateSecretVersionStage races: everyone moves AWSCURRENT off the same version.
        before = {name: check_labels(clients[0], name) for name in names}
        calls, moves = [], []
        for name in names:
            targets = [v for v in before[name].versions if v != before[name].current][:5]
            for i, target in enumerate(targets):
                calls.append(move_current(clients[i % 3], name, target, before[name].current))
                moves.append((name, target))
        outcomes = concurrently(calls)
        for name in names:
            tried = [(t, o) for (n, t), o in zip(moves, outcomes, strict=True) if n == name]
            winners = [t for t, o in tried if o.ok]
            assert len(winners) == 1
            assert {o.error for _, o in tried if not o.ok} <= {"InvalidParameterException"}
            labels = check_labels(clients[1], name)
            assert (labels.current, labels.previous) == (winners[0], before[name].current)


def test_a_write_through_one_worker_is_read_back_through_every_worker(server: Instance) -> None:
    """Read-after-write across processes: each worker caches GetSecretValue reads (store/sqlite.py)
    and must notice another worker's commit before answering a request sent after it.

    Each round writes through one client and then reads through eight others, each with its own
    connection (the kernel spreads connections over the workers, so every round reads through
    the caches of several processes): every read must return the value just written.
    """
    writer = make_client(server.endpoint)
    readers = [make_client(server.endpoint) for _ in range(8)]
    name = f"raw-{uuid.uuid4().hex[:10]}"
    writer.create_secret(Name=name, SecretString="round-0")
    for reader in readers:  # fill every worker's cache with the old value
        assert reader.get_secret_value(SecretId=name)["SecretString"] == "round-0"
    for round_ in range(1, 31):
        writer.put_secret_value(SecretId=name, SecretString=f"round-{round_}")
        for reader in readers:
            assert reader.get_secret_value(SecretId=name)["SecretString"] == f"round-{round_}"


def _listening_sockets(port: int) -> int:
    """Sockets in LISTEN state on ``port`` (IPv4), from /proc/net/tcp."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
            count += 1
    return count


def _wait_listening(port: int, count: int, timeout: float = 30.0) -> int:
    """Wait until ``count`` sockets listen on ``port`` (each worker listens once its app started)."""
    deadline = time.monotonic() + timeout
    while (found := _listening_sockets(port)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_every_worker_listens_on_its_own_socket(server: Instance) -> None:
    """One SO_REUSEPORT listener per worker (uvicorn alone shares one socket among them all)."""
    assert _listening_sockets(server.port) == WORKERS


def test_a_burst_of_connections_reaches_several_workers(server: Instance) -> None:
    """30 connections opened at once, then one request on each: the kernel hashes them over the
    workers' sockets (one shared socket let one worker accept a whole burst). Every worker writes
    its own audit file, so the files holding this test's records count the workers reached."""
    marker = f"spread-{uuid.uuid4().hex[:8]}"
    body = orjson.dumps({"SecretId": marker})
    url = f"{server.endpoint}/"
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.DescribeSecret"}
    signed = sign_headers("POST", url, headers, body, Credentials("AKIDEXAMPLE", "secret"), "us-east-1",
                          "secretsmanager", time.time())
    head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, **signed}.items())
    request = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
               ).encode() + body
    conns = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(30)]
    try:
        for conn in conns:
            conn.sendall(request)
        for conn in conns:
            assert b" 400 " in conn.recv(65536).split(b"\r\n", 1)[0]  # ResourceNotFoundException
    finally:
        for conn in conns:
            conn.close()
    audit_dir = Path(server.argv[server.argv.index("--data-dir") + 1]) / "audit"
    deadline = time.monotonic() + 10
    reached: set[Path] = set()
    while time.monotonic() < deadline:  # records are flushed every 0.2 s
        reached = {f for f in audit_dir.glob("audit-*.jsonl") if marker in f.read_text()}
        if sum(f.read_text().count(marker) for f in reached) >= 30:
            break
        time.sleep(0.2)
    assert sum(f.read_text().count(marker) for f in reached) == 30
    assert len(reached) >= 2, f"all 30 connections were served by one worker: {reached}"


def test_a_second_server_on_the_same_port_is_refused(server: Instance, tmp_path: Path) -> None:
    """The supervisor checks the address without SO_REUSEPORT: it never joins a running server's port."""
    argv = [
        sys.executable, "-m", "strongroom", "serve", "--dev", "--host", "127.0.0.1", "--port", str(server.port),
        "--data-dir", str(tmp_path / "second"), "--workers", "2",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRONGROOM_"))}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)  # noqa: S603
    assert proc.returncode == 1, proc.stderr
    assert f"cannot listen on 127.0.0.1:{server.port}" in proc.stderr
