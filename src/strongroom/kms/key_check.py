"""Refuse a master key that is not the one a store was sealed with, before anything is written.

Started with another master key than the one its data was sealed with, a server would answer
every request with DecryptionFailure or an internal error. So a store records a *key check value*
on first use (table ``master_key_check``, one row): the master key's id
(:attr:`~strongroom.kms.master_key.MasterKey.key_id`) and an HMAC-SHA256 of a fixed label under a
key derived from the master key (HKDF purpose ``key-check``). Only the holder of the key can
compute it, and it reveals nothing about the key or any other derived key. It is compared in
constant time.

Two steps:

1. :func:`check_master_key`, run by ``strongroom serve`` (once, in the supervisor, with several
   workers) and by the ``strongroom admin`` commands that use the key, before they create or open
   anything: it reads the store without creating or changing anything (not even the SQLite file:
   :func:`strongroom.store.factory.inspect_store`) and raises :class:`MasterKeyMismatch` if the
   key does not match. No key at all (no ``STRONGROOM_MASTER_KEY``, no key file: a new one would
   be generated) matches only an empty store.
2. :func:`record_key_check`, run after the migrations by every server process and admin command,
   in one write transaction: it checks again (another instance may have sealed the store since)
   and records the check value if the store has none.

A store written before check values existed has none: its data is checked instead. The oldest
KMS key's wrapped material names the master key id that wrapped it and must unwrap; without KMS
keys, the oldest access key's sealed secret must open. A store with neither is empty and takes
the key it is given.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from strongroom.crypto import envelope
from strongroom.crypto.errors import CannotOpen
from strongroom.kms.master_key import (
    ACCESS_KEYS,
    KEY_CHECK,
    MasterKey,
    MasterKeyError,
    describe_source,
    find_master_key,
    load_master_key,
)
from strongroom.store.base import Store, Tx
from strongroom.store.factory import StoreSettings, describe_store, inspect_store
from strongroom.store.records import AccessKeyRow, KmsKeyRow

__all__ = [
    "KeyCheck", "MasterKeyMismatch", "StoreSeal", "check_master_key", "checked_master_key", "key_check_of",
    "record_key_check",
]

_CHECK_LABEL = b"strongroom master key check value v1"
_WHAT_TO_DO = (
    "Start with the master key this store was sealed with (STRONGROOM_MASTER_KEY, or master.key in "
    "the data directory, restored from your backup); nothing was changed."
)


class Deployment(Protocol):
    """What the check needs of a deployment's configuration (:class:`strongroom.server.config.Config`)."""

    @property
    def data_dir(self) -> Path: ...

    def store_settings(self) -> StoreSettings: ...


class MasterKeyMismatch(MasterKeyError):
    """The master key is not the one the store was sealed with; nothing was changed."""


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """A master key's id and check value (hex), as a store records them."""

    key_id: str
    value: str


def key_check_of(master: MasterKey) -> KeyCheck:
    """The check value of ``master``: HMAC-SHA256 of a fixed label under its ``key-check`` key."""
    value = hmac.new(master.derive_key(KEY_CHECK), _CHECK_LABEL, hashlib.sha256).hexdigest()
    return KeyCheck(master.key_id, value)


@dataclass(frozen=True, slots=True)
class StoreSeal:
    """What in a store shows which master key sealed it: its check value, else a sample of its data."""

    recorded: KeyCheck | None = None
    kms_key: KmsKeyRow | None = None
    access_key: AccessKeyRow | None = None

    @property
    def empty(self) -> bool:
        return self.recorded is None and self.kms_key is None and self.access_key is None


async def read_store_seal(tx: Tx) -> StoreSeal:
    """The store's check value, or (a store without one) its oldest KMS key or access key."""
    tables = await tx.keys.table_names()
    if "master_key_check" in tables:
        recorded = await tx.keys.get_key_check()
        if recorded is not None:
            return StoreSeal(recorded=KeyCheck(*recorded))
    if "kms_keys" in tables:
        kms_key = await tx.keys.first_kms_key()
        if kms_key is not None:
            return StoreSeal(kms_key=kms_key)
    if "iam_access_keys" in tables:
        return StoreSeal(access_key=await tx.iam.first_access_key())
    return StoreSeal()


