"""Pagination tokens (sealed, scoped, tamper-evident) and secret ARNs (building, resolving SecretIds)."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.errors import CannotOpen
from strongroom.crypto.page_tokens import PageTokens
from strongroom.crypto.sealing import SealingBox
from strongroom.errors import AccessDeniedException, InvalidNextTokenException, ResourceNotFoundException
from strongroom.kms.master_key import MasterKey
from strongroom.secrets.arns import SecretLookup, new_secret_arn, resolve_secret_id
from strongroom.secrets.authorization import find_secret
from strongroom.secrets.create import create_secret
from strongroom.secrets.tokens import INVALID_TOKEN, offset_page, open_position
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.sqlite import SqliteStore

ACCOUNT, OTHER_ACCOUNT = "123456789012", "210987654321"
REGION, OTHER_REGION = "us-east-1", "eu-west-1"
SCOPE = '["ListSecrets","123456789012","us-east-1","created-date",false,false,null]'
KEY = bytes(range(32))


def page_tokens(key: bytes | None = None) -> PageTokens:
    """Page tokens under ``key`` (a random one when None), as every instance sharing the key seals them."""
    return PageTokens(SealingBox(key if key is not None else os.urandom(32), "test/next-token"))


# --- tokens ----------------------------------------------------------------------------------
positions = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4),
    max_leaves=8,
)


@settings(max_examples=100)
@given(position=positions, scope=st.text(max_size=60))
def test_token_round_trip(position: Any, scope: str) -> None:
    sealer = page_tokens(KEY)
    token = sealer.seal(scope, position)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # URL-safe, no padding
    assert sealer.open(scope, token) == position
    assert page_tokens(KEY).open(scope, token) == position  # another instance with the same key


def test_typical_position_round_trips_exactly() -> None:
    sealer = page_tokens(KEY)
    for position in ([1700000000.123, 42], ["app/db", 7], [0, 1]):
        assert sealer.open(SCOPE, sealer.seal(SCOPE, position)) == position


def test_tokens_are_randomized() -> None:
    sealer = page_tokens(KEY)
    assert sealer.seal(SCOPE, [1, 2]) != sealer.seal(SCOPE, [1, 2])


def test_token_is_opaque() -> None:
    token = page_tokens(KEY).seal(SCOPE, ["visible-name", 12345])
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"visible-name" not in raw and b"12345" not in raw


def _invalid(sealer: PageTokens, token: str, scope: str = SCOPE) -> None:
    with pytest.raises(InvalidNextTokenException) as info:
        open_position(sealer, scope, token)
    assert info.value.message == INVALID_TOKEN


@pytest.mark.parametrize(("count", "limit"), [(0, 3), (1, 1), (1, 100), (5, 2), (6, 2), (6, 6), (7, 100)])
def test_offset_pages_visit_each_item_once_and_end_without_a_token(count: int, limit: int) -> None:
    sealer = page_tokens(KEY)
    items = [f"item{i}" for i in range(count)]
    seen: list[str] = []
    pages, token = 0, None
    while True:
        page, token = offset_page(sealer, "scope", items, token, limit)
        seen += page
        pages += 1
        if token is None:
            break
        assert page, "a NextToken must lead to items"
    assert seen == items
    assert pages == max(1, -(-count // limit))  # never an empty page after a full one


def test_offset_page_token_is_bound_to_its_list() -> None:
    sealer = page_tokens(KEY)
    _, token = offset_page(sealer, "secret-a", ["x", "y"], None, 1)
    assert token is not None
    with pytest.raises(InvalidNextTokenException):
        offset_page(sealer, "secret-b", ["x", "y"], token, 1)


def test_token_bound_to_its_scope() -> None:
    sealer = page_tokens(KEY)
    token = sealer.seal(SCOPE, [1, 2])
    _invalid(sealer, token, SCOPE.replace("created-date", "name"))
    _invalid(sealer, token, "")
    _invalid(sealer, token, SCOPE.replace("us-east-1", "eu-west-1"))


def test_token_from_another_key_fails() -> None:
    token = page_tokens(KEY).seal(SCOPE, [1, 2])
    _invalid(page_tokens(bytes(32)), token)
    _invalid(page_tokens(), token)  # a random key


def test_every_tampered_byte_is_detected() -> None:
    sealer = page_tokens(KEY)
    token = sealer.seal(SCOPE, ["a", 1])
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x01
        _invalid(sealer, base64.urlsafe_b64encode(bytes(bad)).decode().rstrip("="))
    _invalid(sealer, base64.urlsafe_b64encode(bytes(raw[:-1])).decode())  # truncated
    _invalid(sealer, base64.urlsafe_b64encode(bytes(raw) + b"\x00").decode())  # extended


@pytest.mark.parametrize("garbage", [
    "", "=", "====", "a", "ab", "abc", "!!!!", "not a token", "é", "\ud800", "\x00" * 8,
    base64.urlsafe_b64encode(b"x" * 11).decode(),  # shorter than a nonce
    base64.urlsafe_b64encode(b"x" * 12).decode(),  # a nonce and nothing else
    base64.urlsafe_b64encode(b"x" * 40).decode(),
    "eyJwb3NpdGlvbiI6IFsxLCAyXX0",  # base64 of plain JSON
])
def test_garbage_tokens_are_invalid(garbage: str) -> None:
    _invalid(page_tokens(KEY), garbage)


@settings(max_examples=200)
@given(garbage=st.text(max_size=80) | st.binary(max_size=80).map(lambda b: base64.urlsafe_b64encode(b).decode()))
def test_arbitrary_input_is_invalid_never_a_crash(garbage: str) -> None:
    _invalid(page_tokens(KEY), garbage)


def test_token_key_must_be_a_valid_aes_key() -> None:
    with pytest.raises(ValueError):
        page_tokens(b"short")
    with pytest.raises(CannotOpen):  # the crypto layer's own error; InvalidNextTokenException is the edge's
        page_tokens(KEY).open(SCOPE, "garbage")


# --- ARNs ------------------------------------------------------------------------------------
_ARN_RE = re.compile(r"arn:aws:secretsmanager:us-east-1:123456789012:secret:(?P<name>.+)-(?P<suffix>[A-Za-z0-9]{6})")


def test_new_secret_arn_format() -> None:
    arns = {new_secret_arn(REGION, ACCOUNT, "app/db-prod") for _ in range(20)}
    for arn in arns:
        m = _ARN_RE.fullmatch(arn)
        assert m is not None and m["name"] == "app/db-prod"
    assert len(arns) > 1  # a random suffix
    assert new_secret_arn("cn-north-1", ACCOUNT, "x", partition="aws-cn").startswith(
        "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x-"
    )


@pytest.mark.parametrize(("secret_id", "expected"), [
    ("plain", SecretLookup(ACCOUNT, REGION, name="plain")),
    ("path/to/secret", SecretLookup(ACCOUNT, REGION, name="path/to/secret")),
    # a name that looks like it has an ARN suffix is still just a name
    ("db-AbC123", SecretLookup(ACCOUNT, REGION, name="db-AbC123")),
    # a full ARN matches exactly
    (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbC123",
     SecretLookup(ACCOUNT, REGION, arn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbC123")),
    # a partial ARN (no suffix) matches by name
    (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db", SecretLookup(ACCOUNT, REGION, name="db")),
    (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:a/b-c", SecretLookup(ACCOUNT, REGION, name="a/b-c")),
    # suffix-like endings that are not six alphanumerics are partial ARNs
    (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbC12", SecretLookup(ACCOUNT, REGION, name="db-AbC12")),
    (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbC12_", SecretLookup(ACCOUNT, REGION, name="db-AbC12_")),
    # an empty account in the ARN means the caller's
    (f"arn:aws:secretsmanager:{REGION}::secret:db", SecretLookup(ACCOUNT, REGION, name="db")),
    # another account's ARN looks in that account
    (f"arn:aws:secretsmanager:{REGION}:{OTHER_ACCOUNT}:secret:db", SecretLookup(OTHER_ACCOUNT, REGION, name="db")),
    # another region's ARN stays an exact ARN in the caller's region: it matches nothing
    (f"arn:aws:secretsmanager:{OTHER_REGION}:{ACCOUNT}:secret:db",
     SecretLookup(ACCOUNT, REGION, arn=f"arn:aws:secretsmanager:{OTHER_REGION}:{ACCOUNT}:secret:db")),
    # not a Secrets Manager ARN: a name (which name validation then refuses)
    ("arn:aws:kms:us-east-1:123456789012:key/x",
     SecretLookup(ACCOUNT, REGION, name="arn:aws:kms:us-east-1:123456789012:key/x")),
])
def test_resolve_secret_id(secret_id: str, expected: SecretLookup) -> None:
    assert resolve_secret_id(secret_id, ACCOUNT, REGION) == expected


# --- resolving against a real store ------------------------------------------------------------
class Recorder:
    """An authorizer that records (action, resource, with a secret?, named) and allows or denies all."""

    def __init__(self, allow: bool = True) -> None:
        self.allow = allow
        self.calls: list[tuple[str, str, bool, str | None]] = []

    def __call__(self, action: str, resource: str, secret: Any, named: str | None = None) -> None:
        self.calls.append((action, resource, secret is not None, named))
        if not self.allow:
            raise AccessDeniedException(f"denied on {named}")


def ctx(account: str = ACCOUNT, region: str = REGION, authorize: Any = None) -> RequestContext:
    kw = {"authorize": authorize} if authorize is not None else {}
    return RequestContext(account, region, f"arn:aws:iam::{account}:root", time.time(), action="DescribeSecret", **kw)


def test_find_secret_by_every_form_of_secret_id(tmp_path: Path) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "db")
        await store.migrate()
        services = Services.build(store, MasterKey(os.urandom(32)))
        try:
            plain = (await create_secret(services, ctx(), {"Name": "plain"}))["ARN"]
            suffixed = (await create_secret(services, ctx(), {"Name": "db-Ab12Cd"}))["ARN"]
            elsewhere = (await create_secret(services, ctx(region=OTHER_REGION), {"Name": "plain"}))["ARN"]
            theirs = (await create_secret(services, ctx(account=OTHER_ACCOUNT), {"Name": "shared"}))["ARN"]
            async with store.read() as tx:
                async def find(secret_id: str, c: RequestContext | None = None) -> str:
                    return (await find_secret(tx, c or ctx(), secret_id)).arn

                assert await find("plain") == plain
                assert await find(plain) == plain
                assert await find(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:plain") == plain
                assert await find("db-Ab12Cd") == suffixed
                assert await find(suffixed) == suffixed
                # the partial ARN of a name ending in -XXXXXX reads as a full ARN: not found (recorded)
                with pytest.raises(ResourceNotFoundException):
                    await find(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-Ab12Cd")
                # regions are separate namespaces, by name and by ARN (full or partial)
                assert await find("plain", ctx(region=OTHER_REGION)) == elsewhere
                for other in (elsewhere, f"arn:aws:secretsmanager:{OTHER_REGION}:{ACCOUNT}:secret:plain"):
                    with pytest.raises(ResourceNotFoundException):
                        await find(other)
                # a wrong suffix is not found
                with pytest.raises(ResourceNotFoundException):
                    await find(plain[:-6] + "zzzzzz")

                # another account's secret is found by ARN, and authorized against that ARN
                recorder = Recorder()
                assert await find(theirs, ctx(authorize=recorder)) == theirs
                assert recorder.calls == [("DescribeSecret", theirs, True, theirs)]
                with pytest.raises(ResourceNotFoundException):
                    await find("shared")  # not by name from our account
                # a denied caller learns nothing: AccessDenied whether or not the secret exists,
                # naming the secret as given; an existing one is decided on its real ARN, then
                # refused as a missing one would be
                partial = f"arn:aws:secretsmanager:{REGION}:{OTHER_ACCOUNT}:secret:shared"
                denier = Recorder(allow=False)
                with pytest.raises(AccessDeniedException) as exc:
                    await find(partial, ctx(authorize=denier))
                assert exc.value.message == f"denied on {partial}"
                assert denier.calls == [
                    ("DescribeSecret", theirs, True, partial), ("DescribeSecret", partial, False, partial)
                ]
                ghost = f"arn:aws:secretsmanager:{REGION}:{OTHER_ACCOUNT}:secret:ghost"
                with pytest.raises(AccessDeniedException) as exc:
                    await find(ghost, ctx(authorize=Recorder(allow=False)))
                assert exc.value.message == f"denied on {ghost}"
                missing = Recorder()
                with pytest.raises(ResourceNotFoundException):
                    await find("ghost", ctx(authorize=missing))
                assert missing.calls == [
                    ("DescribeSecret", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ghost", False, "ghost")
                ]
        finally:
            await store.close()

    asyncio.run(main())
