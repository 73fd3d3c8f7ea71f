"""Temporary credentials (GetSessionToken): issuing and resolving them, the authenticator, the wire shapes."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from strongroom.crypto.sealing import SealingBox
from strongroom.errors import (
    ExpiredTokenException,
    InvalidParameterException,
    UnrecognizedClientException,
)
from strongroom.iam.authenticate import EXPIRED_TOKEN, INVALID_TOKEN, SigV4Authenticator
from strongroom.iam.identities import (
    ROOT_SESSION_MAX_SECONDS,
    SESSION_DEFAULT_SECONDS,
    SESSION_PURGE_BATCH,
    Identities,
)
from strongroom.sigv4 import Credentials, sign_headers
from strongroom.store.sqlite import SqliteStore

ACCOUNT = "123456789012"
BOX = SealingBox(bytes(range(32)), "test/access-keys", legacy=True)
READ_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", '
    '"Resource": "*"}]}'
)
T = TypeVar("T")


def with_ids(tmp_path: Path, body: Callable[[Identities, SqliteStore], Awaitable[T]]) -> T:
    """Run ``body`` with an uncached Identities on a migrated store in ``tmp_path``."""

    async def main() -> T:
        store = SqliteStore(tmp_path / "data" / "strongroom.db")
        await store.migrate()
        try:
            return await body(Identities(store, BOX, cache_ttl=0.0), store)
        finally:
            await store.close()

    return asyncio.run(main())


async def alice_key(ids: Identities) -> str:
    await ids.create_user(ACCOUNT, "alice")
    await ids.put_policy(ACCOUNT, "user", "alice", "read", READ_POLICY)
    return (await ids.create_access_key(ACCOUNT, "alice")).access_key_id


# --- Identities.create_session / resolve ------------------------------------------------------
def test_session_resolves_to_the_users_principal_and_policies(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> tuple[str, str]:
        parent = await alice_key(ids)
        before = time.time()
        creds = await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)
        key_id, secret, token, expiration = creds  # unpacks as (key id, secret, token, expiration)
        assert key_id.startswith("ASIA") and len(key_id) == 20
        assert before + 900 <= expiration <= time.time() + 900
        identity = await ids.resolve(key_id)
        long_term = await ids.resolve(parent)
        assert identity is not None and long_term is not None
        assert identity.principal == long_term.principal
        assert identity.policies == long_term.policies and len(identity.policies) == 1
        assert identity.secret_access_key == secret
        assert identity.token_hash == hashlib.sha256(str(token).encode()).hexdigest()
        assert identity.expires_at == expiration and identity.temporary and identity.active
        assert not long_term.temporary and long_term.expires_at is None
        assert secret not in repr(identity) and str(token) not in repr(creds) and secret not in repr(creds)
        # Neither the token nor the secret is stored in the clear.
        async with store.read() as tx:
            row = await tx.iam.get_session_key(key_id)
        assert row is not None and row.parent_key_id == parent and row.user_name == "alice"
        assert secret.encode() not in row.sealed_secret and str(token) != row.token_hash
        return secret, str(token)

    secret, token = with_ids(tmp_path, body)
    data = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir() if p.is_file())
    assert secret.encode() not in data and token.encode() not in data


def test_durations(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        parent = await alice_key(ids)
        root_key = (await ids.create_access_key(ACCOUNT, None)).access_key_id
        now = 1_000_000.0
        assert (await ids.create_session(ACCOUNT, "alice", parent_key_id=parent, now=now)).expiration == (
            now + SESSION_DEFAULT_SECONDS
        )
        assert (await ids.create_session(ACCOUNT, "alice", 129_600, parent_key_id=parent, now=now)).expiration == (
            now + 129_600
        )
        # The account root: at most an hour, a longer request gets an hour (as on AWS).
        for asked in (None, 7200, 129_600):
            creds = await ids.create_session(ACCOUNT, None, asked, parent_key_id=root_key, now=now)
            assert creds.expiration == now + ROOT_SESSION_MAX_SECONDS
        assert (await ids.create_session(ACCOUNT, None, 900, parent_key_id=root_key, now=now)).expiration == now + 900
        for bad in (899, 129_601, 0, -1):
            with pytest.raises(InvalidParameterException):
                await ids.create_session(ACCOUNT, "alice", bad, parent_key_id=parent)

    with_ids(tmp_path, body)


def test_sessions_end_with_their_parent_key_and_user(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        parent = await alice_key(ids)
        session = await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)
        assert (await ids.resolve(session.access_key_id)).active  # type: ignore[union-attr]
        await ids.set_access_key_status(parent, False)
        assert await ids.resolve(session.access_key_id) is None
        # Reactivating the key brings back the key, never the sessions it issued before.
        await ids.set_access_key_status(parent, True)
        assert await ids.resolve(session.access_key_id) is None
        assert (await ids.resolve(parent)).active  # type: ignore[union-attr]
        async with store.read() as tx:
            assert await tx.iam.get_session_key(session.access_key_id) is None
        later = await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)
        await ids.set_access_key_status(parent, True)  # already active: its live sessions stay
        assert (await ids.resolve(later.access_key_id)).active  # type: ignore[union-attr]
        await ids.delete_access_key(parent)
        assert await ids.resolve(later.access_key_id) is None

        other = (await ids.create_access_key(ACCOUNT, "alice")).access_key_id
        session = await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=other)
        await ids.delete_user(ACCOUNT, "alice")
        assert await ids.resolve(session.access_key_id) is None
        async with store.read() as tx:
            assert await tx.iam.get_session_key(session.access_key_id) is None
        assert await ids.resolve("ASIAAAAAAAAAAAAAAAAA") is None

    with_ids(tmp_path, body)


def test_no_session_from_an_inactive_or_deleted_key(tmp_path: Path) -> None:
    """An identity cached before a deactivation may still reach GetSessionToken: the store decides."""

    async def body(ids: Identities, store: SqliteStore) -> None:
        parent = await alice_key(ids)
        await ids.set_access_key_status(parent, False)
        with pytest.raises(UnrecognizedClientException) as exc:
            await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)
        assert exc.value.message == INVALID_TOKEN
        await ids.set_access_key_status(parent, True)
        await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)  # active again: issued
        await ids.delete_access_key(parent)
        with pytest.raises(UnrecognizedClientException):
            await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)
        other = await ids.create_access_key(ACCOUNT, "alice")
        with pytest.raises(UnrecognizedClientException):  # another principal's key
            await ids.create_session(ACCOUNT, None, 900, parent_key_id=other.access_key_id)
        async with store.read() as tx:
            row = await tx.x.fetchrow("SELECT COUNT(*) AS n FROM iam_session_keys")
        assert row is not None and row["n"] == 0

    with_ids(tmp_path, body)


def test_reactivation_removes_sessions_left_from_an_earlier_deactivation(tmp_path: Path) -> None:
    """A session row that survived its key's deactivation (stored by an earlier version) stays dead."""

    async def body(ids: Identities, store: SqliteStore) -> None:
        parent = await alice_key(ids)
        session = await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)
        async with store.write() as tx:  # what deactivation did before: the status only
            await tx.iam.set_access_key_status(parent, "Inactive")
        resolved = await ids.resolve(session.access_key_id)
        assert resolved is not None and not resolved.active
        await ids.set_access_key_status(parent, True)
        assert await ids.resolve(session.access_key_id) is None

    with_ids(tmp_path, body)


