"""Three ``strongroom serve`` processes on one PostgreSQL database, driven by many boto3 clients.

Each round sends racing requests through different instances at once, then checks the invariants
through every instance: exactly one AWSCURRENT per secret, AWSPREVIOUS on the version that was
current before, no acknowledged version lost, idempotent retries, one winner per CreateSecret name.
Also: an instance killed with SIGKILL mid-load loses no acknowledged write, and a due purge runs
exactly once, on the one instance that holds the purge job's lease.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_invariants import CURRENT, PREVIOUS, check_current_value, check_labels, check_same_everywhere
from pg_servers import (
    Instance,
    concurrently,
    create,
    get_value,
    make_client,
    move_current,
    pg_run,
    put,
    running_instances,
    start_instances,
)

pytestmark = pytest.mark.postgres
PURGE_INTERVAL = 0.3


@pytest.fixture(scope="module")
def database(new_database: Callable[[str], str]) -> str:
    return new_database("cluster")


@pytest.fixture(scope="module")
def cluster(database: str, master_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Instance]]:
    """Three instances started together (they migrate the empty database at the same moment)."""
    yield from running_instances(
        3, tmp_path_factory.mktemp("cluster"), master_key=master_key, database_url=database,
        config={"purge_interval": PURGE_INTERVAL},
    )


@pytest.fixture
def clients(cluster: list[Instance]) -> list[Any]:
    return [i.client() for i in cluster]


def unique(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


def test_instances_share_the_migrated_schema(cluster: list[Instance], database: str) -> None:
    rows = pg_run(database, "SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in rows] == list(range(1, len(rows) + 1))
    assert len({i.port for i in cluster}) == 3


def test_put_secret_value_races(clients: list[Any]) -> None:
    """Racing PutSecretValue (and duplicate-token retries) on the same secrets, round after round."""
    secrets = [unique("put") for _ in range(4)]
    values: dict[str, str] = {}
    for i, name in enumerate(secrets):
        token = str(uuid.uuid4())
        values[token] = f"{name}:{token}"
        clients[i % 3].create_secret(Name=name, ClientRequestToken=token, SecretString=values[token])
    current = {name: check_labels(clients[0], name).current for name in secrets}
    known: dict[str, set[str]] = {name: {current[name]} for name in secrets}

    for round_ in range(4):
        calls, sent, retries = [], [], []
        for name in secrets:
            tokens = [str(uuid.uuid4()) for _ in range(6)]
            for i, token in enumerate(tokens):
                values[token] = f"{name}:{token}:{round_}"
                calls.append(put(clients[i % 3], name, token, values[token]))
                sent.append((name, token))
            # a client retry of the first request, sent to another instance at the same moment
            retries.append(len(calls))
            calls.append(put(clients[1], name, tokens[0], values[tokens[0]]))
            sent.append((name, tokens[0]))
        # Readers race the writers: a version read by its label comes with the labels of that moment.
        reads = [get_value(clients[i % 3], name) for name in secrets for i in range(6)]
        outcomes = concurrently(calls + reads)
        outcomes, read_outcomes = outcomes[: len(calls)], outcomes[len(calls) :]
        for o in read_outcomes:
            assert o.response is not None, o.error
            assert CURRENT in o.response["VersionStages"], o.response["VersionStages"]
            assert o.response["SecretString"] == values[o.response["VersionId"]]
        failed = [(s, o.error) for s, o in zip(sent, outcomes, strict=True) if not o.ok]
        assert not failed, f"round {round_}: {failed}"
        for (_, token), o in zip(sent, outcomes, strict=True):
            assert o.response is not None and o.response["VersionId"] == token
        # The request that made a version reports [AWSCURRENT]; of a request and its retry, either
        # may be the one that made it, and the other reports the version's labels of that moment.
        for n, o in enumerate(outcomes):
            assert o.response is not None
            if n in retries:
                pair = (o.response, outcomes[n - 6].response)
                assert any(r is not None and r["VersionStages"] == [CURRENT] for r in pair)
            elif n + 6 not in retries:
                assert o.response["VersionStages"] == [CURRENT]

        for name in secrets:
            new = {token for (n, token) in sent if n == name}
            labels = check_same_everywhere(clients, name)
            assert known[name] | new == set(labels.versions), "a version was lost or one too many was made"
            known[name] |= new
            # Serialized: the last commit holds AWSCURRENT, the one before it AWSPREVIOUS.
            assert labels.current in new and labels.previous in new
            assert labels.labelled == {labels.current, labels.previous}
            check_current_value(clients, name, labels, values)
            previous = clients[round_ % 3].get_secret_value(SecretId=name, VersionStage=PREVIOUS)
            assert previous["VersionId"] == labels.previous
            assert previous["SecretString"] == values[labels.previous]
            current[name] = labels.current

    # One more put, alone: AWSPREVIOUS lands exactly on the version that was current before.
    for i, name in enumerate(secrets):
        token = str(uuid.uuid4())
        clients[i % 3].put_secret_value(SecretId=name, ClientRequestToken=token, SecretString="last")
        labels = check_same_everywhere(clients, name)
        assert (labels.current, labels.previous) == (token, current[name])


def test_update_secret_version_stage_races(clients: list[Any]) -> None:
    """Several instances move AWSCURRENT away from the same version at once: exactly one wins."""
    secrets = [unique("stage") for _ in range(3)]
    values: dict[str, str] = {}
    for name in secrets:
        clients[0].create_secret(Name=name, SecretString="v0", ClientRequestToken=(t := str(uuid.uuid4())))
        values[t] = "v0"
        for n in range(5):
            token = str(uuid.uuid4())
            values[token] = f"v{n + 1}"
            clients[n % 3].put_secret_value(SecretId=name, ClientRequestToken=token, SecretString=values[token])

    for round_ in range(4):
        before = {name: check_labels(clients[0], name) for name in secrets}
        calls, sent = [], []
        for name in secrets:
            targets = [v for v in before[name].versions if v != before[name].current]
            random.shuffle(targets)
            for i, target in enumerate(targets):
                calls.append(move_current(clients[(i + round_) % 3], name, target, before[name].current))
                sent.append((name, target))
        outcomes = concurrently(calls)
        for name in secrets:
            mine = [(t, o) for (n, t), o in zip(sent, outcomes, strict=True) if n == name]
            winners = [t for t, o in mine if o.ok]
            assert len(winners) == 1, f"round {round_}: {len(winners)} winners for {name}"
            assert {o.error for _, o in mine if not o.ok} <= {"InvalidParameterException"}
            labels = check_same_everywhere(clients, name)
            assert set(labels.versions) == set(before[name].versions)
            assert labels.current == winners[0]
            assert labels.previous == before[name].current
            check_current_value(clients, name, labels, values)

    # Mixed: puts and stage moves on the same secrets at once; the structure must still hold.
    before = {name: check_labels(clients[0], name) for name in secrets}
    calls, puts = [], []
    for name in secrets:
        for i, target in enumerate(v for v in before[name].versions if v != before[name].current):
            calls.append(move_current(clients[i % 3], name, target, before[name].current))
        for i in range(3):
            token = str(uuid.uuid4())
            values[token] = f"mixed-{token}"
            calls.append(put(clients[(i + 1) % 3], name, token, values[token]))
            puts.append((name, token))
    outcomes = concurrently(calls)
    assert all(o.ok or o.error == "InvalidParameterException" for o in outcomes)
    for name in secrets:
        labels = check_same_everywhere(clients, name)
        assert {t for n, t in puts if n == name} <= set(labels.versions)
        assert labels.previous is not None
        check_current_value(clients, name, labels, values)


def test_create_secret_races_on_the_same_name(clients: list[Any]) -> None:
    names = [unique("create") for _ in range(5)]
    calls, sent = [], []
    for name in names:
        for i in range(6):
            token = str(uuid.uuid4())
            calls.append(create(clients[i % 3], name, token, f"{name}:{token}"))
            sent.append((name, token))
    outcomes = concurrently(calls)
    for name in names:
        mine = [(t, o) for (n, t), o in zip(sent, outcomes, strict=True) if n == name]
        winners = [t for t, o in mine if o.ok]
        assert len(winners) == 1, f"{len(winners)} CreateSecret calls won {name}"
        assert {o.error for _, o in mine if not o.ok} == {"ResourceExistsException"}
        labels = check_same_everywhere(clients, name)
        assert labels.versions == {winners[0]: [CURRENT]}
        check_current_value(clients, name, labels, {winners[0]: f"{name}:{winners[0]}"})


def test_create_secret_retry_on_two_instances_creates_one_version(clients: list[Any]) -> None:
    """The same ClientRequestToken (a client retry) reaching two instances at once: one secret,
    one version. Both answers must be success, as they are when the two requests come in turn."""
    names = [unique("retry") for _ in range(6)]
    calls = []
    for name in names:
        token = str(uuid.uuid4())
        calls += [create(clients[0], name, token, "same"), create(clients[1], name, token, "same")]
    outcomes = concurrently(calls)
    for n, name in enumerate(names):
        pair = outcomes[2 * n : 2 * n + 2]
        labels = check_same_everywhere(clients, name)
        assert len(labels.versions) == 1
        assert all(o.ok for o in pair), [o.error for o in pair]
        assert {o.response["VersionId"] for o in pair if o.response} == set(labels.versions)


def test_an_instance_killed_mid_load_loses_no_acknowledged_write(
    cluster: list[Instance], database: str, master_key: str, tmp_path: Path
) -> None:
    victim = start_instances(1, tmp_path, master_key=master_key, database_url=database, tag="victim")[0]
    try:
        instances = [*cluster, victim]
        clients = [i.client() for i in instances]
        secrets = [unique("kill") for _ in range(24)]  # few versions each: 100 a day is the limit
        for name in secrets:
            clients[0].create_secret(Name=name, SecretString="initial")
        acked: list[tuple[str, str, str]] = []  # (secret, version id, value) acknowledged
        created: list[str] = []
        unexpected: list[str] = []
        lock = threading.Lock()
        victim_acks = threading.Event()
        victim_count = itertools.count(1)
        killed = threading.Event()
        stop = threading.Event()
        victim_index = len(clients) - 1

        def worker(n: int) -> None:
            rng = random.Random(n)
            client_index = n % len(clients)
            after_kill = 0
            while not stop.is_set() and after_kill < 25:
                if killed.is_set():
                    after_kill += 1
                if rng.random() < 0.1:
                    name, token = unique("killnew"), str(uuid.uuid4())
                    o = create(clients[client_index], name, token, "v")()
                else:
                    name, token = rng.choice(secrets), str(uuid.uuid4())
                    o = put(clients[client_index], name, token, f"{name}:{token}")()
                if o.ok:
                    with lock:
                        if name in secrets:
                            acked.append((name, token, f"{name}:{token}"))
                        else:
                            created.append(name)
                    if client_index == victim_index and next(victim_count) >= 25:
                        victim_acks.set()
                elif client_index == victim_index and killed.is_set():
                    client_index = rng.randrange(victim_index)  # a load balancer takes it out
                else:
                    with lock:
                        unexpected.append(f"{instances[client_index].name}: {o.error}")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        try:
            assert victim_acks.wait(timeout=60), "the victim never acknowledged 25 writes"
            killed.set()  # first, so that any failure seen on the victim comes after it
            victim.kill()
        finally:
            if not killed.is_set():
                stop.set()
            for t in threads:
                t.join(timeout=120)
            stop.set()
        assert not victim.alive()
        assert not unexpected, unexpected[:10]
        assert len(acked) > 100

        survivors = [c for c in clients[:-1]]
        for name in secrets:
            labels = check_same_everywhere(survivors, name)
            mine = {token for n, token, _ in acked if n == name}
            assert mine <= set(labels.versions), f"{len(mine - set(labels.versions))} acknowledged versions lost"
        for i, (name, token, value) in enumerate(acked):
            got = survivors[i % len(survivors)].get_secret_value(SecretId=name, VersionId=token)
            assert got["SecretString"] == value
        for i, name in enumerate(created):
            assert survivors[i % len(survivors)].describe_secret(SecretId=name)["Name"] == name
        # The dead instance's connections are gone, so no row lock outlives it: every secret is writable.
        for i, name in enumerate(secrets):
            survivors[i % len(survivors)].put_secret_value(SecretId=name, SecretString="after")
    finally:
        victim.kill()


def test_a_due_purge_runs_exactly_once(cluster: list[Instance], database: str, clients: list[Any]) -> None:
    before_each = [i.purged_count() for i in cluster]
    before = sum(before_each)
    names = [unique("purge") for _ in range(12)]
    for i, name in enumerate(names):
        clients[i % 3].create_secret(Name=name, SecretString="doomed")
        clients[(i + 1) % 3].put_secret_value(SecretId=name, SecretString="doomed too")
        clients[(i + 2) % 3].delete_secret(SecretId=name, RecoveryWindowInDays=7)
    ids = [r["id"] for r in pg_run(database, "SELECT id FROM secrets WHERE name = ANY($1::text[])", names)]
    assert len(ids) == len(names)
    pg_run(database, "UPDATE secrets SET deletion_date = $1 WHERE id = ANY($2::bigint[])", time.time() - 1, ids)

    deadline = time.monotonic() + 60
    while sum(i.purged_count() for i in cluster) - before < len(names) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(PURGE_INTERVAL * 5)  # more purge rounds: none may purge them again
    per_instance = [i.purged_count() - b for i, b in zip(cluster, before_each, strict=True)]
    assert sum(per_instance) == len(names), per_instance
    assert sorted(per_instance) == [0, 0, len(names)], per_instance  # the purge job runs on one instance

    for table in ("secrets", "versions", "stages"):
        column = "id" if table == "secrets" else "secret_id"
        left = pg_run(database, f"SELECT count(*) AS n FROM {table} WHERE {column} = ANY($1::bigint[])", ids)
        assert left[0]["n"] == 0, f"{table} rows of purged secrets remain"
    for i, name in enumerate(names):
        with pytest.raises(clients[i % 3].exceptions.ResourceNotFoundException):
            clients[i % 3].describe_secret(SecretId=name)
    clients[0].create_secret(Name=names[0], SecretString="reborn")  # the name is free again


def test_one_instance_holds_the_purge_job(cluster: list[Instance], database: str) -> None:
    """All three instances run the jobs scheduler; the first to take the purge job's lease keeps it
    (it renews it) and the others never take it (src/strongroom/jobs/periodic.py)."""
    (lease,) = pg_run(database, "SELECT holder, expires_at FROM job_leases WHERE name = 'purge'")
    holder_pid = int(lease["holder"].split(":")[-2])
    assert holder_pid in {i.proc.pid for i in cluster}
    assert lease["expires_at"] > time.time()
    takes = [i.log().count("took the lease of periodic job 'purge'") for i in cluster]
    assert sorted(takes) == [0, 0, 1], takes


def test_workers_of_one_instance_share_the_database(
    cluster: list[Instance], database: str, master_key: str, tmp_path: Path
) -> None:
    """``serve --workers 2`` on PostgreSQL: worker processes beside the other instances, same invariants."""
    multi = start_instances(
        1, tmp_path, master_key=master_key, database_url=database, extra_args=["--workers", "2"], tag="workers"
    )[0]
    try:
        assert len(multi.children()) >= 2
        clients = [multi.client(), cluster[0].client(), make_client(multi.endpoint)]
        name = unique("workers")
        clients[0].create_secret(Name=name, SecretString="v0")
        values: dict[str, str] = {}
        calls = []
        for i in range(24):
            token = str(uuid.uuid4())
            values[token] = f"v-{token}"
            calls.append(put(clients[i % 3], name, token, values[token]))
        outcomes = concurrently(calls)
        assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
        labels = check_same_everywhere(clients, name)
        assert set(values) <= set(labels.versions) and len(labels.versions) == 25
        assert labels.labelled == {labels.current, labels.previous}
        check_current_value(clients, name, labels, values)
    finally:
        multi.stop()
