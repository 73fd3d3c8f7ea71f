"""SQL of the background-jobs runtime (:mod:`strongroom.jobs`, :class:`strongroom.store.base.JobsTx`):
periodic-job leases and the work queue.

One text per statement for SQLite and PostgreSQL; the only dialect difference is how a claim
locks: PostgreSQL selects with ``FOR UPDATE SKIP LOCKED`` (claimers on other connections skip
each other's rows and never wait), SQLite needs nothing (every write transaction holds the
database's single write lock from ``BEGIN IMMEDIATE``).

A claim of a work item is fenced by ``(holder, attempts)``: every claim increments ``attempts``,
so a holder that lost its item (its lease expired and another process reclaimed it) can no
longer complete, retry or release it.
"""

from __future__ import annotations

from collections.abc import Sequence

from strongroom.store.base import Executor, Row
from strongroom.store.records import ItemRow, LeaseRow

_ITEM_COLUMNS = "id, kind, dedupe_key, payload, attempts, max_attempts"


def _marks(start: int, count: int) -> str:
    return ", ".join(f"${i}" for i in range(start, start + count))


def _item(row: Row) -> ItemRow:
    return ItemRow(
        id=int(row["id"]), kind=row["kind"], dedupe_key=row["dedupe_key"], payload=row["payload"],
        attempts=int(row["attempts"]), max_attempts=int(row["max_attempts"]),
    )


