"""The master key check (strongroom.kms.key_check) on SQLite stores: the value, recording it,
refusing another key, stores written before check values existed, and the read-only inspection."""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from test_store_sqlite import with_store as with_sqlite_store

from strongroom.iam.identities import Identities
from strongroom.kms.key_check import (
    MasterKeyMismatch,
    check_master_key,
    key_check_of,
    record_key_check,
)
from strongroom.kms.keyring import KeyRing, StoreKmsKeys
from strongroom.kms.master_key import ACCESS_KEYS, ENV_VAR, KEY_CHECK, KEY_FILE_NAME, MasterKey
from strongroom.server.config import Config
from strongroom.store.sqlite import SqliteStore

T = TypeVar("T")
MISMATCH = "the master key does not match this store: "


def new_key() -> MasterKey:
    return MasterKey(os.urandom(32))


def with_store(config: Config, body: Callable[[SqliteStore], Awaitable[T]]) -> T:
    """Open and migrate the config's SQLite store, run ``body``, close it (one event loop)."""
    return with_sqlite_store(config.data_dir / "strongroom.db", body)


def record(config: Config, master: MasterKey) -> None:
    async def body(store: SqliteStore) -> None:
        await record_key_check(store, master, config)

    with_store(config, body)


def recorded_row(config: Config) -> tuple[str, str] | None:
    with sqlite3.connect(config.data_dir / "strongroom.db") as conn:
        row = conn.execute("SELECT key_id, check_value FROM master_key_check").fetchone()
    return None if row is None else (row[0], row[1])


def forget_check_value(config: Config) -> None:
    """Make the store look as if an earlier release wrote it: no check value."""
    with sqlite3.connect(config.data_dir / "strongroom.db") as conn:
        conn.execute("DELETE FROM master_key_check")


def files_of(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory under ``root``: (size, mtime in ns)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def check_with(config: Config, master: MasterKey | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """check_master_key as the CLI runs it, the key given through the environment (None: no key)."""
    if master is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, base64.b64encode(master._key).decode())
    check_master_key(config)


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "data")


# --- the value ---------------------------------------------------------------------------------
def test_the_check_value_is_the_key_id_and_an_hmac_that_reveals_no_key() -> None:
    raw = os.urandom(32)
    master = MasterKey(raw)
    check = key_check_of(master)
    assert check.key_id == master.key_id
    assert check == key_check_of(MasterKey(raw))  # every instance sharing the key computes the same
    assert check.value != key_check_of(new_key()).value
    assert len(bytes.fromhex(check.value)) == 32
    for secret in (raw, master.derive_key(KEY_CHECK), master.derive_key(ACCESS_KEYS)):
        assert secret.hex() not in check.value


# --- recording and refusing --------------------------------------------------------------------
def test_a_new_store_records_the_key_it_is_first_given(config: Config) -> None:
    master = new_key()
    record(config, master)
    check = key_check_of(master)
    assert recorded_row(config) == (check.key_id, check.value)
    record(config, master)  # the same key again: accepted, the record unchanged
    assert recorded_row(config) == (check.key_id, check.value)


def test_another_key_is_refused_naming_both_key_ids_and_no_key_material(config: Config) -> None:
    right, wrong = new_key(), new_key()
    record(config, right)
    with pytest.raises(MasterKeyMismatch) as refused:
        record(config, wrong)
    message = str(refused.value)
    assert message.startswith(MISMATCH)
    assert right.key_id in message and wrong.key_id in message
    assert "nothing was changed" in message
    for key in (right, wrong):
        assert base64.b64encode(key._key).decode() not in message and key._key.hex() not in message
    assert recorded_row(config) == (right.key_id, key_check_of(right).value)


def test_an_altered_check_value_is_refused(config: Config) -> None:
    master = new_key()
    record(config, master)
    with sqlite3.connect(config.data_dir / "strongroom.db") as conn:
        conn.execute("UPDATE master_key_check SET check_value = $1", ("00" * 32,))
    with pytest.raises(MasterKeyMismatch, match="does not reproduce"):
        record(config, master)


