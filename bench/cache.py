"""The secret cache benchmark (run by ``make bench-client``, alone by ``make bench-cache``): what a hit
costs, sync and async, and how many requests 1,000 concurrent readers of a missing or an expired
entry cause, counted by a proxy in front of one Strongroom server (SQLite, authentication on).

- Hit cost: ``SecretCache.get_secret_string`` (timeit) and ``await AsyncSecretCache.get_secret_string``
  (a loop of awaits inside one coroutine) on a fresh entry, in ns per call, median and range of
  ``--repeats`` runs of ``--calls`` calls, next to the floor (a dict lookup plus a
  ``time.monotonic()`` comparison in a function). The process is pinned to ``--core``.
- Concurrent readers: ``--readers`` coroutines (AsyncSecretCache) and ``--readers`` threads
  (SecretCache) read one secret when it is not cached yet, after its TTL with the version unchanged,
  and after its TTL with a new version (PutSecretValue in between); the cache's clock is moved by
  hand. Requests are counted by the proxy (tests/client/fault_proxy.py, passing everything).

Writes ``bench/results/cache-<UTC>.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.servers import REPO, descendants, start_strongroom
from bench.signing import admin_credentials

sys.path.insert(0, str(REPO / "tests" / "client"))
from fault_proxy import FaultProxy  # noqa: E402

from strongroom.client import AsyncSecretsManager, SecretsManager  # noqa: E402
from strongroom.client.cache import AsyncSecretCache, SecretCache, SecretCacheConfig  # noqa: E402

TARGET_NS = 2000
SCENARIOS = ("missing", "expired, same version", "expired, new version")


class ManualClock:
    """The cache's clock, moved by hand to expire entries without waiting."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@contextmanager
def counting_proxy(upstream_port: int) -> Iterator[FaultProxy]:
    """A pass-through proxy that records every request, on an event-loop thread of its own."""
    loop = asyncio.new_event_loop()
    proxy = FaultProxy(upstream_port, [])
    loop.run_until_complete(proxy.__aenter__())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def floor_ns(calls: int, repeats: int) -> list[float]:
    """A function doing a dict lookup and a monotonic-clock comparison: what a hit cannot beat."""
    entries = {("s", "AWSCURRENT"): (time.monotonic() + 3600, "v")}
    clock = time.monotonic

    def lookup(secret_id: str, stage: str | None = None) -> str | None:
        deadline, value = entries[(secret_id, stage or "AWSCURRENT")]
        return value if clock() < deadline else None

    return [1e9 * t / calls for t in timeit.repeat(lambda: lookup("s"), number=calls, repeat=repeats)]


def sync_hit_ns(cache: SecretCache, name: str, calls: int, repeats: int) -> list[float]:
    cache.get_secret_string(name)
    return [1e9 * t / calls for t in timeit.repeat(lambda: cache.get_secret_string(name), number=calls, repeat=repeats)]


async def async_hit_ns(cache: AsyncSecretCache, name: str, calls: int, repeats: int) -> list[float]:
    await cache.get_secret_string(name)
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            await cache.get_secret_string(name)
        runs.append(1e9 * (time.perf_counter() - started) / calls)
    return runs


def threads_read(cache: SecretCache, name: str, readers: int) -> list[str | None]:
    """``readers`` threads, released together, each reading ``name`` once."""
    values: list[str | None] = []
    barrier = threading.Barrier(readers)

    def read() -> None:
        barrier.wait(60)
        values.append(cache.get_secret_string(name))

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return values


async def coroutines_read(cache: AsyncSecretCache, name: str, readers: int) -> list[str | None]:
    return list(await asyncio.gather(*(cache.get_secret_string(name) for _ in range(readers))))


Row = tuple[str, list[str], int, int]


def scenarios(
    read_all: Callable[[], list[str | None]],
    put: Callable[[str], Any],
    clock: ManualClock,
    ttl: float,
    proxy: FaultProxy,
) -> list[Row]:
    """(scenario, operations the server saw, readers that got the expected value, readers) for each
    scenario, in order: not cached, expired with the same version, expired with a new version."""
    rows = []
    for scenario, expected in zip(SCENARIOS, ("v1", "v1", "v2"), strict=True):
        if scenario == "expired, new version":
            put("v2")
        if scenario != "missing":
            clock.now += ttl
        before = len(proxy.requests)
        values = read_all()
        rows.append((scenario, proxy.operations()[before:], sum(v == expected for v in values), len(values)))
    return rows


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    return asyncio.new_event_loop()


