"""The random-password rotation function against a dev-mode Strongroom."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from rotation_driver import invoke, labels, rotate

from strongroom.rotators import random_password

pytestmark = pytest.mark.usefixtures("lambda_env")


def value_of(sm: Any, arn: str, stage: str = "AWSCURRENT") -> str:
    return str(sm.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"])


def test_plain_value_becomes_a_new_password_ten_times(sm: Any, name: str) -> None:
    arn = sm.create_secret(Name=name, SecretString="first")["ARN"]
    seen = ["first"]
    for _ in range(10):
        token = rotate(random_password, sm, arn)
        value = value_of(sm, arn)
        assert value not in seen and len(value) == 32 and not set(value) & set("/@\"'\\")
        assert labels(sm, arn)[token] == ["AWSCURRENT"], "AWSPENDING stays behind after finishSecret"
        assert value_of(sm, arn, "AWSPREVIOUS") == seen[-1]
        seen.append(value)


def test_json_keeps_its_other_keys(sm: Any, name: str) -> None:
    first = {"api": "https://example.invalid", "user": "svc", "password": "first"}
    arn = sm.create_secret(Name=name, SecretString=json.dumps(first))["ARN"]
    rotate(random_password, sm, arn)
    rotated = json.loads(value_of(sm, arn))
    assert rotated.keys() == first.keys() and rotated["password"] != "first"
    assert {k: v for k, v in rotated.items() if k != "password"} == {"api": "https://example.invalid", "user": "svc"}


def test_json_without_password_key_is_replaced_whole(sm: Any, name: str) -> None:
    arn = sm.create_secret(Name=name, SecretString=json.dumps({"token": "abc"}))["ARN"]
    rotate(random_password, sm, arn)
    value = value_of(sm, arn)
    try:  # a password may begin with "{" (punctuation is allowed): what counts is that it is no object
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    assert not isinstance(parsed, dict) and "abc" not in value


def test_environment_shapes_the_password(sm: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSWORD_LENGTH", "20")
    monkeypatch.setenv("EXCLUDE_PUNCTUATION", "true")
    monkeypatch.setenv("EXCLUDE_UPPERCASE", "yes")
    monkeypatch.setenv("EXCLUDE_CHARACTERS", "abc")
    arn = sm.create_secret(Name=name, SecretString="first")["ARN"]
    rotate(random_password, sm, arn)
    value = value_of(sm, arn)
    assert len(value) == 20
    assert set(value) <= set(string.ascii_lowercase + string.digits) - set("abc")
    assert set(value) & set(string.digits) and set(value) & set(string.ascii_lowercase)


def test_same_token_again_changes_nothing(sm: Any, name: str) -> None:
    arn = sm.create_secret(Name=name, SecretString="first")["ARN"]
    token = rotate(random_password, sm, arn)
    value = value_of(sm, arn)
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):  # the version exists: all via the handler
        invoke(random_password, step, arn, token)
    assert value_of(sm, arn) == value and len(labels(sm, arn)) == 2
