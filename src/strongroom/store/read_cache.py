"""The GetSecretValue read cache of one process, for every backend: rows kept while nothing has committed.

Each backend supplies its "changed?" check: a coroutine answering a value that changes whenever
any transaction commits (SQLite: ``PRAGMA data_version`` of the read connection, no I/O;
PostgreSQL: ``txid_current_snapshot()``, one round trip). The cache is emptied by every commit of
this process (:meth:`ReadCache.clear`, called by the store's ``write()``) and whenever the check's
answer differs from the one the entries were filed under.

When a request may use the cache: only after a check *that started after its bytes arrived*
found the answer the cache was filled under. Every request that asks during one event-loop
iteration arrived before that iteration began, so they all share one check started in it:

* a check that ends within its own iteration (SQLite's always does) serves the rest of that
  iteration; its validity ends with a callback scheduled (``call_soon``) when it started, which
  runs after every task step that was queued before the check;
* requests arriving while a check of their iteration is still in flight wait for it (a future
  each); a request of a later iteration starts its own check even while an older one is in flight.

A changed answer empties the cache; a read that was in flight meanwhile is not stored
(``generation``), and a read is stored only if it started after the check it relies on, so an
entry is never older than the answer it is filed under. Checks that end out of order only empty
the cache more often. A failed check fails the request that ran it (as a failed read would); the
requests that joined it read the database.

Entries are kept in insertion order and the oldest goes first when full; rows are shared between
requests, so callers must not modify them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from strongroom.store.base import Executor
from strongroom.store.records import SecretWithVersion
from strongroom.store.sql.secrets import SqlSecrets

#: What :meth:`ReadCache.get` answers for a key it does not hold.
MISS = object()
#: A backend's "changed?" check: its answer changes whenever any transaction commits.
Check = Callable[[], Awaitable[object]]
Key = tuple[str | None, ...]


class ReadCache:
    """GetSecretValue reads of one process, used only while no transaction has committed since."""

    __slots__ = ("_found", "_size", "enabled", "_epoch", "_generation", "_waiters", "fresh", "hits", "misses",
                 "checks")

    def __init__(self, size: int) -> None:
        self._found: dict[Key, SecretWithVersion] = {}
        self._size = size
        #: Whether there is a cache at all (``size`` above 0).
        self.enabled = size > 0
        self._epoch: object = None
        self._generation = 0
        #: Futures of the requests waiting for the check started in this iteration (None: none pending).
        self._waiters: list[asyncio.Future[bool]] | None = None
        #: A check started and ended in this iteration: the iteration's requests may use the cache.
        self.fresh = False
        self.hits = self.misses = self.checks = 0

    @property
    def generation(self) -> int:
        return self._generation

    def clear(self) -> None:
        """Forget everything, the check's answer too (a commit of this process, or a changed answer)."""
        self._found.clear()
        self._epoch = None
        self._generation += 1
        self.fresh = False

    def _end_iteration(self) -> None:
        self._waiters = None
        self.fresh = False

    async def usable(self, check: Check) -> bool:
        """Whether this request may use the cache: the iteration's check, run (``check``) or joined."""
        if self.fresh:
            return True
        waiters = self._waiters
        if waiters is not None:  # a check started in this iteration, after this request arrived
            waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            waiters.append(waiter)
            return await waiter  # cancelling this request cancels only its own future
        waiters = self._waiters = []
        asyncio.get_running_loop().call_soon(self._end_iteration)
        ok = False
        try:
            current = await check()
            self.checks += 1
            if current != self._epoch:
                self.clear()
                self._epoch = current
            ok = True
        finally:  # also when the check fails or this request is cancelled: the others go to the database
            if self._waiters is waiters:  # ended within its own iteration: it serves the rest of it
                self._waiters = None
                self.fresh = ok
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(ok)
        return ok

    def get(self, key: Key) -> object:
        """The cached read for ``key``, or :data:`MISS`."""
        hit = self._found.get(key, MISS)
        if hit is MISS:
            self.misses += 1
        else:
            self.hits += 1
        return hit

    def put(self, key: Key, found: SecretWithVersion, generation: int) -> None:
        """Store a read that started at ``generation`` (dropped if the cache was emptied since)."""
        if generation != self._generation:
            return
        if key not in self._found and len(self._found) >= self._size:  # concurrent misses put one key twice
            del self._found[next(iter(self._found))]
        self._found[key] = found


class CachedSecrets(SqlSecrets):
    """A read's :class:`~strongroom.store.base.SecretsTx` whose GetSecretValue read goes through a cache."""

    __slots__ = ("_cache", "_check")

    def __init__(self, executor: Executor, cache: ReadCache, check: Check) -> None:
        super().__init__(executor)
        self._cache = cache
        self._check = check

    async def get_secret_with_version(
        self, account: str, region: str, *, name: str | None, arn: str | None, version_id: str | None,
        stage: str | None,
    ) -> SecretWithVersion:
        cache = self._cache
        if not cache.enabled or (not cache.fresh and not await cache.usable(self._check)):
            return await super().get_secret_with_version(
                account, region, name=name, arn=arn, version_id=version_id, stage=stage
            )
        key = (account, region, name, arn, version_id, stage)
        hit = cache.get(key)
        if hit is not MISS:
            return hit  # type: ignore[return-value]
        generation = cache.generation  # the read starts now, after the check that validated it
        found = await super().get_secret_with_version(
            account, region, name=name, arn=arn, version_id=version_id, stage=stage
        )
        cache.put(key, found, generation)
        return found
