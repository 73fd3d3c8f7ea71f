"""Master key loading and the KMS key ring (default key, customer keys, cache, errors)."""

from __future__ import annotations

import asyncio
import base64
import os
import pickle
import stat
from pathlib import Path

import pytest

from strongroom.crypto.envelope import version_aad
from strongroom.crypto.errors import CannotOpen
from strongroom.kms.errors import (
    AliasExists,
    CannotDecrypt,
    CannotEncrypt,
    InvalidAlias,
    InvalidKeyReference,
    KeyDisabled,
    KeyNotFound,
    KmsError,
)
from strongroom.kms.keyring import (
    DEFAULT_ALIAS,
    InMemoryKmsKeyStore,
    KeyRing,
    alias_arn,
    parse_kms_key_ref,
)
from strongroom.kms.master_key import ENV_VAR, MasterKey, MasterKeyError, load_master_key

ACCOUNT, REGION = "111111111111", "us-east-1"
OTHER_ACCOUNT, OTHER_REGION = "222222222222", "eu-west-1"
SECRET = "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbCdEf"
AAD = version_aad(SECRET, "v1")
VALUE = b'{"password": "hunter2-but-much-longer-and-secret"}'


def run(coro):
    return asyncio.run(coro)


def ring(store: InMemoryKmsKeyStore | None = None, master: MasterKey | None = None, **kw) -> KeyRing:
    store = store if store is not None else InMemoryKmsKeyStore()
    return KeyRing(master or MasterKey(bytes(32)), store, **kw)


# --- master key -----------------------------------------------------------------------------------
def test_master_key_file_created_0600_in_0700_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "nested"
    mk = load_master_key(data_dir, env={})
    path = data_dir / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert len(base64.b64decode(path.read_bytes().strip(), validate=True)) == 32
    assert [p.name for p in data_dir.iterdir()] == ["master.key"]  # no temp file left behind
    again = load_master_key(data_dir, env={})
    assert again.key_id == mk.key_id
    assert mk.source == f"file:{path}"


def test_existing_data_dir_is_tightened(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)  # noqa: S103 - the point of the test
    load_master_key(tmp_path, env={})
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_refuses_key_file_readable_by_others(tmp_path: Path, mode: int) -> None:
    load_master_key(tmp_path, env={})
    os.chmod(tmp_path / "master.key", mode)
    with pytest.raises(MasterKeyError, match=f"mode {mode:04o}.*chmod 600"):
        load_master_key(tmp_path, env={})


def test_accepts_0400_key_file(tmp_path: Path) -> None:
    mk = load_master_key(tmp_path, env={})
    os.chmod(tmp_path / "master.key", 0o400)
    assert load_master_key(tmp_path, env={}).key_id == mk.key_id


def test_refuses_symlinked_key_file(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.key"
    real.write_bytes(base64.b64encode(os.urandom(32)))
    os.chmod(real, 0o600)
    (tmp_path / "master.key").symlink_to(real)
    with pytest.raises(MasterKeyError):
        load_master_key(tmp_path, env={})


@pytest.mark.parametrize("content", [b"", b"not base64!!", base64.b64encode(os.urandom(16)), os.urandom(32)])
def test_refuses_malformed_key_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "master.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(MasterKeyError, match="master key file"):
        load_master_key(tmp_path, env={})


def test_env_var_wins(tmp_path: Path) -> None:
    key = os.urandom(32)
    mk = load_master_key(tmp_path / "d", env={ENV_VAR: base64.b64encode(key).decode() + "\n"})
    assert mk.key_id == MasterKey(key).key_id
    assert mk.source == f"env:{ENV_VAR}"
    assert not (tmp_path / "d").exists()  # no key file written when the variable is set


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("", "decodes to 0 bytes"),
        ("%%%%", "not valid base64"),
        ("AAAA=AAA", "not valid base64"),
        (base64.b64encode(os.urandom(31)).decode(), "decodes to 31 bytes"),
        (base64.b64encode(os.urandom(33)).decode(), "decodes to 33 bytes"),
        (base64.urlsafe_b64encode(b"\xff" * 32).decode(), "not valid base64"),
    ],
)
def test_env_var_parse_errors(tmp_path: Path, value: str, match: str) -> None:
    with pytest.raises(MasterKeyError, match=match) as e:
        load_master_key(tmp_path, env={ENV_VAR: value})
    assert ENV_VAR in str(e.value)