def test_expired_sessions_are_purged_a_bounded_batch_at_a_time(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        parent = await alice_key(ids)
        old = time.time() - 10_000
        expired = SESSION_PURGE_BATCH + 20
        for _ in range(expired):
            await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent, now=old)
        live = await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)

        async def count() -> int:
            async with store.read() as tx:
                row = await tx.x.fetchrow("SELECT COUNT(*) AS n FROM iam_session_keys")
                return int(row["n"])

        assert await count() == expired + 1 - SESSION_PURGE_BATCH  # one batch went
        await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)
        assert await count() == 2  # the rest went; the live sessions stay
        assert await ids.resolve(live.access_key_id) is not None

    with_ids(tmp_path, body)


# --- the authenticator ------------------------------------------------------------------------
def _authenticate(ids: Identities, creds: Credentials, now: float | None = None) -> Awaitable[object]:
    headers = {"host": "localhost:7420", "content-type": "application/x-amz-json-1.1"}
    body = b"{}"
    headers.update(
        sign_headers(
            "POST", "http://localhost:7420/", headers, body, creds, "us-east-1", "secretsmanager",
            time.time() if now is None else now,
        )
    )  # fmt: skip
    wire = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return SigV4Authenticator(ids).authenticate("POST", b"/", b"", wire, body, "secretsmanager")


def test_authenticator_checks_token_and_expiry(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        parent = await alice_key(ids)
        long_term = await ids.resolve(parent)
        assert long_term is not None
        s = await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent)
        caller = await _authenticate(ids, Credentials(s.access_key_id, s.secret_access_key, s.session_token))
        assert caller.temporary and caller.principal == long_term.principal  # type: ignore[attr-defined]
        assert caller.policies == long_term.policies  # type: ignore[attr-defined]

        refused = [
            Credentials(s.access_key_id, s.secret_access_key),  # no token
            Credentials(s.access_key_id, s.secret_access_key, s.session_token + "x"),  # wrong token
            Credentials(parent, long_term.secret_access_key, s.session_token),  # long-term key with a token
        ]
        for creds in refused:
            with pytest.raises(UnrecognizedClientException) as exc:
                await _authenticate(ids, creds)
            assert exc.value.message == INVALID_TOKEN
        plain = await _authenticate(ids, Credentials(parent, long_term.secret_access_key))
        assert not plain.temporary  # type: ignore[attr-defined]

        # Issued 1000 s ago for 900 s: expired (the request itself is signed now).
        old = await ids.create_session(ACCOUNT, "alice", 900, parent_key_id=parent, now=time.time() - 1000)
        with pytest.raises(ExpiredTokenException) as expired:
            await _authenticate(ids, Credentials(old.access_key_id, old.secret_access_key, old.session_token))
        assert expired.value.message == EXPIRED_TOKEN == "The security token included in the request is expired"
        with pytest.raises(UnrecognizedClientException):  # a wrong token never learns about expiry
            await _authenticate(ids, Credentials(old.access_key_id, old.secret_access_key, "nope"))

    with_ids(tmp_path, body)
