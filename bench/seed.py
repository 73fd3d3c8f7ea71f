"""Seeding: a store of N secrets, fast, with real sealed values (every read decrypts for real).

Strongroom: direct bulk insert through the project's own store API (``build_services`` from
``strongroom.server.build``, ``SqlTx.insert_secret`` / ``insert_version`` / ``move_stage``,
values sealed by ``strongroom.kms.keyring.KeyRing`` with the data dir's master key), in
transactions of :data:`TX_ROWS` secrets. No HTTP: about two orders of magnitude faster than
CreateSecret through the API. Each secret gets one version labelled AWSCURRENT, like CreateSecret
with a SecretString. A seeded store is cached as a snapshot (SQLite: the data dir; PostgreSQL: a
template database) keyed by size and a hash of the store code, and copied for every server run,
so a run never sees another run's writes.

Secrets and versions count as already read today (``last_accessed_at`` = today's midnight UTC): the steady
state of a busy server, where the once-a-day LastAccessedDate write has happened. A snapshot from
an earlier day is brought up to today before use.

moto: through boto3 (CreateSecret), in a few threads.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.workloads import secret_name, secret_value

ACCOUNT = "123456789012"
REGION = "us-east-1"
TX_ROWS = 5000
#: Concurrent seeding transactions on PostgreSQL.
PG_PARALLEL = 4
SRC = Path(__file__).resolve().parent.parent / "src" / "strongroom"


def today() -> float:
    return float(int(time.time() // 86400) * 86400)


class Progress:
    """A one-line progress display: count, rate and ETA, redrawn at most 4 times a second."""

    def __init__(self, label: str, total: int, stream=sys.stderr) -> None:  # type: ignore[no-untyped-def]
        self.label, self.total, self.stream = label, total, stream
        self.started = time.perf_counter()
        self.last = 0.0
        self.tty = stream.isatty()

    def update(self, done: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < (0.25 if self.tty else 5.0):
            return
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate else 0.0
        text = (
            f"{self.label}: {done:,}/{self.total:,} secrets  {rate:,.0f}/s  "
            f"elapsed {elapsed:,.0f}s  ETA {eta:,.0f}s"
        )
        if self.tty:
            self.stream.write("\r" + text.ljust(100))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self, done: int) -> float:
        self.update(done, force=True)
        if self.tty:
            self.stream.write("\n")
        return time.perf_counter() - self.started


def code_hash(store: str = "sqlite") -> str:
    """Seeded snapshots are reused only by the same store code (schema, SQL, envelope format);
    a SQLite snapshot does not depend on the PostgreSQL backend's code, nor the reverse."""
    h = hashlib.sha256()
    backend = ("store/sqlite.py",) if store == "sqlite" else tuple(
        str(p.relative_to(SRC)) for p in sorted((SRC / "store").glob("postgres*.py"))
    )
    sql = tuple(str(p.relative_to(SRC)) for p in sorted((SRC / "store" / "sql").glob("*.py")))
    for rel in ("store/schema.py", "store/sql.py", *sql, "crypto/envelope.py", "kms/keyring.py", *backend):
        path = SRC / rel
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()[:12]


def _config(data_dir: Path, database_url: str | None):  # type: ignore[no-untyped-def]
    from strongroom.server.config import Config

    return Config(data_dir=data_dir, dev=True, database_url=database_url)


async def _seed_strongroom(data_dir: Path, n: int, database_url: str | None, progress: Progress) -> None:
    """Insert ``n`` secrets with the server's own objects: ``build_services`` assembles the store, the
    key ring and the services exactly as ``strongroom serve`` does; values are sealed by
    ``secrets.versions.seal_value`` (so the AAD and envelope match what GetSecretValue opens)."""
    from strongroom.secrets.arns import new_secret_arn
    from strongroom.secrets.value import SecretValue
    from strongroom.secrets.versions import AWSCURRENT, seal_value
    from strongroom.server.build import build_services
    from strongroom.store.records import SecretRow

    try:
        services = build_services(_config(data_dir, database_url))
    except SystemExit as exc:  # the server's own refusal (e.g. PostgreSQL store not available yet)
        raise RuntimeError(str(exc)) from None
    store = services.store
    await store.migrate()
    base = time.time() - n * 0.001 - 3600.0  # distinct, increasing creation times in the past
    done = 0

    def row(i: int) -> SecretRow:
        name = secret_name(i)
        created = round(base + i * 0.001, 3)
        return SecretRow(
            id=0, account=ACCOUNT, region=REGION, name=name, arn=new_secret_arn(REGION, ACCOUNT, name),
            created_at=created, last_changed_at=created,
        )

    # The default KMS key is created on first use by the key ring, outside any write transaction.
    sealer = await services.keyring.sealer(ACCOUNT, REGION, None)
    async def load(start: int, stop: int) -> None:
        batch = []
        for i in range(start, stop):  # seal outside the transaction, as the server does
            secret, version = row(i), str(uuid.uuid4())
            value = SecretValue("string", secret_value(i).encode())
            batch.append((secret, version, seal_value(sealer, secret, version, value)))
        async with store.write() as tx:
            for secret, version, sealed in batch:
                await tx.secrets.insert_secret(secret)
                await tx.secrets.insert_version(secret.id, version, secret.created_at, "string", sealed)
                await tx.secrets.move_stage(secret.id, AWSCURRENT, version)

    # SQLite has one writer; PostgreSQL takes a few transactions at once (its pool's connections),
    # which hides the round trips of statement-at-a-time inserts.
    parallel = 1 if getattr(store, "dialect", "sqlite") == "sqlite" else PG_PARALLEL
    try:
        while done < n:
            starts = range(done, min(n, done + parallel * TX_ROWS), TX_ROWS)
            await asyncio.gather(*(load(a, min(n, a + TX_ROWS)) for a in starts))
            done = min(n, done + parallel * TX_ROWS)
            progress.update(done)
        async with store.write() as tx:  # read today already: no once-a-day LastAccessedDate writes
            await tx.x.execute("UPDATE secrets SET last_accessed_at = $1", today())
            await tx.x.execute("UPDATE versions SET last_accessed_at = $1", today())
    finally:
        await store.close()