def test_master_key_repr_and_pickle_never_show_key() -> None:
    key = bytes(range(32))
    mk = MasterKey(key)
    for text in (repr(mk), str(mk)):
        assert key.hex() not in text and base64.b64encode(key).decode() not in text
        assert mk.key_id in text
    with pytest.raises(TypeError):
        pickle.dumps(mk)
    with pytest.raises(MasterKeyError):
        MasterKey(key[:16])


def test_master_wrap_bound_to_arn_and_key() -> None:
    mk = MasterKey(os.urandom(32))
    blob = mk.wrap(b"m" * 32, b"arn-a")
    assert mk.unwrap(blob, b"arn-a") == b"m" * 32
    with pytest.raises(CannotOpen):
        mk.unwrap(blob, b"arn-b")
    with pytest.raises(CannotOpen, match="different master key"):
        MasterKey(os.urandom(32)).unwrap(blob, b"arn-a")


# --- key references -------------------------------------------------------------------------------
KEY_ID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
ALIAS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/my-app"


@pytest.mark.parametrize(
    ("ref", "kind", "arn"),
    [
        (KEY_ID, "key", KEY_ARN),
        (KEY_ARN, "key", KEY_ARN),
        ("alias/my-app", "alias", ALIAS_ARN),
        (ALIAS_ARN, "alias", ALIAS_ARN),
    ],
)
def test_parse_ref(ref: str, kind: str, arn: str) -> None:
    parsed = parse_kms_key_ref(ACCOUNT, REGION, ref)
    assert (parsed.kind, parsed.arn) == (kind, arn)


@pytest.mark.parametrize(
    "ref",
    ["my-app", "alias/", "alias/has space", "key/" + KEY_ID, KEY_ID.upper(), "arn:aws:kms:us-east-1:1:key/x"],
)
def test_parse_ref_rejects_malformed(ref: str) -> None:
    with pytest.raises(InvalidKeyReference, match="Invalid keyId"):
        parse_kms_key_ref(ACCOUNT, REGION, ref)


# --- default key ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ref", [None, "", DEFAULT_ALIAS, alias_arn(ACCOUNT, REGION, DEFAULT_ALIAS)])
def test_default_key_round_trip(ref: str | None) -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        blob = await kr.seal(ACCOUNT, REGION, ref, VALUE, AAD)
        assert VALUE not in blob
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
        [key] = store.keys.values()
        assert key.alias == DEFAULT_ALIAS and key.account == ACCOUNT and key.region == REGION
        assert key.arn == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key.key_id}"
        assert (await kr.resolve(ACCOUNT, REGION, None)).arn == key.arn

    run(main())


def test_a_secret_records_no_key_id_for_the_default_key() -> None:
    """Every name of the default key -> None (AWS omits KmsKeyId then); a customer key as given."""

    async def main() -> None:
        kr = ring()
        default = await kr.resolve(ACCOUNT, REGION, None)
        customer = await kr.create_key(ACCOUNT, REGION, alias="alias/app")
        for ref in (None, "", DEFAULT_ALIAS, alias_arn(ACCOUNT, REGION, DEFAULT_ALIAS), default.key_id, default.arn):
            assert (await kr.sealer(ACCOUNT, REGION, ref)).secret_key_id(ref) is None, ref
        for ref in (customer.key_id, customer.arn, "alias/app", alias_arn(ACCOUNT, REGION, "alias/app")):
            assert (await kr.sealer(ACCOUNT, REGION, ref)).secret_key_id(ref) == ref
        with pytest.raises(KeyNotFound, match="Alias .* is not found"):
            await kr.sealer(ACCOUNT, REGION, "alias/nope")

    run(main())


def test_default_key_created_once_under_concurrent_first_use() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        keys = await asyncio.gather(*(kr.resolve(ACCOUNT, REGION, None) for _ in range(50)))
        assert len(store.keys) == 1
        assert {k.arn for k in keys} == set(store.keys)

    run(main())


