"""The rotation benchmark's pure parts: reading rotation progress, windows of answers, the targets'
verdicts, the report, settings, packages with a nonce, and its entry in bench.run. No timings asserted."""

from __future__ import annotations

import io
import json
import sys
import threading
import tomllib
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, where bench/ lives

from bench import rotation_report as report  # noqa: E402
from bench.loadgen import read_samples, write_samples  # noqa: E402
from bench.rotation import parse_args, parse_settings  # noqa: E402
from bench.rotation_client import CallFailed, SecretsApi, current_version, rotated  # noqa: E402
from bench.rotation_setup import NONCE_FILE, with_nonce  # noqa: E402
from bench.servers import toml_settings  # noqa: E402
from bench.signing import dev_credentials  # noqa: E402


# --- rotation progress ---------------------------------------------------------------------------
def test_current_version_is_the_one_labelled_awscurrent() -> None:
    assert current_version({"a": ["AWSPREVIOUS"], "b": ["AWSCURRENT", "AWSPENDING"]}) == "b"
    assert current_version({"a": ["AWSPENDING"]}) is None
    assert current_version(None) is None


def test_rotated_reads_describe_secret_and_list_secrets_entries() -> None:
    described = {"VersionIdsToStages": {"old": ["AWSPREVIOUS"], "new": ["AWSCURRENT"]}}
    listed = {"SecretVersionsToStages": {"old": ["AWSCURRENT"], "new": ["AWSPENDING"]}}
    assert rotated(described, "new")
    assert not rotated(listed, "new")
    assert not rotated({}, "new")


# --- figures -------------------------------------------------------------------------------------
def test_latency_summary_in_milliseconds() -> None:
    summary = report.latency_summary([0.3, 0.1, 0.2, 0.4, 0.5])
    assert summary == {"median": 300.0, "p90": 500.0, "min": 100.0, "max": 500.0, "samples": 5}
    assert report.latency_summary([]) == {"samples": 0}


def test_window_takes_the_answers_started_within_it() -> None:
    starts = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    latencies = [0.001, 0.002, 0.020, 0.030, 0.003, 0.004]
    assert report.in_window(starts, latencies, 2.0, 3.0) == [0.020, 0.030]
    figures = report.window_figures(starts, latencies, 2.0, 3.0)
    assert figures["during"]["requests"] == 2
    assert figures["during"]["latency_ms"]["max"] == 30.0
    assert figures["before"]["requests"] == 3  # 0, 1 and 2 (the window's start belongs to both)
    assert figures["after"]["requests"] == 3


def test_latency_series_tell_warm_rotations_that_started_a_worker() -> None:
    samples = [report.Sample("cold", 0.4, 0.004, 1), report.Sample("warm", 0.05, 0.002, 0),
               report.Sample("warm", 0.39, 0.002, 1), report.Sample("warm", 0.06, 0.003, 0)]
    series = report.latency_series(samples)
    assert series["cold"]["samples"] == 1
    assert series["warm"]["samples"] == 3 and series["warm"]["max"] == 390.0
    assert series["warm_worker_samples_ms"] == [50.0, 60.0]
    assert (series["warm_with_worker_start"], series["cold_without_worker_start"]) == (1, 0)


def test_completion_times_from_the_first_call() -> None:
    assert report.completion_times({"a": 12.5, "b": 11.0}, 10.0) == [1.0, 2.5]


def _data(warm: float, cold: float, all_rotated: float | None, p99: float, rps: float) -> dict[str, Any]:
    summary = {"median": 0.0, "p90": 0.0, "min": 0.0, "max": 0.0, "samples": 3}
    lat = {"p50": 1.0, "p90": 2.0, "p99": p99, "p99.9": p99, "max": p99, "mean": 1.0, "samples": 100}
    part = {"latency_ms": lat, "requests": 100, "rps": rps, "seconds": 1.0}
    return {
        "environment": {"started": "2026-12-04T05:00:00Z", "cores": 2, "auth": "sigv4", "workers": 2},
        "latency": {"function": "f", "handler": "h", "poll_ms": 5, "failures": [],
                    "warm": {**summary, "median": warm}, "cold": {**summary, "median": cold},
                    "warm_worker": {**summary, "median": warm}, "warm_call": summary, "cold_call": summary},
        "due": {"mode": "rotate", "mode_text": "m", "secrets": 1000, "get_rate": 1000.0, "get_connections": 16,
                "lead_s": 5, "watch_s": 0.5, "timeout_s": 180, "fired": 1000, "fire_s": 1.0, "fire_errors": 0,
                "rotated": 1000 if all_rotated is not None else 10, "all_rotated_s": all_rotated,
                "get": {"before": part, "during": part, "after": part, "errors": 0}},
    }


def test_every_target_passes_within_its_limit() -> None:
    rows = report.evaluate(_data(warm=250, cold=1500, all_rotated=40.0, p99=8.0, rps=990))
    assert [r["verdict"] for r in rows] == ["**PASS**"] * 5


def test_targets_fail_beyond_their_limit_or_when_the_rate_was_not_kept() -> None:
    rows = report.evaluate(_data(warm=350, cold=2500, all_rotated=None, p99=8.0, rps=900))
    assert [r["verdict"] for r in rows] == ["**FAIL**"] * 5
    assert "10 of 1,000 rotated" in rows[3]["measured"]
    assert "rate not sustained" in rows[4]["measured"]