class SqlJobs:
    """Job queries over one executor (inside a store read or write transaction)."""

    __slots__ = ("x",)

    def __init__(self, executor: Executor) -> None:
        self.x = executor

    # --- periodic-job leases ---------------------------------------------------------------
    async def lease(self, name: str) -> LeaseRow | None:
        row = await self.x.fetchrow(
            "SELECT name, holder, expires_at, next_run_at FROM job_leases WHERE name = $1", name
        )
        return LeaseRow(row["name"], row["holder"], row["expires_at"], row["next_run_at"]) if row else None

    async def take_lease(
        self, name: str, holder: str, now: float, expires_at: float, next_run_at: float | None
    ) -> LeaseRow | None:
        """Acquire, renew or release a lease: the one conditional upsert of every lease change.

        The row becomes ``holder``'s until ``expires_at`` if there is none, if ``holder`` has it
        already, or if its holder's lease has expired at ``now``; otherwise nothing changes and
        None is returned. ``next_run_at`` None keeps the stored schedule (a new row: due at
        ``now``). A release is a take with ``expires_at`` 0: anyone may take it at once.
        """
        row = await self.x.fetchrow(
            "INSERT INTO job_leases (name, holder, expires_at, next_run_at) VALUES ($1, $2, $4, $6) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, "
            "next_run_at = COALESCE($5, job_leases.next_run_at) "
            "WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= $3 "
            "RETURNING name, holder, expires_at, next_run_at",
            name, holder, now, expires_at, next_run_at, now if next_run_at is None else next_run_at,
        )
        return LeaseRow(row["name"], row["holder"], row["expires_at"], row["next_run_at"]) if row else None

    # --- the work queue ----------------------------------------------------------------------
    async def enqueue(
        self, kind: str, key: str, payload: str, run_at: float, max_attempts: int, now: float
    ) -> bool:
        """Add a pending item; False when ``(kind, key)`` already has one (then that one stands)."""
        return (
            await self.x.execute(
                "INSERT INTO job_items (kind, dedupe_key, payload, state, run_at, max_attempts, created_at) "
                "VALUES ($1, $2, $3, 'pending', $4, $5, $6) "
                "ON CONFLICT (kind, dedupe_key) WHERE state = 'pending' DO NOTHING",
                kind, key, payload, run_at, max_attempts, now,
            )
            == 1
        )

    @staticmethod
    def _claimable(kinds: Sequence[str], first: int) -> str:
        """Items of ``kinds`` (parameters from ``$first``) due at ``$1``: pending and due, or running
        under an expired lease (their holder died or stalled)."""
        return (
            f"kind IN ({_marks(first, len(kinds))}) AND ((state = 'pending' AND run_at <= $1) "
            "OR (state = 'running' AND lease_expires_at <= $1))"
        )

    async def any_claimable(self, kinds: Sequence[str], now: float) -> bool:
        """Whether :meth:`claim` would find anything (a read: lets an idle poll commit nothing)."""
        row = await self.x.fetchrow(
            f"SELECT 1 AS due FROM job_items WHERE {self._claimable(kinds, 2)} LIMIT 1", now, *kinds
        )
        return row is not None

    async def claim(
        self, kinds: Sequence[str], holder: str, now: float, lease_until: float, limit: int
    ) -> tuple[list[ItemRow], list[ItemRow]]:
        """Claim up to ``limit`` due items for ``holder`` until ``lease_until``, oldest ``run_at`` first.

        Returns (claimed, given up): a reclaimed item whose holder's lease expired during its last
        allowed attempt is marked failed instead, its reason recorded.
        """
        lock = " FOR UPDATE SKIP LOCKED" if self.x.dialect == "postgres" else ""
        rows = await self.x.fetch(
            f"SELECT {_ITEM_COLUMNS}, state, holder FROM job_items WHERE {self._claimable(kinds, 3)} "
            f"ORDER BY run_at, id LIMIT $2{lock}",
            now, limit, *kinds,
        )
        exhausted = [r for r in rows if int(r["attempts"]) >= int(r["max_attempts"])]
        runnable = [int(r["id"]) for r in rows if int(r["attempts"]) < int(r["max_attempts"])]
        given_up = []
        for r in exhausted:
            error = f"the lease of {r['holder']} expired during attempt {r['attempts']} (holder stopped)"
            await self.x.execute(
                "UPDATE job_items SET state = 'failed', last_error = $2, finished_at = $3, holder = NULL, "
                "lease_expires_at = NULL WHERE id = $1",
                r["id"], error, now,
            )
            given_up.append(_item(r))
        if not runnable:
            return [], given_up
        claimed = await self.x.fetch(
            "UPDATE job_items SET state = 'running', holder = $1, lease_expires_at = $2, attempts = attempts + 1 "
            f"WHERE id IN ({_marks(3, len(runnable))}) RETURNING {_ITEM_COLUMNS}",
            holder, lease_until, *runnable,
        )
        by_id = {int(r["id"]): _item(r) for r in claimed}
        return [by_id[i] for i in runnable if i in by_id], given_up

    async def renew_items(self, ids: Sequence[int], holder: str, lease_until: float) -> int:
        """Extend the leases of ``holder``'s running items ``ids``; returns how many it still holds."""
        if not ids:
            return 0
        return await self.x.execute(
            "UPDATE job_items SET lease_expires_at = $2 WHERE holder = $1 AND state = 'running' "
            f"AND id IN ({_marks(3, len(ids))})",
            holder, lease_until, *ids,
        )

    _MINE = "id = $1 AND holder = $2 AND attempts = $3 AND state = 'running'"

    async def complete(self, item: ItemRow, holder: str, now: float) -> bool:
        """Mark a claimed item done; False if the claim was lost (reclaimed elsewhere)."""
        return (
            await self.x.execute(
                "UPDATE job_items SET state = 'done', finished_at = $4, holder = NULL, lease_expires_at = NULL "
                f"WHERE {self._MINE}",
                item.id, holder, item.attempts, now,
            )
            == 1
        )

    async def give_up(self, item: ItemRow, holder: str, error: str, now: float) -> bool:
        """Mark a claimed item failed for good, keeping ``error``."""
        return (
            await self.x.execute(
                "UPDATE job_items SET state = 'failed', last_error = $4, finished_at = $5, holder = NULL, "
                f"lease_expires_at = NULL WHERE {self._MINE}",
                item.id, holder, item.attempts, error, now,
            )
            == 1
        )

    async def to_pending(
        self, item: ItemRow, holder: str, run_at: float, error: str | None, refund: bool
    ) -> bool:
        """Hand a claimed item back to the queue, due at ``run_at``: a retry (``error`` kept) or,
        with ``refund``, an attempt that was interrupted and does not count.

        If ``(kind, key)`` got a new pending item meanwhile, that one stands for the same work and
        this one is dropped (only one pending item per key). Under PostgreSQL a concurrent enqueue
        of that key can still win between the two statements: the UPDATE then raises
        :class:`~strongroom.store.base.Conflict`, and the caller retries the transaction.
        """
        args = (item.id, holder, item.attempts)
        if await self.x.execute(
            f"DELETE FROM job_items WHERE {self._MINE} AND EXISTS (SELECT 1 FROM job_items t WHERE "
            "t.kind = job_items.kind AND t.dedupe_key = job_items.dedupe_key AND t.state = 'pending')",
            *args,
        ):
            return True
        return (
            await self.x.execute(
                "UPDATE job_items SET state = 'pending', holder = NULL, lease_expires_at = NULL, run_at = $4, "
                f"last_error = COALESCE($5, last_error), attempts = attempts - $6 WHERE {self._MINE}",
                *args, run_at, error, 1 if refund else 0,
            )
            == 1
        )

    _FINISHED_BEFORE = "state = 'done' AND finished_at < $1"

    async def any_prunable(self, before: float) -> bool:
        row = await self.x.fetchrow(f"SELECT 1 AS due FROM job_items WHERE {self._FINISHED_BEFORE} LIMIT 1", before)
        return row is not None

    async def prune(self, before: float, limit: int) -> int:
        """Delete at most ``limit`` items done before ``before``; returns how many."""
        lock = " FOR UPDATE SKIP LOCKED" if self.x.dialect == "postgres" else ""
        return await self.x.execute(
            "DELETE FROM job_items WHERE id IN (SELECT id FROM job_items "
            f"WHERE {self._FINISHED_BEFORE} ORDER BY finished_at LIMIT $2{lock})",
            before, limit,
        )
