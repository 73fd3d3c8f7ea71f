"""PostgreSQL housekeeping for the benchmark (asyncpg, the project's own driver).

Only databases named ``strongroom_bench*`` are ever created or dropped.
"""

from __future__ import annotations

import asyncio
from typing import Any

PREFIX = "strongroom_bench"


def _check(name: str) -> str:
    if not name.startswith(PREFIX) or not name.replace("_", "").isalnum():
        raise ValueError(f"refusing to touch database {name!r} (only {PREFIX}* names)")
    return name


async def _admin(base_url: str, fn: Any) -> Any:
    import asyncpg

    conn = await asyncpg.connect(f"{base_url}/postgres", user="postgres", timeout=5)
    try:
        return await fn(conn)
    finally:
        await conn.close()


def reachable(base_url: str) -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        asyncio.run(_admin(base_url, lambda c: c.fetchval("SELECT 1")))
        return None
    except Exception as exc:  # noqa: BLE001 - reported to the user
        return f"{type(exc).__name__}: {exc}"


def exists(base_url: str, name: str) -> bool:
    return bool(
        asyncio.run(_admin(base_url, lambda c: c.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)))
    )


def databases(base_url: str, prefix: str) -> list[str]:
    """Databases whose name starts with ``prefix`` (a strongroom_bench* prefix)."""
    _check(prefix.rstrip("_"))
    rows = asyncio.run(
        _admin(base_url, lambda c: c.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%"))
    )
    return [r["datname"] for r in rows]


def drop(base_url: str, name: str) -> None:
    _check(name)
    asyncio.run(_admin(base_url, lambda c: c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))


def recreate(base_url: str, name: str, template: str | None = None) -> None:
    _check(name)

    async def go(c: Any) -> None:
        await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template:
            await c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_check(template)}"')
        else:
            await c.execute(f'CREATE DATABASE "{name}"')

    asyncio.run(_admin(base_url, go))


async def _in_db(base_url: str, name: str, sql: str, *args: Any) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{base_url}/{name}", user="postgres", timeout=5)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


def analyze(base_url: str, name: str) -> None:
    asyncio.run(_in_db(base_url, _check(name), "VACUUM ANALYZE"))


def set_accessed(base_url: str, name: str, day: float) -> None:
    for table in ("secrets", "versions"):
        asyncio.run(
            _in_db(base_url, _check(name), f"UPDATE {table} SET last_accessed_at = $1 WHERE last_accessed_at < $1", day)
        )


def backend_pids(base_url: str, name: str) -> list[int]:
    """PostgreSQL backend processes connected to database ``name`` (for CPU accounting)."""
    try:
        rows = asyncio.run(
            _admin(base_url, lambda c: c.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name))
        )
    except Exception:  # noqa: BLE001 - accounting only
        return []
    return [int(r["pid"]) for r in rows]
