"""Measure GetSecretValue's store work in-process: statements per call and time per call.

    .venv/bin/python tests/pg/measure_get_value.py [--compare] [--rounds 15] [--batch 300] [--concurrency 1]

Runs the domain handler (no HTTP; on uvloop, like the server) against SQLite in a temporary
directory and against a fresh PostgreSQL database (created and dropped here; skipped if the server
is unreachable). Every statement is counted through a wrapper around the backend's executor; on
PostgreSQL each statement is one round trip (prepared statements are cached per connection, and
the pool's release hook sends nothing).

``--compare`` adds baselines: ``two-step`` (the former ``SqlTx.get_version``, which read the
labels with a second statement) and, on PostgreSQL, ``default-reset`` (asyncpg's default release,
which sends ``RESET ALL`` and friends: one more round trip per request). Variants run in
interleaved batches and the median batch is reported, so that other load on the machine affects
every variant alike. Figures are for comparison on one machine, not limits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from strongroom.kms.master_key import MasterKey
from strongroom.secrets.create import create_secret
from strongroom.secrets.values import get_secret_value
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store import postgres, sqlite
from strongroom.store.records import VersionRow
from strongroom.store.sql import SqlTx
from strongroom.store.sql.secrets import _bytes

ADMIN_URL = os.environ.get("STRONGROOM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class Counter:
    statements = 0


def count_statements(executor_class: type) -> None:
    """Wrap fetch/fetchrow/execute of an executor class so every statement is counted."""
    for name in ("fetch", "fetchrow", "execute"):
        original = getattr(executor_class, name)

        async def counted(self: Any, sql: str, *args: Any, _original: Any = original) -> Any:
            Counter.statements += 1
            return await _original(self, sql, *args)

        setattr(executor_class, name, counted)


async def two_step_get_version(
    self: SqlTx, secret_id: int, *, version_id: str | None = None, stage: str | None = None,
    with_value: bool = True,
) -> VersionRow | None:
    """The former get_version: the version row, then its labels in a second statement."""
    value = "v.ciphertext" if with_value else "NULL AS ciphertext"
    if version_id is not None:
        row = await self.x.fetchrow(
            f"SELECT v.version_id, v.created_at, v.kind, {value}, v.last_accessed_at FROM versions v "
            "WHERE v.secret_id = $1 AND v.version_id = $2",
            secret_id, version_id,
        )
    else:
        row = await self.x.fetchrow(
            f"SELECT v.version_id, v.created_at, v.kind, {value}, v.last_accessed_at "
            "FROM stages st JOIN versions v ON v.secret_id = st.secret_id AND v.version_id = st.version_id "
            "WHERE st.secret_id = $1 AND st.stage = $2",
            secret_id, stage,
        )
    if row is None:
        return None
    labels = await self.x.fetch(
        "SELECT stage FROM stages WHERE secret_id = $1 AND version_id = $2 ORDER BY stage",
        secret_id, row["version_id"],
    )
    return VersionRow(
        version_id=row["version_id"], created_at=row["created_at"], kind=row["kind"],
        ciphertext=_bytes(row["ciphertext"]), stages=[r["stage"] for r in labels],
        last_accessed_at=row["last_accessed_at"],
    )


def ctx() -> RequestContext:
    return RequestContext(
        account="123456789012", region="us-east-1", principal_arn="arn:aws:iam::123456789012:root", now=time.time()
    )


MASTER = MasterKey(os.urandom(32))


async def prepare(store: Any) -> tuple[Services, dict[str, Any]]:
    """Migrate, create one secret, and warm up (key cache, prepared statements, the daily access write)."""
    services = Services.build(store, MASTER)
    await store.migrate()
    name = f"measure-{uuid.uuid4().hex[:8]}"
    token = str(uuid.uuid4())
    await create_secret(services, ctx(), {"Name": name, "SecretString": "s3cr3t", "ClientRequestToken": token})
    params = {"SecretId": name}
    for _ in range(50):
        await get_secret_value(services, ctx(), params)
    return services, params


async def batch(services: Services, params: dict[str, Any], calls: int, concurrency: int) -> tuple[float, float]:
    """(statements per call, microseconds per call) over ``calls`` calls from ``concurrency`` tasks."""
    Counter.statements = 0
    per_task = max(1, calls // concurrency)

    async def task() -> None:
        for _ in range(per_task):
            await get_secret_value(services, ctx(), params)

    start = time.perf_counter()
    await asyncio.gather(*(task() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    done = per_task * concurrency
    return Counter.statements / done, elapsed / done * 1e6


Variant = tuple[str, Any, Any]  # name, SqlTx.get_version to use, pool reset hook (None: asyncpg's)


async def compare(backend: str, make_store: Any, variants: list[Variant], args: argparse.Namespace) -> None:
    prepared = []
    for name, get_version, reset in variants:
        SqlTx.get_version = get_version  # type: ignore[method-assign]
        postgres._keep_session = reset  # type: ignore[assignment]  # read when the pool opens
        store = make_store()
        prepared.append((name, get_version, store, *(await prepare(store))))
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in prepared}
    try:
        for _ in range(args.rounds):
            for name, get_version, _store, services, params in prepared:
                SqlTx.get_version = get_version  # type: ignore[method-assign]
                results[name].append(await batch(services, params, args.batch, args.concurrency))
    finally:
        for _name, _gv, store, *_ in prepared:
            await store.close()
    for name, runs in results.items():
        per_call = statistics.median(r[0] for r in runs)
        micros = statistics.median(r[1] for r in runs)
        print(
            f"{backend:8s} {name:13s} {per_call:.2f} statements/call, median {micros:7.1f} us/call "
            f"({1e6 / micros:6.0f} calls/s, concurrency {args.concurrency})",
            flush=True,
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--compare", action="store_true", help="also run the baselines")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=300, help="calls per batch")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    count_statements(sqlite._SqliteExecutor)
    count_statements(postgres._PgExecutor)
    current, keep = SqlTx.get_version, postgres._keep_session
    variants: list[Variant] = [("current", current, keep)]
    if args.compare:
        variants.append(("two-step", two_step_get_version, keep))

    with tempfile.TemporaryDirectory() as tmp:
        await compare("sqlite", lambda: sqlite.SqliteStore(Path(tmp) / f"{uuid.uuid4().hex}.db"), variants, args)

    try:
        admin = await asyncpg.connect(ADMIN_URL)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"postgres: skipped ({exc})")
        return
    db = f"strongroom_measure_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{db}"')
    if args.compare:
        variants.append(("default-reset", current, None))
    try:
        url = ADMIN_URL.rsplit("/", 1)[0] + "/" + db
        await compare("postgres", lambda: postgres.PostgresStore(url), variants, args)
    finally:
        await admin.execute(f'DROP DATABASE "{db}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    import uvloop  # the server's event loop

    uvloop.run(main())
