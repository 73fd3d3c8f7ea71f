"""The client benchmark: GetSecretValue calls per second from one process on one core at concurrency 64,
Strongroom's clients against aiobotocore and boto3, same run, same server (``make bench-client``).

One Strongroom server (SQLite, authentication on, ``--server-workers`` workers pinned to every core
but the client's) is seeded with ``--secrets`` secrets. Each client form then runs in its own
process pinned to ``--core`` (``os.sched_setaffinity``): ``strongroom-async``
(AsyncSecretsManager, 64 coroutines) against ``aiobotocore`` (64 coroutines, same event loop
kind), and ``strongroom-blocking`` (SecretsManager's blocking calls from 64 threads) against
``boto3`` (64 threads): the issue's "one process on one core at concurrency 64" for both. Rounds
alternate the order (the machine's speed drifts within minutes), each ratio is taken within its
round; the report gives the median and range of calls/s, client CPU per call and the ratios.
aiobotocore and boto3 run from ``--baseline-python`` (their own venv: aiobotocore pins an older
botocore than the server's model needs). Writes ``bench/results/client-<UTC>.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cpu import cpu_seconds, wait_quiet
from bench.servers import REPO, descendants, start_strongroom
from bench.signing import admin_credentials

DRIVERS = Path(__file__).resolve().parent / "client_drivers.py"
PAIRS = (("strongroom-async", "aiobotocore"), ("strongroom-blocking", "boto3"))
TARGETS = {"strongroom-async": 5.0, "strongroom-blocking": 3.0}


def seed(endpoint: str, key: str, secret: str, count: int) -> list[str]:
    """``count`` secrets with 64-byte values, created through the client under test."""
    from strongroom.client import AsyncSecretsManager

    names = [f"bench-client/s{i:04d}" for i in range(count)]

    async def create() -> None:
        async with AsyncSecretsManager(
            endpoint_url=endpoint, region="us-east-1", access_key_id=key, secret_access_key=secret, environ={}
        ) as sm:
            for name in names:
                await sm.create_secret(name=name, secret_string="x" * 64)

    asyncio.run(create())
    return names


def run_driver(
    kind: str, python: str, args: argparse.Namespace, endpoint: str, names: list[str], env: dict[str, str]
) -> dict[str, Any]:
    argv = [
        python, str(DRIVERS), kind, "--endpoint", endpoint, "--secrets", ",".join(names),
        "--duration", str(args.duration), "--concurrency", str(args.concurrency), "--core", str(args.core),
        "--loop", args.loop,
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=args.duration + 120)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["calls_per_s"] = result["calls"] / result["seconds"]
    result["cpu_us_per_call"] = 1e6 * result["cpu_seconds"] / max(result["calls"], 1)
    return result


def summarize(rounds: list[dict[str, dict[str, Any]]]) -> list[str]:
    lines = [
        "| client | calls/s median (range) | client CPU per call, us | errors |",
        "|---|---|---|---|",
    ]
    for kind in [k for pair in PAIRS for k in pair]:
        rates = [r[kind]["calls_per_s"] for r in rounds]
        cpu = [r[kind]["cpu_us_per_call"] for r in rounds]
        errors = sum(r[kind]["errors"] for r in rounds)
        lines.append(
            f"| {kind} | {statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f}) "
            f"| {statistics.median(cpu):,.0f} | {errors} |"
        )
    lines += [
        "",
        "| ratio (same round) | calls/s median (range) | target | CPU per call, baseline / ours |",
        "|---|---|---|---|",
    ]
    for ours, theirs in PAIRS:
        ratios = [r[ours]["calls_per_s"] / r[theirs]["calls_per_s"] for r in rounds]
        cpu = [r[theirs]["cpu_us_per_call"] / r[ours]["cpu_us_per_call"] for r in rounds]
        verdict = "PASS" if statistics.median(ratios) >= TARGETS[ours] else "FAIL"
        lines.append(
            f"| {ours} / {theirs} | {statistics.median(ratios):.1f}x ({min(ratios):.1f}-{max(ratios):.1f}) "
            f"| >= {TARGETS[ours]:.0f}x {verdict} | {statistics.median(cpu):.1f}x |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-python", required=True, help="python of a venv with aiobotocore and boto3")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--core", type=int, default=0, help="the core the client process is pinned to")
    parser.add_argument("--server-workers", type=int, default=1)
    parser.add_argument("--secrets", type=int, default=100)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="uvloop")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    server_cores = (os.sched_getaffinity(0) - {args.core}) or {args.core}
    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        server = start_strongroom(Path(tmp) / "data", args.server_workers, Path(tmp) / "logs", auth="sigv4")
        try:
            for pid in descendants(server.pid):
                os.sched_setaffinity(pid, server_cores)
            creds = admin_credentials(Path(tmp) / "data")
            endpoint = f"http://{server.host}"
            names = seed(endpoint, creds.access_key, creds.secret_key, args.secrets)
            env = {**os.environ, "BENCH_ACCESS_KEY_ID": creds.access_key, "BENCH_SECRET_ACCESS_KEY": creds.secret_key}
            env["PYTHONPATH"] = str(REPO / "src")
            pythons = {"aiobotocore": args.baseline_python, "boto3": args.baseline_python}
            rounds: list[dict[str, dict[str, Any]]] = []
            order = [k for pair in PAIRS for k in pair]
            for n in range(args.rounds):
                measured: dict[str, dict[str, Any]] = {}
                for kind in order if n % 2 == 0 else list(reversed(order)):
                    wait_quiet(server.pid, max_wait=5, threshold_pct=25)
                    before = cpu_seconds(descendants(server.pid))
                    measured[kind] = run_driver(kind, pythons.get(kind, sys.executable), args, endpoint, names, env)
                    measured[kind]["server_cpu_share"] = (cpu_seconds(descendants(server.pid)) - before) / (
                        measured[kind]["seconds"] * len(server_cores)
                    )
                    print(
                        f"round {n + 1} {kind:20s} {measured[kind]['calls_per_s']:8,.0f} calls/s "
                        f"{measured[kind]['cpu_us_per_call']:6,.0f} us CPU/call "
                        f"(server {100 * measured[kind]['server_cpu_share']:.0f}% of its cores)",
                        flush=True,
                    )
                rounds.append(measured)
        finally:
            server.stop()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    header = [
        f"# Client benchmark {stamp}",
        "",
        f"GetSecretValue, concurrency {args.concurrency}, client pinned to core {args.core}, {args.loop} event loop, "
        f"{args.duration:.0f} s x {args.rounds} alternated rounds; Strongroom (SQLite, auth on, "
        f"{args.server_workers} worker(s) on cores {sorted(server_cores)}), {args.secrets} secrets.",
        "",
    ]
    report = header + summarize(rounds)
    print("\n".join(report))
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"client-{stamp}.md").write_text("\n".join(report) + "\n")


if __name__ == "__main__":
    main()