# --- stores written before check values existed ------------------------------------------------
def write_kms_key(config: Config, master: MasterKey) -> None:
    async def body(store: SqliteStore) -> None:
        await KeyRing(master, StoreKmsKeys(store)).create_key("111111111111", "us-east-1", "alias/old")

    with_store(config, body)


def write_access_key(config: Config, master: MasterKey) -> None:
    async def body(store: SqliteStore) -> None:
        await Identities(store, master.sealing_box(ACCESS_KEYS)).create_access_key("111111111111", None)

    with_store(config, body)


@pytest.mark.parametrize("write", [write_kms_key, write_access_key], ids=["kms-key", "access-key-only"])
def test_an_old_store_is_checked_against_its_data_then_recorded(
    config: Config, write: Callable[[Config, MasterKey], None]
) -> None:
    right, wrong = new_key(), new_key()
    write(config, right)
    forget_check_value(config)
    with pytest.raises(MasterKeyMismatch) as refused:
        record(config, wrong)
    assert wrong.key_id in str(refused.value)
    if write is write_kms_key:  # a wrapped KMS key names the master key id that wrapped it
        assert f"was sealed with master key id {right.key_id}" in str(refused.value)
    assert recorded_row(config) is None  # refused: nothing recorded
    record(config, right)
    assert recorded_row(config) == (right.key_id, key_check_of(right).value)


def test_an_empty_store_takes_the_key_it_is_given(config: Config) -> None:
    record(config, new_key())
    forget_check_value(config)  # no check value, no sealed data
    master = new_key()
    record(config, master)
    assert recorded_row(config) == (master.key_id, key_check_of(master).value)


# --- the read-only check before start-up -------------------------------------------------------
def test_the_check_before_start_up_creates_nothing_for_a_new_store(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_with(config, new_key(), monkeypatch)
    check_with(config, None, monkeypatch)
    assert not config.data_dir.exists()


def test_the_check_before_start_up_refuses_and_changes_no_file(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    right = new_key()
    write_kms_key(config, right)
    record(config, right)
    before = files_of(config.data_dir)
    assert set(before) == {"strongroom.db"}  # the store was closed cleanly: no -wal or -shm file
    check_with(config, right, monkeypatch)
    wrong = new_key()
    with pytest.raises(MasterKeyMismatch, match=f"master key id {right.key_id}, but the master key from "
                       f"\\${ENV_VAR} has id {wrong.key_id}"):
        check_with(config, wrong, monkeypatch)
    with pytest.raises(MasterKeyMismatch, match=f"no master key was found .*{KEY_FILE_NAME} does not exist"):
        check_with(config, None, monkeypatch)
    assert files_of(config.data_dir) == before


def test_the_check_before_start_up_reads_what_a_running_server_has_not_checkpointed(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a -wal file (a server running, or killed), committed content still in the WAL counts."""
    right = new_key()
    store = SqliteStore(config.data_dir / "strongroom.db")
    try:
        store._writer.execute("PRAGMA wal_autocheckpoint = 0")  # keep every commit in the WAL
        asyncio.run(store.migrate())
        asyncio.run(record_key_check(store, right, config))
        assert (config.data_dir / "strongroom.db-wal").stat().st_size > 0
        check_with(config, right, monkeypatch)
        with pytest.raises(MasterKeyMismatch, match=right.key_id):
            check_with(config, new_key(), monkeypatch)
    finally:
        asyncio.run(store.close())


def test_the_check_before_start_up_checks_an_old_store_against_its_data(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    right = new_key()
    write_access_key(config, right)
    forget_check_value(config)
    check_with(config, right, monkeypatch)
    with pytest.raises(MasterKeyMismatch, match="earlier release"):
        check_with(config, new_key(), monkeypatch)


def test_an_unreadable_store_is_reported_not_raised(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    config.data_dir.mkdir()
    (config.data_dir / "strongroom.db").write_bytes(b"not a database" * 100)
    with pytest.raises(Exception, match=f"can't read SQLite in {config.data_dir} to check the master key") as e:
        check_with(config, new_key(), monkeypatch)
    assert not isinstance(e.value, MasterKeyMismatch)
