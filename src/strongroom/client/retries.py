"""AWS's standard retry mode, as botocore 1.44 implements it (``botocore/retries/standard.py``).

- Retried: throttling errors (the throttling codes below, or HTTP 429 with a code the operation
  does not model), transient errors (HTTP 500/502/503/504, ``RequestTimeout``,
  ``RequestTimeoutException``, ``PriorRequestNotComplete``) and connection errors or timeouts.
- At most ``max_attempts`` attempts (3 by default).
- Before retry ``i`` (1-based) it waits ``random() * min(base * 2 ** (i - 1), 20)`` seconds, with
  base 1 s after a throttling error and 50 ms otherwise; an ``x-amz-retry-after`` header (ms)
  raises the wait to that value, by at most 5 s.
- A retry quota per client: 500 units; a retry costs 14 (5 after throttling); a call that
  succeeds gives back what its last retry cost, or 1 if it needed none. An empty quota means
  no more retries until calls succeed again.
"""

from __future__ import annotations

import enum
import random
import threading
from collections.abc import Callable, Mapping

from strongroom.client.errors import ClientError, SdkError, TransportError

DEFAULT_MAX_ATTEMPTS = 3

THROTTLING_CODES = frozenset(
    {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    }
)  # fmt: skip
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
THROTTLING_STATUS = 429

MAX_BACKOFF_S = 20.0
THROTTLING_BASE_S = 1.0
TRANSIENT_BASE_S = 0.05
RETRY_AFTER_HEADER = "x-amz-retry-after"
RETRY_AFTER_MAX_EXTRA_S = 5.0

QUOTA_CAPACITY = 500
RETRY_COST = 14
THROTTLING_RETRY_COST = 5
NO_RETRY_INCREMENT = 1


class RetryKind(enum.Enum):
    THROTTLING = "throttling"
    TRANSIENT = "transient"


def classify(error: SdkError, modeled_errors: frozenset[str]) -> RetryKind | None:
    """Whether a failed attempt may be retried, and as which kind; None: it may not."""
    if isinstance(error, TransportError):
        return RetryKind.TRANSIENT
    if not isinstance(error, ClientError):
        return None
    if error.code in THROTTLING_CODES or (error.status == THROTTLING_STATUS and error.code not in modeled_errors):
        return RetryKind.THROTTLING
    if error.code in TRANSIENT_CODES or error.status in TRANSIENT_STATUSES:
        return RetryKind.TRANSIENT
    return None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get(RETRY_AFTER_HEADER)
    try:
        value = int(raw) / 1000.0 if raw is not None else None
    except (ValueError, OverflowError):
        return None
    return value if value is not None and value >= 0 else None


class RetryQuota:
    """The client's retry token bucket (thread-safe)."""

    def __init__(self, capacity: int = QUOTA_CAPACITY) -> None:
        self._max = capacity
        self.available = capacity
        self._lock = threading.Lock()

    def acquire(self, amount: int) -> bool:
        with self._lock:
            if amount > self.available:
                return False
            self.available -= amount
            return True

    def release(self, amount: int) -> None:
        if self.available == self._max:
            return
        with self._lock:
            self.available = min(self._max, self.available + amount)


class StandardRetry:
    """Decides whether and when to retry a failed attempt; one per client."""

    def __init__(
        self,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        quota: RetryQuota | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self.max_attempts = max_attempts
        self.quota = quota or RetryQuota()
        self._random = rand

    def retry_delay(self, error: SdkError, attempt: int, modeled_errors: frozenset[str]) -> tuple[float, int] | None:
        """After attempt ``attempt`` (1-based) failed with ``error``: (seconds to wait, quota units
        taken) if it is to be retried, else None."""
        kind = classify(error, modeled_errors)
        if kind is None or attempt >= self.max_attempts:
            return None
        cost = THROTTLING_RETRY_COST if kind is RetryKind.THROTTLING else RETRY_COST
        if not self.quota.acquire(cost):
            return None
        base = THROTTLING_BASE_S if kind is RetryKind.THROTTLING else TRANSIENT_BASE_S
        delay = self._random() * min(base * 2 ** (attempt - 1), MAX_BACKOFF_S)
        headers = error.metadata.headers if isinstance(error, ClientError) and error.metadata else {}
        retry_after = _retry_after(headers)
        if retry_after is not None:
            delay = max(delay, min(retry_after, delay + RETRY_AFTER_MAX_EXTRA_S))
        return delay, cost

    def succeeded(self, last_cost: int | None) -> None:
        """A call succeeded: give back its last retry's cost, or the no-retry increment."""
        self.quota.release(last_cost if last_cost is not None else NO_RETRY_INCREMENT)
