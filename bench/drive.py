"""Running a load generator against a server: wrk (preferred) or bench.loadgen, as a subprocess.

Both are driven from the same pre-signed pools and return the same normalized result:
``rps``, ``latency_ms`` (p50/p90/p99/p99.9/max/mean), ``non_2xx`` (with counts per status class
and one sample body per error status), ``socket_errors`` and ``pool_wrapped``.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.workloads import Plan

HERE = Path(__file__).resolve().parent
LUA = HERE / "pool.lua"
WRK_INSTALL = "apt-get install -y wrk"


#: Scheduling policies of a full-load generator (``--generator-policy``).
POLICIES = ("batch", "normal")
# Run a command under SCHED_BATCH: exec'd in place, so the measured process is the generator itself.
_EXEC_BATCH = (
    "import os, sys; os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0)); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


def with_policy(cmd: list[str], policy: str) -> list[str]:
    """``cmd`` made to run under a scheduling policy: ``normal`` (as is) or ``batch``.

    The generator shares the cores with the server. Under the default policy every wakeup of the
    generator (a response arrived) preempts a busy worker: about one involuntary context switch
    per GetSecretValue. SCHED_BATCH keeps the generator's fair share of CPU time but lets it wait
    for the next scheduling tick instead of preempting (sched(7)); a client on another machine
    does not preempt the server either. Platforms without SCHED_BATCH run ``cmd`` as is.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown generator policy {policy!r}; choose from {', '.join(POLICIES)}")
    if policy == "normal" or not hasattr(os, "SCHED_BATCH"):
        return cmd
    return [sys.executable, "-c", _EXEC_BATCH, *cmd]


def find_wrk() -> str | None:
    return shutil.which("wrk")


def choose_generator(requested: str, say: Any = print) -> str:
    """'wrk' or 'python'. With 'auto', wrk when installed, else the Python generator (said so)."""
    wrk = find_wrk()
    if requested == "wrk" and wrk is None:
        raise SystemExit(f"bench: wrk is not installed; install it with: {WRK_INSTALL}  (or use --generator python)")
    if requested == "auto":
        if wrk is None:
            say(f"bench: wrk not found (install it with: {WRK_INSTALL}); using the Python generator (bench.loadgen)")
            return "python"
        return "wrk"
    return requested


def _write_plan(plan: Plan, folder: Path) -> list[str]:
    """Pool files plus the generator-independent arguments: [a, a_unique, (b, b_unique, every)]."""
    a = plan.a.write(folder / "pool_a.bin")
    args = [str(a), "1" if plan.a.unique else "0"]
    if plan.b is not None:
        b = plan.b.write(folder / "pool_b.bin")
        args += [str(b), "1" if plan.b.unique else "0", str(plan.every)]
    return args


