"""Invariants under concurrent requests (docs/architecture.md: a staging label is attached to at most one
version; every mutation is one transaction; names are unique per account and region).

Bounded: a few threads, a few dozen requests, no timing assertions.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError
from e2e_helpers import EXISTS, all_version_ids

THREADS = 8


def test_concurrent_puts_keep_label_invariants(sm, name):
    sm.create_secret(Name=name, SecretString="v0")

    def put(i: int) -> str:
        return sm.put_secret_value(SecretId=name, SecretString=f"v{i}")["VersionId"]

    with ThreadPoolExecutor(THREADS) as pool:
        ids = list(pool.map(put, range(1, 41)))
    assert len(set(ids)) == 40
    versions = all_version_ids(sm, name, include_deprecated=True)
    assert set(ids) <= set(versions)
    holders = {label: [v for v, s in versions.items() if label in s] for label in ("AWSCURRENT", "AWSPREVIOUS")}
    assert len(holders["AWSCURRENT"]) == 1 and len(holders["AWSPREVIOUS"]) == 1
    assert holders["AWSCURRENT"] != holders["AWSPREVIOUS"]
    assert all(len(s) <= 1 for s in versions.values())
    current = sm.get_secret_value(SecretId=name)
    assert current["VersionId"] == holders["AWSCURRENT"][0]
    assert current["SecretString"] == f"v{ids.index(current['VersionId']) + 1}"


def test_concurrent_creates_of_one_name(sm, name):
    def create(i: int) -> str:
        try:
            sm.create_secret(Name=name, SecretString=f"value-{i}")
            return "ok"
        except ClientError as e:
            err = e.response["Error"]
            assert (err["Code"], err["Message"]) == ("ResourceExistsException", EXISTS.format(name=name))
            return "exists"

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(create, range(THREADS * 2)))
    assert outcomes.count("ok") == 1
    assert len(all_version_ids(sm, name)) == 1


def test_concurrent_stage_moves_and_reads(sm, name):
    """Readers never see a secret without AWSCURRENT while it is being moved back and forth."""
    a = sm.create_secret(Name=name, SecretString="A")["VersionId"]
    b = sm.put_secret_value(SecretId=name, SecretString="B")["VersionId"]

    def move(i: int) -> None:
        src, dst = (b, a) if i % 2 == 0 else (a, b)
        try:
            sm.update_secret_version_stage(
                SecretId=name, VersionStage="AWSCURRENT", RemoveFromVersionId=src, MoveToVersionId=dst
            )
        except ClientError as e:  # lost the race: AWSCURRENT was not on src any more
            assert e.response["Error"]["Code"] == "InvalidParameterException"

    def read(_: int) -> str:
        return str(sm.get_secret_value(SecretId=name)["SecretString"])

    with ThreadPoolExecutor(THREADS) as pool:
        movers = [pool.submit(move, i) for i in range(20)]
        readers = [pool.submit(read, i) for i in range(40)]
        for f in movers:
            f.result()
        assert {f.result() for f in readers} <= {"A", "B"}
    versions = all_version_ids(sm, name)
    assert sorted(sorted(s) for s in versions.values()) == [["AWSCURRENT"], ["AWSPREVIOUS"]]


def test_concurrent_creates_of_different_names(sm, prefix):
    names = [f"{prefix}-{i}" for i in range(24)]

    def create(n: str) -> str:
        return str(sm.create_secret(Name=n, SecretString=n)["ARN"])

    with ThreadPoolExecutor(THREADS) as pool:
        arns = list(pool.map(create, names))
    assert len(set(arns)) == len(names)
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}], MaxResults=100)["SecretList"]
    assert sorted(e["Name"] for e in listed) == sorted(names)
    for n in names[:5]:
        assert sm.get_secret_value(SecretId=n)["SecretString"] == n
