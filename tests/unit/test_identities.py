"""IAM-style identities over the SQLite store: users, groups, policies, access keys, caching, bootstrap."""

from __future__ import annotations

import asyncio
import os
import re
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from strongroom.crypto.sealing import SealingBox
from strongroom.errors import (
    AccessDeniedException,
    InvalidParameterException,
    MalformedPolicyDocumentException,
    ResourceNotFoundException,
)
from strongroom.iam.admin_credentials import ADMIN_PROFILE, CREDENTIALS_FILE
from strongroom.iam.authorizer import Authorizer
from strongroom.iam.bootstrap import bootstrap_admin
from strongroom.iam.identities import ADMIN_POLICY, ADMIN_USER, Identities
from strongroom.store.base import Conflict
from strongroom.store.sqlite import SqliteStore

ACCOUNT, OTHER = "123456789012", "210987654321"
BOX = SealingBox(bytes(range(32)), "test/access-keys", legacy=True)
READ_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", '
    '"Resource": "*"}]}'
)
LIST_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:ListSecrets", '
    '"Resource": "*"}]}'
)
SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf"
T = TypeVar("T")


def with_ids(tmp_path: Path, body: Callable[[Identities, SqliteStore], Awaitable[T]], cache_ttl: float = 0.0) -> T:
    """Run ``body`` with an Identities on a migrated store in ``tmp_path`` (no caching by default)."""

    async def main() -> T:
        store = SqliteStore(tmp_path / "data" / "strongroom.db")
        await store.migrate()
        try:
            return await body(Identities(store, BOX, cache_ttl=cache_ttl), store)
        finally:
            await store.close()

    return asyncio.run(main())


def allowed(identity_policies: tuple, principal: object, action: str) -> bool:
    try:
        Authorizer().check(principal, identity_policies, action, SECRET_ARN, None, dict)  # type: ignore[arg-type]
    except AccessDeniedException:
        return False
    return True


# --- users -----------------------------------------------------------------------------------
def test_user_lifecycle(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        alice = await ids.create_user(ACCOUNT, "alice")
        assert alice.arn == f"arn:aws:iam::{ACCOUNT}:user/alice"
        assert re.fullmatch(r"AIDA[A-Z2-7]{16}", alice.user_id)
        await ids.create_user(ACCOUNT, "bob")
        await ids.create_user(OTHER, "alice")  # names are per account
        assert [u.user_name for u in await ids.list_users(ACCOUNT)] == ["alice", "bob"]
        assert [u.arn for u in await ids.list_users(OTHER)] == [f"arn:aws:iam::{OTHER}:user/alice"]
        with pytest.raises(Conflict):
            await ids.create_user(ACCOUNT, "alice")
        await ids.delete_user(ACCOUNT, "bob")
        assert [u.user_name for u in await ids.list_users(ACCOUNT)] == ["alice"]
        with pytest.raises(ResourceNotFoundException):
            await ids.delete_user(ACCOUNT, "bob")

    with_ids(tmp_path, body)


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "slash/name", "colon:", "ünï", "semi;"])
def test_invalid_names_are_refused(tmp_path: Path, name: str) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        with pytest.raises(InvalidParameterException):
            await ids.create_user(ACCOUNT, name)
        with pytest.raises(InvalidParameterException):
            await ids.create_group(ACCOUNT, name)
        await ids.create_user(ACCOUNT, "ok")
        with pytest.raises(InvalidParameterException):
            await ids.put_policy(ACCOUNT, "user", "ok", name, READ_POLICY)
        assert [u.user_name for u in await ids.list_users(ACCOUNT)] == ["ok"]
        assert await ids.list_groups(ACCOUNT) == []

    with_ids(tmp_path, body)