def measure(args: argparse.Namespace, settings: dict[str, Any], proxy: FaultProxy) -> dict[str, Any]:
    config = SecretCacheConfig()
    ttl = config.secret_refresh_interval
    proxied = {**settings, "endpoint_url": proxy.endpoint}
    results: dict[str, Any] = {"floor": floor_ns(args.calls, args.repeats)}
    with SecretsManager(**settings) as direct:
        for name in ("bench-cache/hit", "bench-cache/sync", "bench-cache/async"):
            direct.create_secret(name=name, secret_string="v1")

        with SecretsManager(**proxied) as client:
            results["sync"] = sync_hit_ns(SecretCache(client, config), "bench-cache/hit", args.calls, args.repeats)
            clock = ManualClock()
            cache = SecretCache(client, config, clock=clock)
            put = lambda value: direct.put_secret_value(secret_id="bench-cache/sync", secret_string=value)  # noqa: E731
            results["sync_rows"] = scenarios(
                lambda: threads_read(cache, "bench-cache/sync", args.readers), put, clock, ttl, proxy
            )

        loop = new_event_loop(args.loop)
        async_client = AsyncSecretsManager(**proxied)
        try:
            hit_cache = AsyncSecretCache(async_client, config)
            results["async"] = loop.run_until_complete(
                async_hit_ns(hit_cache, "bench-cache/hit", args.calls, args.repeats)
            )
            clock = ManualClock()
            async_cache = AsyncSecretCache(async_client, config, clock=clock)
            put = lambda value: direct.put_secret_value(secret_id="bench-cache/async", secret_string=value)  # noqa: E731
            results["async_rows"] = scenarios(
                lambda: loop.run_until_complete(coroutines_read(async_cache, "bench-cache/async", args.readers)),
                put,
                clock,
                ttl,
                proxy,
            )
            loop.run_until_complete(async_cache.close())
            loop.run_until_complete(hit_cache.close())
        finally:
            loop.run_until_complete(async_client.close())
            loop.close()
    return results


def spread(runs: list[float]) -> str:
    return f"{statistics.median(runs):,.0f} ({min(runs):,.0f}-{max(runs):,.0f})"


def report(args: argparse.Namespace, results: dict[str, Any], stamp: str) -> list[str]:
    lines = [
        f"# Cache benchmark {stamp}",
        "",
        f"Hit: {args.repeats} runs of {args.calls:,} calls on a fresh entry, process pinned to core {args.core}, "
        f"{args.loop} event loop for the async form. Readers: {args.readers:,} at once, requests counted by a "
        "proxy in front of one Strongroom server (SQLite, authentication on).",
        "",
        "| hit | ns per call, median (range) | target |",
        "|---|---|---|",
        f"| floor: dict lookup + monotonic-clock comparison in a function | {spread(results['floor'])} | |",
    ]
    for key, label in (("sync", "`SecretCache.get_secret_string`"),
                       ("async", "`await AsyncSecretCache.get_secret_string`")):  # fmt: skip
        verdict = "PASS" if statistics.median(results[key]) < TARGET_NS else "FAIL"
        lines.append(f"| {label} | {spread(results[key])} | < {TARGET_NS:,} ns {verdict} |")
    lines += [
        "",
        "| readers | entry | requests the server saw | readers with the expected value |",
        "|---|---|---|---|",
    ]
    for key, label in (("async_rows", f"{args.readers:,} coroutines"), ("sync_rows", f"{args.readers:,} threads")):
        for scenario, operations, right, total in results[key]:
            seen = ", ".join(f"{operations.count(op)} {op}" for op in dict.fromkeys(operations)) or "none"
            lines.append(f"| {label} | {scenario} | {seen} | {right:,} / {total:,} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="calls per hit-cost run")
    parser.add_argument("--repeats", type=int, default=5, help="hit-cost runs")
    parser.add_argument("--readers", type=int, default=1000, help="concurrent readers (coroutines; threads)")
    parser.add_argument("--core", type=int, default=0, help="the core this process is pinned to")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="uvloop")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    server_cores = (os.sched_getaffinity(0) - {args.core}) or {args.core}
    os.sched_setaffinity(0, {args.core})
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        server = start_strongroom(Path(tmp) / "data", 1, Path(tmp) / "logs", auth="sigv4")
        try:
            for pid in descendants(server.pid):
                os.sched_setaffinity(pid, server_cores)
            creds = admin_credentials(Path(tmp) / "data")
            settings = {
                "endpoint_url": f"http://{server.host}", "region": "us-east-1", "environ": {},
                "access_key_id": creds.access_key, "secret_access_key": creds.secret_key,
            }  # fmt: skip
            with counting_proxy(server.port) as proxy:
                results = measure(args, settings, proxy)
        finally:
            server.stop()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    lines = report(args, results, stamp)
    print("\n".join(lines))
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"cache-{stamp}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
