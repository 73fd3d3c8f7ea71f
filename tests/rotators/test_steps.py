"""The rotation functions' own logic, without servers: event and version checks (driven through
``lambda_handler`` with botocore's Stubber, including createSecret on the empty AWSPENDING
version Secrets Manager makes first), secret JSON, TLS choice, user alternation, SCRAM verifiers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from rotation_driver import FakeContext

from strongroom.rotators import mysql_single_user, postgres_single_user, random_password, steps
from strongroom.rotators.database import error_summary, parse_secret, tls_choice
from strongroom.rotators.postgres import scram_verifier
from strongroom.rotators.postgres_multi_user import alternate_username

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
TOKEN = "5a2b4c1d-0000-4000-8000-000000000001"
OLD = "5a2b4c1d-0000-4000-8000-000000000000"
DB_VALUE = {"engine": "postgres", "host": "db.example", "username": "app", "password": "old"}


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    """The client every handler gets, with no answers but those a test adds; all must be used."""
    client = boto3.client(
        "secretsmanager", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x"
    )
    monkeypatch.setattr(steps, "secrets_client", lambda: client)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def event(step: str = "createSecret", **changes: Any) -> dict[str, Any]:
    return {"Step": step, "SecretId": ARN, "ClientRequestToken": TOKEN, **changes}


def describe(stubber: Stubber, stages: dict[str, list[str]], **extra: Any) -> None:
    stubber.add_response("describe_secret", {"ARN": ARN, "VersionIdsToStages": stages, **extra}, {"SecretId": ARN})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"Step": "rotateEverything"}, "Invalid step parameter rotateEverything"),
        ({"ClientRequestToken": 7}, "no valid ClientRequestToken"),
        ({"SecretId": ""}, "no valid SecretId"),
    ],
)
def test_malformed_event_is_refused_before_any_call(stubbed: Any, bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        random_password.lambda_handler(event(**bad), FakeContext())


def test_rotation_disabled_is_refused(stubbed: tuple[Any, Stubber]) -> None:
    describe(stubbed[1], {OLD: ["AWSCURRENT"], TOKEN: ["AWSPENDING"]}, RotationEnabled=False)
    with pytest.raises(ValueError, match="is not enabled for rotation"):
        random_password.lambda_handler(event(), FakeContext())


def test_unknown_token_is_refused(stubbed: tuple[Any, Stubber]) -> None:
    describe(stubbed[1], {OLD: ["AWSCURRENT"]})
    with pytest.raises(ValueError, match=f"Secret version {TOKEN} has no stage for rotation"):
        random_password.lambda_handler(event(), FakeContext())


def test_token_that_is_not_pending_is_refused(stubbed: tuple[Any, Stubber]) -> None:
    describe(stubbed[1], {OLD: ["AWSCURRENT"], TOKEN: ["AWSPREVIOUS"]})
    with pytest.raises(ValueError, match="not set as AWSPENDING"):
        random_password.lambda_handler(event("setSecret"), FakeContext())


def test_token_already_current_does_nothing(stubbed: tuple[Any, Stubber]) -> None:
    describe(stubbed[1], {TOKEN: ["AWSCURRENT", "AWSPENDING"]}, RotationEnabled=True)
    postgres_single_user.lambda_handler(event("setSecret"), FakeContext())  # no database call either


@pytest.mark.parametrize(
    ("module", "engine", "exclude"),
    [(postgres_single_user, "postgres", ":/@\"'\\"), (mysql_single_user, "mariadb", "/@\"'\\")],
)
def test_create_secret_fills_the_empty_pending_version(
    stubbed: tuple[Any, Stubber], module: Any, engine: str, exclude: str
) -> None:
    """Secrets Manager's new version has AWSPENDING and no value: GetSecretValue on it is
    ResourceNotFoundException, and createSecret puts the new value under that very token."""
    _, stubber = stubbed
    value = {**DB_VALUE, "engine": engine}
    describe(stubber, {OLD: ["AWSCURRENT"], TOKEN: ["AWSPENDING"]})
    stubber.add_response(
        "get_secret_value",
        {"ARN": ARN, "VersionId": OLD, "SecretString": json.dumps(value)},
        {"SecretId": ARN, "VersionStage": "AWSCURRENT"},
    )
    stubber.add_client_error(
        "get_secret_value",
        service_error_code="ResourceNotFoundException",
        service_message="Secrets Manager can't find the specified secret value for VersionId",
        expected_params={"SecretId": ARN, "VersionId": TOKEN, "VersionStage": "AWSPENDING"},
    )
    stubber.add_response(
        "get_random_password",
        {"RandomPassword": "N3w-Pa55word"},
        {
            "ExcludeCharacters": exclude, "PasswordLength": 32, "ExcludeNumbers": False, "ExcludePunctuation": False,
            "ExcludeUppercase": False, "ExcludeLowercase": False, "RequireEachIncludedType": True,
        },
    )  # fmt: skip
    stubber.add_response(
        "put_secret_value",
        {"ARN": ARN, "VersionId": TOKEN, "VersionStages": ["AWSPENDING"]},
        {
            "SecretId": ARN, "ClientRequestToken": TOKEN, "VersionStages": ["AWSPENDING"],
            "SecretString": json.dumps({**value, "password": "N3w-Pa55word"}),
        },
    )  # fmt: skip
    module.lambda_handler(event("createSecret"), FakeContext())


def test_handler_needs_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRETS_MANAGER_ENDPOINT", raising=False)
    with pytest.raises(ValueError, match="SECRETS_MANAGER_ENDPOINT is not set"):
        random_password.lambda_handler(event(), FakeContext())


def test_client_uses_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRETS_MANAGER_ENDPOINT", "http://127.0.0.1:7420")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert steps.secrets_client().meta.endpoint_url == "http://127.0.0.1:7420"


def test_client_is_reused_until_its_environment_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRETS_MANAGER_ENDPOINT", "http://127.0.0.1:7420")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAFIRST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first-secret")
    first = steps.secrets_client()
    assert steps.secrets_client() is first  # a warm invocation with the same credentials
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIASECOND")  # the role's next session
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "second-secret")
    second = steps.secrets_client()
    assert second is not first
    assert second._request_signer._credentials.access_key == "ASIASECOND"
    monkeypatch.setenv("SECRETS_MANAGER_ENDPOINT", "http://127.0.0.1:7421")
    assert steps.secrets_client().meta.endpoint_url == "http://127.0.0.1:7421"


def test_handler_needs_all_four_steps() -> None:
    with pytest.raises(ValueError, match="testSecret"):
        steps.make_handler({name: random_password.nothing_to_do for name in steps.STEP_NAMES[:2] + ("finishSecret",)})


@pytest.mark.parametrize(
    ("ssl", "choice"),
    [(None, (True, True)), (True, (True, False)), ("TRUE", (True, False)), (False, (False, False)),
     ("false", (False, False)), ("maybe", (True, True)), (1, (True, True))],
)  # fmt: skip
def test_tls_choice_reads_ssl_as_aws_does(ssl: Any, choice: tuple[bool, bool]) -> None:
    secret = dict(DB_VALUE) if ssl is None else {**DB_VALUE, "ssl": ssl}
    assert tls_choice(secret) == choice


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ('["not", "an", "object"]', ValueError, "not a JSON object"),
        (json.dumps({**DB_VALUE, "engine": "oracle"}), KeyError, "engine must be set to 'postgres'"),
        (json.dumps({k: v for k, v in DB_VALUE.items() if k != "host"}), KeyError, "host key is missing"),
    ],
)
def test_bad_secret_json_is_refused(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_secret(text, ("postgres", "aurora-postgresql"))


def test_alternate_username_pairs_users_within_postgres_limit() -> None:
    assert alternate_username("app") == "app_clone"
    assert alternate_username("app_clone") == "app"
    assert alternate_username("a" * 57) == "a" * 57 + "_clone"
    with pytest.raises(ValueError, match="exceed 63 characters"):
        alternate_username("a" * 58)


def test_scram_verifier_is_what_postgres_stores_for_the_password() -> None:
    """RFC 5802/7677: StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey =
    HMAC(SaltedPassword, "Server Key"), SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i)."""
    verifier = scram_verifier("correct horse")
    mechanism, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key, server_key = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", b"correct horse", base64.b64decode(salt), int(iterations))
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    assert mechanism == "SCRAM-SHA-256" and int(iterations) == 4096
    assert base64.b64decode(stored_key) == hashlib.sha256(client_key).digest()
    assert base64.b64decode(server_key) == hmac.digest(salted, b"Server Key", "sha256")
    assert scram_verifier("correct horse") != verifier, "every verifier has its own salt"


@pytest.mark.parametrize(
    ("error", "summary"),
    [
        (RuntimeError({"S": "FATAL", "C": "28P01", "M": 'password authentication failed for user "app"'}),
         'RuntimeError: 28P01 password authentication failed for user "app"'),
        (RuntimeError(1045, "Access denied for user 'app'@'host' (using password: YES)"),
         "RuntimeError: (1045, \"Access denied for user 'app'@'host' (using password: YES)\")"),
        (ConnectionRefusedError(111, "Connection refused"), "ConnectionRefusedError: [Errno 111] Connection refused"),
    ],
)  # fmt: skip
def test_login_errors_are_summarised_from_the_driver_error(error: Exception, summary: str) -> None:
    assert error_summary(error) == summary
