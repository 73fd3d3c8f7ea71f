"""Opened data keys: envelope.open_data_key / DataKey.open, and KeyRing's per-blob cache of them.

pytest-asyncio is not a test dependency here; like test_keyring.py, async code runs under asyncio.run.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from strongroom.crypto import envelope
from strongroom.crypto.envelope import DataKey, open_, open_data_key, seal, version_aad
from strongroom.crypto.errors import CannotOpen
from strongroom.kms.errors import CannotDecrypt, KeyDisabled
from strongroom.kms.keyring import InMemoryKmsKeyStore, KeyRing
from strongroom.kms.master_key import MasterKey

ACCOUNT, REGION = "111111111111", "us-east-1"
OTHER_ACCOUNT, OTHER_REGION = "222222222222", "eu-west-1"
SECRET = "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbCdEf"
AAD = version_aad(SECRET, "v1")
AAD2 = version_aad(SECRET, "v2")
VALUE = b'{"password": "hunter2-but-much-longer-and-secret"}'
VALUE2 = VALUE.replace(b"hunter2", b"swordf1")  # same length as VALUE, so values can be swapped

KEK = bytes(range(32))
KEK_ID = "arn:aws:kms:us-east-1:111111111111:key/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
HEADER_END = 2 + len(KEK_ID) + 12 + 48  # prefix + data-key nonce + wrapped data key


def run(coro):
    return asyncio.run(coro)


def resolve_kek(key_id: str) -> bytes:
    if key_id != KEK_ID:
        raise CannotOpen("unknown key")
    return KEK


def ring(store: InMemoryKmsKeyStore | None = None, **kw) -> KeyRing:
    return KeyRing(MasterKey(bytes(32)), store if store is not None else InMemoryKmsKeyStore(), **kw)


def flip(blob: bytes, i: int, bit: int = 0x01) -> bytes:
    out = bytearray(blob)
    out[i] ^= bit
    return bytes(out)


@pytest.fixture
def count_open_data_key(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Record every blob whose data key is unwrapped (KeyRing calls envelope.open_data_key)."""
    calls: list[bytes] = []
    real = envelope.open_data_key

    def counting(blob, resolve):
        calls.append(blob)
        return real(blob, resolve)

    monkeypatch.setattr(envelope, "open_data_key", counting)
    return calls


# --- envelope: open_data_key + DataKey.open ---------------------------------------------------------
@pytest.mark.parametrize("plaintext", [b"", b"x", VALUE, os.urandom(4096)])
def test_open_is_open_data_key_then_data_key_open(plaintext: bytes) -> None:
    blob = seal(plaintext, KEK, KEK_ID, AAD)
    data_key = open_data_key(blob, resolve_kek)
    assert isinstance(data_key, DataKey)
    assert data_key.open(blob, AAD) == plaintext == open_(blob, resolve_kek, AAD)
    assert data_key.open(blob, AAD) == plaintext  # reusable


def test_open_data_key_needs_no_aad_and_resolver_errors_propagate() -> None:
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    open_data_key(blob, resolve_kek)  # the data key is wrapped without the caller's aad

    def unknown(_key_id: str) -> bytes:
        raise CannotOpen("unknown key")

    with pytest.raises(CannotOpen, match="unknown key"):
        open_data_key(blob, unknown)
    with pytest.raises(CannotOpen):
        open_data_key(blob, lambda _key_id: os.urandom(32))  # wrong KEK


def test_data_key_open_wrong_aad_fails_but_key_still_good() -> None:
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    data_key = open_data_key(blob, resolve_kek)
    for aad in (AAD2, b"", AAD + b"\x00", version_aad(SECRET + "x", "v1")):
        with pytest.raises(CannotOpen) as e:
            data_key.open(blob, aad)
        assert b"hunter2" not in str(e.value).encode()
    assert data_key.open(blob, AAD) == VALUE


def test_data_key_open_rejects_every_tampered_byte() -> None:
    """A data key opened from a good blob still authenticates the whole blob it is given."""
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    data_key = open_data_key(blob, resolve_kek)
    for i in range(len(blob)):
        with pytest.raises(CannotOpen):
            data_key.open(flip(blob, i), AAD)
    for n in range(len(blob)):
        with pytest.raises(CannotOpen):
            data_key.open(blob[:n], AAD)
    with pytest.raises(CannotOpen):
        data_key.open(blob + b"\x00", AAD)
    assert data_key.open(blob, AAD) == VALUE


