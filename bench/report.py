"""Results: the JSON document, the Markdown report with targets (PASS/FAIL), and the plot."""

from __future__ import annotations

import math
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import replication_report
from bench.workloads import WORKLOADS

SIZE_1M = 1_000_000


def _fmt_size(n: int | None) -> str:
    if n is None:
        return "-"
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def _f(x: Any, nd: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{nd}f}"


def _cells(data: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [c for c in data["cells"] if all(c.get(k) == v for k, v in match.items())]


def _one(data: dict[str, Any], **match: Any) -> dict[str, Any] | None:
    found = _cells(data, **match)
    return found[0] if found else None


def first_ceilings(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The hello-world ceilings measured at the start of the run (one per worker count)."""
    return [c for c in _cells(data, target="hello", mode="full") if not c.get("adjacent_to")]


def first_ceiling(data: dict[str, Any], workers: int) -> dict[str, Any] | None:
    """The run's first hello-world ceiling with ``workers`` workers, if it measured one."""
    return next((c for c in first_ceilings(data) if c["workers"] == workers), None)


def ceiling_for(data: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any] | None:
    """The hello-world ceiling a Strongroom cell is compared with: the one measured in alternation
    with it (bench.run's ``get_in_alternation``: same store and workers, the cell's size among
    those alternated) or right after it (``adjacent_ceiling``: same store, size and workers), else
    the run's first one with the same workers (older runs, or ``--no-hello``)."""
    for c in _cells(data, target="hello", mode="full", workers=cell["workers"]):
        near = c.get("adjacent_to")
        if near and near.get("store") == cell.get("store") and (
            near.get("size") == cell.get("size") or cell.get("size") in near.get("sizes", ())
        ):
            return c
    return first_ceiling(data, cell["workers"])


def ceiling_relation(ceiling: dict[str, Any]) -> str:
    """How a ceiling relates to the cells compared with it, in words."""
    near = ceiling.get("adjacent_to")
    if not near:
        return "the run's first"
    return "measured in alternation with the cell" if near.get("alternated") else "measured right after the cell"


def projected(c: dict[str, Any]) -> float | None:
    """Throughput this cell would reach on an otherwise idle machine, from CPU cost per request.

    s = server CPU us/request, d = PostgreSQL backends' CPU us/request (0 for SQLite), g = load
    generator CPU us/request (all measured in the cell), W workers, C cores:
    min(W * 1e6 / s, C * 1e6 / (s + d + g)): each worker is one process (at most one core), and
    everything shares the cores. A model, not a measurement: it assumes the CPU cost per request
    stays the same and ignores lock waits (SQLite's single writer, row locks).
    """
    s = c.get("server_cpu_us_per_req")
    if not s or not c.get("requests"):
        return None
    d = c.get("db_cpu_us_per_req") or 0.0
    g = 1e6 * c.get("generator_cpu_pct", 0) / 100.0 * c.get("duration_s", 0) / c["requests"]
    cores = c.get("cores") or 2
    return min(c["workers"] * 1e6 / s, cores * 1e6 / (s + d + g))


def _cpu(c: dict[str, Any]) -> str:
    db = f"+{c['db_cpu_pct']:.0f} db" if c.get("db_cpu_pct") else ""
    return (
        f"{c['server_cpu_pct']:.0f}{db}/{c['generator_cpu_pct']:.0f}/{c['other_cpu_pct']:.0f}"
        f"/{c.get('steal_cpu_pct', 0):.0f}"
    )


def _proj(c: dict[str, Any] | None) -> str:
    p = projected(c) if c else None
    return f"{p:,.0f}" if p else "-"


# --- targets ---------------------------------------------------------------------------------------
def evaluate_targets(data: dict[str, Any]) -> list[dict[str, str]]:
    """Each target: what was measured, PASS / FAIL / N/A, and on which cells."""
    auth = data["environment"].get("auth", "dev")
    auth_note = "" if auth == "sigv4" else " - dev mode: signatures parsed, not verified (auth not on yet)"
    skipped = {s["what"]: s["why"] for s in data.get("skipped", [])}
    rows: list[dict[str, str]] = []

    def add(name: str, measured: str, ok: bool | None, basis: str) -> None:
        verdict = "N/A" if ok is None else ("PASS" if ok else "FAIL")
        rows.append({"target": name, "measured": measured, "verdict": verdict, "basis": basis})

    sq = lambda **m: _cells(data, target="strongroom", store="sqlite", mode="full", **m)  # noqa: E731
    get2 = sorted(sq(workload="get", workers=2), key=lambda c: c["size"])
    moto_get = _one(data, target="moto", workload="get", mode="full")

    # 1. GetSecretValue >= 6,000 req/s, 2 workers, SQLite (auth on)
    if get2:
        worst = min(get2, key=lambda c: c["rps"])
        per = ", ".join(f"{_fmt_size(c['size'])}: {c['rps']:,.0f}" for c in get2)
        add("GetSecretValue >= 6,000 req/s (SQLite, 2 workers, auth on)",
            f"{worst['rps']:,.0f} req/s (worst of {per}); projected on an idle machine: {_proj(worst)}",
            worst["rps"] >= 6000, "full load, worst store size" + auth_note)
    else:
        add("GetSecretValue >= 6,000 req/s (SQLite, 2 workers, auth on)", "-", None, "not measured")

    # 2. >= 25x moto (same store size as moto)
    same = [c for c in get2 if moto_get and c["size"] == moto_get["size"]]
    if same and moto_get and moto_get["rps"]:
        ratio = same[0]["rps"] / moto_get["rps"]
        add("GetSecretValue >= 25x moto", f"{ratio:,.1f}x ({same[0]['rps']:,.0f} vs {moto_get['rps']:,.0f} req/s)",
            ratio >= 25, f"SQLite 2 workers vs moto, both {_fmt_size(moto_get['size'])} secrets" + auth_note)
    else:
        add("GetSecretValue >= 25x moto", "-", None, skipped.get("moto", "not measured at the same size"))

    # 3. >= 35% of hello-world: each store size against its own ceiling, the worst share counts
    shares = [(100 * c["rps"] / h["rps"], c, h) for c in get2 if (h := ceiling_for(data, c)) and h["rps"]]
    if shares:
        pct, worst, hello2 = min(shares, key=lambda t: t[0])
        cpu_share = ""
        if worst.get("server_cpu_us_per_req") and hello2.get("server_cpu_us_per_req"):
            share = 100 * hello2["server_cpu_us_per_req"] / worst["server_cpu_us_per_req"]
            cpu_share = f"; per server CPU-second: {share:.0f}%"
        when = ceiling_relation(hello2)
        first = first_ceiling(data, 2)
        against_first = (
            f"; against the run's first ceiling ({first['rps']:,.0f}): {100 * worst['rps'] / first['rps']:.0f}%"
            if hello2.get("adjacent_to") and first and first["rps"] else ""
        )
        add("GetSecretValue >= 35% of hello-world",
            f"{pct:.0f}% ({worst['rps']:,.0f} vs {hello2['rps']:,.0f} req/s, ceiling {when}{cpu_share}"
            f"{against_first})",
            pct >= 35, f"2 workers, worst store size ({_fmt_size(worst['size'])})" + auth_note)
    else:
        add("GetSecretValue >= 35% of hello-world", "-", None, skipped.get("hello-world ceiling", "not measured"))

    # 4. p99 < 5 ms at 1,000 req/s (GetSecretValue), on the targets' configuration: SQLite, 2 workers
    rate = _cells(data, target="strongroom", store="sqlite", workload="get", mode="rate", workers=2)
    if rate:
        worst = max(rate, key=lambda c: c["latency_ms"].get("p99", math.inf))
        p99 = worst["latency_ms"]["p99"]
        svc = worst.get("service_latency_ms", {}).get("p99")
        add(f"GetSecretValue p99 < 5 ms at {worst.get('target_rate') or 1000:,.0f} req/s",
            f"{p99:.2f} ms (from schedule; {_f(svc)} ms from send)", p99 < 5.0,
            f"worst cell: {worst['store']} {_fmt_size(worst['size'])} w{worst['workers']}; open loop, "
            f"{len(rate)} cell(s) (SQLite, 2 workers; other stores and worker counts: the tables)")
    else:
        add("GetSecretValue p99 < 5 ms at 1,000 req/s", "-", None, "fixed-rate run not measured")

    # 5. PutSecretValue >= 1,000 writes/s
    puts = sq(workload="put", workers=2) or sq(workload="put")
    puts.sort(key=lambda c: c["size"])
    if puts:
        worst = min(puts, key=lambda c: c["rps"])
        per = ", ".join(f"{_fmt_size(c['size'])} w{c['workers']}: {c['rps']:,.0f}" for c in puts)
        add("PutSecretValue >= 1,000 writes/s",
            f"{worst['rps']:,.0f}/s (worst of {per}); projected on an idle machine: {_proj(worst)}",
            worst["rps"] >= 1000,
            "SQLite, full load" + auth_note)
    else:
        add("PutSecretValue >= 1,000 writes/s", "-", None, "not measured")

    # 6. throughput at 1M within 10% of 1k
    by_size = {c["size"]: c for c in get2}
    if 1000 in by_size and SIZE_1M in by_size:
        r = by_size[SIZE_1M]["rps"] / by_size[1000]["rps"]
        add("GetSecretValue at 1M within 10% of 1k", f"{100 * r:.0f}% of 1k", r >= 0.9, "SQLite, 2 workers")
    elif 1000 in by_size and len(by_size) > 1:
        big = max(by_size)
        r = by_size[big]["rps"] / by_size[1000]["rps"]
        add("GetSecretValue at 1M within 10% of 1k", f"1M not measured; {_fmt_size(big)}: {100 * r:.0f}% of 1k", None,
            "SQLite, 2 workers (run --full or --sizes 1000,1000000)")
    else:
        add("GetSecretValue at 1M within 10% of 1k", "-", None, "needs 1k and 1M")

    # 7. ListSecrets name-prefix first page < 20 ms at 1M
    lists = _cells(data, target="strongroom", workload="list", mode="single")
    at_1m = [c for c in lists if c["size"] == SIZE_1M]
    if at_1m:
        worst = max(at_1m, key=lambda c: c["latency_ms"]["p99"])
        add("ListSecrets name-prefix first page < 20 ms at 1M", f"p99 {worst['latency_ms']['p99']:.1f} ms "
            f"(p50 {worst['latency_ms']['p50']:.1f})", worst["latency_ms"]["p99"] < 20,
            f"one connection, no queueing; {worst['store']} w{worst['workers']}")
    elif lists:
        big = max(c["size"] for c in lists)
        worst = max((c for c in lists if c["size"] == big), key=lambda c: c["latency_ms"]["p99"])
        add("ListSecrets name-prefix first page < 20 ms at 1M",
            f"1M not measured; {_fmt_size(big)}: p99 {worst['latency_ms']['p99']:.1f} ms", None, "one connection")
    else:
        add("ListSecrets name-prefix first page < 20 ms at 1M", "-", None, "not measured")

    # 8. RSS < 300 MB at 1M
    sr = _cells(data, target="strongroom")
    at_1m = [c for c in sr if c["size"] == SIZE_1M]
    if at_1m:
        worst = max(at_1m, key=lambda c: c["rss_mb_peak"])
        add("RSS < 300 MB at 1M", f"{worst['rss_mb_peak']:.0f} MB", worst["rss_mb_peak"] < 300,
            f"peak, all processes, {worst['store']} w{worst['workers']} {worst['workload']}")
    elif sr:
        big = max(c["size"] for c in sr)
        worst = max((c for c in sr if c["size"] == big), key=lambda c: c["rss_mb_peak"])
        add("RSS < 300 MB at 1M", f"1M not measured; {_fmt_size(big)}: {worst['rss_mb_peak']:.0f} MB "
            f"(w{worst['workers']} {worst['workload']})", None, "peak, sum over all server processes")
    else:
        add("RSS < 300 MB at 1M", "-", None, "not measured")

    # 9. start-up < 1 s, on the targets' store (SQLite); PostgreSQL's starts are reported beside it
    all_starts = [s for s in data.get("server_starts", []) if s["server"].startswith("strongroom")]
    starts = [s for s in all_starts if s["server"].startswith("strongroom (sqlite")]
    others = [s["startup_s"] for s in all_starts if s not in starts]
    elsewhere = f"; other stores: worst {max(others):.3f} s of {len(others)} starts" if others else ""
    if starts:
        worst = max(starts, key=lambda s: s["startup_s"])
        ordered = sorted(s["startup_s"] for s in starts)
        median = ordered[len(ordered) // 2]
        by_w = {}
        for s in starts:
            by_w.setdefault(s["server"].split(",")[1].strip() if "," in s["server"] else s["server"], []).append(
                s["startup_s"]
            )
        detail = "; ".join(f"{k}: median {sorted(v)[len(v) // 2]:.2f} s" for k, v in sorted(by_w.items()))
        add("start-up < 1 s", f"worst {worst['startup_s']:.3f} s of {len(starts)} starts (median {median:.3f} s; "
            f"{detail}){elsewhere}", worst["startup_s"] < 1.0,
            f"process start to first 200 on /health, worst start; {worst['server']}")
    else:
        add("start-up < 1 s", f"-{elsewhere}", None, "not measured on SQLite")

    # 10. PostgreSQL 2 workers GetSecretValue >= 3,000 req/s
    pg = _cells(data, target="strongroom", store="postgres", workers=2, workload="get", mode="full")
    if pg:
        worst = min(pg, key=lambda c: c["rps"])
        add("PostgreSQL GetSecretValue >= 3,000 req/s (2 workers)",
            f"{worst['rps']:,.0f} req/s; projected on an idle machine: {_proj(worst)}", worst["rps"] >= 3000,
            f"worst store size ({_fmt_size(worst['size'])})" + auth_note)
    else:
        add("PostgreSQL GetSecretValue >= 3,000 req/s (2 workers)", "-", None,
            skipped.get("PostgreSQL store", "not measured (--stores postgres)"))
    return rows + replication_report.targets(data)


# --- Markdown -------------------------------------------------------------------------------------
def markdown(data: dict[str, Any]) -> str:
    env = data["environment"]
    lines = [
        f"# Strongroom benchmark - {env['started']}",
        "",
        f"- commit `{env['commit']}`{' (src/ has uncommitted changes)' if env.get('dirty') else ''}; "
        f"Python {env['python']}; {env['cores']} cores ({env['cpu']}), {env['mem_gb']} GiB",
        f"- full-load generator: **{env['generator']}**"
        f"{(' (' + env['wrk'] + ')') if env['generator'] == 'wrk' else ''}; "
        f"fixed-rate latency: bench.loadgen open loop (Python, uvloop), latency from the scheduled send time",
        "- full-load generator's scheduling policy: "
        + (
            "**SCHED_BATCH** (it keeps its CPU share but does not preempt the server on each wakeup)"
            if env["settings"].get("generator_policy") == "batch"
            else "normal (it preempts a busy server worker whenever a response wakes it)"
        ),
        f"- auth: **{env['auth']}**" + (" (server started with --dev: the SigV4 signature on every request is parsed "
                                      "but not verified)" if env["auth"] == "dev" else " (signatures verified)"),
        "- server read cache (GetSecretValue, SQLite and PostgreSQL): "
        + (
            "server default (10,000 reads per process)"
            if env["settings"].get("read_cache_size") is None
            else f"read_cache_size = {env['settings']['read_cache_size']:,}"
            + (" (off: every read goes to the database)" if env["settings"]["read_cache_size"] == 0 else "")
        ),
        f"- {env['settings']['duration']:g}s per cell, {env['settings']['connections']} connections, "
        f"{env['settings']['threads']} wrk thread(s), warm-up {env['settings']['warmup']:g}s; "
        f"fixed rate {env['settings']['rate']:g} req/s for {env['settings']['rate_duration']:g}s over "
        f"{env['settings']['rate_connections']} connections; run took {env.get('elapsed_s', 0):,.0f}s",
        "- load generator, server and everything else share the same cores: see the CPU column "
        "(server / generator / other processes / host steal, % of one core)",
    ]
    for s in env.get("seeding", []):
        lines.append(f"- seeded {s['store']} with {s['size']:,} secrets in {s['seconds']}s ({s['per_s']:,}/s)")
    if env.get("label"):
        lines.append(f"- label: {env['label']}")
    lines.append("")

    moto = {c["workload"]: c for c in _cells(data, target="moto", mode="full")}
    rates = {
        (c["store"], c["size"], c["workers"], c["workload"]): c for c in _cells(data, target="strongroom", mode="rate")
    }
    singles = {(c["store"], c["size"], c["workers"], c["workload"]): c for c in _cells(data, mode="single")}

    lines += [
        "## Strongroom",
        "",
        "| store | secrets | workers | workload | req/s | p50 ms | p99 ms | p99.9 ms | p99 @ fixed rate | errors "
        "| RSS MB | start-up s | x moto | % hello | server CPU us/req | projected req/s (idle machine) "
        "| CPU srv/gen/other/steal % | notes |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    order = list(WORKLOADS)
    full = sorted(
        _cells(data, target="strongroom", mode="full"),
        key=lambda c: (c["store"], c["size"], c["workers"], order.index(c["workload"])),
    )
    for c in full:
        key = (c["store"], c["size"], c["workers"], c["workload"])
        lat = c["latency_ms"]
        db_txt = f" (+{c['db_cpu_us_per_req']:,.0f} db)" if c.get("db_cpu_us_per_req") else ""
        r = rates.get(key)
        rate_txt = f"{r['latency_ms'].get('p99', math.nan):.2f}" if r else "-"
        if r and r.get("overloaded"):
            rate_txt = f"overloaded ({r['rps']:,.0f}/s)"
        m = moto.get(c["workload"])
        x_moto = f"{c['rps'] / m['rps']:.1f}x" if m and m["rps"] and m["size"] == c["size"] else "-"
        hw = ceiling_for(data, c)
        pct = f"{100 * c['rps'] / hw['rps']:.0f}%" if hw and hw["rps"] and c["workload"] == "get" else "-"
        notes = list(c.get("notes", []))
        s = singles.get(key)
        if s:
            notes.append(f"1 connection: p50 {s['latency_ms']['p50']:.2f} / p99 {s['latency_ms']['p99']:.2f} ms")
        if r and (r.get("non_2xx") or r.get("socket_errors")):
            notes.append(f"fixed rate: {r.get('non_2xx', 0)} non-2xx")
        lines.append(
            f"| {c['store']} | {_fmt_size(c['size'])} | {c['workers']} | {WORKLOADS[c['workload']].operation} "
            f"| {c['rps']:,.0f} | {_f(lat.get('p50'))} | {_f(lat.get('p99'))} | {_f(lat.get('p99.9'))} | {rate_txt} "
            f"| {c.get('non_2xx', 0) + c.get('socket_errors', 0):,} | {c['rss_mb_peak']:.0f} | {c['startup_s']:.2f} "
            f"| {x_moto} | {pct} | {_f(c.get('server_cpu_us_per_req'), 0)}{db_txt} | {_proj(c)} "
            f"| {_cpu(c)} | {'; '.join(notes)} |"
        )
    if not full:
        lines.append("| (no Strongroom cell was measured) |||||||||||||||")

    if rates:
        lines += [
            "",
            f"### Fixed rate ({env['settings']['rate']:g} req/s, open loop)",
            "",
            "Latency from the scheduled send time (coordinated omission corrected) and from the actual send; "
            "generator lag = how late the generator's ~1 ms timer sent the request.",
            "",
            "| target | store | secrets | workers | workload | achieved req/s | p50 ms | p99 ms | p99.9 ms "
            "| p99 from send ms | generator lag p99 ms | errors | notes |",
            "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for c in sorted(
            _cells(data, mode="rate"),
            key=lambda c: (c["target"], c.get("store") or "", c.get("size") or 0, c["workers"], c["workload"]),
        ):
            lat, svc, lag = c["latency_ms"], c.get("service_latency_ms", {}), c.get("generator_lag_ms", {})
            lines.append(
                f"| {c['target']} | {c.get('store') or '-'} | {_fmt_size(c.get('size'))} | {c['workers']} "
                f"| {WORKLOADS[c['workload']].operation} | {c['rps']:,.0f} | {_f(lat.get('p50'))} "
                f"| {_f(lat.get('p99'))} "
                f"| {_f(lat.get('p99.9'))} | {_f(svc.get('p99'))} | {_f(lag.get('p99'))} "
                f"| {c.get('non_2xx', 0) + c.get('socket_errors', 0):,} | {'; '.join(c.get('notes', []))} |"
            )

    lines += ["", "## Reference servers", ""]
    lines += [
        "| server | workers | workload | req/s | p50 ms | p99 ms | p99.9 ms | errors | RSS MB | start-up s "
        "| server CPU us/req | projected req/s (idle machine) | CPU srv/gen/other/steal % | notes |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    refs = sorted(_cells(data, mode="full"), key=lambda c: (c["target"], c["workers"], order.index(c["workload"])))
    for c in refs:
        if c["target"] == "strongroom":
            continue
        lat = c["latency_ms"]
        if c["target"] == "hello":
            name, what = "hello-world ASGI (uvicorn+uvloop+httptools)", "GetSecretValue requests, empty app"
        else:
            name, what = f"moto ({_fmt_size(c['size'])} secrets, boto3-seeded)", WORKLOADS[c["workload"]].operation
        notes = list(c.get("notes", []))
        near = c.get("adjacent_to")
        if near and near.get("alternated"):
            sizes = ", ".join(_fmt_size(n) for n in near["sizes"])
            notes.insert(0, f"measured in alternation with Strongroom's {near['store']} {sizes} GetSecretValue cells")
        elif near:
            notes.insert(0, f"measured right after Strongroom's {near['store']} {_fmt_size(near['size'])} "
                            f"GetSecretValue cell")
        s = singles.get((c.get("store"), c.get("size"), c["workers"], c["workload"]))
        if s:
            notes.append(f"1 connection: p50 {s['latency_ms']['p50']:.2f} / p99 {s['latency_ms']['p99']:.2f} ms")
        lines.append(
            f"| {name} | {c['workers']} | {what} "
            f"| {c['rps']:,.0f} | {_f(lat.get('p50'))} | {_f(lat.get('p99'))} | {_f(lat.get('p99.9'))} "
            f"| {c.get('non_2xx', 0) + c.get('socket_errors', 0):,} | {c['rss_mb_peak']:.0f} | {c['startup_s']:.2f} "
            f"| {_f(c.get('server_cpu_us_per_req'), 0)} | {_proj(c)} "
            f"| {_cpu(c)} | {'; '.join(notes)} |"
        )

    errs = [c for c in data["cells"] if c.get("error_samples")]
    if errs:
        lines += ["", "## Error responses (first body per status)", ""]
        for c in errs:
            for status, body in c["error_samples"].items():
                lines.append(
                    f"- {c['target']} {c.get('store') or ''} {_fmt_size(c.get('size'))} w{c['workers']} "
                    f"{c['workload']} {c['mode']}: HTTP {status}: `{body[:200]}`"
                )

    lines += [""] + replication_report.markdown(data)
    lines += ["## Targets", "", "| target | measured | verdict | basis |", "|---|---|---|---|"]
    for t in evaluate_targets(data):
        lines.append(f"| {t['target']} | {t['measured']} | **{t['verdict']}** | {t['basis']} |")

    if data.get("skipped"):
        lines += ["", "## Skipped", ""]
        for s in data["skipped"]:
            lines.append(f"- {s['what']}: {s['why']}")
    lines += [
        "",
        "Columns: req/s and p50/p99/p99.9 at full load (closed loop, all connections busy: latency includes "
        "queueing); *p99 @ fixed rate* from the open-loop run; *errors* = non-2xx responses + socket errors "
        "(never hidden; a cell with errors is flagged); *RSS* = peak of the summed VmRSS of the server and all its "
        "worker processes during the cell; *start-up* = process start to first 200 on /health; *x moto* at the "
        "same store size; *% hello* = share of the hello-world ceiling with the same workers (for GetSecretValue, "
        "the ceiling measured in alternation with the cells of every store size, or right after the cell, when the "
        "run did: see Reference servers); "
        "*server CPU us/req* = "
        "CPU time of all server processes divided by requests served (independent of how busy the machine was); "
        "*CPU srv/gen/other/steal* = CPU used during the cell by the server (+ its PostgreSQL backends), the load "
        "generator and every other process, and the time the hypervisor took from this virtual machine's CPUs, "
        "in % of one core; *projected req/s* = min(W x 1e6 / s, cores x 1e6 / (s + d + g)) from the server's (s), "
        "PostgreSQL's (d) and the load generator's (g) CPU us per request: what the cell would reach on an otherwise "
        "idle machine if the CPU cost per request stayed the same (a model; it ignores lock waits such as SQLite's "
        "single writer).",
        "",
    ]
    return "\n".join(lines)


# --- plot -----------------------------------------------------------------------------------------
def plot(data: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 3, figsize=(19, 5.5))
    # (1) latency histogram at the fixed rate (bins merged 3 by 3: the generator's timer is ~1 ms)
    ax = axes[0]
    lo_x, hi_x = math.inf, 0.0
    for c in _cells(data, mode="rate", workload="get"):
        hist = c.get("histogram")
        if not hist:
            continue
        edges, counts = hist["edges_ms"][::3], hist["counts"]
        merged = [sum(counts[i : i + 3]) for i in range(0, len(counts), 3)]
        total = sum(merged) or 1
        used = [i for i, n in enumerate(merged) if n]
        if used:
            lo_x, hi_x = min(lo_x, edges[used[0]]), max(hi_x, edges[min(used[-1] + 1, len(edges) - 1)])
        label = (
            f"Strongroom {c.get('store')} {_fmt_size(c.get('size'))} w{c['workers']}"
            if c["target"] == "strongroom" else f"hello-world w{c['workers']}"
        )
        ax.step(edges[: len(merged)], [100 * x / total for x in merged], where="post", label=label,
                linestyle="--" if c["target"] == "hello" else "-")
    ax.set_xscale("log")
    if hi_x > 0:
        ax.set_xlim(lo_x, hi_x)
    ax.set_xlabel("latency from scheduled send (ms, log scale)")
    ax.set_ylabel("% of requests")
    ax.set_title(f"GetSecretValue latency at {data['environment']['settings']['rate']:g} req/s (open loop)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    # (2) throughput by store size: colour = workload, solid = 2 workers, dashed = 1
    ax = axes[1]
    series: dict[tuple[str, str, int], list[tuple[int, float]]] = {}
    for c in _cells(data, target="strongroom", mode="full"):
        series.setdefault((c["store"], c["workload"], c["workers"]), []).append((c["size"], c["rps"]))
    colours = {k: f"C{i}" for i, k in enumerate(WORKLOADS)}
    markers = {"sqlite": "o", "postgres": "s"}
    for (store, wl, w), pts in sorted(series.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=markers.get(store, "o"), color=colours[wl],
                linestyle="-" if w > 1 else "--", label=f"{store} {wl} w{w}")
    sizes = [c["size"] for c in _cells(data, target="strongroom")] or [1000]
    for c in first_ceilings(data):
        ax.axhline(c["rps"], color="grey", linestyle=":" if c["workers"] > 1 else "-.", linewidth=1)
        ax.text(min(sizes), c["rps"], f" hello-world w{c['workers']}", fontsize=7, va="bottom")
    for c in _cells(data, target="moto", mode="full"):
        ax.scatter([c["size"]], [c["rps"]], marker="x", color=colours[c["workload"]], zorder=5,
                   label="moto (x, per workload)" if c["workload"] == "get" else None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("secrets in the store (log)")
    ax.set_ylabel("requests/s at full load (log)")
    ax.set_title("Throughput by store size (solid: 2 workers, dashed: 1)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6, ncol=2)
    ax.grid(alpha=0.3, which="both")
    # (3) full-load latency CDF (wrk) for GetSecretValue
    ax = axes[2]
    for c in _cells(data, mode="full", workload="get"):
        cdf = c.get("cdf_ms")
        if not cdf or c.get("adjacent_to"):
            continue
        if c["target"] == "hello":
            label = f"hello-world w{c['workers']}"
        elif c["target"] == "moto":
            label = f"moto {_fmt_size(c.get('size'))}"
        else:
            label = f"Strongroom {c.get('store')} {_fmt_size(c.get('size'))} w{c['workers']}"
        ax.plot([p[1] for p in cdf], [100 - p[0] for p in cdf], label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("latency (ms, log)")
    ax.set_ylabel("% of requests slower (log)")
    ax.set_title("GetSecretValue latency at full load (wrk)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def dump_json(data: dict[str, Any]) -> bytes:
    """JSON with one line per top-level key and per list element (diff-friendly, still compact)."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list):
            inner = ",\n    ".join(orjson.dumps(v).decode() for v in value)
            text = f"[\n    {inner}\n  ]" if value else "[]"
        else:
            text = orjson.dumps(value).decode()
        parts.append(f"  {orjson.dumps(key).decode()}: {text}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode()


def write_all(data: dict[str, Any], results_dir: Path, stamp: str | None = None) -> dict[str, Any]:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = stamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    data["targets"] = evaluate_targets(data)
    paths: dict[str, Any] = {
        "json": results_dir / f"{stamp}.json",
        "md": results_dir / f"{stamp}.md",
        "png": results_dir / f"{stamp}.png",
    }
    paths["json"].write_bytes(dump_json(data))
    text = markdown(data)
    if plot(data, paths["png"]):
        text = text.replace("## Strongroom\n", f"![plots]({paths['png'].name})\n\n## Strongroom\n", 1)
    else:
        paths["png"] = None
    paths["md"].write_text(text)
    for kind in ("json", "md", "png"):
        if paths[kind] is not None:
            latest = results_dir / f"latest.{kind}"
            shutil.copyfile(paths[kind], latest)
    if paths["png"] is not None:
        (results_dir / "latest.md").write_text(text.replace(f"]({paths['png'].name})", "](latest.png)"))
    paths["md_text"] = text
    return paths


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.report RESULTS.json``: render the Markdown and the plot again (and latest.*)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    ap.add_argument("json", type=Path)
    args = ap.parse_args(argv)
    data = orjson.loads(args.json.read_bytes())
    paths = write_all(data, args.json.parent, stamp=args.json.stem if args.json.stem != "latest" else None)
    print(paths["md_text"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
