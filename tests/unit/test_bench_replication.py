"""The replication benchmark's pure parts: markers, lag bookkeeping, write plans, equality of
replicas, the servers' TOML, the options and the report's targets (no server, no timing)."""

from __future__ import annotations

import math
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ lives

from bench import replication_report  # noqa: E402
from bench.replication import peer_settings, receiver_settings, settings_toml  # noqa: E402
from bench.replication_lag import (  # noqa: E402
    LagTracker,
    catchup_plan,
    differing,
    first_reaching,
    marked_value,
    marker_of,
    median_ratio,
    per_secret_max,
    percentiles_ms,
    round_robin,
)
from bench.run import parse_args  # noqa: E402
from bench.signing import Creds  # noqa: E402


def test_a_marker_survives_the_value_and_other_values_have_none() -> None:
    assert marker_of(marked_value(42, "x" * 90)) == 42
    assert marker_of('{"username": "a"}') is None
    assert marker_of("not json but bench_seq") is None
    assert marker_of('{"bench_seq": true}') is None
    assert marker_of(None) is None


def test_seeing_a_write_sees_every_earlier_write_of_that_secret_only() -> None:
    t = LagTracker()
    a1, a2, a3 = (t.start("a", sent=float(i)) for i in range(3))
    b1 = t.start("b", sent=0.5)
    for w in (a1, a2, a3, b1):
        t.acked(w, w.sent + 0.01)
    assert (a1.seq, a2.seq, a3.seq, b1.seq) == (1, 2, 3, 1)
    assert t.seen("a", 2, at=5.0) == 2
    assert (a1.seen, a2.seen, a3.seen, b1.seen) == (5.0, 5.0, None, None)
    assert sorted(t.pending()) == ["a", "b"]
    assert t.seen("a", 2, at=6.0) == 0  # already seen: the first sighting counts
    assert a1.seen == 5.0
    t.seen("a", 3, at=7.0)
    t.seen("b", 1, at=8.0)
    assert t.pending() == []


def test_an_earlier_runs_value_is_not_taken_for_this_runs_write() -> None:
    t = LagTracker(first_seq=1000)
    w = t.start("a", sent=0.0)
    t.acked(w, 0.1)
    assert w.seq == 1000
    assert t.seen("a", 7, at=1.0) == 0  # a marker left by an earlier run
    assert w.seen is None


def test_failed_writes_are_not_waited_for_and_unseen_ones_count_as_late() -> None:
    t = LagTracker()
    ok, lost, refused = t.start("a", 0.0), t.start("b", 0.0), t.start("c", 0.0)
    t.acked(ok, 1.0)
    t.acked(lost, 1.0)
    t.failed(refused, "ThrottlingException: slow down")
    t.seen("a", ok.seq, at=1.25)
    assert t.pending() == ["b"]
    s = t.summary()
    assert (s["writes"], s["acked"], s["failed"], s["seen"], s["never_seen"]) == (3, 2, 1, 1, 1)
    assert s["lag_ms"]["p50"] == 250.0
    assert s["lag_ms"]["p99"] is None  # the write never seen is the slowest: it is not dropped


def test_lag_per_second_of_the_run_shows_a_backlog_growing() -> None:
    t = LagTracker()
    for k in range(4):
        w = t.start(f"s{k}", sent=10.0 + k * 0.5)
        t.acked(w, w.sent)
        if k < 3:
            t.seen(w.secret, w.seq, at=w.sent + 0.1 * (k + 1))
    assert t.summary()["by_second"] == [
        {"second": 0, "writes": 2, "p50_ms": 100.0, "max_ms": 200.0},
        {"second": 1, "writes": 2, "p50_ms": 300.0, "max_ms": None},
    ]


def test_a_write_seen_before_its_acknowledgement_counts_as_no_lag() -> None:
    t = LagTracker()
    w = t.start("a", 0.0)
    t.seen("a", w.seq, at=0.5)
    t.acked(w, 0.6)
    s = t.summary()
    assert s["seen_before_ack"] == 1
    assert s["lag_ms"]["p50"] == 0.0


def test_percentiles_are_nearest_rank_in_ms() -> None:
    values = [i / 1000 for i in range(1, 101)]
    p = percentiles_ms(values)
    assert (p["p50"], p["p99"], p["max"], p["samples"]) == (50.0, 99.0, 100.0, 100)
    assert percentiles_ms([])["p50"] is None
    assert percentiles_ms([0.001, math.inf])["max"] is None