def test_valid_name_characters(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        name = "a+b=c,d.e@f_g-h" + "x" * 49  # 64 characters
        assert (await ids.create_user(ACCOUNT, name)).user_name == name

    with_ids(tmp_path, body)


# --- groups and policies ---------------------------------------------------------------------
def test_groups_and_membership(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        await ids.create_user(ACCOUNT, "alice")
        await ids.create_group(ACCOUNT, "readers")
        await ids.create_group(ACCOUNT, "admins")
        with pytest.raises(Conflict):
            await ids.create_group(ACCOUNT, "readers")
        assert await ids.list_groups(ACCOUNT) == ["admins", "readers"]
        await ids.add_user_to_group(ACCOUNT, "readers", "alice")
        await ids.add_user_to_group(ACCOUNT, "readers", "alice")  # idempotent
        await ids.add_user_to_group(ACCOUNT, "admins", "alice")
        assert await ids.groups_of(ACCOUNT, "alice") == ["admins", "readers"]
        with pytest.raises(ResourceNotFoundException):
            await ids.add_user_to_group(ACCOUNT, "nope", "alice")
        with pytest.raises(ResourceNotFoundException):
            await ids.add_user_to_group(ACCOUNT, "readers", "nobody")
        with pytest.raises(ResourceNotFoundException):
            await ids.add_user_to_group(OTHER, "readers", "alice")  # another account's namespace
        await ids.remove_user_from_group(ACCOUNT, "admins", "alice")
        with pytest.raises(ResourceNotFoundException):
            await ids.remove_user_from_group(ACCOUNT, "admins", "alice")
        await ids.delete_group(ACCOUNT, "readers")
        assert await ids.groups_of(ACCOUNT, "alice") == []
        assert await ids.list_groups(ACCOUNT) == ["admins"]
        with pytest.raises(ResourceNotFoundException):
            await ids.delete_group(ACCOUNT, "readers")

    with_ids(tmp_path, body)


def test_policies_put_replace_list_delete(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        await ids.create_user(ACCOUNT, "alice")
        await ids.create_group(ACCOUNT, "g")
        await ids.put_policy(ACCOUNT, "user", "alice", "read", READ_POLICY)
        await ids.put_policy(ACCOUNT, "user", "alice", "list", LIST_POLICY)
        await ids.put_policy(ACCOUNT, "group", "g", "read", LIST_POLICY)
        assert await ids.list_policies(ACCOUNT, "user", "alice") == [("list", LIST_POLICY), ("read", READ_POLICY)]
        await ids.put_policy(ACCOUNT, "user", "alice", "read", LIST_POLICY)  # replaces
        assert await ids.list_policies(ACCOUNT, "user", "alice") == [("list", LIST_POLICY), ("read", LIST_POLICY)]
        assert await ids.list_policies(ACCOUNT, "group", "g") == [("read", LIST_POLICY)]
        await ids.delete_policy(ACCOUNT, "user", "alice", "read")
        assert await ids.list_policies(ACCOUNT, "user", "alice") == [("list", LIST_POLICY)]
        with pytest.raises(ResourceNotFoundException):
            await ids.delete_policy(ACCOUNT, "user", "alice", "read")
        with pytest.raises(ResourceNotFoundException):
            await ids.put_policy(ACCOUNT, "user", "nobody", "p", READ_POLICY)
        with pytest.raises(ResourceNotFoundException):
            await ids.put_policy(ACCOUNT, "group", "nogroup", "p", READ_POLICY)

    with_ids(tmp_path, body)


@pytest.mark.parametrize("document", [
    "",
    "not json",
    "[]",
    '{"Version": "2012-10-17"}',
    '{"Version": "2012-10-17", "Statement": []}',
    '{"Version": "2099-01-01", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}',
    '{"Statement": {"Effect": "allow", "Action": "*", "Resource": "*"}}',
    '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}, "Extra": 1}',
    '{"Statement": {"Effect": "Allow", "Action": "nocolon", "Resource": "*"}}',
])
def test_malformed_policy_documents_are_refused(tmp_path: Path, document: str) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        await ids.create_user(ACCOUNT, "alice")
        with pytest.raises(MalformedPolicyDocumentException):
            await ids.put_policy(ACCOUNT, "user", "alice", "bad", document)
        assert await ids.list_policies(ACCOUNT, "user", "alice") == []

    with_ids(tmp_path, body)


def test_delete_user_removes_its_keys_policies_and_memberships(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        await ids.create_user(ACCOUNT, "alice")
        await ids.create_group(ACCOUNT, "g")
        await ids.add_user_to_group(ACCOUNT, "g", "alice")
        await ids.put_policy(ACCOUNT, "user", "alice", "read", READ_POLICY)
        key = await ids.create_access_key(ACCOUNT, "alice")
        assert await ids.resolve(key.access_key_id) is not None
        await ids.delete_user(ACCOUNT, "alice")
        assert await ids.resolve(key.access_key_id) is None
        async with store.read() as tx:
            iam = tx.iam
            assert await iam.get_access_key(key.access_key_id) is None
            assert await iam.list_policies(ACCOUNT, "user", "alice") == []
            assert await iam.groups_of(ACCOUNT, "alice") == []
        await ids.create_user(ACCOUNT, "alice")  # a new user of the same name inherits nothing
        assert await ids.list_policies(ACCOUNT, "user", "alice") == []
        assert await ids.groups_of(ACCOUNT, "alice") == []

    with_ids(tmp_path, body)


# --- access keys and resolution --------------------------------------------------------------
def test_access_key_lifecycle_and_resolution(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        await ids.create_user(ACCOUNT, "alice")
        await ids.put_policy(ACCOUNT, "user", "alice", "read", READ_POLICY)
        key = await ids.create_access_key(ACCOUNT, "alice")
        assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key.access_key_id)
        assert len(key.secret_access_key) == 40
        assert key.principal_arn == f"arn:aws:iam::{ACCOUNT}:user/alice"

        identity = await ids.resolve(key.access_key_id)
        assert identity is not None and identity.active
        assert identity.secret_access_key == key.secret_access_key
        assert identity.principal.arn == key.principal_arn and identity.principal.username == "alice"
        assert not identity.principal.is_root
        assert [p.text for p in identity.policies] == [READ_POLICY]
        assert key.secret_access_key not in repr(identity)

        listed = await ids.list_access_keys(ACCOUNT, "alice")
        assert [(k.access_key_id, k.status) for k in listed] == [(key.access_key_id, "Active")]
        assert key.secret_access_key.encode() not in listed[0].sealed_secret

        await ids.set_access_key_status(key.access_key_id, active=False)
        identity = await ids.resolve(key.access_key_id)
        assert identity is not None and not identity.active
        assert [k.status for k in await ids.list_access_keys(ACCOUNT, "alice")] == ["Inactive"]
        await ids.set_access_key_status(key.access_key_id, active=True)
        identity = await ids.resolve(key.access_key_id)
        assert identity is not None and identity.active

        await ids.delete_access_key(key.access_key_id)
        assert await ids.resolve(key.access_key_id) is None
        assert await ids.list_access_keys(ACCOUNT, "alice") == []
        for missing in (ids.delete_access_key, lambda k: ids.set_access_key_status(k, active=False)):
            with pytest.raises(ResourceNotFoundException):
                await missing(key.access_key_id)
        assert await ids.resolve("AKIAUNKNOWNUNKNOWN00") is None
        with pytest.raises(ResourceNotFoundException):
            await ids.create_access_key(ACCOUNT, "nobody")

    with_ids(tmp_path, body)


def test_root_access_key(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        key = await ids.create_access_key(ACCOUNT, None)
        assert key.principal_arn == f"arn:aws:iam::{ACCOUNT}:root"
        identity = await ids.resolve(key.access_key_id)
        assert identity is not None and identity.principal.is_root and identity.policies == ()
        assert identity.principal.account == ACCOUNT
        assert [k.access_key_id for k in await ids.list_access_keys(ACCOUNT, None)] == [key.access_key_id]
        assert await ids.list_access_keys(OTHER, None) == []

    with_ids(tmp_path, body)


def test_group_policies_apply_to_members(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        await ids.create_user(ACCOUNT, "alice")
        await ids.create_user(ACCOUNT, "bob")
        await ids.create_group(ACCOUNT, "readers")
        await ids.put_policy(ACCOUNT, "group", "readers", "read", READ_POLICY)
        await ids.put_policy(ACCOUNT, "user", "alice", "list", LIST_POLICY)
        await ids.add_user_to_group(ACCOUNT, "readers", "alice")
        alice_key = await ids.create_access_key(ACCOUNT, "alice")
        bob_key = await ids.create_access_key(ACCOUNT, "bob")

        alice = await ids.resolve(alice_key.access_key_id)
        bob = await ids.resolve(bob_key.access_key_id)
        assert alice is not None and bob is not None
        assert sorted(p.text for p in alice.policies) == sorted([READ_POLICY, LIST_POLICY])
        assert bob.policies == ()
        assert allowed(alice.policies, alice.principal, "secretsmanager:GetSecretValue")
        assert not allowed(bob.policies, bob.principal, "secretsmanager:GetSecretValue")

        await ids.add_user_to_group(ACCOUNT, "readers", "bob")
        bob = await ids.resolve(bob_key.access_key_id)
        assert bob is not None and [p.text for p in bob.policies] == [READ_POLICY]
        assert allowed(bob.policies, bob.principal, "secretsmanager:GetSecretValue")

        await ids.remove_user_from_group(ACCOUNT, "readers", "alice")
        alice = await ids.resolve(alice_key.access_key_id)
        assert alice is not None and [p.text for p in alice.policies] == [LIST_POLICY]
        assert not allowed(alice.policies, alice.principal, "secretsmanager:GetSecretValue")

        await ids.delete_group(ACCOUNT, "readers")  # its policy goes with it
        bob = await ids.resolve(bob_key.access_key_id)
        assert bob is not None and bob.policies == ()

    with_ids(tmp_path, body)


def test_secrets_are_sealed_in_the_database_file(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> list[str]:
        await ids.create_user(ACCOUNT, "alice")
        keys = [await ids.create_access_key(ACCOUNT, "alice") for _ in range(3)]
        keys.append(await ids.create_access_key(ACCOUNT, None))
        return [k.secret_access_key for k in keys]

    secrets = with_ids(tmp_path, body)
    files = list((tmp_path / "data").glob("strongroom.db*"))
    assert files
    data = b"".join(f.read_bytes() for f in files)  # database, WAL and shared memory
    for secret in secrets:
        assert secret.encode() not in data
        assert secret[:20].encode() not in data


def test_wrong_box_key_cannot_open_secrets(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        key = await ids.create_access_key(ACCOUNT, None)
        other = Identities(store, SealingBox(os.urandom(32), "other/access-keys"), cache_ttl=0)
        with pytest.raises(RuntimeError) as info:
            await other.resolve(key.access_key_id)
        assert key.secret_access_key not in str(info.value)

    with_ids(tmp_path, body)


def test_resolve_caches_until_forget(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        other_instance = Identities(store, BOX, cache_ttl=0)  # another server sharing the store
        await ids.create_user(ACCOUNT, "alice")
        key = await ids.create_access_key(ACCOUNT, "alice")
        first = await ids.resolve(key.access_key_id)
        assert first is not None and first.active and first.policies == ()

        await other_instance.set_access_key_status(key.access_key_id, active=False)
        await other_instance.put_policy(ACCOUNT, "user", "alice", "read", READ_POLICY)
        assert await ids.resolve(key.access_key_id) is first  # cached (ttl of an hour)
        ids.forget()
        fresh = await ids.resolve(key.access_key_id)
        assert fresh is not None and not fresh.active and [p.text for p in fresh.policies] == [READ_POLICY]

        # a negative answer is cached too, and forget() drops it
        unknown = "AKIAAAAAAAAAAAAAAAAA"
        assert await ids.resolve(unknown) is None
        await other_instance.delete_access_key(key.access_key_id)
        assert await ids.resolve(key.access_key_id) is fresh
        ids.forget()
        assert await ids.resolve(key.access_key_id) is None

        # changes made through the same instance take effect at once (it forgets by itself)
        key2 = await ids.create_access_key(ACCOUNT, "alice")
        assert (await ids.resolve(key2.access_key_id)).active  # type: ignore[union-attr]
        await ids.set_access_key_status(key2.access_key_id, active=False)
        assert not (await ids.resolve(key2.access_key_id)).active  # type: ignore[union-attr]
        await ids.delete_policy(ACCOUNT, "user", "alice", "read")
        assert (await ids.resolve(key2.access_key_id)).policies == ()  # type: ignore[union-attr]

    with_ids(tmp_path, body, cache_ttl=3600.0)


def test_cache_is_bounded(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        for i in range(10):
            await ids.resolve(f"AKIAUNKNOWN{i:09d}")
        assert len(ids._cache) <= 4

    async def main() -> None:
        store = SqliteStore(tmp_path / "db")
        await store.migrate()
        try:
            await body(Identities(store, BOX, cache_ttl=3600, cache_size=4), store)
        finally:
            await store.close()

    asyncio.run(main())


# --- bootstrap -------------------------------------------------------------------------------
def test_bootstrap_admin_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    async def body(ids: Identities, store: SqliteStore) -> None:
        path = await bootstrap_admin(ids, ACCOUNT, data_dir)
        assert path == data_dir / CREDENTIALS_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        m = re.fullmatch(
            rf"\[{ADMIN_PROFILE}\]\naws_access_key_id = (AKIA\w+)\naws_secret_access_key = (\S+)\n", text
        )
        assert m is not None, text
        identity = await ids.resolve(m[1])
        assert identity is not None and identity.active
        assert identity.secret_access_key == m[2]
        assert identity.principal.arn == f"arn:aws:iam::{ACCOUNT}:user/{ADMIN_USER}"
        assert [p.text for p in identity.policies] == [ADMIN_POLICY]
        assert allowed(identity.policies, identity.principal, "secretsmanager:DeleteSecret")

        before = path.stat().st_mtime_ns
        assert await bootstrap_admin(ids, ACCOUNT, data_dir) is None  # second start: nothing written
        assert path.read_text() == text and path.stat().st_mtime_ns == before
        assert [u.user_name for u in await ids.list_users(ACCOUNT)] == [ADMIN_USER]
        assert len(await ids.list_access_keys(ACCOUNT, ADMIN_USER)) == 1

    with_ids(tmp_path, body)


def test_bootstrap_admin_skipped_when_identities_exist(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        await ids.create_access_key(ACCOUNT, None)
        assert await bootstrap_admin(ids, ACCOUNT, tmp_path) is None
        assert not (tmp_path / CREDENTIALS_FILE).exists()

    with_ids(tmp_path, body)


def test_bootstrap_admin_skipped_when_admin_user_exists(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        await ids.create_user(ACCOUNT, ADMIN_USER)  # e.g. its keys were all deleted
        assert await bootstrap_admin(ids, ACCOUNT, tmp_path) is None
        assert not (tmp_path / CREDENTIALS_FILE).exists()

    with_ids(tmp_path, body)


def test_bootstrap_admin_tightens_an_existing_credentials_file(tmp_path: Path) -> None:
    stale = tmp_path / CREDENTIALS_FILE
    stale.write_text("old")
    stale.chmod(0o644)

    async def body(ids: Identities, store: SqliteStore) -> None:
        path = await bootstrap_admin(ids, ACCOUNT, tmp_path)
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().startswith(f"[{ADMIN_PROFILE}]")

    with_ids(tmp_path, body)


def test_bootstrap_admin_never_writes_the_secret_into_a_readable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pre-existing 0644 credentials file is made 0600 before the secret goes into it."""
    stale = tmp_path / CREDENTIALS_FILE
    stale.write_text("old")
    stale.chmod(0o644)
    modes: list[int] = []
    real_fdopen = os.fdopen

    def spying_fdopen(fd: int, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))  # the mode while the secret is written
        return real_fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "fdopen", spying_fdopen)

    async def body(ids: Identities, store: SqliteStore) -> None:
        assert await bootstrap_admin(ids, ACCOUNT, tmp_path) is not None

    with_ids(tmp_path, body)
    assert modes and all(mode & 0o077 == 0 for mode in modes), [oct(m) for m in modes]
