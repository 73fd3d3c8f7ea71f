"""SQL of rotation runs and the rotation schedule (:class:`strongroom.store.base.RotationsTx`)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Unpack

from strongroom.store.base import Executor, Row
from strongroom.store.records import DueRotation, RotationFields, RotationRow
from strongroom.store.sql.columns import update_by_id

_FIELDS = tuple(f.name for f in fields(RotationRow))
_INSERTED = tuple(name for name in _FIELDS if name != "id")
_COLUMNS = ", ".join(_FIELDS)
_UPDATABLE = frozenset(RotationFields.__annotations__)


def _rotation(row: Row) -> RotationRow:
    values: list[Any] = list(tuple(row))  # type: ignore[arg-type]
    run = RotationRow(*values)
    run.token = bytes(run.token)
    return run


class SqlRotations:
    """Rotation runs and the secrets' ``rotation_due_at`` over one executor."""

    __slots__ = ("x",)

    def __init__(self, executor: Executor) -> None:
        self.x = executor

    async def insert(self, run: RotationRow) -> int:
        values = [getattr(run, name) for name in _INSERTED]
        marks = ", ".join(f"${n}" for n in range(1, len(values) + 1))
        row = await self.x.fetchrow(
            f"INSERT INTO rotations ({', '.join(_INSERTED)}) VALUES ({marks}) RETURNING id", *values
        )
        assert row is not None
        run.id = int(row["id"])
        return run.id

    async def get(self, rotation_id: int) -> RotationRow | None:
        row = await self.x.fetchrow(f"SELECT {_COLUMNS} FROM rotations WHERE id = $1", rotation_id)
        return _rotation(row) if row else None

    async def of_version(self, secret_id: int, version_id: str) -> RotationRow | None:
        row = await self.x.fetchrow(
            f"SELECT {_COLUMNS} FROM rotations WHERE secret_id = $1 AND version_id = $2", secret_id, version_id
        )
        return _rotation(row) if row else None

    async def running(self, secret_id: int) -> list[RotationRow]:
        rows = await self.x.fetch(
            f"SELECT {_COLUMNS} FROM rotations WHERE secret_id = $1 AND state = 'running' ORDER BY id", secret_id
        )
        return [_rotation(r) for r in rows]

    async def update(self, rotation_id: int, **changes: Unpack[RotationFields]) -> int:
        """Change a run that is still running (one that ended stays as it ended); 0 if it was not."""
        values: dict[str, Any] = dict(changes)
        statement = update_by_id("rotations", values, _UPDATABLE) + " AND state = 'running'"
        return await self.x.execute(statement, rotation_id, *values.values())

    async def latest(self, account: str | None, secret_arn: str | None, limit: int) -> list[RotationRow]:
        """The latest run of each secret (of ``secret_arn`` alone, or of ``account``), newest first."""
        where: list[str] = []
        args: list[Any] = []
        if account is not None:
            args.append(account)
            where.append(f"account = ${len(args)}")
        if secret_arn is not None:
            args.append(secret_arn)
            where.append(f"secret_arn = ${len(args)}")
        args.append(limit)
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await self.x.fetch(
            f"SELECT {_COLUMNS} FROM rotations WHERE id IN "
            f"(SELECT MAX(id) FROM rotations {condition} GROUP BY secret_id) ORDER BY id DESC LIMIT ${len(args)}",
            *args,
        )
        return [_rotation(r) for r in rows]

    async def prune_ended(self, before: float, limit: int) -> int:
        return await self.x.execute(
            "DELETE FROM rotations WHERE id IN (SELECT id FROM rotations WHERE state <> 'running' "
            "AND updated_at < $1 AND id NOT IN (SELECT MAX(id) FROM rotations GROUP BY secret_id) "
            "ORDER BY id LIMIT $2)",
            before, limit,
        )

    # --- the schedule ------------------------------------------------------------------------
    async def set_due(self, secret_id: int, due_at: float | None) -> None:
        await self.x.execute("UPDATE secrets SET rotation_due_at = $2 WHERE id = $1", secret_id, due_at)

    async def due_at(self, secret_id: int) -> float | None:
        row = await self.x.fetchrow("SELECT rotation_due_at FROM secrets WHERE id = $1", secret_id)
        return None if row is None else row["rotation_due_at"]

    async def any_due(self, now: float) -> bool:
        """Whether a scheduled rotation is due (a read on the partial index; claims nothing)."""
        row = await self.x.fetchrow(
            "SELECT 1 AS due FROM secrets WHERE rotation_due_at IS NOT NULL AND rotation_due_at <= $1 LIMIT 1", now
        )
        return row is not None

    async def claim_due(self, now: float, limit: int) -> list[DueRotation]:
        """Secrets whose rotation is due, their due time cleared (the claim) in this transaction;
        other instances skip the rows locked here (PostgreSQL), SQLite writers serialize."""
        lock = " FOR UPDATE SKIP LOCKED" if self.x.dialect == "postgres" else ""
        rows = await self.x.fetch(
            "SELECT id, account, region, arn, rotation_due_at FROM secrets "
            f"WHERE rotation_due_at IS NOT NULL AND rotation_due_at <= $1 ORDER BY rotation_due_at LIMIT $2{lock}",
            now, limit,
        )
        due = [DueRotation(r["id"], r["account"], r["region"], r["arn"], r["rotation_due_at"]) for r in rows]
        for item in due:
            await self.x.execute("UPDATE secrets SET rotation_due_at = NULL WHERE id = $1", item.secret_id)
        return due
