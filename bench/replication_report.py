"""The replication workload's part of the report: its Markdown section and its targets (issue 16).

Reads ``data["replication"]``: one result per set-up (``peer``, ``local``) as
:func:`bench.replication.run_mode` makes it.
"""

from __future__ import annotations

from typing import Any

from bench.replication_lag import first_reaching, median_ratio

#: GetSecretValue on a replica counts as "as fast as on the primary" at this share of its req/s or
#: more (alternated rounds on this VM still differ by several percent: docs/benchmarks.md).
AS_FAST = 0.90
LAG_P50_MS = 100.0
LAG_P99_MS = 1000.0
CATCHUP_S = 30.0

WHERE = {"peer": "two deployments (peer)", "local": "within one deployment"}


def _ms(x: Any) -> str:
    return "never" if x is None else f"{x:,.1f}"


def _s(x: Any) -> str:
    return "-" if x is None else f"{x:,.2f}"


def _get_row(r: dict[str, Any], role: str) -> str:
    c = r.get("get", {}).get(role)
    if not c:
        return f"| {WHERE[r['mode']]} | {role} | - | - | - | - | - | - |"
    lat = c["latency_ms"]
    errors = c.get("non_2xx", 0) + c.get("socket_errors", 0)
    cpu = (f"{c.get('server_cpu_pct', 0):.0f}/{c.get('generator_cpu_pct', 0):.0f}/{c.get('other_cpu_pct', 0):.0f}"
           f"/{c.get('steal_cpu_pct', 0):.0f}")
    return (f"| {WHERE[r['mode']]} | {role} | {c['rps']:,.0f} | {lat.get('p50', 0):.2f} | {lat.get('p99', 0):.2f} "
            f"| {errors:,} | {c.get('server_cpu_us_per_req', 0):.0f} | {cpu} |")


