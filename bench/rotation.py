"""The rotation benchmark (issue 15, Performance): ``python -m bench.rotation`` or
``make bench BENCH_ARGS="--workloads rotation"``.

Two parts, each on a fresh copy of the seeded store (``--secrets`` secrets, 1,000 by default;
bench/seed.py) served with functions on, the ready ``strongroom-random-password`` rotator created
through boto3's Lambda client with a role allowed Secrets Manager's actions and the permission for
secretsmanager.amazonaws.com (bench/rotation_setup.py):

1. **latency**: RotateSecret on a secret, then DescribeSecret every ``--poll-ms`` until AWSCURRENT
   is on the version RotateSecret answered; cold = the first rotation after the function was
   created or its code updated (``--cold`` samples: the code is updated before each), warm = the
   ``--warm`` rotations after the first cold one. Each rotation on a secret of its own.
2. **due**: ``--secrets`` rotations due at once while bench.loadgen sends GetSecretValue at
   ``--get-rate`` req/s (open loop) on the same secrets: the time from the first RotateSecret to
   every secret's AWSCURRENT having moved (ListSecrets every ``--watch-s``), and GetSecretValue's
   latency before, during and after that window (every answer's time: loadgen ``--samples-out``).

Writes ``bench/results/rotation-<UTC>.md`` and ``.json``; docs/benchmarks.md, "Rotation".
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import cpu, drive, host, rotation_report, rotation_setup, servers
from bench.rotation_client import CallFailed, SecretsApi, current_version, rotated
from bench.rotation_report import Sample
from bench.seed import SnapshotCache
from bench.signing import Creds, admin_credentials, dev_credentials
from bench.workloads import build_plan, secret_name

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "strongroom-bench"
PARTS = ("latency", "due")
MODES = {
    "schedule": "every secret's rotation scheduled for the same minute (RotateSecret with RotateImmediately false "
                "and a daily cron at that minute; their testSecret runs finished before), the scheduler looking "
                "every second (rotation_schedule_interval = 1): the time counts from that minute.",
    "rotate": "RotateSecret (RotationLambdaARN, AutomaticallyAfterDays 30, RotateImmediately true) on every "
              "secret at once from --fire-threads threads: each queues the run a due schedule starts; the time "
              "counts from the first call and includes the 1,000 calls.",
}


def rotate_params(name: str, function_arn: str) -> dict[str, Any]:
    """RotateSecret's parameters for rotating ``name`` now with the function, every 30 days after; the
    ClientRequestToken boto3 would fill in (the new version's id)."""
    return {"SecretId": name, "RotationLambdaARN": function_arn, "RotationRules": {"AutomaticallyAfterDays": 30},
            "ClientRequestToken": str(uuid.uuid4())}


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.rotation", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="latency,due", help="latency, due or both (default both)")
    ap.add_argument("--secrets", type=int, default=1000, help="secrets in the store, all rotated in 'due' (1000)")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    ap.add_argument("--auth", choices=["dev", "sigv4"], default="sigv4",
                    help="sigv4: authentication on (admin credentials, the function's role); dev: --dev")
    ap.add_argument("--cold", type=int, default=5, help="cold rotations (the function's code updated before each)")
    ap.add_argument("--warm", type=int, default=30, help="warm rotations after the first cold one")
    ap.add_argument("--poll-ms", type=float, default=5.0, help="DescribeSecret polling interval (ms)")
    ap.add_argument("--rotation-timeout", type=float, default=60.0, help="seconds one rotation may take")
    ap.add_argument("--mode", choices=sorted(MODES), default="schedule",
                    help="how the secrets come due at once: schedule (a cron minute, the scheduler starts them) "
                         "or rotate (RotateSecret on each)")
    ap.add_argument("--setup-s", type=float, default=60.0,
                    help="schedule: seconds allowed for scheduling and the testSecret runs before the due minute")
    ap.add_argument("--max-backlog", type=float, default=60.0,
                    help="GetSecretValue load: seconds of backlog before the generator gives up (loadgen)")
    ap.add_argument("--fire-threads", type=int, default=4, help="threads sending the RotateSecret calls")
    ap.add_argument("--get-rate", type=float, default=1000.0, help="GetSecretValue req/s during 'due'")
    ap.add_argument("--get-connections", type=int, default=16, help="connections of the GetSecretValue load")
    ap.add_argument("--read-pool", type=int, default=10000, help="distinct pre-signed GetSecretValue requests")
    ap.add_argument("--lead", type=float, default=5.0, help="seconds of GetSecretValue before the rotations")
    ap.add_argument("--tail", type=float, default=5.0, help="seconds of GetSecretValue after the last rotation")
    ap.add_argument("--watch-s", type=float, default=2.0,
                    help="seconds between two looks at every secret (ListSecrets pages) while waiting")
    ap.add_argument("--quiet-wait", type=float, default=30.0,
                    help="before each part wait up to this many seconds for other processes to go quiet")
    ap.add_argument("--quiet-threshold", type=float, default=25.0,
                    help="'quiet' = other processes use less than this %% of one core")
    ap.add_argument("--due-timeout", type=float, default=180.0, help="seconds 'due' waits for every rotation")
    ap.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                    help="a server setting (repeatable; e.g. functions_max_workers=8): true/false, a number, "
                         "else a string")
    ap.add_argument("--renice-functions", type=int, default=0, metavar="N",
                    help="experiment: give every function worker nice N (1-19) as it appears (0: leave them as "
                         "the server starts them). The process's own nice value only orders it within its "
                         "autogroup; the server's functions_nice setting (default 10) lowers the group too")
    ap.add_argument("--functions-python", help="the workers' Python (default: one nobody can run, as root)")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="seeded store snapshots")
    ap.add_argument("--results-dir", type=Path, default=RESULTS)
    ap.add_argument("--label", default="", help="a note stored with the results")
    args = ap.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    for part in args.parts:
        if part not in PARTS:
            ap.error(f"unknown part {part!r}; choose from {', '.join(PARTS)}")
    if not 1 <= args.secrets <= 100_000:
        ap.error("--secrets must be 1..100000")
    if args.cold < 0 or args.warm < 0 or ("latency" in args.parts and args.cold + args.warm > args.secrets):
        ap.error("--cold and --warm must be >= 0, and --cold + --warm at most --secrets (a secret each)")
    if not (0 < args.poll_ms <= 1000 and 0 < args.watch_s <= 10 and 0 < args.get_rate <= 20000):
        ap.error("0 < --poll-ms <= 1000, 0 < --watch-s <= 10, 0 < --get-rate <= 20000")
    if not (0 <= args.lead <= 60 and 0 <= args.tail <= 60 and 0 < args.due_timeout <= 600):
        ap.error("0 <= --lead, --tail <= 60; 0 < --due-timeout <= 600")
    args.settings = parse_settings(args.setting, ap.error)
    if "due" in args.parts and args.mode == "schedule":
        args.settings.setdefault("rotation_schedule_interval", 1)
    if not 0 <= args.renice_functions <= 19:
        ap.error("--renice-functions must be 0-19")
    if not 0 < args.setup_s <= 600 or not 0 < args.max_backlog <= 600 or not 0 <= args.quiet_wait <= 300:
        ap.error("0 < --setup-s <= 600, 0 < --max-backlog <= 600, 0 <= --quiet-wait <= 300")
    return args