def test_default_key_created_once_across_processes() -> None:
    """Two key rings (two server processes) racing on one store: the store's alias wins once."""

    async def main() -> None:
        store = InMemoryKmsKeyStore()
        master = MasterKey(os.urandom(32))
        a, b = ring(store, master), ring(store, master)
        blobs = await asyncio.gather(
            *(r.seal(ACCOUNT, REGION, None, VALUE, AAD) for r in (a, b) for _ in range(10))
        )
        assert len(store.keys) == 1
        for blob in blobs:
            assert await a.open(ACCOUNT, REGION, blob, AAD) == VALUE
            assert await b.open(ACCOUNT, REGION, blob, AAD) == VALUE

    run(main())


def test_default_key_per_account_and_region() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        scopes = [(ACCOUNT, REGION), (ACCOUNT, OTHER_REGION), (OTHER_ACCOUNT, REGION)]
        keys = await asyncio.gather(*(kr.resolve(a, r, None) for a, r in scopes for _ in range(5)))
        assert len(store.keys) == 3 and len({k.arn for k in keys}) == 3

    run(main())


# --- customer keys --------------------------------------------------------------------------------
def test_customer_key_by_every_reference_form() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        key = await kr.create_key(ACCOUNT, REGION, alias="alias/my-app")
        refs = [key.key_id, key.arn, "alias/my-app", alias_arn(ACCOUNT, REGION, "alias/my-app")]
        for ref in refs:
            assert (await kr.resolve(ACCOUNT, REGION, ref)).arn == key.arn
            blob = await kr.seal(ACCOUNT, REGION, ref, VALUE, AAD)
            assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
        assert all(k.alias != DEFAULT_ALIAS for k in store.keys.values())  # no default key made

    run(main())


@pytest.mark.parametrize(
    ("ref", "match"),
    [
        (KEY_ID, f"^Key 'arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}' does not exist"),
        ("alias/nope", f"^Alias arn:aws:kms:{REGION}:{ACCOUNT}:alias/nope is not found."),
        ("nope", "^Invalid keyId nope$"),
    ],
)
def test_unknown_customer_key(ref: str, match: str) -> None:
    async def main() -> None:
        kr = ring()
        with pytest.raises(KmsError, match=match):
            await kr.seal(ACCOUNT, REGION, ref, VALUE, AAD)

    run(main())


def test_customer_key_of_other_account_or_region_not_usable() -> None:
    async def main() -> None:
        kr = ring()
        key = await kr.create_key(ACCOUNT, REGION)
        for account, region in [(OTHER_ACCOUNT, REGION), (ACCOUNT, OTHER_REGION)]:
            for ref in (key.arn, key.key_id):
                with pytest.raises(KeyNotFound):
                    await kr.resolve(account, region, ref)
        # an alias ARN naming another region doesn't resolve to the caller's alias of the same name
        await kr.create_key(ACCOUNT, REGION, alias="alias/app")
        with pytest.raises(KeyNotFound, match="is not found"):
            await kr.resolve(ACCOUNT, REGION, alias_arn(ACCOUNT, OTHER_REGION, "alias/app"))
        with pytest.raises(KeyNotFound, match="is not found"):
            await kr.resolve(ACCOUNT, REGION, alias_arn(OTHER_ACCOUNT, REGION, "alias/app"))

    run(main())


def test_create_key_alias_rules() -> None:
    async def main() -> None:
        kr = ring()
        await kr.create_key(ACCOUNT, REGION, alias="alias/app")
        with pytest.raises(AliasExists, match="alias/app already exists"):
            await kr.create_key(ACCOUNT, REGION, alias="alias/app")
        await kr.create_key(OTHER_ACCOUNT, REGION, alias="alias/app")  # aliases are per account+region
        with pytest.raises(InvalidAlias, match="reserved"):
            await kr.create_key(ACCOUNT, REGION, alias="alias/aws/secretsmanager")
        with pytest.raises(InvalidAlias):
            await kr.create_key(ACCOUNT, REGION, alias="app")

    run(main())


