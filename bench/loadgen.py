"""Strongroom's own HTTP/1.1 load generator (uvloop + asyncio Protocols + httptools' parser).

Runs as its own process (``python -m bench.loadgen``), replaying pre-signed raw requests over
keep-alive connections, in one of two modes:

* **closed loop** (``--rate 0``): every connection sends its next request as soon as the previous
  response is complete, like wrk. Measures throughput at full load.
* **open loop / constant rate** (``--rate R``): request ``i`` is *scheduled* at ``t0 + i/R``
  whatever the server does (wrk2's model). If no connection is free, it waits in a backlog; if
  the backlog exceeds 2 seconds' worth of requests (``--max-backlog``) the server can't sustain the
  rate, and the run stops early and says so (``overloaded``) instead of queueing without bound.
  Latency is reported two ways: from the scheduled time (corrects coordinated omission: a slow
  server is charged for the requests it delayed) and from the moment the bytes were written. The
  timer behind the schedule has about 1 ms granularity on uvloop, so the generator's own lag
  (send time - scheduled time) is reported too; the hello-world ceiling run shows the floor.

Requests come from pool files (see :meth:`bench.signing.Pool.write`): pool A always, plus every
``--every``-th request from pool B. A pool marked unique is never cycled; wrap-arounds are counted.
Output: one JSON document (``--out``); with ``--samples-out``, every answer's (scheduled or sent
time, latency) as two little-endian float64 arrays (:func:`write_samples`), the times on
``time.perf_counter()``'s clock (CLOCK_MONOTONIC on Linux: the same in every process), so another
process can take the answers of a window of its own. SIGUSR1 ends a run early (as its duration would).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import sys
import time
from array import array
from pathlib import Path
from typing import Any

import httptools
import orjson

HIST_LO_MS = 0.02
HIST_HI_MS = 2000.0
HIST_BINS = 120


def read_pool(path: Path) -> list[bytes]:
    data = Path(path).read_bytes()
    out, at = [], 0
    while at < len(data):
        nl = data.index(b"\n", at)
        size = int(data[at:nl])
        out.append(data[nl + 1 : nl + 1 + size])
        at = nl + 1 + size
    return out


class Source:
    """Hands out requests: pool A, and every ``every``-th from pool B (unique pools never wrap)."""

    def __init__(self, a: list[bytes], a_unique: bool, b: list[bytes] | None, b_unique: bool, every: int) -> None:
        self.a, self.a_unique, self.b, self.b_unique, self.every = a, a_unique, b, b_unique, every
        self.n = self.ia = self.ib = 0
        self.wrapped = 0

    def next(self) -> bytes:
        self.n += 1
        if self.b is not None and self.every and self.n % self.every == 0:
            raw = self.b[self.ib % len(self.b)]
            self.ib += 1
            if self.b_unique and self.ib > len(self.b):
                self.wrapped += 1
            return raw
        raw = self.a[self.ia % len(self.a)]
        self.ia += 1
        if self.a_unique and self.ia > len(self.a):
            self.wrapped += 1
        return raw


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []  # seconds, from send (closed loop) or from schedule (open loop)
        self.starts: list[float] = []  # perf_counter() of each answer's schedule (open loop) or send (closed loop)
        self.service: list[float] = []  # open loop: from the actual write
        self.lag: list[float] = []  # open loop: write time - scheduled time
        self.status: dict[int, int] = {}
        self.socket_errors = 0
        self.reconnects = 0  # connections the server closed after a response (no keep-alive)
        self.error_samples: dict[int, str] = {}


class Conn(asyncio.Protocol):
    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.busy = False
        self.scheduled = 0.0
        self.sent = 0.0
        self.body: list[bytes] = []
        self.ready = asyncio.get_running_loop().create_future()
        self.closed = False
        self.retiring = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if not self.ready.done():
            self.ready.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.gen.stats.socket_errors += 1
            self.transport.close()  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.busy:
            self.busy = False
            self.gen.stats.socket_errors += 1
        elif self.retiring:
            self.gen.stats.reconnects += 1
        self.gen.lost(self)

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        now = time.perf_counter()
        status = self.parser.get_status_code()
        stats = self.gen.stats
        stats.status[status] = stats.status.get(status, 0) + 1
        if not 200 <= status < 300 and status not in stats.error_samples:
            stats.error_samples[status] = b"".join(self.body)[:300].decode("utf-8", "replace")
        self.body.clear()
        if self.gen.rate:
            stats.latencies.append(now - self.scheduled)
            stats.service.append(now - self.sent)
            stats.lag.append(self.sent - self.scheduled)
            stats.starts.append(self.scheduled)
        else:
            stats.latencies.append(now - self.sent)
            stats.starts.append(self.sent)
        self.busy = False
        if not self.parser.should_keep_alive():  # the server closes: retire, use a new connection
            self.retiring = True
            self.transport.close()  # type: ignore[union-attr]
            return
        self.gen.done(self)

    def send(self, raw: bytes, scheduled: float) -> None:
        self.busy = True
        self.scheduled = scheduled
        self.sent = time.perf_counter()
        self.transport.write(raw)  # type: ignore[union-attr]


class Generator:
    def __init__(self, host: str, port: int, source: Source, connections: int, duration: float, rate: float,
                 max_backlog_s: float = 2.0) -> None:
        self.host, self.port, self.source = host, port, source
        self.n_conns, self.duration, self.rate = connections, duration, rate
        self.max_backlog_s = max_backlog_s
        self.stats = Stats()
        self.idle: list[Conn] = []
        self.backlog: list[float] = []  # scheduled times waiting for a free connection (open loop)
        self.conns: list[Conn] = []
        self.stopping = False
        self.deadline = 0.0
        self.finished: asyncio.Future[None] | None = None
        self.started = 0.0
        self.scheduled_count = 0
        self.dropped = 0
        self.overloaded = False  # open loop: the backlog outgrew 2 s of requests and the run stopped early

    async def connect(self) -> Conn:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: Conn(self), self.host, self.port)
        await conn.ready
        return conn

    def in_flight(self) -> int:
        return sum(1 for c in self.conns if c.busy)

    def _maybe_finish(self) -> None:
        if self.stopping and not self.backlog and self.in_flight() == 0 and self.finished and not self.finished.done():
            self.finished.set_result(None)

    def done(self, conn: Conn) -> None:
        if self.rate:
            if self.backlog and not self.stopping_backlog():
                conn.send(self.source.next(), self.backlog.pop(0))
            else:
                self.idle.append(conn)
        elif not self.stopping and time.perf_counter() < self.deadline:
            conn.send(self.source.next(), 0.0)
        else:
            self.idle.append(conn)
        self._maybe_finish()

    def stopping_backlog(self) -> bool:
        return False  # a scheduled request is always sent: dropping it would hide latency

    def lost(self, conn: Conn) -> None:
        if conn in self.conns:
            self.conns.remove(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        if not self.stopping or self.backlog:
            asyncio.get_running_loop().create_task(self._replace())
        self._maybe_finish()

    async def _replace(self) -> None:
        try:
            conn = await self.connect()
        except OSError:
            self.stats.socket_errors += 1
            await asyncio.sleep(0.05)
            if not self.stopping:
                asyncio.get_running_loop().create_task(self._replace())
            return
        self.conns.append(conn)
        self.done(conn)

    def _tick(self) -> None:
        """Open loop: send every request whose scheduled time has come."""
        loop = asyncio.get_running_loop()
        now = time.perf_counter()
        if now >= self.deadline:
            self.stopping = True
            self._maybe_finish()
            return
        if len(self.backlog) > max(self.max_backlog_s * self.rate, 200):
            # The server can't keep up: stop scheduling rather than queue without bound.
            self.overloaded = True
            self.dropped = len(self.backlog)  # never sent: reported, not counted as answered
            self.backlog.clear()
            self.stopping = True
            self._maybe_finish()
            return
        due = int((now - self.started) * self.rate) + 1
        while self.scheduled_count < due:
            scheduled = self.started + self.scheduled_count / self.rate
            self.scheduled_count += 1
            if self.idle:
                self.idle.pop().send(self.source.next(), scheduled)
            else:
                self.backlog.append(scheduled)
        next_at = self.started + self.scheduled_count / self.rate
        loop.call_later(max(0.0, next_at - time.perf_counter()), self._tick)

    async def run(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self.end_early)
        self.conns = [await self.connect() for _ in range(self.n_conns)]
        self.finished = loop.create_future()
        self.started = time.perf_counter()
        self.deadline = self.started + self.duration
        if self.rate:
            self.idle = list(self.conns)
            self._tick()
        else:
            for conn in self.conns:
                conn.send(self.source.next(), 0.0)
            loop.call_later(self.duration, self._stop)
        try:
            await asyncio.wait_for(self.finished, self.duration + 30.0)
        except TimeoutError:
            pass
        elapsed = time.perf_counter() - self.started
        for conn in self.conns:
            if conn.transport is not None:
                conn.transport.close()
        return self.report(elapsed)

    def _stop(self) -> None:
        self.stopping = True
        self._maybe_finish()

    def end_early(self) -> None:
        """End the run now, as its duration would have (SIGUSR1): what was scheduled is still answered."""
        self.deadline = min(self.deadline, time.perf_counter())
        if not self.rate:
            self._stop()

    def report(self, elapsed: float) -> dict[str, Any]:
        s = self.stats
        total = sum(s.status.values())
        # Closed loop: throughput over the measured window; open loop: the achieved rate.
        window = self.duration if not self.rate else elapsed
        out: dict[str, Any] = {
            "generator": "python-uvloop" + ("-open-loop" if self.rate else ""),
            "mode": "constant-rate" if self.rate else "closed-loop",
            "target_rate": self.rate or None,
            "connections": self.n_conns,
            "duration_s": round(elapsed, 3),
            "requests": total,
            "rps": round(total / window, 1) if window else 0.0,
            "status": {str(k): v for k, v in sorted(s.status.items())},
            "non_2xx": sum(v for k, v in s.status.items() if not 200 <= k < 300),
            "socket_errors": s.socket_errors,
            "reconnects": s.reconnects,
            "error_samples": {str(k): v for k, v in s.error_samples.items()},
            "pool_wrapped": self.source.wrapped,
            "latency_ms": summarize(s.latencies),
            "histogram": histogram(s.latencies),
        }
        if self.rate:
            out["service_latency_ms"] = summarize(s.service)
            out["generator_lag_ms"] = summarize(s.lag)
            out["backlog_left"] = len(self.backlog)
            out["overloaded"] = self.overloaded
            out["dropped_unsent"] = self.dropped
        return out


def write_samples(path: Path, starts: list[float], latencies: list[float]) -> None:
    """Every answer's start time and latency (seconds): ``len`` float64 starts, then as many latencies."""
    data = array("d", starts)
    data.extend(latencies)
    if sys.byteorder != "little":  # pragma: no cover
        data.byteswap()
    path.write_bytes(data.tobytes())


