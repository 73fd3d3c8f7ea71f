"""The pure parts of the replication benchmark: markers in values, lag bookkeeping, write plans.

Every PutSecretValue of the lag measurement carries a marker in its value: the secret's own
write sequence number (:func:`marked_value`). A poller reading the replica learns from the
marker of the value it sees which writes of that secret have arrived: delivery is state (the
replica is made equal to the primary's latest state), so seeing write ``k`` of a secret means
every write ``<= k`` of it arrived too (:meth:`LagTracker.seen`). Nothing here reads a clock or
the network: the caller passes the times.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import orjson

#: The value's key holding the marker (the write's sequence number within its secret).
MARKER = "bench_seq"


def marked_value(seq: int, pad: str = "") -> str:
    """A JSON SecretString carrying ``seq`` (and ``pad``, to give the value a realistic size)."""
    return orjson.dumps({MARKER: seq, "pad": pad}).decode()


def marker_of(value: str | None) -> int | None:
    """The sequence number in a value made by :func:`marked_value`; None for any other value."""
    if not value or MARKER not in value:
        return None
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    seq = doc.get(MARKER) if isinstance(doc, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


@dataclass
class Write:
    """One PutSecretValue: its secret, its sequence number within that secret and its times."""

    secret: str
    seq: int
    sent: float
    acked: float | None = None
    failed: str | None = None
    seen: float | None = None

    @property
    def lag(self) -> float | None:
        """Seconds from the primary's acknowledgement to the first replica read that showed it."""
        if self.acked is None or self.seen is None:
            return None
        return self.seen - self.acked


