"""Replication with two ``strongroom serve`` instances on one PostgreSQL database and concurrent writers.

Many PutSecretValue calls race through both instances on primaries replicated to another region;
the relay runs in one instance (the lease holder). Afterwards every replica equals its primary:
the same versions with the same values and labels (nothing lost, nothing applied out of order),
every target InSync without a failed attempt (nothing applied twice: a second insert of a version
would fail), and one instance only took the relay's lease.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from pg_servers import Instance, concurrently, pg_run, put, running_instances, wait_for

pytestmark = pytest.mark.postgres
WEST = "us-west-2"
POLL_S = 60.0


@pytest.fixture(scope="module")
def database(new_database: Callable[[str], str]) -> str:
    return new_database("replcluster")


@pytest.fixture(scope="module")
def pair(database: str, master_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Instance]]:
    yield from running_instances(
        2, tmp_path_factory.mktemp("replcluster"), master_key=master_key, database_url=database,
        config={"replication_interval": 0.1}, tag="repl",
    )


def test_concurrent_writers_lose_and_reorder_nothing(pair: list[Instance], database: str) -> None:
    east = [i.client() for i in pair]
    west = boto3.session.Session().client(
        "secretsmanager", endpoint_url=pair[1].endpoint, region_name=WEST, aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="test", config=Config(region_name=WEST, retries={"total_max_attempts": 1}),
    )
    names = [f"race-{uuid.uuid4().hex[:10]}" for _ in range(4)]
    for i, name in enumerate(names):
        east[i % 2].create_secret(Name=name, SecretString=f"{name}:0", AddReplicaRegions=[{"Region": WEST}])
    rng = random.Random(7)
    acknowledged: dict[str, set[str]] = {name: set() for name in names}
    for _ in range(4):  # rounds of racing writes through both instances
        calls = []
        for n in range(16):
            name = rng.choice(names)
            token = str(uuid.uuid4())
            calls.append((name, token, put(east[n % 2], name, token, f"{name}:{token}")))
        outcomes = concurrently([c for _, _, c in calls], threads=16)
        for (name, token, _), outcome in zip(calls, outcomes, strict=True):
            assert outcome.ok, outcome.error
            acknowledged[name].add(token)

    def settled() -> bool:
        return all(
            {s["Status"] for s in east[0].describe_secret(SecretId=name)["ReplicationStatus"]} == {"InSync"}
            for name in names
        )

    wait_for(settled, "every replica in sync", POLL_S)
    for name in names:
        primary, replica = east[0].describe_secret(SecretId=name), west.describe_secret(SecretId=name)
        assert replica["VersionIdsToStages"] == primary["VersionIdsToStages"]
        every = _versions(east[0], name)
        assert _versions(west, name) == every and acknowledged[name] <= every
        for version_id in every:
            value = west.get_secret_value(SecretId=name, VersionId=version_id)["SecretString"]
            assert value == east[1].get_secret_value(SecretId=name, VersionId=version_id)["SecretString"]
        current = west.get_secret_value(SecretId=name)
        assert current["VersionId"] == east[0].get_secret_value(SecretId=name)["VersionId"]
    targets = pg_run(database, "SELECT status, attempts FROM replication_targets")
    assert targets and all(t["status"] == "InSync" and t["attempts"] == 0 for t in targets)
    holders = [i.name for i in pair if "took the lease of periodic job 'replication.relay'" in i.log()]
    assert len(holders) == 1, holders
    assert not any("replication of" in i.log() for i in pair)  # no failed delivery was logged


def _versions(client: Any, name: str) -> set[str]:
    versions = client.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    return {v["VersionId"] for v in versions}
