"""The replication workload of ``bench.run`` (``--workloads replication``; issue 16, Performance).

Two set-ups (``--rep-modes``):

* ``peer``: two deployments, each a server process with its own SQLite store; the second serves
  region :data:`REPLICA_REGION` and is configured as the first's peer for it.
* ``local``: one deployment; the replica lives in another region of the same store.

In each, ``--rep-secrets`` secrets are created on the primary with a replica in the replica
region (CreateSecret with AddReplicaRegions), and once every replica equals its primary:

1. **GetSecretValue on the primary and on the replica**: the GetSecretValue workload's load
   (wrk, pre-signed requests on random secrets), the two measured in alternating rounds.
2. **Lag**: PutSecretValue at ``--rep-rate``/s on the primary for ``--rep-duration`` s while a
   poller reads the replicas (``bench.replication_drive.measure_lag``): p50/p99 per write.
3. **Catch-up**: ``peer``: the peer is stopped, ``--rep-catchup-writes`` writes are made on the
   primary, the peer is started again, and the time from its start until every replica equals
   its primary (versions and labels) is measured. ``local`` (no peer to stop): the same writes
   at full speed, then the time from the last one's acknowledgement until every replica equals
   its primary (the relay's backlog drained).

Method and figures: docs/benchmarks.md, "Replication".
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import cpu, drive, servers
from bench.replication_drive import (
    Endpoint,
    create_replicated,
    list_versions,
    measure_lag,
    run,
    wait_equal,
    write_burst,
)
from bench.replication_lag import catchup_plan, per_secret_max
from bench.signing import REGION, Creds, admin_credentials, dev_credentials
from bench.workloads import build_plan, secret_name

if TYPE_CHECKING:
    from bench.run import Harness

PRIMARY_REGION = REGION
REPLICA_REGION = "us-west-2"
MODES = ("peer", "local")
PARTS = ("get", "lag", "catchup")
#: The peer's secret access key, as the primary's configuration names it (a 0600 file).
PEER_SECRET_FILE = "peer-secret-access-key"


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The replication workload's options of ``bench.run``."""
    g = ap.add_argument_group("replication (--workloads replication)")
    g.add_argument("--rep-modes", default="peer,local",
                   help="peer: two deployments, the second the first's peer for another region; "
                        "local: a replica in another region of the same deployment")
    g.add_argument("--rep-parts", default=",".join(PARTS),
                   help="the measurements: get (GetSecretValue on primary and replica), lag, catchup")
    g.add_argument("--rep-secrets", type=int, default=1000, help="replicated secrets")
    g.add_argument("--rep-workers", type=int, default=2, help="worker processes of each deployment")
    g.add_argument("--rep-rate", type=float, default=200.0, help="PutSecretValue/s of the lag measurement")
    g.add_argument("--rep-duration", type=float, default=20.0, help="seconds of writes of the lag measurement")
    g.add_argument("--rep-poll-gap", type=float, default=0.05,
                   help="least seconds between the starts of two rounds of the replica poller")
    g.add_argument("--rep-drain", type=float, default=60.0,
                   help="seconds the poller goes on after the last write for writes not yet seen")
    g.add_argument("--rep-catchup-writes", type=int, default=10000, help="writes made while the peer is stopped")
    g.add_argument("--rep-outage", type=float, default=0.0,
                   help="seconds the peer stays stopped at least (the writes take what they take)")
    g.add_argument("--rep-catchup-timeout", type=float, default=180.0,
                   help="seconds the catch-up is waited for at most")
    g.add_argument("--rep-logs", type=Path, default=None,
                   help="keep the deployments' logs in this directory (default: discarded with the run)")
    g.add_argument("--rep-log-level", choices=["debug", "info", "warning", "error"], default="warning",
                   help="the deployments' log level")
    g.add_argument("--rep-interval", type=float, default=None,
                   help="the servers' replication_interval (default: the server's default)")