def test_cpu_per_rotation_takes_off_what_reads_used_before() -> None:
    usage = {"server_cpu_s": 30.0, "seconds": 20.0, "server_cpu_pct": 150.0}
    due = {"rotated": 100, "cpu": usage, "cpu_before": {"server_cpu_pct": 50.0}}
    assert report.cpu_per_rotation_ms(due) == 200.0  # (30 - 0.5 x 20) s over 100 rotations
    assert report.cpu_per_rotation_ms({"rotated": 0, "cpu": usage, "cpu_before": usage}) is None


def test_markdown_names_the_targets_and_the_windows() -> None:
    text = report.markdown(_data(warm=250, cold=1500, all_rotated=40.0, p99=8.0, rps=990))
    assert "| warm, no worker started: RotateSecret to AWSCURRENT moved, median <= 300 ms |" in text
    assert "| during the rotations |" in text
    assert "40.0 s" in text


# --- settings and packages -----------------------------------------------------------------------
def test_settings_are_typed_and_written_as_toml() -> None:
    settings = parse_settings(["functions_max_workers=8", "functions=true", "name=x y", "rate=0.5"], pytest.fail)
    assert settings == {"functions_max_workers": 8, "functions": True, "name": "x y", "rate": 0.5}
    assert tomllib.loads(toml_settings({**settings, "functions_python": '/usr/bin/py"3'})) == {
        **settings, "functions_python": '/usr/bin/py"3'}


def test_a_setting_without_a_value_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--setting", "functions_max_workers"])


def test_parts_and_sample_counts_are_checked() -> None:
    assert parse_args([]).parts == ["latency", "due"]
    with pytest.raises(SystemExit):
        parse_args(["--parts", "latency,nope"])
    with pytest.raises(SystemExit):
        parse_args(["--secrets", "10", "--cold", "5", "--warm", "6"])
    assert parse_args(["--parts", "due", "--secrets", "10"]).secrets == 10


def test_a_nonce_changes_the_package_not_its_files() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return {}\n")
    package = buffer.getvalue()
    first, second = with_nonce(package, "a"), with_nonce(with_nonce(package, "x"), "b")
    assert first != second
    with zipfile.ZipFile(io.BytesIO(second)) as archive:
        assert sorted(archive.namelist()) == sorted(["app.py", NONCE_FILE])
        assert archive.read(NONCE_FILE) == b"b"
        assert archive.read("app.py").startswith(b"def handler")


def test_samples_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "samples.bin"
    write_samples(path, [1.5, 2.5], [0.001, 0.002])
    assert read_samples(path) == ([1.5, 2.5], [0.001, 0.002])


# --- the client ----------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        target = self.headers["X-Amz-Target"]
        self.seen.append((target, self.headers["Authorization"].split(" ")[0]))
        if target.endswith("ListSecrets"):
            page = {"SecretList": [{"Name": "a"}], "NextToken": "t"} if "NextToken" not in body else {
                "SecretList": [{"Name": "b"}]}
            status, answer = 200, page
        elif body.get("SecretId") == "missing":
            status, answer = 400, {"__type": "ResourceNotFoundException", "message": "no such secret"}
        else:
            status, answer = 200, {"Name": body.get("SecretId")}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_the_client_signs_pages_and_reports_aws_errors() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        api = SecretsApi(server.server_address[1], dev_credentials())
        assert api.call("DescribeSecret", SecretId="s") == {"Name": "s"}
        assert [e["Name"] for e in api.list_secrets()] == ["a", "b"]
        with pytest.raises(CallFailed, match="ResourceNotFoundException: no such secret"):
            api.call("DescribeSecret", SecretId="missing")
        api.close()
    finally:
        server.shutdown()
        server.server_close()
    assert {auth for _, auth in _Handler.seen} == {"AWS4-HMAC-SHA256"}
    assert _Handler.seen[0][0] == "secretsmanager.DescribeSecret"


# --- bench.run's entry ---------------------------------------------------------------------------
def test_bench_run_takes_rotation_as_a_separate_workload() -> None:
    from bench.run import parse_args as run_args
    from bench.run import rotation_argv

    args = run_args(["--workloads", "get,rotation", "--workers", "1,2", "--auth", "dev",
                     "--rotation-args", "--parts latency --warm 50"])
    assert args.workloads == ["get"] and args.rate_workloads == ["get"]
    assert args.separate == ["rotation"]
    argv = rotation_argv(args)
    assert argv[:4] == ["--auth", "dev", "--workers", "2"]
    rotation = parse_args(argv)
    assert (rotation.parts, rotation.warm, rotation.auth) == (["latency"], 50, "dev")
    assert run_args([]).separate == []


def test_run_and_wait_in_percent_of_the_window() -> None:
    from bench.rotation import daily_cron, due_minute, run_and_wait

    assert run_and_wait((1_000_000_000, 0), (3_000_000_000, 1_000_000_000), 10.0) == (20.0, 10.0)
    assert due_minute(119.0, 1.0) == 180.0 and due_minute(100.0, 30.0) == 180.0
    assert daily_cron(3 * 3600 + 7 * 60) == "cron(7 3 * * ? *)"
