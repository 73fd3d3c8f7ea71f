"""bench.report's target verdicts read the cells the issue's targets are about."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ lives

from bench.report import evaluate_targets  # noqa: E402


def _rate_cell(store: str, workers: int, p99: float) -> dict[str, Any]:
    return {
        "target": "strongroom", "store": store, "size": 1000, "workers": workers, "workload": "get",
        "mode": "rate", "target_rate": 1000, "rps": 1000.0,
        "latency_ms": {"p50": 1.0, "p99": p99, "p99.9": p99}, "service_latency_ms": {"p99": p99}, "rss_mb_peak": 150.0,
    }


def _verdict(cells: list[dict[str, Any]], name: str) -> dict[str, str]:
    rows = evaluate_targets({"environment": {"auth": "sigv4"}, "cells": cells, "skipped": []})
    return next(row for row in rows if row["target"].startswith(name))


def test_the_latency_target_is_judged_on_sqlite_with_two_workers() -> None:
    """Targets are stated for SQLite and 2 workers; PostgreSQL and 1-worker cells are in the tables."""
    cells = [_rate_cell("sqlite", 2, 2.4), _rate_cell("postgres", 2, 6.0), _rate_cell("sqlite", 1, 7.0)]
    row = _verdict(cells, "GetSecretValue p99 < 5 ms")
    assert row["verdict"] == "PASS"
    assert row["measured"].startswith("2.40 ms")
    assert "sqlite 1k w2" in row["basis"]


def test_the_latency_target_fails_on_a_slow_sqlite_cell() -> None:
    row = _verdict([_rate_cell("sqlite", 2, 2.0), _rate_cell("sqlite", 2, 5.5)], "GetSecretValue p99 < 5 ms")
    assert row["verdict"] == "FAIL"
    assert row["measured"].startswith("5.50 ms")


def test_no_sqlite_rate_cell_is_not_applicable() -> None:
    assert _verdict([_rate_cell("postgres", 2, 1.0)], "GetSecretValue p99 < 5 ms")["verdict"] == "N/A"


def _starts(*starts: tuple[str, float]) -> dict[str, str]:
    data = {"environment": {"auth": "sigv4"}, "cells": [], "skipped": [],
            "server_starts": [{"server": name, "startup_s": seconds} for name, seconds in starts]}
    return next(row for row in evaluate_targets(data) if row["target"] == "start-up < 1 s")


def test_start_up_is_judged_on_sqlite_and_postgresql_is_shown_beside_it() -> None:
    row = _starts(("strongroom (sqlite, 2 worker(s), auth sigv4)", 0.8),
                  ("strongroom (postgres, 2 worker(s), auth sigv4)", 1.2))
    assert row["verdict"] == "PASS"
    assert "worst 0.800 s of 1 starts" in row["measured"]
    assert "other stores: worst 1.200 s of 1 starts" in row["measured"]
    assert _starts(("strongroom (sqlite, 2 worker(s), auth sigv4)", 1.1))["verdict"] == "FAIL"
    only_pg = _starts(("strongroom (postgres, 2 worker(s), auth sigv4)", 0.9))
    assert only_pg["verdict"] == "N/A" and "worst 0.900 s" in only_pg["measured"]


def _get_cell(size: int, rps: float) -> dict[str, Any]:
    return {"target": "strongroom", "store": "sqlite", "size": size, "workers": 2, "workload": "get", "mode": "full",
            "rps": rps, "server_cpu_us_per_req": 1e6 / rps, "rss_mb_peak": 150.0}


def _hello_cell(rps: float, after: int | None = None) -> dict[str, Any]:
    cell: dict[str, Any] = {"target": "hello", "store": None, "size": None, "workers": 2, "workload": "get",
                            "mode": "full", "rps": rps, "server_cpu_us_per_req": 1e6 / rps, "rss_mb_peak": 95.0}
    if after is not None:
        cell["adjacent_to"] = {"store": "sqlite", "size": after}
    return cell


def test_each_store_size_is_compared_with_the_ceiling_measured_right_after_it() -> None:
    cells = [_hello_cell(30_000), _get_cell(1000, 8_000), _hello_cell(20_000, after=1000),
             _get_cell(1_000_000, 7_500), _hello_cell(25_000, after=1_000_000)]
    row = _verdict(cells, "GetSecretValue >= 35% of hello-world")
    # 1k: 8,000 / 20,000 = 40%; 1M: 7,500 / 25,000 = 30%, the worst share, although 1k's first ceiling is higher
    assert row["verdict"] == "FAIL"
    assert row["measured"].startswith("30% (7,500 vs 25,000 req/s, ceiling measured right after the cell")
    assert "against the run's first ceiling (30,000): 25%" in row["measured"]
    assert "worst store size (1M)" in row["basis"]


def test_without_adjacent_ceilings_the_runs_first_ceiling_counts() -> None:
    row = _verdict([_hello_cell(20_000), _get_cell(1000, 7_400)], "GetSecretValue >= 35% of hello-world")
    assert row["verdict"] == "PASS"
    assert row["measured"].startswith("37% (7,400 vs 20,000 req/s, ceiling the run's first")
    assert "against the run's first" not in row["measured"]


def test_a_ceiling_measured_after_another_size_is_not_used() -> None:
    cells = [_hello_cell(20_000), _hello_cell(10_000, after=1_000_000), _get_cell(1000, 7_000)]
    row = _verdict(cells, "GetSecretValue >= 35% of hello-world")
    assert row["measured"].startswith("35% (7,000 vs 20,000 req/s")


def test_a_ceiling_alternated_with_every_size_serves_each_of_them() -> None:
    alternated = _hello_cell(25_000)
    alternated["adjacent_to"] = {"store": "sqlite", "sizes": [1000, 1_000_000], "alternated": True}
    cells = [_hello_cell(40_000), _get_cell(1000, 10_000), _get_cell(1_000_000, 9_500), alternated]
    row = _verdict(cells, "GetSecretValue >= 35% of hello-world")
    # 1k: 40%, 1M: 38% against the alternated ceiling (the first one, 40,000, would give 24-25%)
    assert row["verdict"] == "PASS"
    assert row["measured"].startswith("38% (9,500 vs 25,000 req/s, ceiling measured in alternation with the cell")
    assert _verdict(cells, "GetSecretValue at 1M within 10% of 1k")["measured"] == "95% of 1k"
    other_store = dict(alternated, adjacent_to={"store": "postgres", "sizes": [1000], "alternated": True})
    row = _verdict([_hello_cell(20_000), _get_cell(1000, 7_000), other_store], "GetSecretValue >= 35% of hello-world")
    assert row["measured"].startswith("35% (7,000 vs 20,000 req/s, ceiling the run's first")