def _sqlite_checkpoint(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
    finally:
        conn.close()


class SnapshotCache:
    """Seeded stores, built once per (store, size, code hash), copied for each server run."""

    def __init__(self, root: Path, say: Callable[[str], None] = print) -> None:
        self.root = root
        self.say = say
        root.mkdir(parents=True, exist_ok=True)
        self.prune()

    def prune(self) -> None:
        """Delete SQLite snapshots built by other versions of the store code (they are never reused)."""
        current = code_hash()
        for path in self.root.glob("sqlite-*"):
            if path.is_dir() and not path.name.endswith(current) and not path.name.endswith(current + ".building"):
                shutil.rmtree(path, ignore_errors=True)

    # --- SQLite ---------------------------------------------------------------------------------
    def sqlite_snapshot(self, n: int) -> tuple[Path, float | None]:
        """The snapshot data dir for ``n`` secrets; seeds it first if missing. -> (dir, seconds seeded)."""
        snap = self.root / f"sqlite-{n}-{code_hash()}"
        marker = snap / "SEEDED"
        seeded_in = None
        if not marker.exists():
            if snap.exists():
                shutil.rmtree(snap)
            building = snap.with_name(snap.name + ".building")
            if building.exists():
                shutil.rmtree(building)
            building.mkdir(parents=True, mode=0o700)
            progress = Progress(f"seeding SQLite store ({n:,} secrets)", n)
            asyncio.run(_seed_strongroom(building, n, None, progress))
            seeded_in = progress.finish(n)
            _sqlite_checkpoint(building / "strongroom.db")
            (building / "SEEDED").write_text(f"{n} {seeded_in:.1f}\n")
            building.rename(snap)
            self.say(f"seeded {n:,} secrets in {seeded_in:.1f}s ({n / seeded_in:,.0f}/s) -> {snap}")
        self._sqlite_bring_to_today(snap)
        return snap, seeded_in

    def _sqlite_bring_to_today(self, snap: Path) -> None:
        day_file = snap / "ACCESSED_DAY2"
        day = today()
        if day_file.exists() and float(day_file.read_text()) >= day:
            return
        conn = sqlite3.connect(snap / "strongroom.db")
        try:
            conn.execute("UPDATE secrets SET last_accessed_at = ?", (day,))
            conn.execute("UPDATE versions SET last_accessed_at = ?", (day,))
            conn.commit()
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        day_file.write_text(str(day))

    def sqlite_copy(self, snap: Path, dest: Path) -> float:
        """Copy a snapshot to a fresh data dir; returns seconds taken."""
        started = time.perf_counter()
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True, mode=0o700)
        for name in ("master.key", "strongroom.db"):
            shutil.copy2(snap / name, dest / name)
        return time.perf_counter() - started

    # --- PostgreSQL -----------------------------------------------------------------------------
    def postgres_snapshot(self, n: int, base_url: str) -> tuple[str, Path, float | None]:
        """(template database name, data dir with its master key, seconds seeded)."""
        from bench import pg

        name = f"strongroom_bench_seed_{n}_{code_hash('postgres')}"
        keydir = self.root / f"postgres-{n}-{code_hash('postgres')}"
        seeded_in = None
        for old in pg.databases(base_url, f"strongroom_bench_seed_{n}_"):
            if old != name:  # built by other store code: never reused
                pg.drop(base_url, old)
                shutil.rmtree(self.root / f"postgres-{n}-{old.rsplit('_', 1)[-1]}", ignore_errors=True)
        if not (keydir / "SEEDED").exists() or not pg.exists(base_url, name):
            if keydir.exists():
                shutil.rmtree(keydir)
            keydir.mkdir(parents=True, mode=0o700)
            pg.recreate(base_url, name)
            progress = Progress(f"seeding PostgreSQL store ({n:,} secrets)", n)
            asyncio.run(_seed_strongroom(keydir, n, f"{base_url}/{name}", progress))
            seeded_in = progress.finish(n)
            pg.analyze(base_url, name)
            (keydir / "SEEDED").write_text(f"{n} {seeded_in:.1f}\n")
            self.say(f"seeded {n:,} secrets in {seeded_in:.1f}s ({n / seeded_in:,.0f}/s) -> database {name}")
        pg.set_accessed(base_url, name, today())
        return name, keydir, seeded_in


# --- moto ---------------------------------------------------------------------------------------
def seed_moto(endpoint: str, n: int) -> float:
    """CreateSecret ``n`` secrets through boto3, one at a time (moto is not safe under concurrent
    writes: it answers 500s); returns seconds taken."""
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import ClientError

    from bench.signing import DEV_ACCESS_KEY, DEV_SECRET_KEY

    client = boto3.client(
        "secretsmanager", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=DEV_ACCESS_KEY,
        aws_secret_access_key=DEV_SECRET_KEY, config=BotoConfig(retries={"max_attempts": 0}),
    )
    progress = Progress(f"seeding moto ({n:,} secrets, boto3 CreateSecret)", n)
    for i in range(n):
        for attempt in range(5):
            try:
                client.create_secret(Name=secret_name(i), SecretString=secret_value(i))
                break
            except ClientError as exc:
                if attempt == 4 or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) < 500:
                    raise
                time.sleep(0.05)
        progress.update(i + 1)
    return progress.finish(n)
