"""strongroom.crypto.digests and strongroom.clock: fast paths that must equal the plain ones."""

from __future__ import annotations

import hashlib
import time

import pytest

from strongroom import clock
from strongroom.crypto.digests import sha256_hex


@pytest.mark.parametrize("data", [b"", b"abc", b"x" * 63, b"x" * 64, b"y" * 1000, bytes(range(256)) * 9])
def test_sha256_hex_equals_hashlib(data: bytes) -> None:
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
    assert sha256_hex(memoryview(data)) == hashlib.sha256(data).hexdigest()


def test_sha256_hex_does_not_carry_state_between_calls() -> None:
    first = sha256_hex(b"first")
    assert sha256_hex(b"second") == hashlib.sha256(b"second").hexdigest()
    assert sha256_hex(b"first") == first


def test_clock_is_epoch_seconds_to_the_millisecond() -> None:
    before = time.time()
    now = clock.now()
    after = time.time()
    assert before - 0.001 <= now <= after
    assert now == round(now, 3)  # no digits below the millisecond
    assert isinstance(now, float)