def test_catchup_writes_touch_every_secret_then_repeat_a_hot_half() -> None:
    names = [f"s{i}" for i in range(10)]
    plan = catchup_plan(names, 25)
    assert len(plan) == 25
    assert plan[:10] == names
    assert set(plan[10:]) == set(names[:5])
    assert per_secret_max(plan) == 4
    assert catchup_plan(names, 4) == names[:4]
    assert catchup_plan([], 5) == [] and round_robin([], 3) == []
    # the default run's plan stays within the server's ~100 versions a day per secret
    assert per_secret_max(catchup_plan([f"s{i}" for i in range(1000)], 10_000)) <= 20


def test_replicas_differ_on_versions_or_labels_not_on_label_order() -> None:
    expected = {"a": {"v1": ["AWSCURRENT"], "v0": ["AWSPREVIOUS"]}, "b": {"v1": ["AWSCURRENT", "x"]}}
    same = {"a": {"v0": ("AWSPREVIOUS",), "v1": ("AWSCURRENT",)}, "b": {"v1": ["x", "AWSCURRENT"]}}
    assert differing(expected, same) == []
    assert differing(expected, {"a": {"v1": ["AWSCURRENT"]}}) == ["a", "b"]


def test_the_catch_up_progress_says_when_a_share_of_replicas_was_equal() -> None:
    progress = [(0.5, 0), (1.0, 0), (1.5, 3), (2.0, 6), (2.5, 10)]
    assert first_reaching(progress, 0.0, 10) == 1.5
    assert first_reaching(progress, 0.5, 10) == 2.0
    assert first_reaching(progress, 1.0, 10) == 2.5
    assert first_reaching(progress[:2], 0.5, 10) is None


def test_primary_and_replica_compare_round_by_round() -> None:
    rounds = [{"replica_rps": 10.0, "primary_rps": 4.0}, {"replica_rps": 9.0, "primary_rps": 10.0},
              {"replica_rps": 3.0, "primary_rps": 3.0}, {"replica_rps": 5.0, "primary_rps": None}]
    assert median_ratio(rounds, "replica_rps", "primary_rps") == 1.0
    assert median_ratio(rounds[:2], "replica_rps", "primary_rps") == (2.5 + 0.9) / 2
    assert median_ratio([], "replica_rps", "primary_rps") is None
    # the verdict takes the per-round ratio, not the ratio of two medians of different rounds
    result = _result("peer", 40.0, 400.0, 12.0, (10_000, 4_000))
    result["get"]["rounds"] = [{"primary_rps": 10.0, "replica_rps": 9.5, "primary_us": 100.0, "replica_us": 101.0}]
    row = next(r for r in replication_report.targets({"replication": [result]}) if "as fast" in r["target"])
    assert row["verdict"] == "PASS" and "95% of the primary's req/s" in row["measured"] and "101%" in row["measured"]


def test_the_primary_names_its_peer_in_toml() -> None:
    creds = Creds("AKIAPEER", "not-in-the-file")
    peer = peer_settings("us-west-2", "http://127.0.0.1:9", creds, Path("/k"), Path("/t"))
    text = settings_toml({"replication_interval": 0.5, **peer})
    assert "not-in-the-file" not in text
    assert tomllib.loads(text) == {"replication_interval": 0.5, "replication": {"peers": {"us-west-2": {
        "endpoint": "http://127.0.0.1:9", "access_key_id": "AKIAPEER", "secret_access_key_file": "/k",
        "transfer_key_file": "/t"}}}}
    receiver = tomllib.loads(settings_toml(receiver_settings("us-east-1", Path("/t"))))
    assert receiver == {"replication": {"peers": {"us-east-1": {"transfer_key_file": "/t"}}}}
    assert settings_toml({}) == ""


def test_replication_is_a_workload_of_its_own() -> None:
    only = parse_args(["--workloads", "replication", "--rep-modes", "local"])
    assert only.replication and only.workloads == [] and only.rate_workloads == [] and only.rep_modes == ["local"]
    default = parse_args([])
    assert default.replication and "replication" not in default.workloads and "get" in default.workloads
    assert not parse_args(["--workloads", "get"]).replication
    assert default.rep_parts == ["get", "lag", "catchup"]
    assert parse_args(["--rep-parts", "catchup"]).rep_parts == ["catchup"]
    with pytest.raises(SystemExit):
        parse_args(["--rep-parts", "everything"])
    with pytest.raises(SystemExit):
        parse_args(["--workloads", "replication", "--rep-modes", "mars"])


