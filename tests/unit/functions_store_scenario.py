"""The functions part of the store (``tx.functions``), one scenario run on SQLite (test_functions_service.py)
and PostgreSQL (tests/pg/test_postgres_store.py)."""

from __future__ import annotations

import dataclasses

from strongroom.store.base import Store
from strongroom.store.records import FunctionEventRow, FunctionRow

ACCOUNT, REGION = "111111111111", "us-east-1"


def function_row(name: str, **changes: object) -> FunctionRow:
    row = FunctionRow(
        id=0, account=ACCOUNT, region=REGION, name=name, arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        runtime="python3.12", role=f"arn:aws:iam::{ACCOUNT}:role/r", handler="app.handler", description="",
        timeout=3, memory_size=128, environment=b"sealed-variables", code_sha256="c2hh", code_size=10,
        tags=None, resource_policy=None, revision_id="r1", last_modified=1000.5, created_at=1000.5,
    )
    return dataclasses.replace(row, **changes)  # type: ignore[arg-type]


async def functions_round_trip(store: Store) -> None:
    """Insert (a taken name: None), read, page in name order, update, code by hash, events, delete."""
    async with store.write() as tx:
        for name in ("b-fn", "a-fn", "c-fn"):
            assert await tx.functions.insert(function_row(name, tags={"t": name}), b"sealed-" + name.encode()) > 0
        assert await tx.functions.insert(function_row("a-fn"), b"again") is None
    async with store.read() as tx:
        first = await tx.functions.get(ACCOUNT, REGION, "a-fn")
        assert first is not None and first.id > 0
        assert dataclasses.replace(first, id=0) == function_row("a-fn", tags={"t": "a-fn"})
        assert await tx.functions.get(ACCOUNT, "eu-west-1", "a-fn") is None
        assert [f.name for f in await tx.functions.page(ACCOUNT, REGION, None, 2)] == ["a-fn", "b-fn"]
        assert [f.name for f in await tx.functions.page(ACCOUNT, REGION, "b-fn", 2)] == ["c-fn"]
        assert await tx.functions.code(first.id, "c2hh") == b"sealed-a-fn"
        assert await tx.functions.code(first.id, "other") is None
    async with store.write() as tx:
        await tx.functions.update(first.id, code=b"new", code_sha256="bmV3", tags={}, resource_policy="{}",
                                  environment=None, revision_id="r2")
        event_id = await tx.functions.insert_event(FunctionEventRow(ACCOUNT, REGION, first.arn, "req", b"ev", 5.0))
    async with store.read() as tx:
        changed = await tx.functions.get(ACCOUNT, REGION, "a-fn", for_update=False)
        assert changed is not None
        assert (changed.code_sha256, changed.tags, changed.resource_policy, changed.environment,
                changed.revision_id) == ("bmV3", {}, "{}", None, "r2")
        assert await tx.functions.code(first.id, "bmV3") == b"new"
        assert await tx.functions.get_event(event_id) == FunctionEventRow(ACCOUNT, REGION, first.arn, "req", b"ev",
                                                                          5.0, event_id)
    async with store.write() as tx:
        await tx.functions.delete_event(event_id)
        await tx.functions.delete(first.id)
    async with store.read() as tx:
        assert await tx.functions.get_event(event_id) is None
        assert await tx.functions.get(ACCOUNT, REGION, "a-fn") is None