def test_disabled_key() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        key = await kr.create_key(ACCOUNT, REGION, alias="alias/app")
        blob = await kr.seal(ACCOUNT, REGION, "alias/app", VALUE, AAD)
        store.set_enabled(key.arn, False)
        kr.forget(key.arn)
        with pytest.raises(KeyDisabled, match="is disabled"):
            await kr.seal(ACCOUNT, REGION, key.arn, VALUE, AAD)
        with pytest.raises(KeyDisabled, match="is disabled"):
            await kr.open(ACCOUNT, REGION, blob, AAD)
        store.set_enabled(key.arn, True)
        kr.forget(key.arn)
        assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE

    run(main())


# --- open: binding and failures -------------------------------------------------------------------
def test_blob_cannot_move_to_another_secret_or_version() -> None:
    async def main() -> None:
        kr = ring()
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        for aad in (version_aad(SECRET, "v2"), version_aad(SECRET.replace("db-", "dc-"), "v1")):
            with pytest.raises(CannotDecrypt):
                await kr.open(ACCOUNT, REGION, blob, aad)

    run(main())


def test_blob_cannot_be_opened_by_another_account() -> None:
    async def main() -> None:
        kr = ring()
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        with pytest.raises(CannotDecrypt):
            await kr.open(OTHER_ACCOUNT, REGION, blob, AAD)
        kr.forget()
        with pytest.raises(CannotDecrypt):
            await kr.open(OTHER_ACCOUNT, REGION, blob, AAD)

    run(main())


def test_wrong_master_key() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        blob = await ring(store).seal(ACCOUNT, REGION, None, VALUE, AAD)
        other = ring(store, MasterKey(os.urandom(32)))
        with pytest.raises(CannotDecrypt, match="different master key"):
            await other.open(ACCOUNT, REGION, blob, AAD)
        with pytest.raises(CannotEncrypt):
            await other.seal(ACCOUNT, REGION, None, VALUE, AAD)

    run(main())


def test_tampered_or_unknown_blobs() -> None:
    async def main() -> None:
        kr = ring()
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        for i in range(len(blob)):
            tampered = bytearray(blob)
            tampered[i] ^= 0x04
            with pytest.raises(CannotDecrypt) as e:
                await kr.open(ACCOUNT, REGION, bytes(tampered), AAD)
            assert b"hunter2" not in str(e.value).encode()
        for n in range(len(blob)):
            with pytest.raises(CannotDecrypt):
                await kr.open(ACCOUNT, REGION, blob[:n], AAD)

    run(main())


# --- cache ----------------------------------------------------------------------------------------
def test_open_with_cached_key_does_no_store_io() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        blob = await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        calls = store.calls
        for _ in range(100):
            assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
            await kr.seal(ACCOUNT, REGION, None, VALUE, AAD)
        assert store.calls == calls
        # a fresh ring (another process, or after restart) reads the key once, then caches it
        kr2 = ring(store, kr._master)
        for _ in range(10):
            assert await kr2.open(ACCOUNT, REGION, blob, AAD) == VALUE
        assert store.calls == calls + 1

    run(main())


def test_cache_is_bounded_lru() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store, cache_size=3)
        keys = [await kr.create_key(ACCOUNT, REGION) for _ in range(5)]
        blobs = [await kr.seal(ACCOUNT, REGION, k.arn, VALUE, AAD) for k in keys]
        assert kr.cached_keys == 3
        calls = store.calls
        for blob in blobs:  # the two oldest were evicted: each costs one store read
            assert await kr.open(ACCOUNT, REGION, blob, AAD) == VALUE
        assert kr.cached_keys == 3
        assert store.calls > calls
        for _ in range(3):
            await asyncio.gather(*(kr.resolve(ACCOUNT, f"r-{i}", None) for i in range(10)))
        assert kr.cached_keys == 3 and len(kr._defaults) <= 3

    run(main())


def test_key_material_never_in_rows_or_reprs() -> None:
    async def main() -> None:
        store = InMemoryKmsKeyStore()
        kr = ring(store)
        key = await kr.create_key(ACCOUNT, REGION, alias="alias/app")
        material = kr._cache[key.arn].material
        assert material not in key.wrapped_material
        for text in (repr(key), repr(kr), repr(kr._cache[key.arn])):
            assert material.hex() not in text and repr(material) not in text
            assert repr(key.wrapped_material) not in text

    run(main())
