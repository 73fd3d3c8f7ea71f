"""The rotation benchmark's figures and report: latency statistics, the answers of a time window,
the targets' verdicts and the Markdown summary (``bench/results/rotation-<UTC>.md``). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.loadgen import percentile, summarize

#: Issue 15's targets.
WARM_MEDIAN_MS = 300.0
COLD_MS = 2000.0
ALL_ROTATED_S = 60.0
GET_P99_MS = 10.0
GET_RATE = 1000.0
#: The share of the fixed rate a run must achieve for its latency to count.
RATE_SHARE = 0.95


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Median, p90, max (ms) and count of a series of durations in seconds."""
    ordered = sorted(seconds)
    if not ordered:
        return {"samples": 0}
    return {
        "median": round(percentile(ordered, 50) * 1000, 1),
        "p90": round(percentile(ordered, 90) * 1000, 1),
        "min": round(ordered[0] * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
        "samples": len(ordered),
    }


@dataclass(frozen=True)
class Sample:
    """One rotation of the latency part: ``kind`` cold (first after the function's creation or code
    update) or warm (the rotations after); seconds to AWSCURRENT moved and of RotateSecret's call;
    function worker processes that started meanwhile (a warm rotation that started one ran in a
    server process whose runtime had no warm worker yet)."""

    kind: str
    seconds: float
    call_seconds: float
    workers_started: int


#: The latency part's series: name -> which samples.
SERIES = {
    "cold": lambda s: s.kind == "cold",
    "warm": lambda s: s.kind == "warm",
    "warm_worker": lambda s: s.kind == "warm" and not s.workers_started,
}
SERIES_TEXT = {"cold": "cold", "warm": "warm (all)", "warm_worker": "warm, no worker started"}


def latency_series(samples: Sequence[Sample]) -> dict[str, Any]:
    """Per series: the summary of the times, of RotateSecret's calls, and every time (ms)."""
    out: dict[str, Any] = {}
    for name, chosen in SERIES.items():
        picked = [s for s in samples if chosen(s)]
        out[name] = latency_summary([s.seconds for s in picked])
        out[f"{name}_call"] = latency_summary([s.call_seconds for s in picked])
        out[f"{name}_samples_ms"] = [round(s.seconds * 1000, 1) for s in picked]
    out["warm_with_worker_start"] = sum(1 for s in samples if s.kind == "warm" and s.workers_started)
    out["cold_without_worker_start"] = sum(1 for s in samples if s.kind == "cold" and not s.workers_started)
    return out


def in_window(starts: Sequence[float], latencies: Sequence[float], begin: float, end: float) -> list[float]:
    """Latencies of the answers whose request started (was scheduled) within [begin, end]."""
    return [lat for start, lat in zip(starts, latencies, strict=True) if begin <= start <= end]


def window_figures(starts: Sequence[float], latencies: Sequence[float], begin: float, end: float) -> dict[str, Any]:
    """GetSecretValue before, during and after a window: loadgen's summary (ms) and the rate achieved."""
    out: dict[str, Any] = {}
    first = min(starts, default=begin)
    last = max(starts, default=end)
    for name, lo, hi in (("before", first, begin), ("during", begin, end), ("after", end, last)):
        chosen = in_window(starts, latencies, lo, hi)
        span = hi - lo
        out[name] = {"latency_ms": summarize(chosen), "requests": len(chosen),
                     "rps": round(len(chosen) / span, 1) if span > 0 else 0.0, "seconds": round(span, 2)}
    return out


def completion_times(done: dict[str, float], begin: float) -> list[float]:
    """Seconds from ``begin`` to each secret's rotation being seen complete, in order."""
    return sorted(t - begin for t in done.values())


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


def evaluate(data: dict[str, Any]) -> list[dict[str, str]]:
    """One row per target: what was measured and whether it met the target."""
    rows: list[dict[str, str]] = []
    latency = data.get("latency")
    if latency:
        cold = latency["cold"]
        for name in ("warm", "warm_worker"):
            warm = latency.get(name, {})
            rows.append({"target": f"{SERIES_TEXT[name]}: RotateSecret to AWSCURRENT moved, median <= "
                                   f"{WARM_MEDIAN_MS:.0f} ms",
                         "measured": _ms(warm), "verdict": _verdict(
                             warm["median"] <= WARM_MEDIAN_MS if warm.get("samples") else None)})
        rows.append({"target": f"cold (first invocation after create/update) <= {COLD_MS / 1000:g} s (median)",
                     "measured": _ms(cold), "verdict": _verdict(
                         cold["median"] <= COLD_MS if cold.get("samples") else None)})
    due = data.get("due")
    if due:
        total = due["secrets"]
        rotated = due["rotated"]
        took = due.get("all_rotated_s")
        measured = (f"{took:.1f} s for {total:,}" if took is not None
                    else f"{rotated:,} of {total:,} rotated within {due['timeout_s']:g} s")
        rows.append({"target": f"{total:,} due rotations all done within {ALL_ROTATED_S:g} s",
                     "measured": measured,
                     "verdict": _verdict(took is not None and took <= ALL_ROTATED_S)})
        during = due["get"]["during"]
        lat = during["latency_ms"]
        rate_ok = during["rps"] >= RATE_SHARE * due["get_rate"]
        ok = bool(lat) and lat["p99"] < GET_P99_MS and rate_ok and not due["get"].get("errors")
        measured = (f"p50 {lat.get('p50', 0):.2f} / p99 {lat.get('p99', 0):.2f} ms at {during['rps']:,.0f} req/s"
                    + ("" if rate_ok else " (rate not sustained)")
                    + (" (the generator stopped: backlog over 2 s)" if due["get"].get("overloaded") else ""))
        rows.append({"target": f"GetSecretValue p99 < {GET_P99_MS:g} ms at {due['get_rate']:,.0f} req/s meanwhile",
                     "measured": measured, "verdict": _verdict(ok)})
    return rows


def _ms(summary: dict[str, float]) -> str:
    if not summary.get("samples"):
        return "no samples"
    return (f"median {summary['median']:,.0f} ms, p90 {summary['p90']:,.0f}, max {summary['max']:,.0f} "
            f"({summary['samples']} rotations)")


def _cpu(usage: dict[str, Any] | None) -> str:
    if not usage:
        return "-"
    return (f"server + functions {usage['server_cpu_pct']:.0f}%, "
            f"load generator {usage.get('loadgen_cpu_pct', 0):.0f}%, "
            f"other {usage['other_cpu_pct']:.0f}%, steal {usage['steal_cpu_pct']:.0f}% of a core; "
            f"machine {usage['machine_busy_pct']:.0f}% busy")


def markdown(data: dict[str, Any]) -> str:
    """The run's summary: environment, targets, then each part's figures."""
    env = data["environment"]
    lines = [
        f"# Rotation benchmark {env['started']}",
        "",
        f"Commit `{env.get('commit', '?')}`{' (src modified)' if env.get('dirty') else ''}; {env.get('cpu', '')}, "
        f"{env.get('cores')} cores; Python {env.get('python')}; auth {env.get('auth')}; "
        f"{env.get('workers')} server worker(s); store {env.get('store', 'sqlite')}.",
        f"Host load (`uptime`) at the start: {env.get('uptime', '?')}."
        + (f" Label: {env['label']}." if env.get("label") else ""),
        f"Settings: `{env.get('argv_text', '')}`; server settings: `{env.get('server_settings', {})}`.",
        "",
        "## Targets (issue 15)",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    lines += [f"| {r['target']} | {r['measured']} | {r['verdict']} |" for r in evaluate(data)]
    latency = data.get("latency")
    if latency:
        lines += [
            "",
            "## RotateSecret to AWSCURRENT moved",
            "",
            f"Function `{latency['function']}` ({latency['handler']}); each rotation on a secret of its own; "
            f"DescribeSecret polled every {latency['poll_ms']:g} ms from RotateSecret's call. Host load before: "
            f"{latency.get('uptime', '?')}; other processes used {latency.get('other_cpu_pct_before', 0):.0f}% "
            "of a core just before.",
            "",
            "| series | median ms | p90 ms | min ms | max ms | rotations | RotateSecret call median ms |",
            "|---|---|---|---|---|---|---|",
        ]
        for name in SERIES:
            s, call = latency.get(name, {}), latency.get(f"{name}_call", {})
            if s.get("samples"):
                lines.append(f"| {SERIES_TEXT[name]} | {s['median']:,.1f} | {s['p90']:,.1f} | {s['min']:,.1f} | "
                             f"{s['max']:,.1f} | {s['samples']} | {call.get('median', 0):,.1f} |")
        lines += ["", f"Warm rotations during which a function worker started (in a server process whose runtime "
                      f"had no warm worker yet; {latency.get('workers', '?')} server processes): "
                      f"{latency.get('warm_with_worker_start', 0)}; cold rotations without one: "
                      f"{latency.get('cold_without_worker_start', 0)}."]
        if latency.get("failures"):
            lines += ["", "Failures: " + "; ".join(latency["failures"][:5])]
    due = data.get("due")
    if due:
        lines += [
            "",
            f"## {due['secrets']:,} rotations due at once",
            "",
            f"Mode `{due['mode']}`: {due['mode_text']} GetSecretValue at a constant {due['get_rate']:,.0f} req/s "
            f"(bench.loadgen, open loop, {due['get_connections']} connections, giving up after a backlog of "
            f"{due.get('max_backlog_s', 2):g} s) on the same secrets from "
            f"{due['lead_s']:g} s before the rotations were due; completion seen by ListSecrets every "
            f"{due['watch_s']:g} s. Host load before: {due.get('uptime', '?')}; other processes used "
            f"{due.get('other_cpu_pct_before', 0):.0f}% of a core just before.",
            "",
            "| figure | value |",
            "|---|---|",
            (f"| scheduled (RotateImmediately false, `{due['schedule']}`) | {due['fired']:,} RotateSecret calls in "
             f"{due['fire_s']:.2f} s ({due['fire_errors']} errors); their testSecret runs done after "
             f"{due.get('tests_s', 0):.1f} s |" if due.get("schedule") else
             f"| RotateSecret calls sent | {due['fired']:,} in {due['fire_s']:.2f} s ({due['fire_errors']} errors) |"),
            f"| rotated | {due['rotated']:,} of {due['secrets']:,} |",
            f"| time to all rotated | {_s(due.get('all_rotated_s'))} |",
            f"| time to 50% / 90% rotated | {_s(due.get('p50_s'))} / {_s(due.get('p90_s'))} |",
            f"| CPU during the window | {_cpu(due.get('cpu'))} |",
            f"| CPU of each server process (supervisor, workers) during the window | "
            f"{', '.join(f'{x:.0f}%' for x in (due.get('cpu') or {}).get('server_process_cpu_pct', [])) or '-'} |",
            f"| server processes' main threads: on a CPU / runnable, waiting for one (% of the window) | "
            f"{_threads((due.get('cpu') or {}).get('server_main_threads', []))} |",
            f"| CPU before it (GetSecretValue alone) | {_cpu(due.get('cpu_before'))} |",
            f"| server + function workers' CPU per rotation (less GetSecretValue's share) | "
            f"{_ms_or_dash(cpu_per_rotation_ms(due))} |",
        ]
        lines += ["", "| GetSecretValue | seconds | requests | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name in ("before", "during", "after"):
            part = due["get"][name]
            lat = part["latency_ms"]
            if not lat:
                continue
            lines.append(f"| {name} the rotations | {part['seconds']:.1f} | {part['requests']:,} | "
                         f"{part['rps']:,.0f} | {lat['p50']:.2f} | {lat['p90']:.2f} | {lat['p99']:.2f} | "
                         f"{lat['p99.9']:.2f} | {lat['max']:.2f} |")
        if due.get("renice_functions"):
            lines += ["", f"Experiment: every function worker was given nice {due['renice_functions']} as it "
                          "appeared (--renice-functions)."]
        errors = due["get"].get("errors")
        if errors:
            lines += ["", f"GetSecretValue errors: {errors}"]
        if due.get("failures"):
            lines += ["", "Failures: " + "; ".join(due["failures"][:5])]
    for note in data.get("notes", []):
        lines += ["", f"Note: {note}"]
    return "\n".join(lines) + "\n"


def cpu_per_rotation_ms(due: dict[str, Any]) -> float | None:
    """CPU (ms) of the server and its function workers per rotation: their CPU during the window less
    what GetSecretValue alone used per second before it (the lead), over the rotations done."""
    usage, before = due.get("cpu"), due.get("cpu_before")
    if not usage or not before or not due.get("rotated"):
        return None
    baseline = before["server_cpu_pct"] / 100 * usage["seconds"]
    return round(max(0.0, usage["server_cpu_s"] - baseline) * 1000 / due["rotated"], 1)


def _threads(pairs: Sequence[Sequence[float]]) -> str:
    return ", ".join(f"{ran:.0f}% / {waited:.0f}%" for ran, waited in pairs) or "-"


def _ms_or_dash(ms: float | None) -> str:
    return "-" if ms is None else f"{ms:,.1f} ms"


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"