def test_tampered_value_opens_data_key_but_not_value() -> None:
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    for i in range(HEADER_END, len(blob)):  # value nonce, ciphertext, tag
        tampered = flip(blob, i, 0x80)
        data_key = open_data_key(tampered, resolve_kek)  # the data key itself is fine
        with pytest.raises(CannotOpen):
            data_key.open(tampered, AAD)
        assert data_key.open(blob, AAD) == VALUE


def test_tampered_header_refused_by_open_data_key() -> None:
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    for i in range(HEADER_END):
        with pytest.raises(CannotOpen):
            open_data_key(flip(blob, i), resolve_kek)


def test_data_keys_are_per_blob() -> None:
    a = seal(VALUE, KEK, KEK_ID, AAD)
    b = seal(VALUE2, KEK, KEK_ID, AAD2)
    key_a, key_b = open_data_key(a, resolve_kek), open_data_key(b, resolve_kek)
    for aad in (AAD, AAD2):
        with pytest.raises(CannotOpen):
            key_a.open(b, aad)
        with pytest.raises(CannotOpen):
            key_b.open(a, aad)
    # A's header (and so A's data key) with B's value nonce and ciphertext
    swapped = a[:HEADER_END] + b[HEADER_END:]
    for aad in (AAD, AAD2):
        with pytest.raises(CannotOpen):
            open_(swapped, resolve_kek, aad)
        with pytest.raises(CannotOpen):
            key_a.open(swapped, aad)
    # same plaintext and aad sealed twice: still two different data keys
    c = seal(VALUE, KEK, KEK_ID, AAD)
    with pytest.raises(CannotOpen):
        key_a.open(a[:HEADER_END] + c[HEADER_END:], AAD)


# --- KeyRing: the per-blob cache -----------------------------------------------------------------
def test_second_open_uses_cached_data_key(count_open_data_key: list[bytes]) -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        fresh = ring(store)  # no KMS key cached: the first open reads the store once
        calls = store.calls
        assert await fresh.open(ACCOUNT, REGION, blob, AAD) == VALUE
        assert store.calls == calls + 1
        assert count_open_data_key == [blob]
        assert set(fresh._opened) == {blob}
        for _ in range(20):
            assert await fresh.open(ACCOUNT, REGION, blob, AAD) == VALUE
        assert store.calls == calls + 1  # no store I/O
        assert count_open_data_key == [blob]  # and no second unwrap of the data key

    run(main())


def test_concurrent_opens_of_one_blob() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        blob = await ring(store).seal(ACCOUNT, REGION, None, VALUE, AAD)
        kr = ring(store)
        assert await asyncio.gather(*(kr.open(ACCOUNT, REGION, blob, AAD) for _ in range(20))) == [VALUE] * 20
        assert set(kr._opened) == {blob}

    run(main())


def test_aad_checked_on_every_call_not_cached(count_open_data_key: list[bytes]) -> None:
    async def main() -> None:
        kr = ring()
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        # wrong aad first: the data key is fine, the value isn't returned
        with pytest.raises(CannotDecrypt):
            await kr.open(ACCOUNT, REGION, blob, AAD2)
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
        for aad in (AAD2, version_aad(SECRET.replace("db-", "dc-"), "v1"), b""):
            with pytest.raises(CannotDecrypt) as e:
                await kr.open(ACCOUNT, REGION, blob, aad)
            assert b"hunter2" not in str(e.value).encode()
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
        assert len(count_open_data_key) == 1  # all of the above from one cached data key

    run(main())


@pytest.mark.parametrize(("account", "region"), [(OTHER_ACCOUNT, REGION), (ACCOUNT, OTHER_REGION)])
def test_cached_blob_not_usable_from_another_scope(account: str, region: str) -> None:
    async def main() -> None:
        kr = ring()
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
        assert blob in kr._opened
        with pytest.raises(CannotDecrypt) as e:
            await kr.open(account, region, blob, AAD)
        assert "disabled" not in str(e.value)
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE

    run(main())