def markdown(data: dict[str, Any]) -> list[str]:
    """The "Replication" section (empty when the run did not measure replication)."""
    results = data.get("replication")
    if results is None:
        return []
    lines = ["## Replication", ""]
    if not results:
        return lines + ["(no replication set-up was measured: see Skipped)", ""]
    lines += [
        "Primary in us-east-1, replica in us-west-2; *peer*: two server processes with their own SQLite stores, "
        "the second configured as the first's peer for us-west-2; *local*: the replica in another region of the "
        "same deployment. Lag: PutSecretValue at a fixed rate on the primary; a poller reads the replicas "
        "(BatchGetSecretValue, 20 a request) and finds each write's marker in the value; lag = from the write's "
        "acknowledgement to the end of the first replica read showing it. Resolution: one poller round.",
        "",
        "| set-up | secrets | workers | relay interval s | writes/s (achieved) | writes | lag p50 ms | p90 | p99 "
        "| max | never seen | write p99 ms | poll round p50/p99 ms | poll req/s | CPU primary/replica/other/steal % "
        "| load avg before / after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        lag = r.get("lag")
        if not lag:
            continue
        lm, poll, cpu = lag["lag_ms"], lag["poll"], lag.get("cpu", {})
        replica_cpu = cpu.get("replica_server_cpu_pct")
        cpu_txt = (f"{cpu.get('server_cpu_pct', 0):.0f}/"
                   f"{'(same)' if replica_cpu is None else f'{replica_cpu:.0f}'}/"
                   f"{cpu.get('other_cpu_pct', 0):.0f}/{cpu.get('steal_cpu_pct', 0):.0f}")
        load = f"{r['loadavg_before'][0]:.2f} / {r.get('loadavg_after', [0])[0]:.2f}"
        interval = _s(r["replication_interval"]) if r.get("replication_interval") else "default"
        lines.append(
            f"| {WHERE[r['mode']]} | {r['secrets']:,} | {r['workers']} | {interval} "
            f"| {lag['target_rate']:g} ({lag['achieved_rate'] or 0:,.0f}) | {lag['acked']:,} of {lag['writes']:,} "
            f"| {_ms(lm['p50'])} | {_ms(lm['p90'])} | {_ms(lm['p99'])} | {_ms(lm['max'])} | {lag['never_seen']:,} "
            f"| {_ms(lag['write_latency_ms']['p99'])} | {_ms(poll['round_ms']['p50'])}/{_ms(poll['round_ms']['p99'])} "
            f"| {poll['requests_per_s'] or 0:,.0f} | {cpu_txt} | {load} |"
        )
    lines += [
        "",
        "| set-up | catch-up writes (secrets, most to one) | writes/s | peer down s | counted from "
        "| replicas equal after s | listing rounds (last s) | peer start-up s | notes |",
        "|---|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for r in results:
        c = r.get("catchup")
        if not c:
            continue
        burst = c.get("burst", {})
        notes = []
        if burst.get("failed"):
            notes.append(f"{burst['failed']:,} writes failed: `{burst.get('first_failure')}`")
        if c.get("seconds") is None:
            notes.append(
                f"NOT caught up: {c.get('differing'):,} replicas still differ (e.g. {c.get('differing_sample')})"
            )
        if c.get("progress"):
            total = c.get("secrets_written", 0)
            marks = [(label, first_reaching(c["progress"], share, total))
                     for label, share in (("first", 0.0), ("half", 0.5), ("90%", 0.9))]
            notes.append("replicas equal: " + ", ".join(f"{label} at {_s(t)} s" for label, t in marks))
        if c.get("listing_errors"):
            notes.append(f"{c['listing_errors']} listings failed (e.g. `{c.get('first_listing_error')}`)")
        lines.append(
            f"| {WHERE[r['mode']]} | {c['writes_planned']:,} ({c['secrets_written']:,}, {c['most_writes_per_secret']}) "
            f"| {burst.get('writes_per_s') or 0:,.0f} | {_s(c.get('outage_s'))} | {c['from']} | {_s(c.get('seconds'))} "
            f"| {c['rounds']} ({_s(c.get('round_s'))}) | {_s(c.get('peer_startup_s'))} | {'; '.join(notes)} |"
        )
    lines += [
        "",
        "GetSecretValue at full load (the GetSecretValue workload's wrk load, random secrets), primary and replica "
        "measured in alternating rounds:",
        "",
        "| set-up | read in | req/s | p50 ms | p99 ms | errors | server CPU us/req | CPU srv/gen/other/steal % |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r.get("get"):
            lines += [_get_row(r, "primary"), _get_row(r, "replica")]
    for r in results:
        setup = r.get("setup", {})
        sync = setup.get("initial_sync", {})
        lines.append("")
        # the relay starts delivering while the secrets are still being created: count from the first
        span = setup.get("create_s", 0) + (sync.get("seconds") or 0)
        rate = f" (at least {r['secrets'] / span:,.0f} first deliveries/s)" if sync.get("seconds") and span else ""
        by_second = ", ".join("never" if b["p50_ms"] is None else f"{b['p50_ms']:,.0f}"
                              for b in r.get("lag", {}).get("by_second", []))
        lines.append(f"- {WHERE[r['mode']]}: {r['secrets']:,} secrets created with their replica in "
                     f"{setup.get('create_s', 0):.1f} s; every replica equal {_s(sync.get('seconds'))} s later{rate}"
                     + (f"; lag p50 (ms) of the writes sent in each second: {by_second}" if by_second else ""))
    return lines + [""]


def targets(data: dict[str, Any]) -> list[dict[str, str]]:
    """Issue 16's three targets for each measured set-up (the issue's are between deployments: ``peer``)."""
    rows: list[dict[str, str]] = []

    def add(name: str, measured: str, ok: bool | None, basis: str) -> None:
        verdict = "N/A" if ok is None else ("PASS" if ok else "FAIL")
        rows.append({"target": name, "measured": measured, "verdict": verdict, "basis": basis})

    results = data.get("replication")
    if results is None:
        return rows
    skipped = {s["what"]: s["why"] for s in data.get("skipped", [])}
    if not any(r["mode"] == "peer" for r in results):
        why = skipped.get("replication (peer)", "not measured (--rep-modes)")
        add("replication lag p50 < 100 ms, p99 < 1 s at 200 writes/s (two deployments)", "-", None, why)
    for r in results:
        where = WHERE[r["mode"]]
        lag = r.get("lag")
        if lag:
            lm = lag["lag_ms"]
            ok = lm["p50"] is not None and lm["p99"] is not None and lm["p50"] < LAG_P50_MS and lm["p99"] < LAG_P99_MS
            add(f"replication lag p50 < 100 ms, p99 < 1 s at {lag['target_rate']:g} writes/s ({where})",
                f"p50 {_ms(lm['p50'])} ms, p99 {_ms(lm['p99'])} ms ({lag['seen']:,} of {lag['acked']:,} writes seen)",
                ok, f"{lag['writes']:,} writes over {lag['secrets']:,} secrets; relay interval "
                    f"{r.get('replication_interval') or 'default'}")
        c = r.get("catchup")
        if c:
            ok = c.get("seconds") is not None and c["seconds"] < CATCHUP_S
            add(f"replicas equal within 30 s after {c['writes_planned']:,} writes ({where})",
                f"{_s(c.get('seconds'))} s" if c.get("seconds") is not None else f"not within the time-out "
                f"({c.get('differing'):,} differ)", ok,
                f"counted from {c['from']}" + (f"; the peer was down {c['outage_s']:g} s" if c.get("outage_s") else ""))
        g = r.get("get", {})
        if g.get("primary") and g.get("replica") and g["primary"]["rps"]:
            rounds = g.get("rounds") or []
            share = median_ratio(rounds, "replica_rps", "primary_rps") if rounds else None
            basis = "median of the per-round ratios" if share is not None else "ratio of the median cells"
            if share is None:
                share = g["replica"]["rps"] / g["primary"]["rps"]
            cost = median_ratio(rounds, "replica_us", "primary_us") if rounds else None
            p99 = [g[role]["latency_ms"].get("p99", 0) for role in ("replica", "primary")]
            add(f"GetSecretValue on a replica as fast as on the primary ({where})",
                f"{share:.0%} of the primary's req/s ({basis}; median cells {g['replica']['rps']:,.0f} vs "
                f"{g['primary']['rps']:,.0f}); p99 {p99[0]:.2f} vs {p99[1]:.2f} ms"
                + (f"; server CPU per request {cost:.0%} of the primary's" if cost is not None else ""),
                share >= AS_FAST,
                f"full load, {len(rounds) or 1} alternated round(s); PASS at >= {AS_FAST:.0%}")
    return rows
