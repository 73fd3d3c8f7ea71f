"""Strongroom benchmark harness: ``python -m bench.run`` (``make bench BENCH_ARGS=...``).

Starts each server as a subprocess, seeds it, drives it with wrk (or bench.loadgen) from separate
processes using pre-signed SigV4 requests, and writes bench/results/<timestamp>.{json,md,png} plus
latest.{json,md,png}. See bench/README.md and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bench import cpu, drive, host, replication, report, servers
from bench.seed import SnapshotCache, seed_moto
from bench.signing import RESIGN_AFTER_S, Creds, admin_credentials, dev_credentials
from bench.workloads import MIX_EVERY, WORKLOADS, Plan, build_plan, put_budget

T = TypeVar("T")

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "strongroom-bench"

QUICK = dict(
    sizes="1000,100000", stores="sqlite", workers="1,2", workloads="get,describe,batch,put,list,mix,replication"
)
#: The workload measured by bench.replication (deployments of its own, after the matrix; part of
#: the default selection).
REPLICATION = "replication"
FULL = dict(sizes="1000,100000,1000000", stores="sqlite,postgres", workers="1,2", workloads=QUICK["workloads"])
#: Workloads with a harness of their own, run after the matrix (never part of the default selection).
SEPARATE = {"rotation": "bench.rotation: RotateSecret to AWSCURRENT moved, warm and cold; 1,000 rotations due at "
                        "once under GetSecretValue at a fixed rate (docs/benchmarks.md, Rotation)"}


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark Strongroom (and moto, and a hello-world ASGI ceiling) under load.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("--full", action="store_true", help="the full matrix: 1k/100k/1M secrets, SQLite and PostgreSQL")
    ap.add_argument("--sizes", help=f"store sizes (quick: {QUICK['sizes']}; full: {FULL['sizes']})")
    ap.add_argument("--stores", help="sqlite,postgres (quick: sqlite)")
    ap.add_argument("--workers", help="server worker counts (default 1,2)")
    ap.add_argument("--workloads", help=f"subset of {','.join([*WORKLOADS, REPLICATION])} (default all), or with "
                                         f"{','.join(SEPARATE)}: {'; '.join(SEPARATE.values())}")
    ap.add_argument("--rotation-args", default="",
                    help="options of python -m bench.rotation for the rotation workload, e.g. \"--parts latency\" "
                         "(--auth, --workers: the largest, --cache-dir, --results-dir and --label are passed on)")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of full load per cell")
    ap.add_argument("--warmup", type=float, default=2.0,
                    help="seconds of GetSecretValue load before each server's first cell")
    ap.add_argument("--repeat", type=int, default=1, help="measure each full-load cell N times; report the median")
    ap.add_argument("--connections", type=int, default=64, help="keep-alive connections at full load")
    ap.add_argument("--threads", type=int, default=1,
                    help="wrk threads (the machine has few cores; the server needs them)")
    ap.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto",
                    help="full-load generator: wrk if installed (auto), or bench.loadgen")
    ap.add_argument("--generator-policy", choices=list(drive.POLICIES), default="batch",
                    help="scheduling policy of the full-load generator: batch (SCHED_BATCH: it does not "
                         "preempt the server it shares the cores with) or normal; fixed-rate and "
                         "one-connection latency runs always use normal")
    ap.add_argument("--rate", type=float, default=1000.0,
                    help="constant request rate for the fixed-rate latency run (0: skip)")
    ap.add_argument("--rate-duration", type=float, help="seconds of each fixed-rate run (quick: 5; full: 10)")
    ap.add_argument("--rate-connections", type=int, default=16, help="connections of the fixed-rate run")
    ap.add_argument("--rate-workloads", help="workloads also measured at the fixed rate (default: all selected)")
    ap.add_argument("--read-pool", type=int, default=10000,
                    help="distinct pre-signed read requests (replayed in a cycle)")
    ap.add_argument("--write-cap", type=float, default=10000.0,
                    help="PutSecretValue requests signed per second of --duration (each is sent at most once)")
    ap.add_argument("--auth", choices=["dev", "sigv4"], default="sigv4",
                    help="dev: --dev server (signature parsed, not verified); sigv4: authenticated server, "
                         "admin credentials from <data-dir>/admin-credentials")
    ap.add_argument("--auth-profile", help="profile in admin-credentials (default: its only profile)")
    ap.add_argument("--read-cache-size", type=int, default=None,
                    help="the server's read_cache_size (SQLite and PostgreSQL; 0: every GetSecretValue reads "
                         "the database; default: the server's default)")
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432",
                    help="PostgreSQL server (databases strongroom_bench* are created and dropped there)")
    ap.add_argument("--no-moto", action="store_true", help="skip the moto comparison")
    ap.add_argument("--moto-size", type=int, default=1000, help="secrets seeded into moto (through boto3)")
    ap.add_argument("--no-hello", action="store_true", help="skip the hello-world ceiling")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                    help="seeded store snapshots (reused between runs)")
    ap.add_argument("--results-dir", type=Path, default=RESULTS)
    ap.add_argument("--quiet-wait", type=float, default=5.0,
                    help="before each measurement wait up to this many seconds for other processes to go quiet")
    ap.add_argument("--quiet-threshold", type=float, default=25.0,
                    help="'quiet' = other processes use less than this %% of one core")
    ap.add_argument("--quiet-threshold-latency", type=float, default=5.0,
                    help="the same for fixed-rate and one-connection latency runs, which a few stolen "
                         "milliseconds move")
    ap.add_argument("--retry-noisy", type=int, default=2,
                    help="measure a read-only cell again (up to N times) when other processes were busy; "
                         "the quietest attempt counts")
    ap.add_argument("--no-alternate", action="store_true",
                    help="measure GetSecretValue per store size, then the ceiling after it (sessions 5-6) instead "
                         "of every SQLite size and the ceiling in alternation")
    ap.add_argument("--label", default="", help="a note stored with the results")
    replication.add_arguments(ap)
    args = ap.parse_args(argv)
    preset = FULL if args.full else QUICK
    args.sizes = [int(s.replace("_", "")) for s in _csv(args.sizes or preset["sizes"])]
    args.stores = _csv(args.stores or preset["stores"])
    args.workers = [int(w) for w in _csv(args.workers or preset["workers"])]
    args.workloads = _csv(args.workloads or preset["workloads"])
    args.separate = [k for k in SEPARATE if k in args.workloads]
    args.replication = REPLICATION in args.workloads
    args.workloads = [k for k in args.workloads if k not in SEPARATE and k != REPLICATION]
    args.rate_workloads = _csv(args.rate_workloads) if args.rate_workloads is not None else list(args.workloads)
    args.rate_duration = args.rate_duration or (10.0 if args.full else 5.0)
    for key in args.workloads + args.rate_workloads:
        if key not in WORKLOADS:
            ap.error(f"unknown workload {key!r}; choose from {', '.join([*WORKLOADS, REPLICATION, *SEPARATE])}")
    for store in args.stores:
        if store not in ("sqlite", "postgres"):
            ap.error(f"unknown store {store!r} (sqlite, postgres)")
    if not (0 < args.duration <= 600 and 0 <= args.warmup <= 60 and 0 < args.rate_duration <= 600):
        ap.error("durations: 0 < --duration <= 600, 0 <= --warmup <= 60, 0 < --rate-duration <= 600")
    if not 1 <= args.repeat <= 10:
        ap.error("--repeat must be 1..10")
    replication.check_arguments(ap, args)
    return args


def rotation_argv(args: argparse.Namespace) -> list[str]:
    """bench.rotation's arguments for the rotation workload: the run's shared options, then --rotation-args."""
    shared = ["--auth", args.auth, "--workers", str(max(args.workers)), "--cache-dir", str(args.cache_dir),
              "--results-dir", str(args.results_dir)]
    if args.label:
        shared += ["--label", args.label]
    return shared + shlex.split(args.rotation_args)


def alternates(args: argparse.Namespace, store: str, workers: int, hello_workers: set[int]) -> bool:
    """Whether GetSecretValue on ``store`` with ``workers`` is measured in alternation with the ceiling:
    SQLite (the targets' store), a hello-world with as many workers, GetSecretValue selected."""
    return (not args.no_alternate and store == "sqlite" and workers in hello_workers
            and "get" in args.workloads)


def round_order(items: Sequence[T], round_no: int) -> list[T]:
    """The order of one round of alternated measurements: as given on even rounds, reversed on odd ones."""
    return list(items) if round_no % 2 == 0 else list(reversed(items))


def pick_run(runs: list[dict[str, Any]], *, best: bool) -> dict[str, Any]:
    """The run a cell reports: the median of its runs by req/s, or with ``best`` the fastest (a
    ceiling); with several runs, every run's req/s is kept beside it."""
    ranked = sorted(runs, key=lambda r: r["rps"])
    chosen = dict(ranked[-1] if best else ranked[len(ranked) // 2])
    chosen["picked"] = "fastest" if best else "median"
    if len(ranked) > 1:
        chosen["repeats_rps"] = [r["rps"] for r in ranked]
    return chosen


def noise_limit(args: argparse.Namespace, mode: str) -> float:
    """The most foreign CPU (other processes + host steal, % of a core) a measurement may have had
    to count as quiet: latency runs (fixed rate, one connection) are far more sensitive to a stolen
    millisecond than throughput is."""
    return args.quiet_threshold if mode == "full" else args.quiet_threshold_latency


def _noise(run: dict[str, Any]) -> float:
    """% of a core the measurement lost to other processes and to the hypervisor (steal)."""
    return run["other_cpu_pct"] + run.get("steal_cpu_pct", 0.0)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


@dataclass
class Harness:
    args: argparse.Namespace
    generator: str
    work: Path
    cache: SnapshotCache
    port: int = field(default_factory=servers.free_port)
    cells: list[dict[str, Any]] = field(default_factory=list)
    starts: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    _plans: dict[tuple[str, str, int, str], Plan] = field(default_factory=dict)
    #: worker counts whose hello-world ceiling was measured: measured again next to each
    #: Strongroom GetSecretValue cell with as many workers (:meth:`adjacent_ceiling`)
    hello_workers: set[int] = field(default_factory=set)

    # --- plans ------------------------------------------------------------------------------------
    def plan(self, server: servers.Server, creds: Creds, key: str, n: int, purpose: str = "full") -> Plan:
        """Signed requests for ``key`` (cached while the host is the same and the signatures are fresh)."""
        cache_key = (server.host, f"{key}:{purpose}", n, creds.access_key)
        plan = self._plans.get(cache_key)
        if plan is not None and time.time() - plan.signed_at < RESIGN_AFTER_S:
            return plan
        a = self.args
        if purpose == "rate":
            writes = math.ceil(a.rate * a.rate_duration * 1.1)
        else:
            writes = math.ceil(a.write_cap * a.duration)
        if key == "mix":
            writes = math.ceil(writes / MIX_EVERY * 2)
        if WORKLOADS[key].writes and writes > put_budget(n):
            say(f"note: {key} needs {writes:,} puts but {n:,} secrets allow {put_budget(n):,} (90 each); capped")
        plan = build_plan(key, n, server.host, creds, read_pool=a.read_pool, write_count=writes, progress=say)
        self._plans[cache_key] = plan
        return plan

    # --- servers -----------------------------------------------------------------------------------
    def _start(self, starter: Any, *a: Any, own_port: bool = False, **kw: Any) -> servers.Server:
        """Start a server on the harness's port (``own_port``: on a free port of its own, beside others)."""
        try:
            server = starter(*a, port=servers.free_port() if own_port else self.port, **kw)
        except servers.ServerRefused as exc:
            if "address already in use" not in str(exc).lower():
                raise
            self.port = servers.free_port()
            server = starter(*a, port=servers.free_port() if own_port else self.port, **kw)
        self.starts.append({"server": server.label, "startup_s": server.startup_s, "rss_mb_idle": server.rss()})
        say(f"started {server.label} on :{server.port} in {server.startup_s:.3f}s (pid {server.pid})")
        return server

    # --- measuring ---------------------------------------------------------------------------------
    def warm(self, server: servers.Server, creds: Creds, n: int) -> None:
        if self.args.warmup > 0:
            plan = self.plan(server, creds, "get", n)
            drive.run_full(
                self.generator, plan, server.port, duration=self.args.warmup,
                connections=self.args.connections, threads=self.args.threads, policy=self.args.generator_policy,
            )

    def measure(
        self, server: servers.Server, plan: Plan, cell: dict[str, Any], mode: str, *, best: bool = False
    ) -> dict[str, Any]:
        """Measure a cell (--repeat times at full load): the median run counts, or with ``best`` the fastest."""
        a = self.args
        # A write plan's requests may each be sent once: a repeat would replay used tokens.
        unique = any(p.unique for p in plan.pools)
        repeats = a.repeat if mode == "full" and not unique else 1
        # A noisy measurement (other processes busy) of a read-only plan is taken again, up to
        # --retry-noisy times; the quietest attempt counts. Write plans are never replayed (their
        # ClientRequestTokens would repeat), so a noisy write cell is only flagged.
        retries = a.retry_noisy if not unique else 0
        tries: list[list[dict[str, Any]]] = []
        while True:
            tries.append(self._measure_runs(server, plan, mode, repeats))
            noise = max(_noise(r) for r in tries[-1])
            if noise <= noise_limit(a, mode) or len(tries) > retries:
                break
            say(f"  noisy ({noise:.0f}% of a core used by other processes or stolen by the host): measuring again")
        attempts = [max(_noise(r) for r in runs) for runs in tries]
        chosen = pick_run(tries[attempts.index(min(attempts))], best=best)
        if len(attempts) > 1:
            chosen["noisy_attempts_other_cpu_pct"] = attempts
        return self._record(server, chosen, cell, mode)

    def _measure_runs(self, server: servers.Server, plan: Plan, mode: str, repeats: int) -> list[dict[str, Any]]:
        a = self.args
        runs = []
        for _ in range(repeats):
            before = cpu.wait_quiet(server.pid, a.quiet_wait, a.quiet_threshold, say) if a.quiet_wait > 0 else None
            db_pids = self._db_pids(server)
            server.start_sampling()
            start = cpu.mark(server.pid, db_pids)
            if mode == "full":
                result = drive.run_full(
                    self.generator, plan, server.port, duration=a.duration, connections=a.connections,
                    threads=a.threads, policy=a.generator_policy,
                )
            elif mode == "rate":
                result = drive.run_python(
                    plan, server.port, duration=a.rate_duration, connections=a.rate_connections, rate=a.rate
                )
            else:  # "single": one connection, closed loop: latency without queueing
                result = drive.run_python(plan, server.port, duration=min(a.duration, 5.0), connections=1)
            usage = cpu.usage(start, server.pid, self._db_pids(server) if db_pids is not None else None)
            peak, end = server.stop_sampling()
            result.update(usage, rss_mb_peak=peak, rss_mb_end=end, other_cpu_pct_before=before)
            if result["requests"]:
                result["server_cpu_us_per_req"] = round(1e6 * usage["server_cpu_s"] / result["requests"], 1)
                if db_pids is not None:
                    result["db_cpu_us_per_req"] = round(1e6 * usage["db_cpu_s"] / result["requests"], 1)
            runs.append(result)
        return runs

    def _record(
        self, server: servers.Server, chosen: dict[str, Any], cell: dict[str, Any], mode: str
    ) -> dict[str, Any]:
        a = self.args
        chosen["load_model"] = chosen.pop("mode", None)
        out = {**cell, "startup_s": server.startup_s, **chosen, "mode": mode}
        notes = []
        if out.get("pool_wrapped"):
            notes.append(
                f"INVALID: {out['pool_wrapped']:,} requests replayed a used ClientRequestToken (raise --write-cap)"
            )
        if out.get("non_2xx") or out.get("socket_errors"):
            notes.append(f"errors: {out.get('non_2xx', 0):,} non-2xx, {out.get('socket_errors', 0):,} socket")
        if mode == "rate" and not out.get("overloaded") and out["rps"] < 0.95 * a.rate:
            notes.append(f"could not sustain {a.rate:g} req/s (achieved {out['rps']:,.0f})")
        if out.get("overloaded"):
            notes.append(
                f"OVERLOADED: could not sustain {a.rate:g} req/s (backlog > 2 s; {out.get('dropped_unsent', 0):,} "
                "scheduled requests never sent)"
            )
        limit = noise_limit(a, mode)
        if out.get("other_cpu_pct", 0) > limit:
            notes.append(f"noisy: other processes used {out['other_cpu_pct']:.0f}% of a core")
        if out.get("steal_cpu_pct", 0) > limit:
            notes.append(f"noisy: the host stole {out['steal_cpu_pct']:.0f}% of a core")
        out["notes"] = notes
        self.cells.append(out)
        lat = out["latency_ms"]
        db = f" db {out['db_cpu_pct']:.0f}%" if out.get("db_cpu_pct") else ""
        say(
            f"  {cell['target']:<10} {cell.get('store') or '-':<8} {cell.get('size') or '-':>9} "
            f"w{cell['workers']} {cell['workload']:<8} {mode:<6} {out['rps']:>9,.0f} req/s  "
            f"p50 {lat.get('p50', 0):.2f}  "
            f"p99 {lat.get('p99', 0):.2f}  p99.9 {lat.get('p99.9', 0):.2f} ms  non-2xx {out.get('non_2xx', 0)}  "
            f"rss {out['rss_mb_peak']:.0f} MB  {out.get('server_cpu_us_per_req', 0):.0f} us/req  "
            f"cpu srv {out['server_cpu_pct']:.0f}%{db} "
            f"gen {out['generator_cpu_pct']:.0f}% "
            f"other {out['other_cpu_pct']:.0f}% steal {out.get('steal_cpu_pct', 0):.0f}%"
            + (f"  [{'; '.join(notes)}]" if notes else "")
        )
        return out

    # --- the three kinds of server -----------------------------------------------------------------
    def hello(self, workers: int) -> None:
        self._ceiling(workers, rate=bool(self.args.rate))
        self.hello_workers.add(workers)

    def adjacent_ceiling(self, store: str, n: int, workers: int) -> None:
        """The hello-world ceiling measured again right after a Strongroom GetSecretValue cell.

        The machine's speed drifts (on a shared VM by 15-40% within minutes), and the run's first
        ceiling may be many minutes older than the cell: the share of the ceiling is taken against
        this measurement, made with the same warm-up, repeats and statistic (the fastest). Each
        server runs alone: the cell's server has stopped, and the hello-world's stops after, so
        no measurement runs beside an idle second server (its supervisor and timers waking up).
        """
        if workers in self.hello_workers:
            self._ceiling(workers, rate=False, adjacent_to={"store": store, "size": n})

    def get_in_alternation(self, store: str, snapshots: list[tuple[int, Any]], workers: int) -> None:
        """GetSecretValue at full load on every store size and the hello-world ceiling, in alternation.

        One server per store size and one hello-world server are started and warmed up; then,
        ``--repeat`` rounds, each is measured once, the order reversed every other round (a noisy
        run is measured again at once, up to ``--retry-noisy`` times, the quietest counts). So the
        sizes and the ceiling are measured in the same minutes: on a VM whose speed drifts by
        15-40% within minutes, the 1M-vs-1k and share-of-the-ceiling targets otherwise compare
        cells minutes apart. Strongroom's cells report the median round, the ceiling the fastest
        (as elsewhere); the ceiling's cell names the sizes it was alternated with.
        """
        a = self.args
        #: (cell, server, credentials, pool size) per server, Strongroom's sizes first, the ceiling last
        slots: list[tuple[dict[str, Any], servers.Server, Creds, int]] = []
        try:
            for n, snapshot in snapshots:
                data_dir = self.work / f"data-{n}"
                self.cache.sqlite_copy(snapshot, data_dir)
                server = self._start(servers.start_strongroom, data_dir, workers, self.work / "logs", auth=a.auth,
                                     read_cache_size=a.read_cache_size, own_port=True)
                cell = {"target": "strongroom", "store": store, "size": n, "workers": workers, "auth": a.auth,
                        "workload": "get"}
                slots.append((cell, server, self._creds(server), n))
            hello = self._start(servers.start_hello, workers, self.work / "logs", own_port=True)
            ceiling = {"target": "hello", "store": None, "size": None, "workers": workers, "workload": "get",
                       "adjacent_to": {"store": store, "sizes": [n for n, _ in snapshots], "alternated": True}}
            slots.append((ceiling, hello, dev_credentials(), a.moto_size))
            for _, server, creds, n in slots:
                self.warm(server, creds, n)
            runs: list[list[dict[str, Any]]] = [[] for _ in slots]
            for round_no in range(a.repeat):
                for i in round_order(range(len(slots)), round_no):
                    _, server, creds, n = slots[i]
                    runs[i].append(self._quietest_run(server, self.plan(server, creds, "get", n)))
            for (cell, server, _, _), series in zip(slots, runs, strict=True):
                chosen = pick_run(series, best=cell["target"] == "hello")
                chosen["alternated"] = True
                self._record(server, chosen, cell, "full")
        finally:
            for _, server, _, _ in slots:
                server.stop()
            for n, _ in snapshots:
                shutil.rmtree(self.work / f"data-{n}", ignore_errors=True)

    def _quietest_run(self, server: servers.Server, plan: Plan) -> dict[str, Any]:
        """One full-load run; measured again at once (up to --retry-noisy times) while noisy."""
        tries = self._measure_runs(server, plan, "full", 1)
        while _noise(tries[-1]) > noise_limit(self.args, "full") and len(tries) <= self.args.retry_noisy:
            say(f"  noisy ({_noise(tries[-1]):.0f}% of a core used by other processes or stolen by the host): "
                "measuring again")
            tries += self._measure_runs(server, plan, "full", 1)
        quietest = min(tries, key=_noise)
        if len(tries) > 1:
            quietest["noisy_attempts_other_cpu_pct"] = [_noise(r) for r in tries]
        return quietest

    def _ceiling(self, workers: int, *, rate: bool, adjacent_to: dict[str, Any] | None = None) -> None:
        server = self._start(servers.start_hello, workers, self.work / "logs")
        try:
            creds = dev_credentials()
            cell: dict[str, Any] = {"target": "hello", "store": None, "size": None, "workers": workers,
                                    "workload": "get"}
            if adjacent_to is not None:
                cell["adjacent_to"] = adjacent_to
            self.warm(server, creds, self.args.moto_size)
            # A ceiling is the best the stack does: the fastest of the repeats (runs differ, e.g. when
            # the kernel's hash gives one worker more of the connections than the other).
            self.measure(server, self.plan(server, creds, "get", self.args.moto_size), cell, "full", best=True)
            if rate:
                self.measure(server, self.plan(server, creds, "get", self.args.moto_size), cell, "rate")
        finally:
            server.stop()

    def moto(self) -> None:
        n = self.args.moto_size
        server = self._start(servers.start_moto, self.work / "logs")
        try:
            seconds = seed_moto(f"http://{server.host}", n)
            say(f"seeded moto with {n:,} secrets in {seconds:.1f}s")
            creds = dev_credentials()
            self.warm(server, creds, n)
            for key in self.args.workloads:
                cell = {"target": "moto", "store": "memory", "size": n, "workers": 1, "workload": key}
                self.measure(server, self.plan(server, creds, key, n), cell, "full")
                if key == "list":
                    self.measure(server, self.plan(server, creds, key, n), cell, "single")
        finally:
            server.stop()

    def strongroom(self, store: str, n: int, workers: int, snapshot: Any, *, get_done: bool = False) -> None:
        """Every selected workload on one store size; ``get_done``: its full-load GetSecretValue cell was
        measured already (:meth:`get_in_alternation`)."""
        a = self.args
        reads = [k for k in a.workloads if not WORKLOADS[k].writes and not (get_done and k == "get")]
        writes = [k for k in a.workloads if WORKLOADS[k].writes]
        rate_reads = [k for k in a.rate_workloads if not WORKLOADS[k].writes] if a.rate else []
        rate_writes = [k for k in a.rate_workloads if WORKLOADS[k].writes] if a.rate else []
        base = {"target": "strongroom", "store": store, "size": n, "workers": workers, "auth": a.auth}
        # Reads share one server. Each write workload gets a fresh copy of the seeded store (its
        # full-load and fixed-rate runs share it while the version quota allows).
        sessions: list[tuple[list[str], list[str]]] = []
        if "get" in reads and workers in self.hello_workers:
            # GetSecretValue alone first: the ceiling is measured again as soon as its server stops.
            sessions.append((["get"], []))
            reads = [k for k in reads if k != "get"]
        if reads or rate_reads:
            sessions.append((reads, rate_reads))
        for key in dict.fromkeys(writes + rate_writes):
            full_keys = [key] if key in writes else []
            rate_keys = [key] if key in rate_writes else []
            need = (a.write_cap * a.duration if full_keys else 0) + (a.rate * a.rate_duration * 1.1 if rate_keys else 0)
            if key == "mix":
                need = need / MIX_EVERY * 2
            if full_keys and rate_keys and need > put_budget(n):
                sessions += [(full_keys, []), ([], rate_keys)]
            else:
                sessions.append((full_keys, rate_keys))
        for full_keys, rate_keys in sessions:
            server = self._fresh_strongroom(store, n, workers, snapshot)
            try:
                creds = self._creds(server)
                self.warm(server, creds, n)
                for key in full_keys:
                    self.measure(server, self.plan(server, creds, key, n), {**base, "workload": key}, "full")
                    if key == "list":
                        self.measure(server, self.plan(server, creds, key, n), {**base, "workload": key}, "single")
                for key in rate_keys:
                    self.measure(server, self.plan(server, creds, key, n, "rate"), {**base, "workload": key}, "rate")
            finally:
                server.stop()
                self._cleanup(store)
            if full_keys == ["get"]:
                self.adjacent_ceiling(store, n, workers)

    def _db_pids(self, server: servers.Server) -> list[int] | None:
        """PostgreSQL backends of the server's database (None for SQLite, hello and moto)."""
        if server.kind != "strongroom" or "postgres" not in server.label:
            return None
        from bench import pg

        return pg.backend_pids(self.args.database_url, "strongroom_bench_run")

    def _creds(self, server: servers.Server) -> Creds:
        if self.args.auth == "dev":
            return dev_credentials()
        assert server.data_dir is not None
        return admin_credentials(server.data_dir, self.args.auth_profile)

    def _fresh_strongroom(self, store: str, n: int, workers: int, snapshot: Any) -> servers.Server:
        data_dir = self.work / "data"
        if store == "sqlite":
            took = self.cache.sqlite_copy(snapshot, data_dir)
            if took > 1:
                say(f"copied the {n:,}-secret snapshot in {took:.1f}s")
            return self._start(
                servers.start_strongroom, data_dir, workers, self.work / "logs", auth=self.args.auth,
                read_cache_size=self.args.read_cache_size,
            )
        from bench import pg

        template, keydir = snapshot
        db = "strongroom_bench_run"
        pg.recreate(self.args.database_url, db, template=template)
        if data_dir.exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True, mode=0o700)
        shutil.copy2(keydir / "master.key", data_dir / "master.key")
        return self._start(
            servers.start_strongroom, data_dir, workers, self.work / "logs", auth=self.args.auth,
            database_url=f"{self.args.database_url}/{db}", read_cache_size=self.args.read_cache_size,
        )

    def _cleanup(self, store: str) -> None:
        if store == "postgres":
            from bench import pg

            pg.drop(self.args.database_url, "strongroom_bench_run")

    def postgres_usable(self) -> str | None:
        """None if the server accepts a PostgreSQL URL, else why it can't be benchmarked."""
        from bench import pg

        why = pg.reachable(self.args.database_url)
        if why:
            return f"PostgreSQL at {self.args.database_url} is not reachable ({why})"
        db = "strongroom_bench_probe"
        pg.recreate(self.args.database_url, db)
        probe_dir = self.work / "probe"
        probe_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            server = servers.start_strongroom(
                probe_dir, 1, self.work / "logs", auth=self.args.auth, database_url=f"{self.args.database_url}/{db}",
                port=self.port,
            )
            server.stop()
            return None
        except servers.ServerRefused as exc:
            return f"the server refused --database-url: {str(exc).strip().splitlines()[-1]}"
        finally:
            pg.drop(self.args.database_url, db)
            shutil.rmtree(probe_dir, ignore_errors=True)

    def auth_usable(self) -> str | None:
        if self.args.auth == "dev":
            return None
        probe_dir = self.work / "probe-auth"
        probe_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            server = servers.start_strongroom(probe_dir, 1, self.work / "logs", auth="sigv4", port=self.port)
            try:
                admin_credentials(probe_dir, self.args.auth_profile)
            finally:
                server.stop()
            return None
        except (servers.ServerRefused, FileNotFoundError, ValueError, KeyError) as exc:
            return f"authenticated mode is not usable: {str(exc).strip().splitlines()[-1]}"
        finally:
            shutil.rmtree(probe_dir, ignore_errors=True)


def environment(args: argparse.Namespace, generator: str) -> dict[str, Any]:
    wrk_version = ""
    if drive.find_wrk():
        wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0][:60]
    return {
        **host.facts(),
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "generator": generator,
        "wrk": wrk_version,
        "argv": sys.argv[1:],
        "label": args.label,
        "auth": args.auth,
        "settings": {
            k: (v if not isinstance(v, Path) else str(v))
            for k, v in vars(args).items()
            if k not in ("cache_dir", "results_dir")
        },
    }


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM: stop the servers, write what was measured


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args(argv)
    status = matrix(args) if args.workloads or args.replication else 0
    if "rotation" in args.separate:
        from bench import rotation

        status = rotation.main(rotation_argv(args)) or status
    return status


def matrix(args: argparse.Namespace) -> int:
    """The matrix of servers, stores, sizes, workers and workloads; then the replication workload
    (with only that selected, no matrix and no reference servers)."""
    generator = drive.choose_generator(args.generator, say)
    env = environment(args, generator)
    say(
        f"generator: {generator}; auth: {args.auth}; stores {args.stores}; sizes {args.sizes}; "
        f"workers {args.workers}; workloads {args.workloads}; {args.duration:g}s per cell"
    )
    with tempfile.TemporaryDirectory(prefix="strongroom-bench-") as tmp:
        h = Harness(args, generator, Path(tmp), SnapshotCache(args.cache_dir, say))
        started = time.time()
        status = 0
        with_matrix = bool(args.workloads)
        replicated: list[dict[str, Any]] = []
        try:
            auth_problem = h.auth_usable()
            if auth_problem:
                h.skipped.append({"what": f"Strongroom with --auth {args.auth}", "why": auth_problem})
                say(f"SKIP Strongroom: {auth_problem}")
            if not with_matrix:
                pass
            elif not args.no_hello:
                for w in args.workers:
                    h.hello(w)
            else:
                h.skipped.append({"what": "hello-world ceiling", "why": "--no-hello"})
            if not with_matrix:
                pass
            elif not args.no_moto:
                h.moto()
            else:
                h.skipped.append({"what": "moto", "why": "--no-moto"})
            for store in args.stores if with_matrix and not auth_problem else []:
                if store == "postgres":
                    problem = h.postgres_usable()
                    if problem:
                        h.skipped.append({"what": "PostgreSQL store", "why": problem})
                        say(f"SKIP PostgreSQL: {problem}")
                        continue
                snapshots: list[tuple[int, Any]] = []
                for n in args.sizes:
                    if store == "sqlite":
                        snapshot, seeded_in = h.cache.sqlite_snapshot(n)
                    else:
                        template, keydir, seeded_in = h.cache.postgres_snapshot(n, args.database_url)
                        snapshot = (template, keydir)
                    if seeded_in:
                        env.setdefault("seeding", []).append(
                            {"store": store, "size": n, "seconds": round(seeded_in, 1), "per_s": round(n / seeded_in)}
                        )
                    snapshots.append((n, snapshot))
                alternated = {w for w in args.workers if alternates(args, store, w, h.hello_workers)}
                for w in sorted(alternated):
                    h.get_in_alternation(store, snapshots, w)
                for n, snapshot in snapshots:
                    for w in args.workers:
                        h.strongroom(store, n, w, snapshot, get_done=w in alternated)
            if args.replication and not auth_problem:
                replication.run_all(h, replicated)
        except KeyboardInterrupt:
            say("interrupted: writing the partial results")
            status = 130
        except Exception as exc:  # noqa: BLE001 - write what was measured, then fail
            say(f"FAILED: {type(exc).__name__}: {exc}")
            h.skipped.append({"what": "the rest of the run", "why": f"{type(exc).__name__}: {exc}"})
            status = 1
        env["elapsed_s"] = round(time.time() - started, 1)
        data = {"environment": env, "cells": h.cells, "server_starts": h.starts, "skipped": h.skipped}
        if args.replication:
            data["replication"] = replicated
        paths = report.write_all(data, args.results_dir)
    print()
    print(paths["md_text"])
    say(f"results: {paths['json']}, {paths['md']}, {paths['png']} (and latest.*)")
    return status


if __name__ == "__main__":
    sys.exit(main())
