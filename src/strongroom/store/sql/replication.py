"""SQL of replication targets (:class:`strongroom.store.base.ReplicationTx`), table ``replication_targets``.

A target's position (``delivered_id``) is an id of ``outbox_events`` of its own primary secret.
Per secret, outbox ids follow commit order (a change holds the secret's row lock until it
commits), so "events of this primary past this position" never misses one that commits late,
which a single position over the whole outbox could (two secrets' changes may commit out of id
order).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Unpack

from strongroom.store.base import Conflict, Executor, Row
from strongroom.store.records import ReplicationTarget, TargetFields, TargetView
from strongroom.store.sql.columns import update_by_id

_FIELDS = tuple(f.name for f in fields(ReplicationTarget))
_COLUMNS = ", ".join(_FIELDS)
_COLUMNS_T = ", ".join(f"t.{name}" for name in _FIELDS)
_UPDATABLE = frozenset(TargetFields.__annotations__)
#: A target that failed because its peer deployment gave no answer (the relay's message for it:
#: secrets/replication/peer_client.UNREACHABLE).
_UNREACHABLE = "status_message LIKE 'peer % unreachable: %'"
#: The latest outbox id of a target's primary (0 when the outbox holds none).
_LATEST = "COALESCE((SELECT MAX(e.id) FROM outbox_events e WHERE e.secret_id = t.primary_id), 0)"


def _target(row: Row) -> ReplicationTarget:
    values: dict[str, Any] = {name: row[name] for name in _FIELDS}
    values["overwrite"] = bool(values["overwrite"])
    values["id"], values["primary_id"], values["delivered_id"] = (
        int(values["id"]), int(values["primary_id"]), int(values["delivered_id"])
    )
    return ReplicationTarget(**values)


class SqlReplication:
    """Replication target queries over one executor."""

    __slots__ = ("x",)

    def __init__(self, executor: Executor) -> None:
        self.x = executor

    def _lock(self) -> str:
        return " FOR UPDATE" if self.x.dialect == "postgres" else ""

    async def add_target(self, target: ReplicationTarget) -> int:
        existing = await self.x.fetchrow(
            "SELECT id FROM replication_targets WHERE primary_id = $1 AND account = $2 AND region = $3",
            target.primary_id, target.account, target.region,
        )
        if existing is not None:
            raise Conflict(f"target {target.account}/{target.region} of secret {target.primary_id} exists")
        names = [name for name in _FIELDS if name != "id"]
        marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        row = await self.x.fetchrow(
            f"INSERT INTO replication_targets ({', '.join(names)}) VALUES ({marks}) RETURNING id",
            *[int(v) if isinstance(v, bool) else v for v in (getattr(target, n) for n in names)],
        )
        assert row is not None
        target.id = int(row["id"])
        return target.id

    async def targets_of(self, primary_id: int) -> list[TargetView]:
        rows = await self.x.fetch(
            f"SELECT {_COLUMNS_T}, {_LATEST} AS latest, r.last_accessed_at AS replica_last_accessed_at "
            "FROM replication_targets t LEFT JOIN secrets r ON r.arn = t.replica_arn "
            "WHERE t.primary_id = $1 ORDER BY t.id",
            primary_id,
        )
        return [
            TargetView(_target(r), int(r["latest"]) > int(r["delivered_id"]), r["replica_last_accessed_at"])
            for r in rows
        ]

    async def target_of_replica(self, replica_arn: str, *, for_update: bool = False) -> ReplicationTarget | None:
        lock = self._lock() if for_update else ""
        row = await self.x.fetchrow(
            f"SELECT {_COLUMNS} FROM replication_targets WHERE replica_arn = $1 ORDER BY id LIMIT 1{lock}",
            replica_arn,
        )
        return _target(row) if row else None

    async def lock_target(self, target_id: int) -> ReplicationTarget | None:
        row = await self.x.fetchrow(
            f"SELECT {_COLUMNS} FROM replication_targets WHERE id = $1{self._lock()}", target_id
        )
        return _target(row) if row else None

    async def update_target(self, target_id: int, **fields: Unpack[TargetFields]) -> None:
        values: dict[str, Any] = dict(fields)
        statement = update_by_id("replication_targets", values, _UPDATABLE)
        if "overwrite" in values:
            values["overwrite"] = int(values["overwrite"])
        await self.x.execute(statement, target_id, *values.values())

    async def delete_target(self, target_id: int) -> None:
        await self.x.execute("DELETE FROM replication_targets WHERE id = $1", target_id)

    async def due_targets(self, now: float, limit: int) -> list[tuple[ReplicationTarget, int]]:
        rows = await self.x.fetch(
            f"SELECT {_COLUMNS_T}, {_LATEST} AS latest FROM replication_targets t "
            "WHERE t.status <> 'Detached' AND t.next_attempt_at <= $1 AND (t.status <> 'InSync' OR EXISTS "
            "(SELECT 1 FROM outbox_events e WHERE e.secret_id = t.primary_id AND e.id > t.delivered_id)) "
            "ORDER BY t.next_attempt_at, t.id LIMIT $2",
            now, limit,
        )
        return [(_target(r), int(r["latest"])) for r in rows]

    async def peers_in_backoff(self, now: float, limit: int) -> list[tuple[ReplicationTarget, int]]:
        rows = await self.x.fetch(
            f"SELECT {_COLUMNS_T}, {_LATEST} AS latest FROM replication_targets t "
            f"WHERE t.peer IS NOT NULL AND t.status = 'Failed' AND t.next_attempt_at > $1 AND {_UNREACHABLE} "
            "ORDER BY t.next_attempt_at, t.id LIMIT $2",
            now, limit,
        )
        return [(_target(r), int(r["latest"])) for r in rows]

    async def wake_peer_targets(self, peer: str, now: float) -> int:
        rows = await self.x.fetch(
            "UPDATE replication_targets SET next_attempt_at = $2 "
            f"WHERE peer = $1 AND status = 'Failed' AND next_attempt_at > $2 AND {_UNREACHABLE} RETURNING id",
            peer, now,
        )
        return len(rows)

    async def latest_event_id(self, secret_id: int) -> int:
        row = await self.x.fetchrow(
            "SELECT COALESCE(MAX(id), 0) AS latest FROM outbox_events WHERE secret_id = $1", secret_id
        )
        return int(row["latest"]) if row else 0

    async def peer_position(self, replica_arn: str, *, for_update: bool = False) -> int | None:
        lock = self._lock() if for_update else ""
        row = await self.x.fetchrow(
            f"SELECT position FROM peer_replica_positions WHERE replica_arn = $1{lock}", replica_arn
        )
        return int(row["position"]) if row else None

    async def set_peer_position(self, replica_arn: str, primary_arn: str, position: int, now: float) -> None:
        await self.x.execute(
            "INSERT INTO peer_replica_positions (replica_arn, primary_arn, position, updated_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (replica_arn) DO UPDATE SET primary_arn = excluded.primary_arn, "
            "position = excluded.position, updated_at = excluded.updated_at",
            replica_arn, primary_arn, position, now,
        )
