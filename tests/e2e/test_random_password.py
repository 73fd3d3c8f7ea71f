"""GetRandomPassword.

Source: API_GetRandomPassword (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html):
default length 32; ExcludePunctuation excludes ! " # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \\ ] ^ _ ` { | } ~
(exactly Python's string.punctuation); IncludeSpace defaults to false; RequireEachIncludedType
defaults to true ("at least one of every character type"). Model: PasswordLength 1..4096.
"""

from __future__ import annotations

import string

import pytest
from botocore.exceptions import ClientError
from e2e_helpers import assert_keys, expect_error

UPPER, LOWER, DIGITS, PUNCT = string.ascii_uppercase, string.ascii_lowercase, string.digits, string.punctuation
ALL = set(UPPER + LOWER + DIGITS + PUNCT)


def pw(sm, **kwargs) -> str:
    resp = sm.get_random_password(**kwargs)
    assert_keys(resp, {"RandomPassword"})
    return str(resp["RandomPassword"])


def test_defaults(sm):
    for _ in range(20):
        p = pw(sm)
        assert len(p) == 32
        assert set(p) <= ALL  # no space by default, nothing outside the four classes
        # RequireEachIncludedType defaults to true
        for cls in (UPPER, LOWER, DIGITS, PUNCT):
            assert set(p) & set(cls), (p, cls)


def test_passwords_differ(sm):
    assert len({pw(sm) for _ in range(10)}) == 10


@pytest.mark.parametrize("length", [1, 4, 5, 64, 4096])
def test_lengths(sm, length):
    kwargs = {"PasswordLength": length}
    if length < 4:
        kwargs["RequireEachIncludedType"] = False
    assert len(pw(sm, **kwargs)) == length


@pytest.mark.parametrize(
    ("option", "forbidden"),
    [
        ("ExcludeUppercase", UPPER),
        ("ExcludeLowercase", LOWER),
        ("ExcludeNumbers", DIGITS),
        ("ExcludePunctuation", PUNCT),
    ],
)
def test_exclude_classes(sm, option, forbidden):
    for _ in range(10):
        p = pw(sm, PasswordLength=100, **{option: True})
        assert not set(p) & set(forbidden), p
        remaining = [c for c in (UPPER, LOWER, DIGITS, PUNCT) if c is not forbidden]
        for cls in remaining:  # RequireEachIncludedType applies to the classes still included
            assert set(p) & set(cls)


def test_only_digits(sm):
    p = pw(sm, PasswordLength=50, ExcludeUppercase=True, ExcludeLowercase=True, ExcludePunctuation=True)
    assert set(p) <= set(DIGITS)


def test_include_space(sm):
    found_space = False
    for _ in range(10):
        p = pw(sm, PasswordLength=200, IncludeSpace=True)
        assert set(p) <= ALL | {" "}
        found_space = found_space or " " in p
    # 96 possible characters: a 200-character password without a space has probability
    # (95/96)**200 ~ 0.13; ten of them in a row ~ 1e-9.
    assert found_space


def test_require_each_included_type_with_minimum_length(sm):
    # four classes, four characters: exactly one of each
    for _ in range(20):
        p = pw(sm, PasswordLength=4, RequireEachIncludedType=True)
        for cls in (UPPER, LOWER, DIGITS, PUNCT):
            assert sum(c in cls for c in p) == 1, p


def test_exclude_characters(sm):
    # LocalStack test_get_random_exclude_characters_and_symbols (AWS-validated)
    excluded = "xyzDje@?!."
    for _ in range(10):
        p = pw(sm, PasswordLength=120, ExcludeCharacters=excluded)
        assert len(p) == 120
        assert not set(p) & set(excluded), p


def test_exclude_characters_leaving_one_per_class(sm):
    keep = {"U": "Q", "L": "q", "D": "7", "P": "#"}
    exclude = "".join(c for c in ALL if c not in keep.values())
    p = pw(sm, PasswordLength=30, ExcludeCharacters=exclude)
    assert set(p) <= set(keep.values())
    assert set(p) == set(keep.values())  # still one of each required type


def test_too_short_for_required_types(sm):
    # 3 characters cannot hold one of each of 4 required classes (code only: AWS's text is not public)
    with pytest.raises(ClientError) as excinfo:
        sm.get_random_password(PasswordLength=3, RequireEachIncludedType=True)
    err = excinfo.value.response["Error"]
    assert err["Code"] == "InvalidParameterException"
    assert err["Message"]


def test_everything_excluded(sm):
    with pytest.raises(ClientError) as excinfo:
        sm.get_random_password(
            ExcludeUppercase=True, ExcludeLowercase=True, ExcludeNumbers=True, ExcludePunctuation=True
        )
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"


@pytest.mark.parametrize(
    ("length", "constraint"),
    [
        (0, "Member must have value greater than or equal to 1"),
        (4097, "Member must have value less than or equal to 4096"),
    ],
)
def test_length_out_of_model_range(sm_raw, length, constraint):
    # moto's GetRandomPassword mirrors AWS's text for the upper bound
    with expect_error(
        "ValidationException",
        f"1 validation error detected: Value '{length}' at 'passwordLength' failed to satisfy constraint: {constraint}",
    ):
        sm_raw.get_random_password(PasswordLength=length)