@dataclass
class LagTracker:
    """Writes per secret, and what the replica's reads showed of them."""

    #: the first sequence number of every secret (a later run starts above an earlier one's, so a
    #: replica still showing an earlier run's value is never taken for this run's write)
    first_seq: int = 1
    writes: list[Write] = field(default_factory=list)
    _by_secret: dict[str, list[Write]] = field(default_factory=dict)
    _next_seq: dict[str, int] = field(default_factory=dict)
    #: secrets with a write not yet seen (the poller reads only these)
    _pending: dict[str, int] = field(default_factory=dict)

    def start(self, secret: str, sent: float) -> Write:
        """Record a write about to be sent; its ``seq`` is the secret's next sequence number."""
        seq = self._next_seq.get(secret, self.first_seq)
        self._next_seq[secret] = seq + 1
        write = Write(secret, seq, sent)
        self.writes.append(write)
        self._by_secret.setdefault(secret, []).append(write)
        self._pending[secret] = self._pending.get(secret, 0) + 1
        return write

    def acked(self, write: Write, at: float) -> None:
        write.acked = at

    def failed(self, write: Write, why: str) -> None:
        """A write the primary refused or never answered: it is not waited for."""
        write.failed = why
        if write.seen is None:
            self._unpend(write.secret)

    def _unpend(self, secret: str) -> None:
        left = self._pending.get(secret, 0) - 1
        if left > 0:
            self._pending[secret] = left
        else:
            self._pending.pop(secret, None)

    def seen(self, secret: str, seq: int, at: float) -> int:
        """The replica showed write ``seq`` of ``secret`` at ``at``: it and every earlier write of the
        secret have arrived. Returns how many writes this observation saw first."""
        count = 0
        for write in self._by_secret.get(secret, ()):
            if write.seq <= seq and write.seen is None and write.failed is None:
                write.seen = at
                count += 1
                self._unpend(secret)
        return count

    def pending(self) -> list[str]:
        """Secrets with a write sent and not yet seen on the replica."""
        return list(self._pending)

    def summary(self) -> dict[str, object]:
        """Counts and lag percentiles (ms). Writes never seen count as infinitely late, so they push
        the percentiles up rather than vanish from them."""
        acked = [w for w in self.writes if w.acked is not None and w.failed is None]
        lags = [w.lag for w in acked if w.lag is not None]
        unseen = len(acked) - len(lags)
        early = sum(1 for lag in lags if lag < 0)
        values = sorted([max(lag, 0.0) for lag in lags] + [math.inf] * unseen)
        write_latency = sorted(w.acked - w.sent for w in acked if w.acked is not None)
        return {
            "writes": len(self.writes),
            "acked": len(acked),
            "failed": sum(1 for w in self.writes if w.failed is not None),
            "seen": len(lags),
            "never_seen": unseen,
            "seen_before_ack": early,
            "lag_ms": percentiles_ms(values),
            "write_latency_ms": percentiles_ms(write_latency),
            "by_second": self.by_second(),
        }

    def by_second(self) -> list[dict[str, object]]:
        """Per second of the run (by send time): writes acknowledged, and their lag's p50 and max in
        ms (None: some never seen). A lag that grows second after second means delivery is slower
        than the writes."""
        acked = [w for w in self.writes if w.acked is not None and w.failed is None]
        if not acked:
            return []
        t0 = min(w.sent for w in acked)
        buckets: dict[int, list[float]] = {}
        for w in acked:
            lag = w.lag
            buckets.setdefault(int(w.sent - t0), []).append(math.inf if lag is None else max(lag, 0.0))
        out: list[dict[str, object]] = []
        for second in sorted(buckets):
            lags = sorted(buckets[second])
            p = percentiles_ms(lags)
            out.append({"second": second, "writes": len(lags), "p50_ms": p["p50"], "max_ms": p["max"]})
        return out


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile ``p`` (0-100) of ascending values; nan when there are none."""
    if not sorted_values:
        return math.nan
    k = min(len(sorted_values) - 1, max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


def percentiles_ms(sorted_seconds: Sequence[float]) -> dict[str, float | None]:
    """p50/p90/p99/p99.9/max in ms of ascending seconds (None where infinite or empty)."""

    def ms(x: float) -> float | None:
        return None if math.isinf(x) or math.isnan(x) else round(x * 1000.0, 3)

    out: dict[str, float | None] = {
        f"p{p:g}": ms(percentile(sorted_seconds, p)) for p in (50, 90, 99, 99.9)
    }
    out["max"] = ms(sorted_seconds[-1]) if sorted_seconds else None
    out["samples"] = len(sorted_seconds)
    return out


def round_robin(names: Sequence[str], count: int) -> list[str]:
    """``count`` secrets to write in turn (each secret once before any twice)."""
    return [names[k % len(names)] for k in range(count)] if names else []


def catchup_plan(names: Sequence[str], count: int, hot_fraction: float = 0.5) -> list[str]:
    """The catch-up writes: every secret once (while ``count`` allows), then the rest round-robin
    over the first ``hot_fraction`` of them, so many secrets change and some change many times."""
    if not names or count <= 0:
        return []
    first = list(names[: min(count, len(names))])
    hot = list(names[: max(1, math.ceil(len(names) * hot_fraction))])
    return first + round_robin(hot, count - len(first))


def per_secret_max(plan: Iterable[str]) -> int:
    """The most writes any one secret gets in ``plan`` (the server keeps ~100 versions a day)."""
    counts: dict[str, int] = {}
    for name in plan:
        counts[name] = counts.get(name, 0) + 1
    return max(counts.values(), default=0)


VersionMap = Mapping[str, Mapping[str, Sequence[str]]]


def normalize_versions(versions: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    """A secret's version id -> staging labels, labels sorted (the order carries no meaning)."""
    return {vid: tuple(sorted(stages)) for vid, stages in (versions or {}).items()}


def differing(expected: VersionMap, actual: VersionMap) -> list[str]:
    """Names whose replica's versions and labels differ from the primary's (or that are missing)."""
    return sorted(
        name for name, versions in expected.items()
        if normalize_versions(actual.get(name)) != normalize_versions(versions)
    )


def first_reaching(progress: Sequence[Sequence[float]], share: float, total: int) -> float | None:
    """The first time in ``progress`` ((seconds, replicas equal) per listing) at which at least
    ``share`` of ``total`` replicas were equal; None if never."""
    need = math.ceil(share * total) if share > 0 else 1
    return next((float(t) for t, equal in progress if equal >= need), None)


def median_ratio(rounds: Sequence[Mapping[str, float | None]], top: str, bottom: str) -> float | None:
    """The median over rounds of ``round[top] / round[bottom]`` (rounds missing either are left out):
    two things measured in the same minutes compare better than two medians of minutes apart."""
    ratios = sorted(
        float(r[top]) / float(r[bottom])  # type: ignore[arg-type]
        for r in rounds if r.get(top) is not None and r.get(bottom)
    )
    if not ratios:
        return None
    mid = len(ratios) // 2
    return ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2
