"""The replication benchmark's clients: setting up replicated secrets, the fixed-rate writer and
the replica poller of the lag measurement, the catch-up writer and the wait for equal replicas.

Everything runs on one asyncio loop (uvloop) in the harness process, through Strongroom's own
client (`strongroom.client.AsyncSecretsManager`, SigV4-signed, no retries: a failed call is
counted, never hidden). Times are ``time.monotonic()``. The writer talks only to the primary and
the poller only to the replica, so measuring the lag adds no load to the primary.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.replication_lag import LagTracker, VersionMap, differing, marked_value, marker_of, percentiles_ms
from bench.signing import Creds
from strongroom.client import AsyncSecretsManager
from strongroom.client.shapes import ReplicaRegionType

T = TypeVar("T")

#: BatchGetSecretValue takes at most 20 ids.
BATCH = 20
#: ListSecrets page size of the equality checks.
PAGE = 100
#: Characters of padding in each written value (with the marker: ~120 bytes, like bench.workloads).
PAD = 90


@dataclass(frozen=True)
class Endpoint:
    """A deployment's API endpoint (``127.0.0.1:PORT``), the region a client names there, credentials."""

    host: str
    region: str
    creds: Creds

    def client(self, connections: int = 64) -> AsyncSecretsManager:
        return AsyncSecretsManager(
            region=self.region, endpoint_url=f"http://{self.host}", access_key_id=self.creds.access_key,
            secret_access_key=self.creds.secret_key, session_token=self.creds.token, max_attempts=1,
            max_pool_connections=connections, read_timeout=30.0, environ={},
        )


