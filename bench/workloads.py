"""The workloads: which API calls, on which secrets, and how their request pools are built.

Secret ``i`` (0-based) of a store of ``n`` secrets is named :func:`secret_name` ``(i)``:
``team-NN/app-IIIIIII`` with ``NN = i % 100``, so every ``team-NN/`` name prefix selects 1% of the
store and ListSecrets' name-prefix filter has real work to do at every size.

Writes respect the server's version quota (about 100 versions per secret within 24 hours): a
write pool spreads its PutSecretValue requests over the secrets round-robin in a shuffled order
and never gives one secret more than :data:`MAX_PUTS_PER_SECRET` versions; every request carries
its own pre-generated ClientRequestToken (uuid4), so no request is an idempotent retry.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from bench.signing import REGION, Creds, Pool, json_body, sign_request

#: Versions one PutSecretValue pool may add to a secret (the server keeps ~100 within 24 hours).
MAX_PUTS_PER_SECRET = 90
BATCH_SIZE = 20
LIST_PAGE = 100
#: In the mixed workload, one request in MIX_EVERY is a PutSecretValue (90/10).
MIX_EVERY = 10


def secret_name(i: int) -> str:
    return f"team-{i % 100:02d}/app-{i:07d}"


def list_prefix(k: int) -> str:
    return f"team-{k % 100:02d}/"


def secret_value(i: int) -> str:
    """A realistic small JSON credential (about 120 bytes)."""
    password = os.urandom(12).hex()
    return f'{{"username":"svc_{i:07d}","password":"{password}","host":"db-{i % 100:02d}.internal","port":5432}}'


@dataclass(frozen=True)
class Workload:
    key: str  # CLI name
    operation: str  # the API operation (the mix names its read side)
    description: str
    writes: bool = False


WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in (
        Workload("get", "GetSecretValue", "GetSecretValue of a random secret (by name)"),
        Workload("describe", "DescribeSecret", "DescribeSecret of a random secret (by name)"),
        Workload("batch", "BatchGetSecretValue", f"BatchGetSecretValue of {BATCH_SIZE} random secrets (SecretIdList)"),
        Workload("put", "PutSecretValue",
                 "PutSecretValue (new version, distinct ClientRequestToken) spread over all secrets", True),
        Workload("list", "ListSecrets",
                 f"ListSecrets first page (MaxResults {LIST_PAGE}), name-prefix filter matching 1% of secrets"),
        Workload("mix", "GetSecretValue+PutSecretValue",
                 f"90/10 GetSecretValue/PutSecretValue ({MIX_EVERY - 1} gets then 1 put)", True),
    )
}  # fmt: skip


@dataclass
class Plan:
    """What a load generator replays: pool ``a`` always; every ``every``-th request from ``b``.

    A pool with ``unique=True`` is never cycled: each request may be sent once (wrap-arounds are
    counted and reported, and make the cell invalid).
    """

    workload: str
    a: Pool
    b: Pool | None = None
    every: int = 0

    @property
    def pools(self) -> list[Pool]:
        return [self.a] + ([self.b] if self.b is not None else [])

    @property
    def signed_at(self) -> float:
        return min(p.signed_at for p in self.pools)


def _reads(
    op: str, n_secrets: int, count: int, rng: random.Random, host: str, creds: Creds, region: str = REGION
) -> list[bytes]:
    out = []
    for _ in range(count):
        if op == "GetSecretValue" or op == "DescribeSecret":
            body = json_body({"SecretId": secret_name(rng.randrange(n_secrets))})
        elif op == "BatchGetSecretValue":
            ids = rng.sample(range(n_secrets), min(BATCH_SIZE, n_secrets))
            body = json_body({"SecretIdList": [secret_name(i) for i in ids]})
        elif op == "ListSecrets":
            body = json_body(
                {"Filters": [{"Key": "name", "Values": [list_prefix(rng.randrange(100))]}], "MaxResults": LIST_PAGE}
            )
        else:
            raise ValueError(op)
        out.append(sign_request(host, op, body, creds, region))
    return out


def put_budget(n_secrets: int) -> int:
    return MAX_PUTS_PER_SECRET * n_secrets


def _puts(n_secrets: int, count: int, rng: random.Random, host: str, creds: Creds) -> list[bytes]:
    count = min(count, put_budget(n_secrets))
    order = list(range(n_secrets))
    rng.shuffle(order)
    out = []
    for k in range(count):
        i = order[k % n_secrets]  # round-robin: secret i gets at most ceil(count / n) <= 90 versions
        body = json_body(
            {"SecretId": secret_name(i), "SecretString": secret_value(i), "ClientRequestToken": str(uuid.uuid4())}
        )
        out.append(sign_request(host, "PutSecretValue", body, creds))
    return out


def build_plan(
    key: str, n_secrets: int, host: str, creds: Creds, *, read_pool: int, write_count: int, seed: int = 1,
    progress: Callable[[str], None] | None = None, region: str = REGION,
) -> Plan:
    """Sign the pool(s) of one workload against ``host`` (``127.0.0.1:PORT``).

    ``read_pool``: distinct read requests (cycled); ``write_count``: PutSecretValue requests the
    run may send at most (capped by the version quota); ``region``: the reads' credential scope
    (the region a replica is read in).
    """
    rng = random.Random(seed)
    started = time.time()
    if key in ("get", "describe", "batch", "list"):
        op = WORKLOADS[key].operation
        count = read_pool if key != "list" else min(read_pool, 2000)
        plan = Plan(key, Pool(key, _reads(op, n_secrets, count, rng, host, creds, region), time.time()))
    elif key == "put":
        plan = Plan(key, Pool(key, _puts(n_secrets, write_count, rng, host, creds), time.time(), unique=True))
    elif key == "mix":
        gets = Pool("mix-get", _reads("GetSecretValue", n_secrets, read_pool, rng, host, creds), time.time())
        puts = Pool("mix-put", _puts(n_secrets, max(1, write_count), rng, host, creds), time.time(), unique=True)
        plan = Plan(key, gets, puts, MIX_EVERY)
    else:
        raise ValueError(f"unknown workload {key!r}; choose from {', '.join(WORKLOADS)}")
    if progress:
        n = sum(len(p.requests) for p in plan.pools)
        progress(f"signed {n:,} {key} requests in {time.time() - started:.1f}s")
    return plan