def parse_settings(items: list[str], error: Callable[[str], Any]) -> dict[str, Any]:
    """``KEY=VALUE`` items as settings: true/false, integers, decimals, else strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            error(f"--setting {item!r}: expected KEY=VALUE")
        value: Any = text.strip()
        if value in ("true", "false"):
            value = value == "true"
        else:
            for kind in (int, float):
                try:
                    value = kind(value)
                    break
                except ValueError:
                    continue
        out[key.strip()] = value
    return out


@dataclass
class Prepared:
    """A server ready to rotate: its API client, the Lambda client, the function and the package."""

    server: servers.Server
    api: SecretsApi
    lam: Any
    function_arn: str
    package: bytes
    #: The server's own processes (before any function ran): every later descendant is a function worker.
    own_pids: frozenset[int] = frozenset()

    def function_workers(self) -> set[int]:
        """The function worker processes alive now."""
        return set(servers.descendants(self.server.pid)) - self.own_pids

    def renice_functions(self, nice: int, stop: threading.Event) -> threading.Thread:
        """Experiment: give each function worker ``nice`` as it appears (every 20 ms) until ``stop``."""
        done: set[int] = set()

        def loop() -> None:
            while not stop.wait(0.02):
                for pid in self.function_workers() - done:
                    try:
                        os.setpriority(os.PRIO_PROCESS, pid, nice)
                    except OSError:
                        pass
                    done.add(pid)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.api.close()
        self.server.stop()


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.cache = SnapshotCache(args.cache_dir, say)
        self.snapshot: Any = None
        python = rotation_setup.worker_python(args.functions_python)
        if python is None:
            raise SystemExit("bench.rotation: no Python the functions' user (nobody) can run; pass --functions-python")
        self.settings = rotation_setup.server_settings(python, args.settings)

    def prepare(self) -> Prepared:
        """A fresh copy of the seeded store, a server with functions on, the rotator installed."""
        a = self.args
        if self.snapshot is None:
            # A copy of our own: the shared cache deletes snapshots of other store code, e.g. when a
            # harness of another branch starts meanwhile.
            shared, _ = self.cache.sqlite_snapshot(a.secrets)
            self.snapshot = self.work / "snapshot"
            self.cache.sqlite_copy(shared, self.snapshot)
        data_dir = self.work / "data"
        shutil.rmtree(data_dir, ignore_errors=True)
        self.cache.sqlite_copy(self.snapshot, data_dir)
        server = servers.start_strongroom(data_dir, a.workers, self.work / "logs", auth=a.auth,
                                          settings=self.settings)
        say(f"started {server.label} on :{server.port} in {server.startup_s:.3f}s (pid {server.pid})")
        own = frozenset(servers.descendants(server.pid))
        try:
            creds = self.creds(data_dir)
            role = rotation_setup.create_role(data_dir, a.auth)
            lam = rotation_setup.lambda_client(server.port, creds)
            package = rotation_setup.rotator_package()
            arn = rotation_setup.install_function(lam, role, package)
        except Exception:
            say(f"server log tail:\n{server.log_tail()}")
            server.stop()
            raise
        return Prepared(server, SecretsApi(server.port, creds), lam, arn, package, own)

    def creds(self, data_dir: Path) -> Creds:
        return dev_credentials() if self.args.auth == "dev" else admin_credentials(data_dir)

    # --- part 1 ----------------------------------------------------------------------------------
    def rotate_and_wait(self, p: Prepared, name: str) -> tuple[float, float]:
        """(seconds from RotateSecret's call to AWSCURRENT moved, seconds RotateSecret itself took)."""
        poll = self.args.poll_ms / 1000
        started = time.perf_counter()
        answer = p.api.call("RotateSecret", **rotate_params(name, p.function_arn))
        called = time.perf_counter() - started
        token = answer["VersionId"]
        deadline = started + self.args.rotation_timeout
        while True:
            described = p.api.call("DescribeSecret", SecretId=name)
            now = time.perf_counter()
            if rotated(described, token):
                return now - started, called
            if now > deadline:
                raise TimeoutError(f"{name}: AWSCURRENT not on {token} after {self.args.rotation_timeout:g} s "
                                   f"(stages {described.get('VersionIdsToStages')})")
            time.sleep(poll)

    def quiet(self) -> float:
        """Wait (--quiet-wait) for other processes to go quiet; their last 1 s share of a core (%)."""
        return cpu.wait_quiet(None, self.args.quiet_wait, self.args.quiet_threshold, say)

    def latency(self) -> dict[str, Any]:
        a = self.args
        p = self.prepare()
        other = self.quiet()
        out: dict[str, Any] = {"function": rotation_setup.ROTATOR, "handler": "boto3 through SECRETS_MANAGER_ENDPOINT",
                               "poll_ms": a.poll_ms, "uptime": uptime(), "workers": a.workers, "failures": [],
                               "other_cpu_pct_before": other}
        samples: list[Sample] = []
        names = iter(secret_name(i) for i in range(a.secrets))
        try:
            for c in range(a.cold):
                if c > 0:
                    rotation_setup.update_code(p.lam, rotation_setup.with_nonce(p.package, uuid.uuid4().hex))
                self._sample(p, next(names), "cold", samples, out["failures"])
                if c == 0:
                    for _ in range(a.warm):
                        self._sample(p, next(names), "warm", samples, out["failures"])
        finally:
            p.stop()
        out.update(rotation_report.latency_series(samples))
        return out

    def _sample(self, p: Prepared, name: str, kind: str, into: list[Sample], failures: list[str]) -> None:
        before = p.function_workers()
        try:
            took, called = self.rotate_and_wait(p, name)
        except (CallFailed, TimeoutError) as exc:
            failures.append(f"{kind}: {exc}")
            say(f"  {kind} rotation of {name} FAILED: {exc}")
            return
        started = len(p.function_workers() - before)
        into.append(Sample(kind, took, called, started))
        say(f"  {kind:<4} {name}: {took * 1000:8.1f} ms (RotateSecret {called * 1000:.1f} ms"
            + (f"; {started} function worker(s) started)" if started else ")"))

    # --- part 2 ----------------------------------------------------------------------------------
    def due(self) -> dict[str, Any]:
        a = self.args
        p = self.prepare()
        names = [secret_name(i) for i in range(a.secrets)]
        out: dict[str, Any] = {"mode": a.mode, "mode_text": MODES[a.mode], "secrets": a.secrets,
                               "renice_functions": a.renice_functions,
                               "get_rate": a.get_rate, "get_connections": a.get_connections, "lead_s": a.lead,
                               "watch_s": a.watch_s, "timeout_s": a.due_timeout, "uptime": uptime(), "failures": [],
                               "max_backlog_s": a.max_backlog}
        try:
            plan = build_plan("get", a.secrets, p.server.host, p.api.creds, read_pool=a.read_pool, write_count=0)
            due_at = self.schedule_all(p, names, out) if a.mode == "schedule" else None
            if due_at is not None:
                time.sleep(max(0.0, due_at - a.lead - a.quiet_wait - 2 - time.time()))
            out["other_cpu_pct_before"] = self.quiet()
            out["uptime"] = uptime()
            if due_at is not None:
                time.sleep(max(0.0, due_at - a.lead - time.time()))
            load = drive.start_python(plan, p.server.port, duration=a.lead + a.due_timeout + a.tail + 30,
                                      connections=a.get_connections, rate=a.get_rate, samples=True,
                                      max_backlog_s=a.max_backlog)
            stop = threading.Event()
            if a.renice_functions:
                p.renice_functions(a.renice_functions, stop)
            try:
                lead_mark = cpu.mark(p.server.pid)
                if due_at is None:
                    time.sleep(a.lead)
                    begin = time.perf_counter()
                    out["cpu_before"] = cpu.usage(lead_mark, p.server.pid)
                    tokens, errors = self.fire(p, names)
                    out.update(fired=len(tokens), fire_s=round(time.perf_counter() - begin, 3),
                               fire_errors=len(errors))
                    out["failures"] += errors[:5]
                    targets = {name: due_check(token) for name, token in tokens.items()}
                else:
                    begin = time.perf_counter() + (due_at - time.time())
                    time.sleep(max(0.0, begin - time.perf_counter()))
                    out["cpu_before"] = cpu.usage(lead_mark, p.server.pid)
                    targets = {name: moved_from(version) for name, version in out.pop("current").items()}
                mark = cpu.mark(p.server.pid)
                load_cpu = cpu.cpu_seconds([load.proc.pid])
                own_cpu = {pid: cpu.cpu_seconds([pid]) for pid in p.own_pids}
                own_sched = {pid: schedstat(pid) for pid in p.own_pids}
                done = self.watch(p, targets, begin)
                end = max(done.values(), default=begin)
                usage = cpu.usage(mark, p.server.pid)
                usage["loadgen_cpu_pct"] = round(
                    100 * (cpu.cpu_seconds([load.proc.pid]) - load_cpu) / max(time.perf_counter() - begin, 1e-9), 1)
                usage["other_cpu_pct"] = max(0.0, round(usage["other_cpu_pct"] - usage["loadgen_cpu_pct"], 1))
                usage["seconds"] = round(time.perf_counter() - begin, 2)
                usage["server_process_cpu_pct"] = sorted(
                    round(100 * (cpu.cpu_seconds([pid]) - was) / usage["seconds"], 1) for pid, was in own_cpu.items())
                usage["server_main_threads"] = sorted(
                    (run_and_wait(own_sched[pid], schedstat(pid), usage["seconds"]) for pid in p.own_pids),
                    key=lambda x: -x[0])
                out["cpu"] = usage
                time.sleep(a.tail)
            finally:
                stop.set()
                load.end_early()
                result = load.result()
        finally:
            p.stop()
        times = rotation_report.completion_times(done, begin)
        out["rotated"] = len(done)
        out["all_rotated_s"] = round(end - begin, 2) if len(done) == len(names) else None
        if times:
            out["p50_s"] = round(times[len(times) // 2], 2)
            out["p90_s"] = round(times[min(len(times) - 1, int(len(times) * 0.9))], 2)
        starts, latencies = result.pop("samples")
        out["get"] = rotation_report.window_figures(starts, latencies, begin, end)
        out["get"]["errors"] = result.get("non_2xx", 0) + result.get("socket_errors", 0)
        out["get"]["error_samples"] = result.get("error_samples", {})
        out["get"]["overloaded"] = result.get("overloaded", False)
        return out

    def fire(self, p: Prepared, names: list[str], **extra: Any) -> tuple[dict[str, str], list[str]]:
        """RotateSecret on every secret at once (``extra``: other parameters): {name: the new version's id},
        and the errors."""
        tokens: dict[str, str] = {}
        errors: list[str] = []

        def one(name: str) -> None:
            try:
                answer = p.api.call("RotateSecret", **{**rotate_params(name, p.function_arn), **extra})
                tokens[name] = answer["VersionId"]
            except CallFailed as exc:
                errors.append(str(exc))

        with ThreadPoolExecutor(self.args.fire_threads) as pool:
            list(pool.map(one, names))
        say(f"  sent {len(tokens):,} RotateSecret calls ({len(errors)} errors)")
        return tokens, errors

    def schedule_all(self, p: Prepared, names: list[str], out: dict[str, Any]) -> float | None:
        """Mode ``schedule``: every secret's rotation scheduled for the same minute (RotateImmediately
        false, a daily cron at that minute), its testSecret run finished; the due moment (epoch), or
        None if the rotations could not be scheduled (the reasons are in ``out``)."""
        a = self.args
        due_at = due_minute(time.time(), a.setup_s + a.lead + a.quiet_wait + 2)
        expression = daily_cron(due_at)
        say(f"  scheduling {len(names):,} rotations for {time.strftime('%H:%M:%S', time.gmtime(due_at))} UTC "
            f"({expression})")
        started = time.perf_counter()
        tokens, errors = self.fire(p, names, RotateImmediately=False,
                                   RotationRules={"ScheduleExpression": expression})
        out.update(fired=len(tokens), fire_s=round(time.perf_counter() - started, 3), fire_errors=len(errors),
                   schedule=expression)
        out["failures"] += errors[:5]
        # Each RotateImmediately=false call runs testSecret on an AWSPENDING version, then removes it.
        current: dict[str, str] = {}
        while time.time() < due_at - a.lead:
            entries = {e["Name"]: e for e in p.api.list_secrets() if e["Name"] in tokens}
            pending = [n for n, e in entries.items() if any(
                "AWSPENDING" in labels for labels in (e.get("SecretVersionsToStages") or {}).values())]
            if not pending:
                current = {n: current_version(e.get("SecretVersionsToStages")) or "" for n, e in entries.items()}
                break
            time.sleep(a.watch_s)
        out["tests_s"] = round(time.perf_counter() - started, 2)
        if not current:
            out["failures"].append(f"testSecret runs not finished {a.setup_s:g} s after scheduling")
            current = {n: current_version(e.get("SecretVersionsToStages")) or "" for n, e in entries.items()}
        say(f"  testSecret runs finished in {out['tests_s']:.1f} s; due in {due_at - time.time():.1f} s")
        out["current"] = current
        return due_at

    def watch(self, p: Prepared, targets: dict[str, Callable[[dict[str, Any]], bool]],
              begin: float) -> dict[str, float]:
        """{name: when its ListSecrets entry was first seen rotated} until all are, or --due-timeout."""
        done: dict[str, float] = {}
        deadline = begin + self.args.due_timeout
        told = begin
        while len(done) < len(targets) and time.perf_counter() < deadline:
            for entry in p.api.list_secrets():
                name = entry["Name"]
                if name in targets and name not in done and targets[name](entry):
                    done[name] = time.perf_counter()
            now = time.perf_counter()
            if now - told >= 5:
                say(f"  {len(done):,} of {len(targets):,} rotated after {now - begin:.1f} s")
                told = now
            if len(done) < len(targets):
                time.sleep(self.args.watch_s)
        say(f"  {len(done):,} of {len(targets):,} rotated after {time.perf_counter() - begin:.1f} s")
        return done


def schedstat(pid: int) -> tuple[int, int]:
    """(ns on a CPU, ns waiting on a run queue) of process ``pid``'s main thread (/proc schedstat)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/schedstat") as f:
            ran, waited, _ = f.read().split()
        return int(ran), int(waited)
    except (OSError, ValueError):
        return 0, 0


def run_and_wait(before: tuple[int, int], after: tuple[int, int], seconds: float) -> tuple[float, float]:
    """(% of the window on a CPU, % runnable but waiting for one) between two :func:`schedstat` readings."""
    return (round(100 * (after[0] - before[0]) / 1e9 / seconds, 1),
            round(100 * (after[1] - before[1]) / 1e9 / seconds, 1))


def due_check(token: str) -> Callable[[dict[str, Any]], bool]:
    """Rotated: AWSCURRENT on the version RotateSecret answered."""
    return lambda entry: rotated(entry, token)


def moved_from(version: str) -> Callable[[dict[str, Any]], bool]:
    """Rotated: AWSCURRENT on a version other than ``version`` (a scheduled rotation's token is the server's)."""
    return lambda entry: current_version(entry.get("SecretVersionsToStages")) not in (None, version)


def due_minute(now: float, ahead: float) -> float:
    """The first whole UTC minute at least ``ahead`` seconds after ``now`` (epoch seconds)."""
    return float((int(now + ahead) // 60 + 1) * 60)


def daily_cron(moment: float) -> str:
    """AWS's six-field cron expression of every day at ``moment``'s UTC hour and minute."""
    when = time.gmtime(moment)
    return f"cron({when.tm_min} {when.tm_hour} * * ? *)"


def uptime() -> str:
    """The host's load averages, as `uptime` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def environment(args: argparse.Namespace, settings: dict[str, Any], argv: list[str]) -> dict[str, Any]:
    return {
        **host.facts(), "auth": args.auth, "workers": args.workers, "store": "sqlite", "uptime": uptime(),
        "argv_text": shlex.join(argv), "label": args.label,
        "server_settings": {k: v for k, v in settings.items() if k != "functions_python"},
    }


def write_results(data: dict[str, Any], results: Path) -> Path:
    """``rotation-<UTC>.md`` and ``.json`` in ``results``; the Markdown's path."""
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (results / f"rotation-{stamp}.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    md = results / f"rotation-{stamp}.md"
    md.write_text(rotation_report.markdown(data))
    return md


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    status = 0
    with tempfile.TemporaryDirectory(prefix="strongroom-bench-rotation-") as tmp:
        bench = Bench(args, Path(tmp))
        data: dict[str, Any] = {"environment": environment(args, bench.settings, argv), "notes": []}
        say(f"rotation benchmark: parts {args.parts}; {args.secrets:,} secrets; {args.workers} worker(s); "
            f"auth {args.auth}; {data['environment']['uptime']}")
        try:
            if "latency" in args.parts:
                data["latency"] = bench.latency()
            if "due" in args.parts:
                data["due"] = bench.due()
        except KeyboardInterrupt:
            data["notes"].append("interrupted: partial results")
            status = 130
        except Exception as exc:  # noqa: BLE001 - write what was measured, then fail
            say(f"FAILED: {type(exc).__name__}: {exc}")
            data["notes"].append(f"failed: {type(exc).__name__}: {exc}")
            status = 1
    md = write_results(data, args.results_dir)
    print()
    print(md.read_text())
    say(f"results: {md} (and .json)")
    return status


if __name__ == "__main__":
    sys.exit(main())
