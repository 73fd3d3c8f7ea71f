"""The policy both secret caches share: entries, freshness, refresh ahead of expiry, single flight,
stale values within a bound, backoff after failures, LRU eviction. No I/O: what to fetch is a
*plan* (a generator that yields request objects and receives their results), and a cache form
(:class:`~strongroom.client.cache.AsyncSecretCache` on asyncio, :class:`~strongroom.client.cache.SecretCache`
on the futures client) runs plans and waits on flights in its own way.

An entry, per (secret id, version stage), moves through these states (``now`` from a monotonic clock):

- fresh (``now < refresh_at``): served as is. This is the hit path (:meth:`CacheCore.fresh`):
  one dict lookup, one clock read and one comparison, no lock.
- refresh ahead (``refresh_at <= now < expires_at``): served, and one background refresh starts.
- expired (``expires_at <= now``): readers wait for one refresh, all of them on the same flight.
- refresh failed, within ``max_stale`` of expiry: the last good value is served; a new attempt
  starts in the background once the backoff delay has passed.
- no servable value (never loaded, past the staleness bound, or dropped after a definitive
  error): readers wait for one fetch; during the backoff after a failure they get its error.

A refresh is DescribeSecret: if the stage's version id is the cached one, the value is kept;
otherwise GetSecretValue fetches the stage's new version. A first load is one GetSecretValue.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Generic, TypeVar

from strongroom.client import stages
from strongroom.client._base import Shape
from strongroom.client.cache.config import SecretCacheConfig
from strongroom.client.errors import ClientError
from strongroom.client.shapes import DescribeSecretRequest, GetSecretValueRequest, GetSecretValueResponse

F = TypeVar("F")
Key = tuple[str, str]
#: What a reader gets: the value, or the error to raise.
Outcome = GetSecretValueResponse | BaseException
#: The steps of one fetch: yields requests, receives their results, returns the new value or None
#: when the cached version is still the stage's version.
Plan = Generator[Shape, Any, GetSecretValueResponse | None]

#: Answers that say the secret can no longer be read by this caller (deleted, scheduled for
#: deletion, access revoked, its key unusable, the stage gone): the cached value is dropped at
#: once instead of being served stale.
DEFINITIVE_ERRORS = frozenset(
    {"ResourceNotFoundException", "AccessDeniedException", "InvalidRequestException", "DecryptionFailure"}
)
_NEVER: tuple[float, GetSecretValueResponse] = (-math.inf, GetSecretValueResponse())


def is_definitive(error: BaseException) -> bool:
    return isinstance(error, ClientError) and error.code in DEFINITIVE_ERRORS


def fetch_plan(secret_id: str, version_stage: str, known_version: str | None) -> Plan:
    """Revalidate ``known_version`` with DescribeSecret and fetch only a changed version; without
    a known version, fetch the stage's version directly. A secret marked for deletion is fetched
    too (DescribeSecret still answers for it), so the service's refusal reaches the cache."""
    if known_version is not None:
        described = yield DescribeSecretRequest(secret_id=secret_id)
        if described.deleted_date is None and stages.version_with(described, version_stage) == known_version:
            return None
    fetched: GetSecretValueResponse = yield GetSecretValueRequest(secret_id=secret_id, version_stage=version_stage)
    return fetched


def unwrap(outcome: Outcome) -> GetSecretValueResponse:
    """The value, or raise the error (with a fresh traceback: one error object may be raised to
    many readers, and re-raising it would grow its traceback each time)."""
    if isinstance(outcome, BaseException):
        raise outcome.with_traceback(None)
    return outcome


class Entry(Generic[F]):
    """The state of one (secret id, version stage). Written under the core's lock; ``fresh`` is
    one tuple so the lock-free hit path always reads a deadline and value that belong together."""

    __slots__ = ("key", "fresh", "value", "version_id", "expires_at", "stale_until", "last_used",
                 "error", "failures", "retry_at", "flight")  # fmt: skip

    def __init__(self, key: Key, now: float) -> None:
        self.key = key
        self.fresh = _NEVER  # (refresh_at, value): served without any work while now < refresh_at
        self.value: GetSecretValueResponse | None = None  # the last good value
        self.version_id: str | None = None
        self.expires_at = -math.inf
        self.stale_until = -math.inf
        self.last_used = now
        self.error: BaseException | None = None  # the last failure, None after a success
        self.failures = 0  # failures in a row
        self.retry_at = -math.inf  # no new attempt before this after a failure
        self.flight: F | None = None  # the fetch in progress


@dataclass(frozen=True, slots=True)
class Launch(Generic[F]):
    """A fetch to start once the core's lock is released: run ``plan``, then settle ``flight``."""

    entry: Entry[F]
    plan: Plan
    flight: F


@dataclass(frozen=True, slots=True)
class Step(Generic[F]):
    """What a reader does next: return or raise ``outcome``, or wait for ``flight`` (whose result is
    an Outcome); first start ``launch`` if there is one."""

    outcome: Outcome | None = None
    flight: F | None = None
    launch: Launch[F] | None = None