def check_arguments(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    args.rep_modes = [m.strip() for m in args.rep_modes.split(",") if m.strip()]
    for m in args.rep_modes:
        if m not in MODES:
            ap.error(f"unknown --rep-modes {m!r} (peer, local)")
    args.rep_parts = [p.strip() for p in args.rep_parts.split(",") if p.strip()]
    for p in args.rep_parts:
        if p not in PARTS:
            ap.error(f"unknown --rep-parts {p!r} ({', '.join(PARTS)})")
    if not (1 <= args.rep_secrets <= 100_000 and 0 < args.rep_rate <= 5000 and 0 < args.rep_duration <= 600
            and 0 <= args.rep_catchup_writes <= 1_000_000 and 0 < args.rep_catchup_timeout <= 3600
            and 0 <= args.rep_drain <= 600 and 0 < args.rep_poll_gap <= 10 and 0 <= args.rep_outage <= 3600):
        ap.error("replication: 1 <= --rep-secrets <= 100000, 0 < --rep-rate <= 5000, 0 < --rep-duration <= 600, "
                 "--rep-catchup-writes <= 1000000, 0 < --rep-catchup-timeout <= 3600, --rep-drain <= 600, "
                 "0 < --rep-poll-gap <= 10, --rep-outage <= 3600")
    if args.rep_interval is not None and args.rep_interval <= 0:
        ap.error("--rep-interval must be positive")


class Unsupported(RuntimeError):
    """The server cannot run this set-up (e.g. it has no peer replication yet); the message says why."""


# --- configuration -------------------------------------------------------------------------------
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def settings_toml(settings: dict[str, Any], _prefix: str = "") -> str:
    """A TOML document of ``settings``: plain keys first, then every nested dict as a table
    (``{"replication": {"peers": {"us-west-2": {...}}}}`` -> ``[replication.peers."us-west-2"]``)."""
    plain = [f"{k} = {_toml_value(v)}" for k, v in settings.items() if not isinstance(v, dict)]
    lines = ([f"[{_prefix}]"] if _prefix and plain else []) + plain
    for key, value in settings.items():
        if isinstance(value, dict):
            name = key if key.replace("_", "").replace("-", "").isalnum() and "." not in key and "-" not in key \
                else _toml_value(key)
            sub = settings_toml(value, f"{_prefix}.{name}" if _prefix else name)
            if sub:
                lines += ([""] if lines else []) + [sub]
    return "\n".join(lines)


def peer_settings(region: str, endpoint: str, creds: Creds, secret_file: Path, transfer_key_file: Path
                  ) -> dict[str, Any]:
    """The primary's settings naming its peer deployment for ``region`` (docs/deployment.md, "Pairing
    two deployments")."""
    return {"replication": {"peers": {region: {
        "endpoint": endpoint, "access_key_id": creds.access_key, "secret_access_key_file": str(secret_file),
        "transfer_key_file": str(transfer_key_file),
    }}}}


def receiver_settings(primary_region: str, transfer_key_file: Path) -> dict[str, Any]:
    """The peer's settings: it receives from the deployment of ``primary_region`` (no endpoint)."""
    return {"replication": {"peers": {primary_region: {"transfer_key_file": str(transfer_key_file)}}}}


def _private_file(path: Path, text: str) -> Path:
    """``text`` in a file only its owner may read (the server refuses key files others can)."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text + "\n")
    return path


@dataclass
class Deployment:
    """A running server, its data directory and configuration, and the region its secrets live in."""

    server: servers.Server
    data_dir: Path
    config: Path
    region: str
    creds: Creds
    settings: dict[str, Any] = field(default_factory=dict)

    def endpoint(self, region: str | None = None) -> Endpoint:
        return Endpoint(self.server.host, region or self.region, self.creds)


def start_deployment(
    h: Harness, name: str, region: str, settings: dict[str, Any], *, port: int | None = None,
    fresh: bool = True,
) -> Deployment:
    """A Strongroom server on its own data directory (``fresh``: emptied first) and TOML config."""
    a = h.args
    data_dir = h.work / f"rep-{name}"
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = data_dir / "bench-settings.toml"
    config.write_text(settings_toml(settings) + "\n")
    port = port or servers.free_port()
    cmd = [
        sys.executable, "-m", "strongroom", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(data_dir), "--workers", str(a.rep_workers), "--log-level", a.rep_log_level,
        "--config", str(config),
    ]
    if a.auth == "dev":
        cmd.append("--dev")
    label = f"strongroom {name} ({region}, sqlite, {a.rep_workers} worker(s), auth {a.auth})"
    log = (a.rep_logs or h.work / "logs") / f"rep-{name}-{time.time_ns()}.log"
    server = servers._spawn(  # noqa: SLF001 - the harness's own spawner, with this config
        "strongroom", label, cmd, port, "/health", log,
        data_dir=data_dir, workers=a.rep_workers,
    )
    creds = dev_credentials() if a.auth == "dev" else admin_credentials(data_dir, a.auth_profile)
    return Deployment(server, data_dir, config, region, creds, settings)


def _base_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {} if args.rep_interval is None else {"replication_interval": args.rep_interval}


def start_pair(h: Harness, mode: str) -> tuple[Deployment, Deployment | None]:
    """(primary, peer): the peer (``peer`` mode only) first, then the primary naming it."""
    base = _base_settings(h.args)
    if mode == "local":
        return start_deployment(h, "local", PRIMARY_REGION, base), None
    transfer_key = _private_file(h.work / "rep-transfer-key", base64.b64encode(os.urandom(32)).decode())
    try:
        peer = start_deployment(h, "peer", REPLICA_REGION, {**base, **receiver_settings(PRIMARY_REGION, transfer_key)})
    except servers.ServerRefused as exc:
        raise Unsupported(f"the server refused a peer configuration: {str(exc).strip().splitlines()[-1]}") from exc
    secret_file = _private_file(h.work / "rep-primary-peer-secret", peer.creds.secret_key)
    settings = {**base, **peer_settings(REPLICA_REGION, f"http://{peer.server.host}", peer.creds, secret_file,
                                         transfer_key)}
    try:
        primary = start_deployment(h, "primary", PRIMARY_REGION, settings)
    except servers.ServerRefused as exc:
        peer.server.stop()
        raise Unsupported(f"the server refused a peer configuration: {str(exc).strip().splitlines()[-1]}") from exc
    return primary, peer


# --- the measurements ----------------------------------------------------------------------------
def _cpu_pct(seconds: float, wall: float) -> float:
    return round(100 * seconds / wall, 1) if wall > 0 else 0.0


def _lag(h: Harness, primary: Deployment, replica: Endpoint, replica_server: servers.Server,
         names: list[str]) -> dict[str, Any]:
    a = h.args
    if a.quiet_wait > 0:
        cpu.wait_quiet(primary.server.pid, a.quiet_wait, a.quiet_threshold, h_say)
    start = cpu.mark(primary.server.pid)
    replica_cpu = cpu.cpu_seconds(servers.descendants(replica_server.pid))
    began = time.perf_counter()
    result = run(measure_lag(primary.endpoint(), replica, names, rate=a.rep_rate, duration=a.rep_duration,
                             poll_gap=a.rep_poll_gap, drain_timeout=a.rep_drain))
    wall = time.perf_counter() - began
    usage = cpu.usage(start, primary.server.pid)
    if replica_server is not primary.server:
        replica_s = cpu.cpu_seconds(servers.descendants(replica_server.pid)) - replica_cpu
        usage["replica_server_cpu_pct"] = _cpu_pct(replica_s, wall)
        usage["other_cpu_pct"] = round(max(0.0, usage["other_cpu_pct"] - usage["replica_server_cpu_pct"]), 1)
    result["cpu"] = usage
    return result


def _get(h: Harness, primary: Deployment, replica: Endpoint, replica_server: servers.Server,
         n: int) -> dict[str, Any]:
    """GetSecretValue at full load on the primary and on the replica, in alternating rounds."""
    a = h.args
    slots = [("primary", primary.server, primary.endpoint()), ("replica", replica_server, replica)]
    plans = {
        role: build_plan("get", n, server.host, ep.creds, read_pool=a.read_pool, write_count=0,
                         progress=h_say, region=ep.region)
        for role, server, ep in slots
    }
    for role, server, _ in slots:
        if a.warmup > 0:
            drive.run_full(h.generator, plans[role], server.port, duration=a.warmup, connections=a.connections,
                           threads=a.threads, policy=a.generator_policy)
    runs: dict[str, list[dict[str, Any]]] = {role: [] for role, _, _ in slots}
    for round_no in range(max(1, a.repeat)):
        for role, server, _ in (slots if round_no % 2 == 0 else slots[::-1]):
            run_ = h._quietest_run(server, plans[role])  # noqa: SLF001 - the harness's measurement
            runs[role].append(run_)
            lat = run_["latency_ms"]
            h_say(f"  replication get on the {role:<7} {run_['rps']:>9,.0f} req/s  p50 {lat.get('p50', 0):.2f}  "
                  f"p99 {lat.get('p99', 0):.2f} ms  non-2xx {run_.get('non_2xx', 0)}  "
                  f"{run_.get('server_cpu_us_per_req', 0):.0f} us/req")
    from bench.run import pick_run

    out: dict[str, Any] = {role: pick_run(series, best=False) for role, series in runs.items()}
    out["rounds"] = [
        {"primary_rps": p["rps"], "replica_rps": r["rps"], "primary_us": p.get("server_cpu_us_per_req"),
         "replica_us": r.get("server_cpu_us_per_req")}
        for p, r in zip(runs["primary"], runs["replica"], strict=True)
    ]
    return out


def _catchup(h: Harness, mode: str, primary: Deployment, peer: Deployment | None, replica: Endpoint,
             names: list[str]) -> dict[str, Any]:
    a = h.args
    plan = catchup_plan(names, a.rep_catchup_writes)
    out: dict[str, Any] = {"writes_planned": len(plan), "secrets_written": len(set(plan)),
                           "most_writes_per_secret": per_secret_max(plan)}
    if peer is not None:
        port = peer.server.port
        peer.server.stop()
        stopped = time.monotonic()
        h_say(f"  catch-up: peer stopped; {len(plan):,} writes on the primary")
        out["burst"] = run(write_burst(primary.endpoint(), plan))
        expected = run(list_versions(primary.endpoint()))
        rest = a.rep_outage - (time.monotonic() - stopped)
        if rest > 0:
            h_say(f"  catch-up: the peer stays down {rest:.0f}s more (--rep-outage {a.rep_outage:g})")
            time.sleep(rest)
        out["outage_s"] = round(time.monotonic() - stopped, 1)
        h_say(f"  catch-up: {out['burst']['writes']:,} writes in {out['burst']['seconds']:.1f}s; starting the peer")
        started = time.monotonic()
        restarted = start_deployment(h, "peer", REPLICA_REGION, peer.settings, port=port, fresh=False)
        peer.server = restarted.server
        out["peer_startup_s"] = restarted.server.startup_s
        out["from"] = "the peer's process start"
    else:
        h_say(f"  drain: {len(plan):,} writes at full speed")
        out["burst"] = run(write_burst(primary.endpoint(), plan))
        started = time.monotonic()
        expected = run(list_versions(primary.endpoint()))
        out["from"] = "the last write's acknowledgement"
    out.update(run(wait_equal(replica, {k: v for k, v in expected.items() if k in set(names)},
                              a.rep_catchup_timeout, started)))
    return out


def h_say(text: str) -> None:
    from bench.run import say

    say(text)


def run_mode(h: Harness, mode: str) -> dict[str, Any]:
    """One set-up's three measurements (see the module docstring); the servers are stopped after."""
    a = h.args
    n = a.rep_secrets
    names = [secret_name(i) for i in range(n)]
    result: dict[str, Any] = {"mode": mode, "secrets": n, "workers": a.rep_workers, "auth": a.auth,
                              "primary_region": PRIMARY_REGION, "replica_region": REPLICA_REGION,
                              "replication_interval": a.rep_interval, "loadavg_before": list(os.getloadavg())}
    primary, peer = start_pair(h, mode)
    replica_server = (peer or primary).server
    try:
        h_say(f"replication ({mode}): primary on :{primary.server.port}"
              + (f", peer on :{peer.server.port}" if peer else f", replica region {REPLICA_REGION}"))
        replica = (peer.endpoint() if peer else primary.endpoint(REPLICA_REGION))
        began = time.monotonic()
        run(create_replicated(primary.endpoint(), names, REPLICA_REGION))
        created = time.monotonic()
        expected = run(list_versions(primary.endpoint()))
        synced = run(wait_equal(replica, expected, a.rep_catchup_timeout, created))
        result["setup"] = {"create_s": round(created - began, 3), "initial_sync": synced}
        h_say(f"  created {n:,} replicated secrets in {created - began:.1f}s; replicas equal after "
              f"{synced['seconds']}s")
        if synced["seconds"] is None:
            raise RuntimeError(f"the replicas never became equal to their primaries: {synced}")
        if "get" in a.rep_parts:
            result["get"] = _get(h, primary, replica, replica_server, n)
        if "lag" in a.rep_parts:
            result["lag"] = _lag(h, primary, replica, replica_server, names)
            lag = result["lag"]["lag_ms"]
            h_say(f"  lag at {a.rep_rate:g} writes/s: p50 {lag['p50']} ms, p99 {lag['p99']} ms, max {lag['max']} ms "
                  f"({result['lag']['seen']:,} of {result['lag']['acked']:,} writes seen)")
        if "catchup" in a.rep_parts and a.rep_catchup_writes:
            result["catchup"] = _catchup(h, mode, primary, peer, replica, names)
            c = result["catchup"]
            h_say(f"  catch-up: replicas equal {c['seconds']}s after {c['from']} ({c['rounds']} listings)")
        result["rss_mb"] = {"primary": primary.server.rss(), "replica": (peer or primary).server.rss()}
    finally:
        result["loadavg_after"] = list(os.getloadavg())
        primary.server.stop()
        if peer is not None:
            peer.server.stop()
    return result


def run_all(h: Harness, results: list[dict[str, Any]]) -> None:
    """Every selected set-up; one that can't run is skipped with the reason, one that fails is recorded."""
    for mode in h.args.rep_modes:
        try:
            results.append(run_mode(h, mode))
        except Unsupported as exc:
            h.skipped.append({"what": f"replication ({mode})", "why": str(exc)})
            h_say(f"SKIP replication ({mode}): {exc}")
        except servers.ServerRefused as exc:
            h.skipped.append({"what": f"replication ({mode})", "why": str(exc)[-500:]})
            h_say(f"SKIP replication ({mode}): {exc}")
