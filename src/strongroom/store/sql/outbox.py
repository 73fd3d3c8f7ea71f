"""SQL of the change outbox (:class:`strongroom.store.base.OutboxTx`), table ``outbox_events``.

Events are appended by the transaction that makes the change, so an event exists exactly when its
change committed. Ids grow with insertion; per secret they follow commit order (the change holds
the secret's row lock until it commits), across secrets two transactions may commit out of id
order. An event goes when it is older than the retention and no replication target of its secret
is still behind it.
"""

from __future__ import annotations

from strongroom.store.base import Executor, Row
from strongroom.store.records import OutboxEvent

_COLUMNS = "account, region, secret_id, secret_arn, kind, version_id, created_at, detail"
#: Events older than $1 that no replication target of their secret still waits for.
_PRUNABLE = (
    "o.created_at < $1 AND NOT EXISTS (SELECT 1 FROM replication_targets t "
    "WHERE t.primary_id = o.secret_id AND t.delivered_id < o.id AND t.status <> 'Detached')"
)


def _event(row: Row) -> OutboxEvent:
    return OutboxEvent(
        account=row["account"], region=row["region"], secret_id=int(row["secret_id"]),
        secret_arn=row["secret_arn"], kind=row["kind"], version_id=row["version_id"],
        created_at=row["created_at"], detail=row["detail"], id=int(row["id"]),
    )


class SqlOutbox:
    """Outbox queries over one executor."""

    __slots__ = ("x",)

    def __init__(self, executor: Executor) -> None:
        self.x = executor

    async def append(self, event: OutboxEvent) -> int:
        row = await self.x.fetchrow(
            f"INSERT INTO outbox_events ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            event.account, event.region, event.secret_id, event.secret_arn, event.kind, event.version_id,
            event.created_at, event.detail,
        )
        assert row is not None
        return int(row["id"])

    async def events_after(self, after_id: int, limit: int) -> list[OutboxEvent]:
        rows = await self.x.fetch(
            f"SELECT id, {_COLUMNS} FROM outbox_events WHERE id > $1 ORDER BY id LIMIT $2", after_id, limit
        )
        return [_event(r) for r in rows]

    async def latest_id(self) -> int:
        row = await self.x.fetchrow("SELECT COALESCE(MAX(id), 0) AS latest FROM outbox_events")
        return int(row["latest"]) if row else 0

    async def any_prunable(self, before: float) -> bool:
        row = await self.x.fetchrow(f"SELECT 1 AS due FROM outbox_events o WHERE {_PRUNABLE} LIMIT 1", before)
        return row is not None

    async def prune(self, before: float, limit: int) -> int:
        lock = " FOR UPDATE SKIP LOCKED" if self.x.dialect == "postgres" else ""
        return await self.x.execute(
            "DELETE FROM outbox_events WHERE id IN (SELECT o.id FROM outbox_events o "
            f"WHERE {_PRUNABLE} ORDER BY o.created_at LIMIT $2{lock})",
            before, limit,
        )
