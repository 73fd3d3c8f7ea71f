"""SQL of functions and their waiting Event invocations (:class:`strongroom.store.base.FunctionsTx`).

A function's code (up to 50 MB sealed) lives in its row but is read only by :meth:`SqlFunctions.code`:
every other statement names the configuration columns.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Unpack

import orjson

from strongroom.store.base import Executor, Row
from strongroom.store.records import FunctionEventRow, FunctionFields, FunctionRow

#: The configuration columns in FunctionRow's field order (``id`` first), so a row converts positionally.
_FIELDS = tuple(f.name for f in fields(FunctionRow))
_COLUMNS = ", ".join(_FIELDS)
_INSERTED = tuple(name for name in _FIELDS if name != "id")
_TAGS, _ENVIRONMENT = _FIELDS.index("tags"), _FIELDS.index("environment")
#: The columns update may set: the keys of FunctionFields.
_UPDATABLE = frozenset(FunctionFields.__annotations__)
_EVENT_COLUMNS = "account, region, function_arn, request_id, payload, created_at"


def _function(row: Row) -> FunctionRow:
    values: list[Any] = list(tuple(row))  # type: ignore[arg-type]
    values[_TAGS] = None if values[_TAGS] is None else orjson.loads(values[_TAGS])
    values[_ENVIRONMENT] = None if values[_ENVIRONMENT] is None else bytes(values[_ENVIRONMENT])
    return FunctionRow(*values)


def _encode(name: str, value: Any) -> Any:
    return orjson.dumps(value).decode() if name == "tags" and value is not None else value


class SqlFunctions:
    """Function and Event-invocation queries over one executor."""

    __slots__ = ("x",)

    def __init__(self, executor: Executor) -> None:
        self.x = executor

    async def get(self, account: str, region: str, name: str, *, for_update: bool = False) -> FunctionRow | None:
        lock = " FOR UPDATE" if for_update and self.x.dialect == "postgres" else ""
        row = await self.x.fetchrow(
            f"SELECT {_COLUMNS} FROM functions WHERE account = $1 AND region = $2 AND name = $3{lock}",
            account, region, name,
        )
        return _function(row) if row else None

    async def insert(self, function: FunctionRow, code: bytes) -> int | None:
        values = [_encode(name, getattr(function, name)) for name in _INSERTED]
        placeholders = ", ".join(f"${n}" for n in range(1, len(values) + 2))
        row = await self.x.fetchrow(
            f"INSERT INTO functions ({', '.join(_INSERTED)}, code) VALUES ({placeholders}) "
            "ON CONFLICT DO NOTHING RETURNING id",
            *values, code,
        )
        if row is None:
            return None
        function.id = int(row["id"])
        return function.id

    async def update(self, function_id: int, **changes: Unpack[FunctionFields]) -> None:
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        names = list(changes)
        assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=2))
        await self.x.execute(
            f"UPDATE functions SET {assignments} WHERE id = $1",
            function_id, *(_encode(name, changes[name]) for name in names),  # type: ignore[literal-required]
        )

    async def delete(self, function_id: int) -> None:
        await self.x.execute("DELETE FROM functions WHERE id = $1", function_id)

    async def page(self, account: str, region: str, after: str | None, limit: int) -> list[FunctionRow]:
        """Up to ``limit`` functions in name order, after the name ``after`` (None: from the first)."""
        rows = await self.x.fetch(
            f"SELECT {_COLUMNS} FROM functions WHERE account = $1 AND region = $2 AND name > $3 "
            "ORDER BY name LIMIT $4",
            account, region, after or "", limit,
        )
        return [_function(r) for r in rows]

    async def code(self, function_id: int, code_sha256: str) -> bytes | None:
        """The sealed code, if the function still has the code of ``code_sha256``."""
        row = await self.x.fetchrow(
            "SELECT code FROM functions WHERE id = $1 AND code_sha256 = $2", function_id, code_sha256
        )
        return None if row is None else bytes(row["code"])

    # --- Event invocations ----------------------------------------------------------------
    async def insert_event(self, event: FunctionEventRow) -> int:
        row = await self.x.fetchrow(
            f"INSERT INTO function_events ({_EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            event.account, event.region, event.function_arn, event.request_id, event.payload, event.created_at,
        )
        assert row is not None
        return int(row["id"])

    async def get_event(self, event_id: int) -> FunctionEventRow | None:
        row = await self.x.fetchrow(f"SELECT id, {_EVENT_COLUMNS} FROM function_events WHERE id = $1", event_id)
        if row is None:
            return None
        return FunctionEventRow(
            account=row["account"], region=row["region"], function_arn=row["function_arn"],
            request_id=row["request_id"], payload=bytes(row["payload"]), created_at=row["created_at"],
            id=int(row["id"]),
        )

    async def delete_event(self, event_id: int) -> None:
        await self.x.execute("DELETE FROM function_events WHERE id = $1", event_id)