def _result(mode: str, p50: float | None, p99: float | None, catchup: float | None, rps: tuple[float, float]) -> dict:
    roles = zip(("primary", "replica"), rps, strict=True)
    get = {role: {"rps": r, "latency_ms": {"p50": 1.0, "p99": 4.0}} for role, r in roles}
    return {
        "mode": mode, "secrets": 1000, "workers": 2, "replication_interval": None, "loadavg_before": [1.0],
        "loadavg_after": [1.2], "setup": {"create_s": 1.0, "initial_sync": {"seconds": 1.0}},
        "lag": {"lag_ms": {"p50": p50, "p90": p99, "p99": p99, "max": p99}, "seen": 10, "acked": 10, "writes": 10,
                "never_seen": 0, "target_rate": 200.0, "achieved_rate": 199.0, "secrets": 1000,
                "write_latency_ms": {"p99": 3.0}, "poll": {"round_ms": {"p50": 3.0, "p99": 9.0}, "requests_per_s": 500},
                "cpu": {}},
        "catchup": {"writes_planned": 10000, "secrets_written": 1000, "most_writes_per_secret": 19,
                    "burst": {"writes_per_s": 900.0}, "from": "the peer's process start", "seconds": catchup,
                    "rounds": 3, "round_s": 0.2, "differing": 0 if catchup is not None else 12},
        "get": get,
    }


def _verdicts(results: list[dict[str, Any]], skipped: list[dict[str, str]] | None = None) -> dict[str, str]:
    data = {"replication": results, "skipped": skipped or []}
    return {row["target"]: row["verdict"] for row in replication_report.targets(data)}


def test_the_issues_targets_are_judged_per_set_up() -> None:
    v = _verdicts([_result("peer", 40.0, 400.0, 12.0, (10_000, 9_500))])
    assert v == {
        "replication lag p50 < 100 ms, p99 < 1 s at 200 writes/s (two deployments (peer))": "PASS",
        "replicas equal within 30 s after 10,000 writes (two deployments (peer))": "PASS",
        "GetSecretValue on a replica as fast as on the primary (two deployments (peer))": "PASS",
    }
    v = _verdicts([_result("local", 550.0, 1100.0, None, (10_000, 8_000))])
    assert set(v.values()) == {"FAIL", "N/A"}
    assert v["replication lag p50 < 100 ms, p99 < 1 s at 200 writes/s (two deployments)"] == "N/A"
    assert _verdicts([_result("peer", 40.0, None, 31.0, (1, 1))])[
        "replication lag p50 < 100 ms, p99 < 1 s at 200 writes/s (two deployments (peer))"] == "FAIL"


def test_the_report_section_renders_whatever_was_measured() -> None:
    result = _result("peer", 40.0, None, None, (2, 1))
    result["catchup"]["progress"] = [(1.0, 0), (2.0, 600), (3.0, 990)]
    text = "\n".join(replication_report.markdown({"replication": [result]}))
    assert "## Replication" in text and "NOT caught up" in text and "never" in text
    assert "replicas equal: first at 2.00 s, half at 2.00 s, 90% at 3.00 s" in text
    assert replication_report.markdown({}) == []
    assert "no replication set-up" in "\n".join(replication_report.markdown({"replication": []}))


def test_a_set_up_the_server_cannot_run_is_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from bench import replication

    def run_mode(h: Any, mode: str) -> dict[str, Any]:
        if mode == "peer":
            raise replication.Unsupported("the server refused a peer configuration: unknown settings: replication")
        return {"mode": mode}

    monkeypatch.setattr(replication, "run_mode", run_mode)
    h = SimpleNamespace(args=SimpleNamespace(rep_modes=["peer", "local"]), skipped=[])
    results: list[dict[str, Any]] = []
    replication.run_all(h, results)  # type: ignore[arg-type]
    assert results == [{"mode": "local"}]
    assert h.skipped == [{"what": "replication (peer)",
                          "why": "the server refused a peer configuration: unknown settings: replication"}]


def test_the_run_reports_the_replication_targets_beside_the_others() -> None:
    from bench.report import evaluate_targets, markdown

    data = {"environment": {"auth": "sigv4"}, "cells": [], "skipped": [],
            "replication": [_result("peer", 40.0, 400.0, 12.0, (10_000, 9_500))]}
    names = [row["target"] for row in evaluate_targets(data)]
    assert names[0].startswith("GetSecretValue >= 6,000") and any("replication lag" in n for n in names)
    assert "replicas equal within 30 s" in markdown({**data, "environment": _environment()})


def _environment() -> dict[str, Any]:
    return {"started": "2026-12-04T05:00:00Z", "commit": "abc", "python": "3.11", "cores": 2, "cpu": "x",
            "mem_gb": 1, "generator": "wrk", "wrk": "wrk 4", "auth": "sigv4",
            "settings": {"generator_policy": "batch", "read_cache_size": None, "duration": 5, "connections": 64,
                         "threads": 1, "warmup": 2, "rate": 1000, "rate_duration": 5, "rate_connections": 16}}