def run_wrk(
    plan: Plan, port: int, *, duration: int, connections: int, threads: int, policy: str = "normal"
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        pool_args = _write_plan(plan, Path(tmp))
        cmd = [
            find_wrk() or "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{int(duration)}s",
            "--timeout", "10s", "-s", str(LUA), f"http://127.0.0.1:{port}/", "--", str(threads), *pool_args,
        ]
        proc = subprocess.run(with_policy(cmd, policy), capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    raw = orjson.loads(line[len("BENCHJSON ") :])
    seconds = raw["duration_us"] / 1e6
    classes = raw["classes"]
    errors = raw["errors"]
    lat = raw["latency_ms"]
    return {
        "generator": f"wrk ({threads} thread(s), Lua replay of pre-signed requests)",
        "mode": "closed-loop",
        "connections": connections,
        "duration_s": round(seconds, 3),
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "status_classes": classes,
        "non_2xx": classes["3xx"] + classes["4xx"] + classes["5xx"] + classes["other"],
        "socket_errors": errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        "socket_error_detail": {k: v for k, v in errors.items() if k != "status"},
        "error_samples": raw["error_samples"],
        "pool_wrapped": raw["wrapped"],
        "latency_ms": {
            "p50": lat["50"], "p90": lat["90"], "p99": lat["99"], "p99.9": lat["99.9"],
            "max": lat["max"], "mean": lat["mean"],
        },
        "cdf_ms": raw["cdf_ms"],
    }


@dataclass
class PythonRun:
    """A ``bench.loadgen`` run in progress (:func:`start_python`): :meth:`end_early`, then :meth:`result`."""

    proc: subprocess.Popen[str]
    folder: tempfile.TemporaryDirectory[str]
    out: Path
    rate: float
    timeout: float
    samples: Path | None = None

    def end_early(self) -> None:
        """End the run now (SIGUSR1), as its duration would have."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)

    def result(self) -> dict[str, Any]:
        """The normalized result (``samples``: the answers' start times and latencies, when asked for)."""
        try:
            try:
                _, stderr = self.proc.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                _, stderr = self.proc.communicate()
            if self.proc.returncode != 0 or not self.out.exists():
                raise RuntimeError(f"bench.loadgen failed ({self.proc.returncode}): {stderr.strip()[-2000:]}")
            result = orjson.loads(self.out.read_bytes())
            if self.samples is not None:
                from bench.loadgen import read_samples

                result["samples"] = read_samples(self.samples)
        finally:
            self.folder.cleanup()
        classes = {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, "other": 0}
        for code, count in result["status"].items():
            c = int(code)
            key = f"{c // 100}xx" if 200 <= c < 600 else "other"
            classes[key] += count
        result["status_classes"] = classes
        if self.rate:
            result["generator"] = "bench.loadgen (Python, uvloop, open loop at a constant rate)"
        else:
            result["generator"] = "bench.loadgen (Python, uvloop, closed loop)"
        return result


def start_python(
    plan: Plan, port: int, *, duration: float, connections: int, rate: float = 0.0, policy: str = "normal",
    samples: bool = False, max_backlog_s: float | None = None,
) -> PythonRun:
    """Start ``bench.loadgen`` on ``plan`` in the background (``samples``: keep every answer's time;
    ``max_backlog_s``: the open loop's backlog before it gives up, loadgen's ``--max-backlog``)."""
    folder = tempfile.TemporaryDirectory(prefix="bench-py-")
    path = Path(folder.name)
    pool_args = _write_plan(plan, path)
    out = path / "result.json"
    cmd = [
        sys.executable, "-m", "bench.loadgen", "--port", str(port), "--pool-a", pool_args[0],
        "--connections", str(connections), "--duration", str(duration), "--rate", str(rate), "--out", str(out),
    ]
    if pool_args[1] == "1":
        cmd.append("--a-unique")
    if len(pool_args) > 2:
        cmd += ["--pool-b", pool_args[2], "--every", pool_args[4]]
        if pool_args[3] == "1":
            cmd.append("--b-unique")
    samples_path = path / "samples.bin" if samples else None
    if samples_path is not None:
        cmd += ["--samples-out", str(samples_path)]
    if max_backlog_s is not None:
        cmd += ["--max-backlog", str(max_backlog_s)]
    proc = subprocess.Popen(
        with_policy(cmd, policy), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE.parent
    )
    return PythonRun(proc, folder, out, rate, duration + 90, samples_path)


def run_python(
    plan: Plan, port: int, *, duration: float, connections: int, rate: float = 0.0, policy: str = "normal"
) -> dict[str, Any]:
    return start_python(plan, port, duration=duration, connections=connections, rate=rate, policy=policy).result()


def run_full(
    generator: str, plan: Plan, port: int, *, duration: float, connections: int, threads: int,
    policy: str = "batch",
) -> dict[str, Any]:
    """Full load (closed loop, every connection busy), the generator under ``policy`` (:func:`with_policy`)."""
    if generator == "wrk":
        return run_wrk(
            plan, port, duration=max(1, math.ceil(duration)), connections=connections, threads=threads, policy=policy
        )
    return run_python(plan, port, duration=duration, connections=connections, policy=policy)
