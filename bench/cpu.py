"""CPU accounting around a measurement: who used the machine's cores while it ran.

On a small shared machine the load generator, the server and anything else running compete for
the same cores. Each cell records the server's CPU (process tree, from /proc/<pid>/stat), the load
generator's (a waited-for child: getrusage), and everything else ("other": total busy time from
/proc/stat minus those two and this harness), and the time the hypervisor took the machine's
virtual CPUs away ("steal", from /proc/stat). A cell with a lot of "other" or "steal" is noisy.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

from bench.servers import descendants

TICK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def _busy_and_steal() -> tuple[float, float]:
    """CPU seconds the machine's cores were busy (steal excluded), and seconds stolen by the host."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    steal = fields[7] if len(fields) > 7 else 0
    # guest time is already included in user/nice
    return (sum(fields[:8]) - idle - steal) / TICK, steal / TICK


def _pids_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (utime + stime) of each live process in ``pids``."""
    out = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            out[p] = (int(parts[11]) + int(parts[12])) / TICK
        except (OSError, IndexError, ValueError):
            continue
    return out


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (utime + stime) used so far by the live processes in ``pids``, together."""
    return sum(_pids_cpu(pids).values())


def _tree_cpu(pid: int) -> float:
    """CPU seconds (utime + stime) of ``pid`` and its descendants."""
    return cpu_seconds(descendants(pid))


def _children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@dataclass
class CpuMark:
    wall: float
    busy: float
    steal: float
    server: float
    children: float
    me: float
    db: dict[int, float]


def mark(server_pid: int, db_pids: list[int] | None = None) -> CpuMark:
    busy, steal = _busy_and_steal()
    return CpuMark(
        time.perf_counter(), busy, steal, _tree_cpu(server_pid), _children(), _self(), _pids_cpu(db_pids or [])
    )


def usage(start: CpuMark, server_pid: int, db_pids: list[int] | None = None) -> dict[str, float]:
    """CPU use between ``start`` and now, in % of one core (so 2 busy cores = 200%).

    ``db_pids``: database server processes serving this server (PostgreSQL backends); a pid
    first seen at the end was born during the measurement and counts in full.
    """
    end = mark(server_pid, db_pids)
    wall = max(end.wall - start.wall, 1e-9)
    server = end.server - start.server
    gen = end.children - start.children
    me = end.me - start.me
    db = sum(v - start.db.get(p, 0.0) for p, v in end.db.items())
    busy = end.busy - start.busy
    steal = end.steal - start.steal
    other = max(0.0, busy - server - gen - me - db)
    return {
        "server_cpu_s": round(server, 3),
        "db_cpu_s": round(db, 3),
        "db_cpu_pct": round(100 * db / wall, 1),
        "server_cpu_pct": round(100 * server / wall, 1),
        "generator_cpu_pct": round(100 * gen / wall, 1),
        "other_cpu_pct": round(100 * other / wall, 1),
        "steal_cpu_pct": round(100 * steal / wall, 1),
        "machine_busy_pct": round(100 * busy / (wall * NCPU), 1),
        "cores": NCPU,
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def wait_quiet(server_pid: int | None, max_wait: float, threshold_pct: float, say=None) -> float:  # type: ignore[no-untyped-def]
    """Wait (at most ``max_wait`` s) until other processes plus host steal take less than
    ``threshold_pct`` of a core, sampled over 1 s windows. Returns the last sample (% of one core)."""
    deadline = time.perf_counter() + max_wait
    told = False
    while True:
        start = mark(server_pid) if server_pid else mark(os.getpid())
        time.sleep(1.0)
        now = usage(start, server_pid or os.getpid())
        other = now["other_cpu_pct"] + now["steal_cpu_pct"]
        if other < threshold_pct or time.perf_counter() >= deadline:
            return other
        if say and not told:
            say(f"  waiting up to {max_wait:.0f}s for other processes to quieten (now {other:.0f}% of a core)")
            told = True
