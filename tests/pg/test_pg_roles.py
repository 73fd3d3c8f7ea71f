"""Roles and their AssumeRole sessions on PostgreSQL: the same SQL as SQLite, names unique in any
case under concurrency, sessions that end with their role, purges that never wait."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest

from strongroom.crypto.sealing import SealingBox
from strongroom.iam.identities import Identities
from strongroom.store.base import Conflict
from strongroom.store.postgres import PostgresStore

pytestmark = pytest.mark.postgres
ACCOUNT = "123456789012"
BOX = SealingBox(bytes(range(32)), "test/access-keys", legacy=True)
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
]})  # fmt: skip
READ = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def test_roles_and_sessions_round_trip(new_database: Callable[[str], str]) -> None:
    url = new_database("roles")

    async def body() -> None:
        store = PostgresStore(url)
        await store.migrate()
        try:
            ids = Identities(store, BOX, cache_ttl=0.0)
            role = await ids.roles.create_role(ACCOUNT, "Fn", TRUST, max_session_duration=7200, description="d")
            assert await ids.roles.get_role(ACCOUNT, "Fn") == role
            assert await ids.roles.list_roles(ACCOUNT) == [role]
            await ids.put_policy(ACCOUNT, "role", "Fn", "all", READ)
            arn = role.arn
            first = await ids.role_sessions.assume_role_for_service(ACCOUNT, arn, session_name="rotate")
            identity = await ids.resolve(first.credentials.access_key_id)
            assert identity is not None and identity.principal.arn == first.arn
            assert identity.secret_access_key == first.credentials.secret_access_key
            assert [p.text for p in identity.policies] == [READ]
            policy = json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"}]})
            limited = await ids.role_sessions.issue(role, "narrow", 900, policy)
            assert limited is not None
            narrowed = await ids.resolve(limited.credentials.access_key_id)
            assert narrowed is not None and [p.session for p in narrowed.policies] == [False, True]
            with pytest.raises(Conflict):
                await ids.roles.create_role(ACCOUNT, "FN", TRUST)
            await ids.delete_policy(ACCOUNT, "role", "Fn", "all")
            await ids.roles.delete_role(ACCOUNT, "Fn")
            assert await ids.resolve(first.credentials.access_key_id) is None
            assert await ids.resolve(limited.credentials.access_key_id) is None
        finally:
            await store.close()

    asyncio.run(body())


def test_concurrent_creates_of_one_name_in_any_case(new_database: Callable[[str], str]) -> None:
    url = new_database("roles_race")

    async def body() -> None:
        store = PostgresStore(url)
        await store.migrate()
        try:
            ids = Identities(store, BOX, cache_ttl=0.0)
            results = await asyncio.gather(
                *(ids.roles.create_role(ACCOUNT, name, TRUST) for name in ("Race", "RACE", "race", "rAcE")),
                return_exceptions=True,
            )
            made = [r for r in results if not isinstance(r, BaseException)]
            refused = [r for r in results if isinstance(r, Conflict)]
            assert len(made) == 1 and len(refused) == 3
            assert all(str(r).startswith("Role with name ") and str(r).endswith(" already exists.") for r in refused)
        finally:
            await store.close()

    asyncio.run(body())


def test_concurrent_purges_of_role_sessions_skip_each_others_rows(new_database: Callable[[str], str]) -> None:
    url = new_database("role_session_purge")

    async def body() -> None:
        store = PostgresStore(url)
        await store.migrate()
        try:
            ids = Identities(store, BOX, cache_ttl=0.0)
            role = await ids.roles.create_role(ACCOUNT, "Fn", TRUST)
            old = time.time() - 10_000
            for n in range(4):
                assert await ids.role_sessions.issue(role, f"s{n}", 900, now=old + n) is not None
            async with store.write() as a:
                assert await a.iam.purge_expired_role_sessions(time.time(), 2) == 2
                async with store.write() as b:  # would wait on a's rows without SKIP LOCKED
                    assert await asyncio.wait_for(b.iam.purge_expired_role_sessions(time.time(), 10), 10) == 2
            async with store.read() as tx:
                row = await tx.x.fetchrow("SELECT COUNT(*) AS n FROM iam_role_sessions")  # type: ignore[attr-defined]
                assert row is not None and row["n"] == 0
        finally:
            await store.close()

    asyncio.run(body())