def test_other_scope_does_not_populate_cache() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        for account, region in [(OTHER_ACCOUNT, REGION), (ACCOUNT, OTHER_REGION)]:
            with pytest.raises(CannotDecrypt):
                await kr.open(account, region, blob, AAD)  # KMS key cached, blob not
            assert kr._opened == {}
            fresh = ring(store)
            with pytest.raises(CannotDecrypt):
                await fresh.open(account, region, blob, AAD)  # nothing cached at all
            assert fresh._opened == {} and fresh.cached_keys == 0

    run(main())


def test_disabled_key_learned_through_resolve() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        key = await kr.create_key(ACCOUNT, REGION, alias="alias/app")
        blob = await kr.seal(ACCOUNT, REGION, "alias/app", VALUE, AAD)
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
        assert blob in kr._opened
        store.set_enabled(key.arn, False)
        # an alias is looked up in the store on every resolve, which refreshes the cached row
        with pytest.raises(KeyDisabled, match="is disabled"):
            await kr.resolve(ACCOUNT, REGION, "alias/app")
        with pytest.raises(KeyDisabled, match=f"{key.arn} is disabled"):
            await kr.open(ACCOUNT, REGION, blob, AAD)
        # re-enabled and learned the same way: the cached blob opens again without store I/O
        store.set_enabled(key.arn, True)
        await kr.resolve(ACCOUNT, REGION, "alias/app")
        calls = store.calls
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
        assert store.calls == calls

    run(main())


@pytest.mark.parametrize("forget_all", [False, True])
def test_disabled_key_learned_through_forget(forget_all: bool) -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
        [key] = store.keys.values()
        store.set_enabled(key.arn, False)
        kr.forget(None if forget_all else key.arn)
        assert kr._opened == {}
        for _ in range(2):
            with pytest.raises(KeyDisabled, match=f"{key.arn} is disabled"):
                await kr.open(ACCOUNT, REGION, blob, AAD)
        assert kr._opened == {}  # a refused blob is not cached
        store.set_enabled(key.arn, True)
        kr.forget(key.arn)
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE

    run(main())


def test_forget_empties_opened(count_open_data_key: list[bytes]) -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        a = await kr.create_key(ACCOUNT, REGION)
        b = await kr.create_key(ACCOUNT, REGION)
        blob_a = await kr.seal(ACCOUNT, REGION, a.arn, VALUE, AAD)
        blob_b = await kr.seal(ACCOUNT, REGION, b.arn, VALUE2, AAD2)

        async def open_both() -> None:
            assert await kr.open(ACCOUNT, REGION, blob_a, AAD) == VALUE
            assert await kr.open(ACCOUNT, REGION, blob_b, AAD2) == VALUE2

        await open_both()
        assert set(kr._opened) == {blob_a, blob_b}
        kr.forget(a.arn)  # one key: every opened data key goes
        assert kr._opened == {}
        await open_both()
        assert len(kr._opened) == 2
        kr.forget()
        assert kr._opened == {}
        await open_both()
        assert len(count_open_data_key) == 6  # each forget forced fresh unwraps

    run(main())


def test_kms_key_eviction_empties_opened() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store, cache_size=2)
        a = await kr.create_key(ACCOUNT, REGION)
        blob = await kr.seal(ACCOUNT, REGION, a.arn, VALUE, AAD)
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
        assert set(kr._opened) == {blob}
        await kr.create_key(ACCOUNT, REGION)  # fits: nothing evicted
        assert set(kr._opened) == {blob}
        await kr.create_key(ACCOUNT, REGION)  # evicts a
        assert kr.cached_keys == 2 and a.arn not in kr._cache
        assert kr._opened == {}
        store.set_enabled(a.arn, False)
        with pytest.raises(KeyDisabled, match="is disabled"):  # re-read from the store
            await kr.open(ACCOUNT, REGION, blob, AAD)

    run(main())