class CacheCore(Generic[F]):
    """The entries and every decision about them. Thread-safe; ``new_flight`` makes the object
    readers wait on (an asyncio or a concurrent.futures Future), which the cache form completes
    with :meth:`settle`'s outcome."""

    def __init__(
        self,
        config: SecretCacheConfig,
        new_flight: Callable[[], F],
        clock: Callable[[], float],
        random: Callable[[], float],
    ) -> None:
        self.config = config
        self._new_flight = new_flight
        self._clock = clock
        self._random = random
        self._entries: dict[Key, Entry[F]] = {}
        self._lock = threading.Lock()

    def fresh(self, secret_id: str, version_stage: str | None) -> GetSecretValueResponse | None:
        """The hit path: the value when it is fresh, else None (then call :meth:`step`)."""
        entry = self._entries.get((secret_id, version_stage or self.config.default_version_stage))
        if entry is not None:
            refresh_at, value = entry.fresh
            now = self._clock()
            if now < refresh_at:
                entry.last_used = now
                return value
        return None

    def step(self, secret_id: str, version_stage: str | None) -> Step[F]:
        """What a reader of (secret id, stage) does when the hit path missed."""
        key = (secret_id, version_stage or self.config.default_version_stage)
        with self._lock:
            now = self._clock()
            entry = self._entries.get(key) or self._insert(key, now)
            entry.last_used = now
            value = self._servable(entry, now)
            if value is not None:
                background = entry.flight is None and now >= entry.retry_at and now >= entry.fresh[0]
                return Step(outcome=value, launch=self._launch(entry) if background else None)
            if entry.flight is not None:
                return Step(flight=entry.flight)
            if entry.error is not None and now < entry.retry_at:
                return Step(outcome=entry.error)
            launch = self._launch(entry)
            return Step(flight=launch.flight, launch=launch)

    def in_flight(self, secret_id: str, version_stage: str | None) -> F | None:
        entry = self._entries.get((secret_id, version_stage or self.config.default_version_stage))
        return entry.flight if entry is not None else None

    def expire(self, secret_id: str, version_stage: str | None) -> None:
        """Make the next read of (secret id, stage) revalidate, even during a backoff delay; the
        staleness bound still counts from the original expiry."""
        with self._lock:
            entry = self._entries.get((secret_id, version_stage or self.config.default_version_stage))
            if entry is not None:
                entry.fresh, entry.expires_at = _NEVER, -math.inf
                entry.error, entry.retry_at = None, -math.inf

    def settle(self, entry: Entry[F], result: GetSecretValueResponse | BaseException | None) -> Outcome:
        """Record a fetch's result (a new value, None for "version unchanged", or its error) and
        return what the readers waiting on it get."""
        with self._lock:
            now = self._clock()
            entry.flight = None
            if isinstance(result, BaseException):
                return self._failed(entry, result, now)
            if result is not None:
                entry.value, entry.version_id = result, result.version_id
            value = entry.value
            assert value is not None, "an unchanged version needs a cached value"
            ttl = self.config.secret_refresh_interval
            entry.error, entry.failures, entry.retry_at = None, 0, -math.inf
            entry.expires_at = now + ttl
            entry.stale_until = entry.expires_at + self.config.max_stale
            # refresh ahead from a point drawn in the first half of the window, spreading the refreshes
            # of many processes that loaded the secret at the same moment
            ahead = self.config.refresh_ahead * (1 - self._random() / 2)
            entry.fresh = (now + ttl * (1 - ahead), value)
            return value

    def abandon(self, entry: Entry[F]) -> None:
        """A fetch was cancelled (the cache is closing): the entry has no flight any more."""
        with self._lock:
            entry.flight = None

    def __len__(self) -> int:
        return len(self._entries)

    # --- under the lock -------------------------------------------------------------------------
    def _insert(self, key: Key, now: float) -> Entry[F]:
        if len(self._entries) >= self.config.max_cache_size:
            del self._entries[min(self._entries.values(), key=attrgetter("last_used")).key]
        entry: Entry[F] = Entry(key, now)
        self._entries[key] = entry
        return entry

    @staticmethod
    def _servable(entry: Entry[F], now: float) -> GetSecretValueResponse | None:
        if entry.value is None:
            return None
        if now < entry.expires_at or (entry.error is not None and now < entry.stale_until):
            return entry.value
        return None

    def _launch(self, entry: Entry[F]) -> Launch[F]:
        known = entry.version_id if entry.value is not None else None
        entry.flight = self._new_flight()
        return Launch(entry, fetch_plan(entry.key[0], entry.key[1], known), entry.flight)

    def _failed(self, entry: Entry[F], error: BaseException, now: float) -> Outcome:
        entry.error = error
        entry.failures += 1
        entry.retry_at = now + self.config.retry_delay(entry.failures)
        if is_definitive(error):
            entry.fresh, entry.value, entry.version_id = _NEVER, None, None
            entry.expires_at = entry.stale_until = -math.inf
        return self._servable(entry, now) or error
