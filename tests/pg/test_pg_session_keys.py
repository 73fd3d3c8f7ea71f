"""Temporary credentials (iam_session_keys) on PostgreSQL: the same SQL as SQLite, purges that never wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg
import pytest

from strongroom.crypto.sealing import SealingBox
from strongroom.iam.identities import SESSION_KEY_PREFIX, Identities, token_digest
from strongroom.store.postgres import PostgresStore
from strongroom.store.records import SessionKeyRow

pytestmark = pytest.mark.postgres
ACCOUNT = "123456789012"
BOX = SealingBox(bytes(range(32)), "test/access-keys", legacy=True)


def test_session_keys_round_trip_and_end_with_their_parent(new_database: Callable[[str], str]) -> None:
    url = new_database("sessions")

    async def body() -> None:
        store = PostgresStore(url)
        await store.migrate()
        try:
            ids = Identities(store, BOX, cache_ttl=0.0)
            await ids.create_user(ACCOUNT, "alice")
            parent = (await ids.create_access_key(ACCOUNT, "alice")).access_key_id
            creds = await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)
            identity = await ids.resolve(creds.access_key_id)
            assert identity is not None and identity.active and identity.principal.username == "alice"
            assert identity.secret_access_key == creds.secret_access_key
            assert identity.token_hash == token_digest(creds.session_token)
            assert identity.expires_at == pytest.approx(creds.expiration)
            # Deactivated, then reactivated: the key comes back, its session does not.
            await ids.set_access_key_status(parent, False)
            await ids.set_access_key_status(parent, True)
            assert await ids.resolve(creds.access_key_id) is None
            creds = await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)
            # While a GetSessionToken holds its parent key's row, a deactivation has to wait for it
            # (and then deletes the new session): NOWAIT shows the row is locked.
            async with store.write() as a:
                assert await a.iam.get_access_key(parent, for_update=True) is not None
                async with store.write() as b:
                    with pytest.raises(asyncpg.LockNotAvailableError):
                        await b.x.execute(
                            "UPDATE iam_access_keys SET status = 'Inactive' WHERE access_key_id = $1 "
                            "AND access_key_id IN (SELECT access_key_id FROM iam_access_keys "
                            "WHERE access_key_id = $1 FOR UPDATE NOWAIT)",
                            parent,
                        )
            await ids.delete_access_key(parent)
            assert await ids.resolve(creds.access_key_id) is None
        finally:
            await store.close()

    asyncio.run(body())


def test_concurrent_purges_skip_each_others_rows(new_database: Callable[[str], str]) -> None:
    url = new_database("session_purge")

    async def body() -> None:
        store = PostgresStore(url)
        await store.migrate()
        try:
            old = time.time() - 10_000
            async with store.write() as tx:
                for n in range(4):
                    await tx.iam.insert_session_key(
                        SessionKeyRow(
                            f"{SESSION_KEY_PREFIX}{n:016d}", ACCOUNT, None, "AKIAPARENT", b"sealed", "0" * 64,
                            old + n, old,
                        )
                    )  # fmt: skip
            async with store.write() as a:
                assert await a.iam.purge_expired_session_keys(time.time(), 2) == 2
                async with store.write() as b:  # would wait on a's rows without SKIP LOCKED
                    assert await asyncio.wait_for(b.iam.purge_expired_session_keys(time.time(), 10), 10) == 2
            async with store.read() as tx:
                row = await tx.x.fetchrow("SELECT COUNT(*) AS n FROM iam_session_keys")
                assert row is not None and row["n"] == 0
        finally:
            await store.close()

    asyncio.run(body())
