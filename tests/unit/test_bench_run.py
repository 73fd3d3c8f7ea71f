"""bench.run's command line: the generator policy and how quiet a measurement must be to count."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ lives

from bench.run import noise_limit, parse_args  # noqa: E402


def test_defaults_batch_generator_and_a_stricter_limit_for_latency_runs() -> None:
    args = parse_args([])
    assert args.generator_policy == "batch"
    assert (args.quiet_threshold, args.quiet_threshold_latency) == (25.0, 5.0)


def test_full_load_cells_use_the_throughput_limit_latency_cells_the_latency_one() -> None:
    args = parse_args(["--quiet-threshold", "30", "--quiet-threshold-latency", "4", "--generator-policy", "normal"])
    assert args.generator_policy == "normal"
    assert noise_limit(args, "full") == 30
    assert noise_limit(args, "rate") == 4
    assert noise_limit(args, "single") == 4


# --- GetSecretValue of every size and the ceiling, in alternation ---------------------------------
class FakeServer:
    def __init__(self, label: str, port: int, data_dir: Path | None = None) -> None:
        self.label, self.port, self.data_dir = label, port, data_dir
        self.startup_s, self.pid, self.stopped = 0.1, 1, False

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.stopped = True

    def rss(self) -> float:
        return 1.0


def _alternation_harness(tmp_path: Path, monkeypatch: Any, rps: dict[str, list[float]],
                         noise: dict[str, list[float]] | None = None) -> tuple[Any, list[str], list[FakeServer]]:
    from bench import run, servers

    args = parse_args(["--repeat", "3", "--sizes", "1000,1000000", "--workloads", "get"])
    started: list[FakeServer] = []
    measured: list[str] = []
    left = {k: list(v) for k, v in rps.items()}
    noisy = {k: list(v) for k, v in (noise or {}).items()}

    def start_strongroom(data_dir: Path, workers: int, logs: Path, **kw: Any) -> FakeServer:
        started.append(FakeServer(f"sr{data_dir.name.split('-')[1]}", kw["port"], data_dir))
        return started[-1]

    def start_hello(workers: int, logs: Path, **kw: Any) -> FakeServer:
        started.append(FakeServer("hello", kw["port"]))
        return started[-1]

    monkeypatch.setattr(servers, "start_strongroom", start_strongroom)
    monkeypatch.setattr(servers, "start_hello", start_hello)

    class Cache:
        def sqlite_copy(self, snapshot: Any, dest: Path) -> float:
            return 0.0

    h = run.Harness(args, "wrk", tmp_path, Cache())  # type: ignore[arg-type]
    monkeypatch.setattr(h, "warm", lambda server, creds, n: None)
    monkeypatch.setattr(h, "plan", lambda server, creds, key, n, purpose="full": server.label)
    monkeypatch.setattr(h, "_creds", lambda server: run.dev_credentials())

    def measure_runs(server: FakeServer, plan: str, mode: str, repeats: int) -> list[dict[str, Any]]:
        measured.append(server.label)
        other = noisy[server.label].pop(0) if noisy.get(server.label) else 0.0
        return [{"rps": left[server.label].pop(0), "requests": 1000, "other_cpu_pct": other, "steal_cpu_pct": 0.0,
                 "latency_ms": {}, "rss_mb_peak": 1.0, "server_cpu_pct": 100.0, "generator_cpu_pct": 20.0}]

    monkeypatch.setattr(h, "_measure_runs", measure_runs)
    return h, measured, started


def test_every_size_and_the_ceiling_are_measured_in_alternating_rounds(tmp_path: Path, monkeypatch: Any) -> None:
    rps = {"sr1000": [9.0, 7.0, 8.0], "sr1000000": [6.0, 5.0, 7.0], "hello": [20.0, 25.0, 22.0]}
    h, measured, started = _alternation_harness(tmp_path, monkeypatch, rps)
    h.get_in_alternation("sqlite", [(1000, "snap1k"), (1_000_000, "snap1m")], 2)
    assert measured == ["sr1000", "sr1000000", "hello", "hello", "sr1000000", "sr1000", "sr1000", "sr1000000",
                        "hello"]
    assert len({s.port for s in started}) == 3 and all(s.stopped for s in started)
    cells = {(c["target"], c["size"]): c for c in h.cells}
    assert cells[("strongroom", 1000)]["rps"] == 8.0 and cells[("strongroom", 1000)]["picked"] == "median"
    assert cells[("strongroom", 1_000_000)]["rps"] == 6.0
    ceiling = cells[("hello", None)]
    assert ceiling["rps"] == 25.0 and ceiling["picked"] == "fastest"
    assert ceiling["adjacent_to"] == {"store": "sqlite", "sizes": [1000, 1_000_000], "alternated": True}
    assert all(c["alternated"] and c["mode"] == "full" and c["workload"] == "get" for c in h.cells)


def test_a_noisy_run_is_measured_again_at_once_and_the_quietest_counts(tmp_path: Path, monkeypatch: Any) -> None:
    rps = {"sr1000": [1.0, 9.0, 8.0, 7.0], "hello": [20.0, 21.0, 22.0]}
    h, measured, _ = _alternation_harness(tmp_path, monkeypatch, rps, noise={"sr1000": [60.0, 3.0]})
    h.get_in_alternation("sqlite", [(1000, "snap1k")], 2)
    assert measured[:3] == ["sr1000", "sr1000", "hello"]  # the noisy first run, again, then the next server
    cell = next(c for c in h.cells if c["target"] == "strongroom")
    assert cell["repeats_rps"] == [7.0, 8.0, 9.0]  # 1.0 (noisy) was replaced by 9.0
    assert cell["rps"] == 8.0


def test_alternation_is_for_sqlite_with_a_ceiling_of_as_many_workers() -> None:
    from bench.run import alternates

    args = parse_args(["--workloads", "get,put"])
    assert alternates(args, "sqlite", 2, {1, 2})
    assert not alternates(args, "postgres", 2, {1, 2})
    assert not alternates(args, "sqlite", 2, {1})
    assert not alternates(parse_args(["--workloads", "put"]), "sqlite", 2, {2})
    assert not alternates(parse_args(["--no-alternate"]), "sqlite", 2, {2})


def test_a_cell_reports_its_median_run_a_ceiling_its_fastest() -> None:
    from bench.run import pick_run

    runs = [{"rps": 7.0, "n": "a"}, {"rps": 9.0, "n": "b"}, {"rps": 8.0, "n": "c"}]
    assert pick_run(runs, best=False) == {"rps": 8.0, "n": "c", "picked": "median", "repeats_rps": [7.0, 8.0, 9.0]}
    assert pick_run(runs, best=True)["n"] == "b"
    assert [r["n"] for r in runs] == ["a", "b", "c"]  # the caller's list is left as it was
    assert "repeats_rps" not in pick_run([{"rps": 5.0}], best=False)