def run(coro: Awaitable[T]) -> T:
    """Run a coroutine on a fresh uvloop loop (asyncio's when uvloop is missing)."""
    try:
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - uvloop is a server dependency
        return asyncio.run(coro)  # type: ignore[arg-type]


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _pad() -> str:
    return os.urandom(PAD // 2).hex()


async def _bounded(items: Sequence[T], limit: int, work: Callable[[T], Awaitable[Any]]) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(item: T) -> Any:
        async with sem:
            return await work(item)

    return await asyncio.gather(*(one(i) for i in items))


# --- set-up --------------------------------------------------------------------------------------
async def create_replicated(primary: Endpoint, names: Sequence[str], replica_region: str | None,
                            concurrency: int = 16) -> int:
    """CreateSecret of each name on the primary (AddReplicaRegions ``replica_region``, when given)
    with a marked value; returns how many were created."""
    async with primary.client(concurrency) as sm:
        async def make(name: str) -> None:
            regions = [ReplicaRegionType(region=replica_region)] if replica_region else None
            await sm.create_secret(name=name, secret_string=marked_value(0, _pad()), add_replica_regions=regions)

        await _bounded(names, concurrency, make)
    return len(names)


async def list_versions(ep: Endpoint, connections: int = 4) -> dict[str, dict[str, tuple[str, ...]]]:
    """Every secret of the endpoint's region: name -> version id -> staging labels (ListSecrets)."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    async with ep.client(connections) as sm:
        token = None
        while True:
            page = await sm.list_secrets(max_results=PAGE, next_token=token)
            for entry in page.secret_list or ():
                if entry.name is not None:
                    out[entry.name] = dict(entry.secret_versions_to_stages or {})
            token = page.next_token
            if not token:
                return out


async def wait_equal(replica: Endpoint, expected: VersionMap, timeout: float, started: float,
                     gap: float = 0.05) -> dict[str, Any]:
    """List the replica's region until every secret in ``expected`` has the same versions and
    labels there (a failed listing, e.g. while the peer starts, counts as nothing equal).

    ``started``: the monotonic time the catch-up counts from. Returns seconds (None on time-out),
    rounds, the last round's duration (the measurement's resolution) and what still differed.
    """
    rounds, last_round, errors, first_error = 0, 0.0, 0, None
    left = list(expected)
    progress: list[tuple[float, int]] = []  # (seconds since started, replicas equal) per listing
    while True:
        began = time.monotonic()
        try:
            actual = await list_versions(replica)
            left = differing(expected, actual)
        except Exception as exc:  # noqa: BLE001 - the replica's deployment may still be starting
            errors += 1
            first_error = first_error or _why(exc)
        now = time.monotonic()
        rounds += 1
        last_round = now - began
        progress.append((round(now - started, 3), len(expected) - len(left)))
        done = not left
        if done or now - started > timeout:
            out: dict[str, Any] = {"seconds": round(now - started, 3) if done else None, "rounds": rounds,
                   "round_s": round(last_round, 3), "listing_errors": errors, "first_listing_error": first_error,
                   "differing": len(left), "progress": progress}
            if not done:
                out["differing_sample"] = left[:5]
            return out
        await asyncio.sleep(gap)


# --- writes --------------------------------------------------------------------------------------
async def write_burst(primary: Endpoint, plan: Sequence[str], concurrency: int = 32) -> dict[str, Any]:
    """PutSecretValue of each name in ``plan`` (in order, ``concurrency`` at a time, closed loop)."""
    failures: list[str] = []
    started = time.monotonic()
    async with primary.client(concurrency) as sm:
        async def put(name: str) -> None:
            try:
                await sm.put_secret_value(secret_id=name, secret_string=marked_value(-1, _pad()),
                                          client_request_token=str(uuid.uuid4()))
            except Exception as exc:  # noqa: BLE001 - counted and reported
                failures.append(_why(exc))

        # one worker per connection, each taking the next write of the plan
        queue = iter(plan)

        async def worker() -> None:
            for name in queue:
                await put(name)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.monotonic() - started
    return {"writes": len(plan), "failed": len(failures), "first_failure": failures[0] if failures else None,
            "seconds": round(seconds, 3), "writes_per_s": round(len(plan) / seconds, 1) if seconds else None}


# --- the lag -------------------------------------------------------------------------------------
async def measure_lag(primary: Endpoint, replica: Endpoint, names: Sequence[str], *, rate: float,
                      duration: float, poll_gap: float = 0.05, drain_timeout: float = 60.0,
                      seed: int = 1) -> dict[str, Any]:
    """PutSecretValue at ``rate``/s (open loop) for ``duration`` s on the primary, round-robin over
    ``names`` in a shuffled order; meanwhile a poller reads every secret with a write not yet seen
    from the replica (BatchGetSecretValue, 20 a request), round after round, starting at most every
    ``poll_gap`` s and pausing as long as the last round took. Each write's lag: from its
    acknowledgement to the end of the first replica read that showed its marker (or a later one of
    the same secret). After the last write the poller goes on for up to ``drain_timeout`` s."""
    order = list(names)
    random.Random(seed).shuffle(order)
    count = max(1, int(rate * duration))
    tracker = LagTracker(first_seq=time.time_ns() // 1000)
    done = asyncio.Event()
    rounds: list[float] = []
    polls: dict[str, Any] = {"requests": 0, "errors": 0, "entry_errors": 0, "first_error": None}
    writer_lag: list[float] = []
    async with primary.client(64) as pw, replica.client(16) as rc:
        async def put(write: Any) -> None:
            try:
                await pw.put_secret_value(secret_id=write.secret, secret_string=marked_value(write.seq, _pad()),
                                          client_request_token=str(uuid.uuid4()))
                tracker.acked(write, time.monotonic())
            except Exception as exc:  # noqa: BLE001 - counted and reported
                tracker.failed(write, _why(exc))

        async def writer() -> None:
            tasks = set()
            t0 = time.monotonic() + 0.05
            for k in range(count):
                due = t0 + k / rate
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                now = time.monotonic()
                writer_lag.append(now - due)
                task = asyncio.create_task(put(tracker.start(order[k % len(order)], now)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)
            done.set()

        async def read(chunk: list[str]) -> None:
            polls["requests"] += 1
            try:
                answer = await rc.batch_get_secret_value(secret_id_list=chunk)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                polls["errors"] += 1
                polls["first_error"] = polls["first_error"] or _why(exc)
                return
            at = time.monotonic()
            polls["entry_errors"] += len(answer.errors or ())
            for entry in answer.secret_values or ():
                seq = marker_of(entry.secret_string)
                if seq is not None and entry.name is not None:
                    tracker.seen(entry.name, seq, at)

        async def poller() -> None:
            drain_until = None
            while True:
                pending = tracker.pending()
                began = time.monotonic()
                if done.is_set():
                    drain_until = drain_until or began + drain_timeout
                    if not pending or began > drain_until:
                        return
                took = 0.0
                if pending:
                    chunks = [pending[i:i + BATCH] for i in range(0, len(pending), BATCH)]
                    await _bounded(chunks, 8, read)
                    took = time.monotonic() - began
                    rounds.append(took)
                # at most every poll_gap, and idle at least as long as the round took: while a
                # backlog makes rounds long, the poller takes at most half of the replica's time
                await asyncio.sleep(max(poll_gap - took, took))

        started = time.monotonic()
        await asyncio.gather(writer(), poller())
        elapsed = time.monotonic() - started
    out: dict[str, Any] = tracker.summary()
    acks = [w.acked for w in tracker.writes if w.acked is not None]
    span = (max(acks) - min(w.sent for w in tracker.writes if w.acked is not None)) if acks else 0.0
    out.update({
        "target_rate": rate, "duration_s": duration, "secrets": len(order),
        "achieved_rate": round(len(acks) / span, 1) if span else None,
        "elapsed_s": round(elapsed, 3),
        "first_failure": next((w.failed for w in tracker.writes if w.failed), None),
        "poll": {**polls, "rounds": len(rounds), "gap_s": poll_gap,
                 "round_ms": percentiles_ms(sorted(rounds)),
                 "requests_per_s": round(polls["requests"] / elapsed, 1) if elapsed else None},
        "writer_lag_ms": percentiles_ms(sorted(writer_lag)),
    })
    return out