def read_samples(path: Path) -> tuple[list[float], list[float]]:
    """(starts, latencies) written by :func:`write_samples`."""
    data = array("d")
    data.frombytes(path.read_bytes())
    if sys.byteorder != "little":  # pragma: no cover
        data.byteswap()
    half = len(data) // 2
    return list(data[:half]), list(data[half:])


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return math.nan
    k = min(len(sorted_values) - 1, max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


def summarize(values: list[float]) -> dict[str, float]:
    v = sorted(values)
    if not v:
        return {}
    ms = 1000.0
    return {
        "p50": round(percentile(v, 50) * ms, 3),
        "p90": round(percentile(v, 90) * ms, 3),
        "p99": round(percentile(v, 99) * ms, 3),
        "p99.9": round(percentile(v, 99.9) * ms, 3),
        "max": round(v[-1] * ms, 3),
        "mean": round(sum(v) / len(v) * ms, 3),
        "samples": len(v),
    }


def histogram(values: list[float]) -> dict[str, list[float]]:
    """Counts in log-spaced bins (ms) from HIST_LO_MS to HIST_HI_MS, for the plots."""
    lo, hi = math.log10(HIST_LO_MS), math.log10(HIST_HI_MS)
    edges = [10 ** (lo + (hi - lo) * i / HIST_BINS) for i in range(HIST_BINS + 1)]
    counts = [0] * HIST_BINS
    for value in values:
        ms = value * 1000.0
        i = int((math.log10(max(ms, HIST_LO_MS)) - lo) / (hi - lo) * HIST_BINS)
        counts[min(max(i, 0), HIST_BINS - 1)] += 1
    return {"edges_ms": [round(e, 5) for e in edges], "counts": counts}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pool-a", type=Path, required=True)
    ap.add_argument("--a-unique", action="store_true")
    ap.add_argument("--pool-b", type=Path)
    ap.add_argument("--b-unique", action="store_true")
    ap.add_argument("--every", type=int, default=0)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=0.0, help="requests/s (open loop); 0 = closed loop")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--samples-out", type=Path, help="every answer's start time and latency (write_samples)")
    ap.add_argument("--max-backlog", type=float, default=2.0,
                    help="open loop: stop (overloaded) when this many seconds' worth of requests wait (default 2)")
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("loadgen: only loopback targets are allowed", file=sys.stderr)
        return 2
    if not (0 < args.duration <= 3600):
        print("loadgen: --duration must be in (0, 3600] seconds", file=sys.stderr)
        return 2
    source = Source(
        read_pool(args.pool_a), args.a_unique, read_pool(args.pool_b) if args.pool_b else None,
        args.b_unique, args.every,
    )
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a server dependency
        runner = asyncio.run
    generator = Generator(args.host, args.port, source, args.connections, args.duration, args.rate, args.max_backlog)
    result = runner(generator.run())
    if args.samples_out:
        write_samples(args.samples_out, generator.stats.starts, generator.stats.latencies)
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2)
    if args.out:
        args.out.write_bytes(text)
    else:
        sys.stdout.buffer.write(text + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
