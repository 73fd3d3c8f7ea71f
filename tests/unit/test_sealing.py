"""The one sealing format (crypto/sealing.py) of access-key secrets, session secrets and page tokens.

Format byte 0x03, key id, nonce, AES-GCM with header + AAD authenticated; access-key and session
blobs written by earlier releases (nonce + ciphertext, the access key id as AAD) still open.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from strongroom.crypto.envelope import FORMAT_SEALING_BOX_V1
from strongroom.crypto.errors import CannotOpen
from strongroom.crypto.sealing import SealingBox
from strongroom.iam.identities import Identities
from strongroom.kms.key_check import StoreSeal, verify
from strongroom.kms.master_key import ACCESS_KEYS, KEY_CHECK, PAGE_TOKENS, MasterKey
from strongroom.store.records import AccessKeyRow
from strongroom.store.sqlite import SqliteStore

KEY = bytes(range(32))
AAD = b"AKIAEXAMPLE000000001"
#: A blob of the sealing used before this format (auth/secret_box.py of earlier releases), recorded with
#: key bytes(range(32)), nonce bytes(range(100, 112)), access key AKIAOLDFORMAT0000001.
OLD_KEY_ID = "AKIAOLDFORMAT0000001"
OLD_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
OLD_BLOB = bytes.fromhex(
    "6465666768696a6b6c6d6e6f3f51bf0a0bb103ea50241aa5934a21ca0f864344cc439122df83ca21b8fae010d5a4108c0959de5dfc59"
    "9d5914497051976b2c39c9ba9f2d"
)
#: The same secret sealed that old way under MasterKey(bytes(range(32)))'s access-key key.
OLD_BLOB_UNDER_MASTER = bytes.fromhex(
    "6465666768696a6b6c6d6e6fb90b3ae78908c54488fd54f74fd9817743b8760d9f21ddb9451aa4a22e6cb48decbe9e61c5612995e7ef"
    "3c7a5168b38b8b5d2cd0b1fc203c"
)


def test_layout_format_byte_key_id_nonce_ciphertext() -> None:
    box = SealingBox(KEY, "k1/access-keys")
    blob = box.seal(b"secret", AAD)
    assert blob[0] == FORMAT_SEALING_BOX_V1 == 0x03
    assert blob[1] == len(b"k1/access-keys") and blob[2:16] == b"k1/access-keys"
    assert len(blob) == 16 + 12 + len(b"secret") + 16
    assert b"secret" not in blob
    assert box.open(blob, AAD) == b"secret"
    assert SealingBox(KEY, "k1/access-keys").open(blob, AAD) == b"secret"  # another instance, same key
    assert box.seal(b"secret", AAD) != blob  # a fresh nonce each time


def test_aad_key_and_key_id_are_bound() -> None:
    box = SealingBox(KEY, "k1/x")
    blob = box.seal(b"secret", AAD)
    for other_aad in (b"", AAD + b"\x00", b"AKIAEXAMPLE000000002"):
        with pytest.raises(CannotOpen):
            box.open(blob, other_aad)
    with pytest.raises(CannotOpen):
        SealingBox(os.urandom(32), "k1/x").open(blob, AAD)  # another key under the same id
    with pytest.raises(CannotOpen):
        SealingBox(KEY, "k2/x").open(blob, AAD)  # the same key under another id: the header is authenticated


@pytest.mark.parametrize("legacy", [False, True])
def test_every_tampered_byte_and_truncation_is_refused(legacy: bool) -> None:
    box = SealingBox(KEY, "k1/access-keys", legacy=legacy)
    blob = box.seal(b"secret", AAD)
    for i in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[i] ^= bit
            with pytest.raises(CannotOpen) as info:
                box.open(bytes(tampered), AAD)
            assert "secret" not in str(info.value)
    for n in range(len(blob)):
        with pytest.raises(CannotOpen):
            box.open(blob[:n], AAD)
    with pytest.raises(CannotOpen):
        box.open(blob + b"\x00", AAD)


def test_old_blobs_open_only_in_a_legacy_box() -> None:
    assert SealingBox(KEY, "any/access-keys", legacy=True).open(OLD_BLOB, OLD_KEY_ID.encode()) == OLD_SECRET.encode()
    with pytest.raises(CannotOpen):
        SealingBox(KEY, "any/access-keys").open(OLD_BLOB, OLD_KEY_ID.encode())
    with pytest.raises(CannotOpen):
        SealingBox(KEY, "any/access-keys", legacy=True).open(OLD_BLOB, b"AKIAOTHER")
    tampered = bytearray(OLD_BLOB)
    tampered[20] ^= 1
    with pytest.raises(CannotOpen):
        SealingBox(KEY, "any/access-keys", legacy=True).open(bytes(tampered), OLD_KEY_ID.encode())


def test_master_key_boxes_name_their_key_and_purpose_and_do_not_mix() -> None:
    master = MasterKey(KEY)
    access, tokens = master.sealing_box(ACCESS_KEYS), master.sealing_box(PAGE_TOKENS)
    assert access.key_id == f"{master.key_id}/access-keys"
    assert tokens.key_id == f"{master.key_id}/next-token"
    assert len({ACCESS_KEYS, PAGE_TOKENS, KEY_CHECK}) == 3
    blob = access.seal(b"secret", AAD)
    with pytest.raises(CannotOpen):
        tokens.open(blob, AAD)
    with pytest.raises(CannotOpen):
        MasterKey(os.urandom(32)).sealing_box(ACCESS_KEYS).open(blob, AAD)
    with pytest.raises(CannotOpen):  # tokens never accept the old layout
        tokens.open(OLD_BLOB_UNDER_MASTER, OLD_KEY_ID.encode())
    assert access.open(OLD_BLOB_UNDER_MASTER, OLD_KEY_ID.encode()) == OLD_SECRET.encode()


def test_an_access_key_stored_by_an_earlier_release_still_authenticates(tmp_path: Path) -> None:
    """A store written before the sealing format: its access key resolves, the master key check
    accepts it, and keys created now are stored in the new format."""
    master = MasterKey(KEY)

    async def main() -> None:
        store = SqliteStore(tmp_path / "db")
        await store.migrate()
        try:
            async with store.write() as tx:
                await tx.iam.insert_access_key(
                    AccessKeyRow(OLD_KEY_ID, "111111111111", None, OLD_BLOB_UNDER_MASTER, "Active", time.time())
                )
            identities = Identities(store, master.sealing_box(ACCESS_KEYS))
            identity = await identities.resolve(OLD_KEY_ID)
            assert identity is not None and identity.secret_access_key == OLD_SECRET
            seal = StoreSeal(access_key=AccessKeyRow(OLD_KEY_ID, "111111111111", None, OLD_BLOB_UNDER_MASTER,
                                                     "Active", 0.0))
            assert verify(master, seal, "test store", tmp_path) is False  # accepted, nothing recorded
            new = await identities.create_access_key("111111111111", None)
            async with store.read() as tx:
                row = await tx.iam.get_access_key(new.access_key_id)
            assert row is not None and row.sealed_secret[0] == FORMAT_SEALING_BOX_V1
            assert row.sealed_secret[2 : 2 + row.sealed_secret[1]].decode() == f"{master.key_id}/access-keys"
            assert new.secret_access_key.encode() not in row.sealed_secret
        finally:
            await store.close()

    asyncio.run(main())