def test_opened_is_bounded_oldest_dropped_first(count_open_data_key: list[bytes]) -> None:
    async def main() -> None:
        kr = ring(data_key_cache_size=2)
        aads = [version_aad(SECRET, f"v{i}") for i in range(3)]
        blobs = [await kr.seal(ACCOUNT, REGION, None, VALUE, aad) for aad in aads]
        for blob, aad in zip(blobs, aads, strict=True):
            assert await kr.open(ACCOUNT, REGION, blob, aad) == VALUE
            assert len(kr._opened) <= 2
        assert list(kr._opened) == blobs[1:]
        assert kr.cached_keys == 1  # one KMS key: no eviction there
        del count_open_data_key[:]
        assert await kr.open(ACCOUNT, REGION, blobs[2], aads[2]) == VALUE  # still cached
        assert count_open_data_key == []
        assert await kr.open(ACCOUNT, REGION, blobs[0], aads[0]) == VALUE  # was dropped
        assert count_open_data_key == [blobs[0]]
        assert len(kr._opened) == 2

    run(main())


def test_cache_size_one() -> None:
    async def main() -> None:
        kr = ring(data_key_cache_size=1)
        blobs = [await kr.seal(ACCOUNT, REGION, None, VALUE, AAD) for _ in range(3)]
        for blob in blobs * 2:
            assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
            assert list(kr._opened) == [blob]

    run(main())


def test_blobs_never_share_a_data_key() -> None:
    async def main() -> None:
        kr = ring()
        a = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        b = await kr.seal(ACCOUNT, REGION, None, VALUE2, AAD2)
        assert len(a) == len(b)
        assert await kr.open(ACCOUNT, REGION, a, AAD) == VALUE
        assert await kr.open(ACCOUNT, REGION, b, AAD2) == VALUE2
        key_a, key_b = kr._opened[a][1], kr._opened[b][1]
        assert key_a is not key_b
        with pytest.raises(CannotOpen):
            key_a.open(b, AAD2)
        with pytest.raises(CannotOpen):
            key_b.open(a, AAD)
        # swap values between the cached blobs: each header's data key meets the other's value
        a_head_b_value = a[: -len(VALUE) - 28] + b[-len(VALUE2) - 28 :]
        b_head_a_value = b[: -len(VALUE2) - 28] + a[-len(VALUE) - 28 :]
        for swapped in (a_head_b_value, b_head_a_value):
            for aad in (AAD, AAD2):
                with pytest.raises(CannotDecrypt):
                    await kr.open(ACCOUNT, REGION, swapped, aad)
                with pytest.raises(CannotDecrypt):  # again, now its (own) data key is cached
                    await kr.open(ACCOUNT, REGION, swapped, aad)
        assert await kr.open(ACCOUNT, REGION, a, AAD) == VALUE
        assert await kr.open(ACCOUNT, REGION, b, AAD2) == VALUE2

    run(main())


def test_tampered_wrapped_data_key_refused_and_not_cached() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        [key] = store.keys.values()
        at = 2 + len(key.arn.encode())
        for i in range(at, at + 12 + 48):  # data-key nonce and wrapped data key
            tampered = flip(blob, i)
            for _ in range(2):
                with pytest.raises(CannotDecrypt):
                    await kr.open(ACCOUNT, REGION, tampered, AAD)
            assert kr._opened == {}
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
        assert set(kr._opened) == {blob}
        with pytest.raises(CannotDecrypt):
            await kr.open(ACCOUNT, REGION, flip(blob, at + 20), AAD)
        assert set(kr._opened) == {blob}

    run(main())


def test_tampered_key_id_or_format_not_cached() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        [key] = store.keys.values()
        for i in range(2 + len(key.arn.encode())):
            with pytest.raises(CannotDecrypt):
                await kr.open(ACCOUNT, REGION, flip(blob, i), AAD)
        assert kr._opened == {}

    run(main())


def test_tampered_value_never_opens_even_when_cached() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        [key] = store.keys.values()
        header_end = 2 + len(key.arn.encode()) + 12 + 48
        for i in range(header_end, len(blob), 7):
            tampered = flip(blob, i, 0x80)
            for _ in range(2):
                with pytest.raises(CannotDecrypt):
                    await kr.open(ACCOUNT, REGION, tampered, AAD)
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE

    run(main())


def test_cache_sizes_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ring(cache_size=0)
    with pytest.raises(ValueError):
        ring(data_key_cache_size=0)