def verify(master: MasterKey | None, seal: StoreSeal, store: str, data_dir: Path) -> bool:
    """Raise MasterKeyMismatch unless ``master`` sealed the store; return whether its check value is recorded.

    ``master`` None: no key was found (a new one would be generated), which only an empty store takes.
    """
    if seal.empty:
        return False
    given = describe_source(master, data_dir)
    if master is None:
        raise _mismatch(store, f"was sealed with {_expected_key(seal)}, but {given}")
    given = f"{given} has id {master.key_id}"
    if seal.recorded is not None:
        ours = key_check_of(master)
        if seal.recorded.key_id != ours.key_id:
            raise _mismatch(store, f"was sealed with master key id {seal.recorded.key_id}, but {given}")
        if not hmac.compare_digest(seal.recorded.value.encode(), ours.value.encode()):
            raise _mismatch(store, f"records a key check value for master key id {ours.key_id} that {given} "
                            "does not reproduce (the record was altered)")
        return True
    if seal.kms_key is not None:
        try:
            master.unwrap(seal.kms_key.wrapped_material, seal.kms_key.arn.encode())
        except CannotOpen:
            raise _mismatch(store, f"was sealed with {_expected_key(seal)}, but {given}") from None
        return False
    assert seal.access_key is not None
    try:
        master.sealing_box(ACCESS_KEYS).open(seal.access_key.sealed_secret, seal.access_key.access_key_id.encode())
    except CannotOpen:
        raise _mismatch(store, f"was sealed with {_expected_key(seal)}, but {given}") from None
    return False


def _expected_key(seal: StoreSeal) -> str:
    """Which master key sealed the store, as far as the store tells."""
    if seal.recorded is not None:
        return f"master key id {seal.recorded.key_id}"
    if seal.kms_key is not None:
        try:
            return f"master key id {envelope.key_id_of(seal.kms_key.wrapped_material)}"
        except CannotOpen:
            pass
    return "another master key (its id is not recorded: the store was written by an earlier release)"


def _mismatch(store: str, what: str) -> MasterKeyMismatch:
    return MasterKeyMismatch(f"the master key does not match this store: {store} {what}. {_WHAT_TO_DO}")


def check_master_key(config: Deployment) -> None:
    """Step 1: refuse to go on if the master key does not match the store; creates and changes nothing.

    Raises MasterKeyMismatch, or MasterKeyError when the key or the store can't be read.
    """
    master = find_master_key(config.data_dir)
    settings = config.store_settings()
    where = describe_store(settings)
    looking = inspect_store(settings)  # an unsupported database URL exits here

    async def inspect() -> StoreSeal:
        async with looking as tx:
            return StoreSeal() if tx is None else await read_store_seal(tx)

    try:
        seal = asyncio.run(inspect())
    except Exception as exc:  # noqa: BLE001 - unreachable or unreadable: report it, start nothing
        raise MasterKeyError(
            f"can't read {where} to check the master key against it: {type(exc).__name__}: {exc}"
        ) from None
    verify(master, seal, where, config.data_dir)


def checked_master_key(config: Deployment) -> MasterKey:
    """:func:`check_master_key`, then load the key (creating the key file on first start)."""
    check_master_key(config)
    return load_master_key(config.data_dir)


async def record_key_check(store: Store, master: MasterKey, config: Deployment) -> None:
    """Step 2 (after the migrations): check again, and record the check value if the store has none."""
    where = describe_store(config.store_settings())
    async with store.write() as tx:
        if verify(master, await read_store_seal(tx), where, config.data_dir):
            return
        ours = key_check_of(master)
        await tx.keys.insert_key_check(ours.key_id, ours.value, time.time())
        verify(master, await read_store_seal(tx), where, config.data_dir)  # another instance may have been first
