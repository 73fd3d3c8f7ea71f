"""Envelope format: round trips, AAD binding, tampering, truncation, format versions."""

from __future__ import annotations

import os

import pytest

from strongroom.crypto import envelope
from strongroom.crypto.envelope import key_id_of, open_, seal, unwrap_key, version_aad, wrap_key
from strongroom.crypto.errors import CannotOpen

KEK = bytes(range(32))
KEK_ID = "arn:aws:kms:us-east-1:111111111111:key/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
ARN = "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-password-AbCdEf"
AAD = version_aad(ARN, "11111111-1111-4111-8111-111111111111")
VALUE = b"correct horse battery staple, the secret value nobody may see"


def resolver(kek: bytes = KEK, kek_id: str = KEK_ID):
    def resolve(key_id: str) -> bytes:
        if key_id != kek_id:
            raise CannotOpen("unknown key")
        return kek

    return resolve


@pytest.mark.parametrize("plaintext", [b"", b"x", VALUE, os.urandom(1024), os.urandom(65536)])
def test_round_trip(plaintext: bytes) -> None:
    blob = seal(plaintext, KEK, KEK_ID, AAD)
    assert open_(blob, resolver(), AAD) == plaintext
    assert len(blob) == len(plaintext) + 90 + len(KEK_ID.encode())


def test_layout_is_self_describing() -> None:
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    assert blob[0] == envelope.FORMAT_SEALED_V1
    assert blob[1] == len(KEK_ID)
    assert blob[2 : 2 + len(KEK_ID)] == KEK_ID.encode()
    assert key_id_of(blob) == KEK_ID


def test_fresh_data_key_and_nonces_every_time() -> None:
    a, b = seal(VALUE, KEK, KEK_ID, AAD), seal(VALUE, KEK, KEK_ID, AAD)
    assert a != b
    n = 2 + len(KEK_ID)
    assert a[n : n + 60] != b[n : n + 60]  # wrapped data key differs
    assert a[n + 60 : n + 72] != b[n + 60 : n + 72]  # value nonce differs


def test_plaintext_never_appears_in_blob() -> None:
    blob = seal(VALUE * 20, KEK, KEK_ID, AAD)
    for i in range(0, len(VALUE) - 8):
        assert VALUE[i : i + 8] not in blob


@pytest.mark.parametrize(
    ("arn", "version"),
    [
        (ARN.replace("db-password", "other"), "11111111-1111-4111-8111-111111111111"),
        (ARN, "22222222-2222-4222-8222-222222222222"),
        (ARN + "1", "11111111-1111-4111-8111-11111111111"),  # same concatenation, different split
    ],
)
def test_blob_bound_to_secret_and_version(arn: str, version: str) -> None:
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    with pytest.raises(CannotOpen):
        open_(blob, resolver(), version_aad(arn, version))


def test_version_aad_is_unambiguous() -> None:
    assert version_aad("ab", "c") != version_aad("a", "bc")


def test_every_byte_is_authenticated() -> None:
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    for i in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[i] ^= bit
            with pytest.raises(CannotOpen) as e:
                open_(bytes(tampered), resolver(), AAD)
            assert VALUE[:6] not in str(e.value).encode()


def test_appended_bytes_rejected() -> None:
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    with pytest.raises(CannotOpen):
        open_(blob + b"\x00", resolver(), AAD)


def test_every_truncation_rejected() -> None:
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    for n in range(len(blob)):
        with pytest.raises(CannotOpen):
            open_(blob[:n], resolver(), AAD)


@pytest.mark.parametrize("fmt", [0x00, 0x03, 0x7F, 0xFF])
def test_unknown_format_version(fmt: int) -> None:
    blob = bytearray(seal(VALUE, KEK, KEK_ID, AAD))
    blob[0] = fmt
    with pytest.raises(CannotOpen, match="unsupported ciphertext format"):
        open_(bytes(blob), resolver(), AAD)
    with pytest.raises(CannotOpen):
        key_id_of(bytes(blob))


def test_formats_are_not_interchangeable() -> None:
    wrapped = wrap_key(os.urandom(32), KEK, KEK_ID, AAD)
    with pytest.raises(CannotOpen, match="unsupported"):
        open_(wrapped, resolver(), AAD)
    with pytest.raises(CannotOpen, match="unsupported"):
        unwrap_key(seal(VALUE, KEK, KEK_ID, AAD), resolver(), AAD)


def test_wrong_kek() -> None:
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    with pytest.raises(CannotOpen):
        open_(blob, resolver(kek=os.urandom(32)), AAD)


def test_unknown_key_id_error_from_resolver_propagates() -> None:
    blob = seal(VALUE, KEK, KEK_ID, AAD)
    with pytest.raises(CannotOpen, match="unknown key"):
        open_(blob, resolver(kek_id="some-other-key"), AAD)


def test_kek_must_be_256_bits() -> None:
    with pytest.raises(ValueError):
        seal(VALUE, KEK[:16], KEK_ID, AAD)
    with pytest.raises(ValueError):
        wrap_key(KEK, KEK[:24], KEK_ID, AAD)


@pytest.mark.parametrize("kek_id", ["", "x" * 256])
def test_key_id_length_limits(kek_id: str) -> None:
    with pytest.raises(ValueError):
        seal(VALUE, KEK, kek_id, AAD)


def test_wrap_round_trip_and_binding() -> None:
    material = os.urandom(32)
    arn_a, arn_b = b"arn:aws:kms:us-east-1:111111111111:key/a", b"arn:aws:kms:us-east-1:111111111111:key/b"
    master = resolver(kek_id="master-1")
    blob = wrap_key(material, KEK, "master-1", arn_a)
    assert blob[0] == envelope.FORMAT_WRAPPED_KEY_V1
    assert key_id_of(blob) == "master-1"
    assert material not in blob
    assert unwrap_key(blob, master, arn_a) == material
    with pytest.raises(CannotOpen):
        unwrap_key(blob, master, arn_b)
    for i in range(len(blob)):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(CannotOpen):
            unwrap_key(bytes(tampered), master, arn_a)
    for n in range(len(blob)):
        with pytest.raises(CannotOpen):
            unwrap_key(blob[:n], master, arn_a)
