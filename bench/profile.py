"""Profile a Strongroom worker under load with py-spy: ``python -m bench.profile``.

Seeds (or reuses) a store, starts the server (1 worker by default, so one process holds all the
work), drives it at full load with wrk, and meanwhile records the worker with py-spy twice: a
flame graph (``--svg``, default bench/results/profile-<workload>.svg) and raw collapsed stacks,
which are summarised into bench/results/profile-<workload>.md: self and inclusive time per
function, and self time per component (HTTP stack, auth, protocol, domain, store, crypto, ...).

Needs py-spy (``.venv/bin/pip install py-spy``) and permission to ptrace the server (root, or
``kernel.yama.ptrace_scope=0``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import drive, servers
from bench.run import DEFAULT_CACHE, RESULTS, say
from bench.seed import SnapshotCache
from bench.signing import admin_credentials, dev_credentials
from bench.workloads import WORKLOADS, build_plan

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

#: Components, first match wins (matched against the frame's file path).
COMPONENTS: list[tuple[str, str]] = [
    ("strongroom/iam/", "auth (SigV4 parsing/verification, policies)"),
    ("strongroom/sigv4/", "auth (SigV4 parsing/verification, policies)"),
    ("strongroom/protocol/", "protocol (JSON 1.1 codec, input validation)"),
    ("strongroom/store/", "store (SQL layer + driver calls)"),
    ("strongroom/kms/", "crypto (key ring, envelope, AES-GCM)"),
    ("strongroom/crypto/", "crypto (key ring, envelope, AES-GCM)"),
    ("cryptography/", "crypto (key ring, envelope, AES-GCM)"),
    ("strongroom/secrets/", "domain (secrets operations)"),
    ("strongroom/audit/", "audit (hash-chained record per request)"),
    ("strongroom/server/", "app (ASGI app, request path)"),
    ("uvicorn/", "HTTP stack (uvicorn, httptools)"),
    ("httptools", "HTTP stack (uvicorn, httptools)"),
    ("uvloop", "event loop (uvloop, asyncio)"),
    ("asyncio/", "event loop (uvloop, asyncio)"),
    ("sqlite3", "store (SQL layer + driver calls)"),
    ("asyncpg", "store (SQL layer + driver calls)"),
    ("<string>", "generated __new__/__init__ (NamedTuple, dataclass)"),
    ("uuid.py", "stdlib: uuid"),
    ("logging/", "stdlib: logging"),
    ("contextlib.py", "stdlib: contextlib (async with)"),
    ("dataclasses", "stdlib: dataclasses"),
    ("json", "stdlib: json"),
]


def worker_pids(server_pid: int) -> list[int]:
    """The worker processes under a multi-worker server (not uvicorn's supervisor, nor helpers such as
    multiprocessing's resource tracker)."""
    workers = []
    for pid in servers.descendants(server_pid)[1:]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            workers.append(pid)
    return sorted(workers)


def parse_frame(frame: str) -> tuple[str, str]:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip(), ""
    return m["func"], m["file"]


def short_file(path: str) -> str:
    for marker in ("site-packages/", "src/", "lib/python3.11/", "lib/python3.12/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def component(path: str, func: str) -> str:
    text = f"{path} {func}"
    for needle, name in COMPONENTS:
        if needle in text:
            return name
    if not path:
        return "native / idle"
    return "other: " + short_file(path).split("/")[0]


def summarise(raw_path: Path, top: int = 25) -> tuple[str, dict]:
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    comp: Counter[str] = Counter()
    total = idle = 0
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        # py-spy prefixes the process / thread as pseudo-frames: drop anything without a file.
        parsed = [parse_frame(f) for f in frames]
        parsed = [(fn, fl) for fn, fl in parsed if fl]
        # Helper threads (uvicorn's supervisor ping thread in a multi-worker server) only wait:
        # the request path runs on the main thread, whose samples are the 100%.
        if parsed and parsed[0][0] == "Thread._bootstrap" and parsed[0][1].endswith("threading.py"):
            continue
        total += count
        if not parsed:
            idle += count
            continue
        leaf_fn, leaf_file = parsed[-1]
        if leaf_fn in ("select", "poll", "run_forever", "run", "_run_once") and "selectors" in leaf_file:
            idle += count
        key = f"{leaf_fn} ({short_file(leaf_file)})"
        self_t[key] += count
        comp[component(leaf_file, leaf_fn)] += count
        seen = set()
        for fn, fl in parsed:
            k = f"{fn} ({short_file(fl)})"
            if k not in seen:
                seen.add(k)
                incl[k] += count
    pct = lambda n: 100.0 * n / total if total else 0.0  # noqa: E731
    lines = [
        f"Samples: {total:,} of the main thread (py-spy, 100 Hz; --idle: samples of a waiting event loop are "
        "included; helper threads, which only wait, are not)",
        "",
    ]
    lines += ["### Self time by component", "", "| component | % of samples |", "|---|---:|"]
    for name, n in comp.most_common():
        lines.append(f"| {name} | {pct(n):.1f} |")
    lines += ["", f"### Top {top} functions by self time", "", "| function | self % |", "|---|---:|"]
    for name, n in self_t.most_common(top):
        lines.append(f"| `{name}` | {pct(n):.1f} |")
    lines += ["", f"### Top {top} functions by inclusive time", "", "| function | inclusive % |", "|---|---:|"]
    for name, n in incl.most_common(top):
        lines.append(f"| `{name}` | {pct(n):.1f} |")
    summary = {
        "total_samples": total,
        "components": {k: round(pct(v), 2) for k, v in comp.most_common()},
        "self": {k: round(pct(v), 2) for k, v in self_t.most_common(top)},
        "inclusive": {k: round(pct(v), 2) for k, v in incl.most_common(top)},
    }
    return "\n".join(lines), summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="get", choices=list(WORKLOADS))
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1, help="with >1, the first worker process is profiled")
    ap.add_argument("--duration", type=int, default=10, help="seconds of each py-spy recording")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    ap.add_argument("--native", action="store_true", help="py-spy --native (C frames too; slower)")
    ap.add_argument("--auth", choices=["dev", "sigv4"], default="dev", help="server mode (see bench.run --auth)")
    ap.add_argument("--tag", default="", help="suffix of the output files (profile-<workload><tag>.*)")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--out-dir", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if not 1 <= args.duration <= 120:
        ap.error("--duration must be 1..120")
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(pyspy).exists():
        print("bench.profile: py-spy not found; install it with: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    if drive.find_wrk() is None:
        print(f"bench.profile: wrk not found; install it with: {drive.WRK_INSTALL}", file=sys.stderr)
        return 2
    cache = SnapshotCache(args.cache_dir, say)
    snap, _ = cache.sqlite_snapshot(args.size)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    svg = args.out_dir / f"profile-{args.workload}{args.tag}.svg"
    md = args.out_dir / f"profile-{args.workload}{args.tag}.md"
    with tempfile.TemporaryDirectory(prefix="strongroom-profile-") as tmp:
        work = Path(tmp)
        cache.sqlite_copy(snap, work / "data")
        server = servers.start_strongroom(work / "data", args.workers, work / "logs", auth=args.auth)
        try:
            creds = dev_credentials() if args.auth == "dev" else admin_credentials(work / "data")
            target = server.pid if args.workers == 1 else worker_pids(server.pid)[0]
            plan = build_plan(args.workload, args.size, server.host, creds, read_pool=10000,
                              write_count=4000 * (2 * args.duration + 8), progress=say)
            drive.run_full("wrk", build_plan("get", args.size, server.host, creds, read_pool=2000,
                                             write_count=0), server.port, duration=2, connections=64, threads=1)
            with tempfile.TemporaryDirectory(prefix="bench-wrk-") as wtmp:
                pool_args = drive._write_plan(plan, Path(wtmp))
                load_s = 2 * args.duration + 6
                wrk_cmd = [
                    "wrk", "-t1", f"-c{args.connections}", f"-d{load_s}s", "--timeout", "10s", "-s", str(drive.LUA),
                    f"http://127.0.0.1:{server.port}/", "--", "1", *pool_args,
                ]
                wrk = subprocess.Popen(  # under bench.run's default policy (drive.with_policy)
                    drive.with_policy(wrk_cmd, "batch"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                )
                time.sleep(1.5)
                common = [pyspy, "record", "--pid", str(target), "--duration", str(args.duration),
                          "--rate", str(args.rate), "--idle"] + (["--native"] if args.native else [])
                say(f"py-spy: flame graph of pid {target} for {args.duration}s -> {svg}")
                subprocess.run([*common, "--format", "flamegraph", "-o", str(svg)], check=True,
                               capture_output=True, timeout=args.duration + 60)
                raw = work / "profile.raw.txt"
                say(f"py-spy: raw stacks for {args.duration}s")
                subprocess.run([*common, "--format", "raw", "-o", str(raw)], check=True, capture_output=True,
                               timeout=args.duration + 60)
                out, _ = wrk.communicate(timeout=load_s + 60)
            line = next((ln for ln in out.splitlines() if ln.startswith("BENCHJSON ")), "")
            text, summary = summarise(raw)
            shutil.copyfile(raw, args.out_dir / f"profile-{args.workload}{args.tag}.raw.txt")
        finally:
            server.stop()
    import orjson

    load = orjson.loads(line[len("BENCHJSON "):]) if line else {}
    rps = load.get("requests", 0) / (load.get("duration_us", 1) / 1e6) if load else 0
    header = [
        f"# Profile: {WORKLOADS[args.workload].operation}, {args.size:,} secrets, SQLite, {args.workers} worker(s), "
        f"auth {args.auth}",
        "",
        f"- {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; load: wrk, {args.connections} connections, "
        f"{rps:,.0f} req/s while profiled (py-spy slows the process it samples); errors: {load.get('classes', {})}",
        f"- flame graph: [{svg.name}]({svg.name}); `python -m bench.profile --workload {args.workload} "
        f"--size {args.size} --auth {args.auth} --workers {args.workers}` reproduces it",
        "",
    ]
    md.write_text("\n".join(header) + text + "\n")
    print("\n".join(header) + text)
    say(f"wrote {md} and {svg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
