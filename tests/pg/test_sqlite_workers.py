"""SQLite with several worker processes: ``strongroom serve --workers 3`` on one database file.

WAL lets readers run beside the writer; BEGIN IMMEDIATE with busy_timeout makes the workers'
writers take turns. Racing writes through the one port (the kernel spreads connections over the
workers) must keep the same invariants as on PostgreSQL, and never fail with "database is locked".
(This file lives in tests/pg/ with the other many-process tests, but needs no PostgreSQL.)
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

WORKERS = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    root = tmp_path_factory.mktemp("sqlite-workers")
    instance = start_instances(1, root, master_key=new_master_key(), extra_args=["--workers", str(WORKERS)])[0]
    try:
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
