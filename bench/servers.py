"""The servers under test, as subprocesses: Strongroom, moto, and the hello-world ceiling.

Start-up time is measured from just before the process is spawned to the first 200 on the health
URL (polled every 5 ms). RSS is the sum of ``VmRSS`` over the server process and all of its
descendants (uvicorn's worker processes), read from ``/proc``.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 60.0


class ServerRefused(RuntimeError):
    """The server exited (or never answered) instead of becoming healthy; the message says why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(port: int, path: str) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        status = conn.getresponse().status
        return status
    except OSError:
        return None
    finally:
        conn.close()


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (via /proc/<pid>/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def rss_mb(pid: int) -> float:
    """Sum of VmRSS (MiB) of ``pid`` and its descendants."""
    total_kb = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
                        break
        except OSError:
            continue
    return round(total_kb / 1024.0, 1)


@dataclass
class Server:
    kind: str  # strongroom | moto | hello
    label: str
    proc: subprocess.Popen[bytes]
    port: int
    startup_s: float
    log_path: Path
    data_dir: Path | None = None
    workers: int = 1
    _rss_peak: float = field(default=0.0, repr=False)
    _sampler: threading.Thread | None = field(default=None, repr=False)
    _sampling: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        return descendants(self.pid)

    def rss(self) -> float:
        return rss_mb(self.pid)

    def start_sampling(self) -> None:
        """Sample RSS every 250 ms in a thread until :meth:`stop_sampling` (peak = max sample)."""
        self._rss_peak = self.rss()
        self._sampling.clear()

        def loop() -> None:
            while not self._sampling.wait(0.25):
                self._rss_peak = max(self._rss_peak, self.rss())

        self._sampler = threading.Thread(target=loop, daemon=True)
        self._sampler.start()

    def stop_sampling(self) -> tuple[float, float]:
        """(peak, now) RSS in MiB."""
        self._sampling.set()
        if self._sampler is not None:
            self._sampler.join()
        now = self.rss()
        return max(self._rss_peak, now), now

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # our own process group (start_new_session)
                self.proc.wait(timeout=10)

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _spawn(
    kind: str, label: str, cmd: list[str], port: int, health: str, log_path: Path, *,
    extra_env: dict[str, str] | None = None, **kw: object,
) -> Server:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")  # noqa: SIM115 - kept open for the child's lifetime
    env = dict(os.environ)
    env.pop("STRONGROOM_MASTER_KEY", None)  # the data dir's master.key must be the one used
    env.update(extra_env or {})
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True
    )
    log.close()
    deadline = started + READY_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            text = log_path.read_text(errors="replace").strip()
            raise ServerRefused(f"{label} exited with status {proc.returncode}: {text[-1500:]}")
        if _health(port, health) == 200:
            startup = time.perf_counter() - started
            break
        if time.perf_counter() > deadline:
            proc.kill()
            raise ServerRefused(f"{label} did not answer {health} within {READY_TIMEOUT_S:.0f}s")
        time.sleep(0.005)
    return Server(kind, label, proc, port, round(startup, 3), log_path, **kw)  # type: ignore[arg-type]


def toml_settings(settings: Mapping[str, bool | int | float | str]) -> str:
    """``settings`` as the lines of a TOML file (top-level keys; strings as JSON strings, which TOML reads)."""
    lines = []
    for key, value in settings.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = repr(value)
        else:
            text = json.dumps(str(value))
        lines.append(f"{key} = {text}\n")
    return "".join(lines)


def start_strongroom(
    data_dir: Path, workers: int, log_dir: Path, *, auth: str = "dev", database_url: str | None = None,
    port: int | None = None, read_cache_size: int | None = None, source: Path | None = None,
    settings: Mapping[str, bool | int | float | str] | None = None,
) -> Server:
    """``source``: a directory holding the ``strongroom`` package to run instead of the installed one;
    ``settings``: configuration settings (a TOML file in the data dir, e.g. ``functions``)."""
    port = port or free_port()
    cmd = [
        sys.executable, "-m", "strongroom", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(data_dir), "--workers", str(workers), "--log-level", "warning",
    ]
    config = dict(settings or {})
    if read_cache_size is not None:
        config["read_cache_size"] = int(read_cache_size)
    if config:
        path = data_dir / "bench-settings.toml"
        path.write_text(toml_settings(config))
        cmd += ["--config", str(path)]
    if auth == "dev":
        cmd.append("--dev")
    if database_url:
        cmd += ["--database-url", database_url]
    label = f"strongroom ({'postgres' if database_url else 'sqlite'}, {workers} worker(s), auth {auth})"
    if source is not None:
        label += f" from {source}"
    return _spawn(
        "strongroom", label, cmd, port, "/health", log_dir / f"strongroom-{time.time_ns()}.log", data_dir=data_dir,
        workers=workers, extra_env={"PYTHONPATH": str(source)} if source is not None else None,
    )


def start_moto(log_dir: Path, port: int | None = None) -> Server:
    port = port or free_port()
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return _spawn("moto", "moto_server", cmd, port, "/moto-api/", log_dir / f"moto-{time.time_ns()}.log")


def start_hello(workers: int, log_dir: Path, port: int | None = None) -> Server:
    port = port or free_port()
    cmd = [sys.executable, "-m", "bench.hello", "--port", str(port), "--workers", str(workers)]
    return _spawn(
        "hello", f"hello-world ASGI ({workers} worker(s))", cmd, port, "/health",
        log_dir / f"hello-{time.time_ns()}.log",
        workers=workers,
    )
