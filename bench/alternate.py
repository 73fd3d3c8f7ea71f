"""Alternated A/B of Strongroom builds: every server started once, then loaded in turn.

    .venv/bin/python -m bench.alternate SERVER SERVER [SERVER ...] [--pairs 15] [--duration 2]

Each SERVER is ``SRC[@SIZE]`` - a directory holding the ``strongroom`` package (``src`` of a
checkout, or of ``git archive <commit> src``), run on a copy of the seeded SQLite store of SIZE
secrets (default ``--size``) - or ``hello``, the hello-world ceiling. Every server is started at
once, with authentication on and the same worker count, and warmed up; then, round after round,
each is driven with GetSecretValue at full load for ``--duration`` seconds (wrk under
SCHED_BATCH, as bench.run drives it), the order reversed every round. It prints each server's
median CPU per request and req/s, and the per-round ratio of every server to the first (median,
interquartile range, range).

Why: on a shared VM the speed drifts by 15-40% within minutes, so two cells measured minutes
apart compare the drift as much as the code. Short cells in alternation put both sides in the same
minutes; the spread of the per-round ratios shows what is left of the noise. Used for the
comparisons in docs/benchmarks.md ("Session 6"). Figures for comparison, not targets: the
targets are bench.run's.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import cpu, drive, servers
from bench.run import DEFAULT_CACHE, round_order, say
from bench.seed import SnapshotCache
from bench.signing import Creds, admin_credentials, dev_credentials
from bench.workloads import Plan, build_plan


@dataclass(frozen=True)
class Spec:
    """One server of the comparison: a source tree and store size, or the hello-world (no source)."""

    name: str
    source: Path | None
    size: int


def parse_spec(text: str, default_size: int) -> Spec:
    """``hello``, ``SRC`` or ``SRC@SIZE``."""
    if text == "hello":
        return Spec("hello", None, default_size)
    source, _, size = text.partition("@")
    path = Path(source).resolve()
    if not (path / "strongroom" / "__init__.py").is_file():
        raise SystemExit(f"{source}: no strongroom package in it (give the src directory of a checkout)")
    return Spec(text, path, int(size) if size else default_size)


def ratio_summary(base: list[float], other: list[float]) -> dict[str, float]:
    """Per-round ratios other / base: median, interquartile range and range."""
    ratios = sorted(o / b for b, o in zip(base, other, strict=True))
    q = len(ratios) // 4
    return {
        "median": statistics.median(ratios), "q1": ratios[q], "q3": ratios[-q - 1],
        "min": ratios[0], "max": ratios[-1],
    }


def _start(spec: Spec, workers: int, folder: Path, cache: SnapshotCache) -> tuple[servers.Server, Creds]:
    if spec.source is None:
        return servers.start_hello(workers, folder / "logs"), dev_credentials()
    snapshot, _ = cache.sqlite_snapshot(spec.size)
    data_dir = folder / "data"
    cache.sqlite_copy(snapshot, data_dir)
    server = servers.start_strongroom(data_dir, workers, folder / "logs", auth="sigv4", source=spec.source)
    return server, admin_credentials(data_dir)


def _run(server: servers.Server, plan: Plan, duration: float) -> tuple[float, float]:
    """(req/s, server CPU us per request) of one full-load cell."""
    pids = server.worker_pids()
    before = cpu.cpu_seconds(pids)
    out = drive.run_full("wrk" if drive.find_wrk() else "python", plan, server.port, duration=duration,
                         connections=64, threads=1)
    used = cpu.cpu_seconds(pids) - before
    if out["non_2xx"] or out["socket_errors"]:
        raise SystemExit(f"{server.label}: errors during a cell: {out['status_classes']}")
    return out["rps"], 1e6 * used / out["requests"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("servers", nargs="+", help="SRC[@SIZE] or hello (at least two)")
    ap.add_argument("--size", type=int, default=1000, help="store size for a SRC without @SIZE")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=15, help="rounds (each server measured once per round)")
    ap.add_argument("--duration", type=float, default=2.0, help="seconds per cell")
    ap.add_argument("--warmup", type=float, default=8.0, help="seconds of load per server before the rounds")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    args = ap.parse_args(argv)
    specs = [parse_spec(text, args.size) for text in args.servers]
    if len(specs) < 2:
        ap.error("give at least two servers")
    work = Path(tempfile.mkdtemp(prefix="bench-alternate-"))
    cache = SnapshotCache(args.cache_dir, say)
    started: dict[str, tuple[servers.Server, Plan]] = {}
    results: dict[str, list[tuple[float, float]]] = {s.name: [] for s in specs}
    try:
        for i, spec in enumerate(specs):
            server, creds = _start(spec, args.workers, work / str(i), cache)
            say(f"started {server.label} on :{server.port} ({spec.name})")
            plan = build_plan("get", spec.size, server.host, creds, read_pool=10_000, write_count=0)
            started[spec.name] = (server, plan)
            _run(server, plan, args.warmup)
        for round_no in range(args.pairs):
            for spec in round_order(specs, round_no):
                server, plan = started[spec.name]
                results[spec.name].append(_run(server, plan, args.duration))
            say(f"round {round_no + 1}/{args.pairs}: " + ", ".join(
                f"{name} {runs[-1][1]:.1f} us" for name, runs in results.items()))
    finally:
        for server, _ in started.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    base = specs[0].name
    for spec in specs:
        rps = [r for r, _ in results[spec.name]]
        us = [u for _, u in results[spec.name]]
        print(f"{spec.name}: {statistics.median(us):.1f} us per request (median; {min(us):.1f}-{max(us):.1f}), "
              f"{statistics.median(rps):,.0f} req/s (median)")
        if spec.name != base:
            s = ratio_summary([u for _, u in results[base]], us)
            print(f"  us per request / {base}'s: median {s['median']:.3f}, interquartile {s['q1']:.3f}-{s['q3']:.3f}, "
                  f"range {s['min']:.3f}-{s['max']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
