"""The part of every rotation function that talks only to Secrets Manager.

Secrets Manager invokes a rotation function four times per rotation with ``Step`` set to
createSecret, setSecret, testSecret and finishSecret, ``SecretId`` (the ARN) and
``ClientRequestToken`` (the id of the new version, which Secrets Manager has already created
without a value and labelled AWSPENDING). The checks, createSecret's idempotency and
finishSecret's label move follow AWS's published functions (docs/rotation.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import boto3

logger = logging.getLogger(__name__)

#: A step: (Secrets Manager client, secret ARN, version token) -> None.
Step = Callable[[Any, str, str], None]
Handler = Callable[[Mapping[str, Any], Any], None]
STEP_NAMES = ("createSecret", "setSecret", "testSecret", "finishSecret")
CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
ENDPOINT_VARIABLE = "SECRETS_MANAGER_ENDPOINT"
#: Generated passwords leave these out unless EXCLUDE_CHARACTERS says otherwise.
DEFAULT_EXCLUDE_CHARACTERS = "/@\"'\\"


#: What a client is made from: the endpoint, region and credential variables it read.
CLIENT_VARIABLES = (ENDPOINT_VARIABLE, "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_client: tuple[tuple[str | None, ...], Any] | None = None


def secrets_client() -> Any:
    """A Secrets Manager client for the endpoint the function's environment names (as AWS's
    functions do); region and credentials come from the usual AWS environment variables. A warm
    environment reuses its client while those variables are unchanged (a new client costs a few
    milliseconds of CPU per invocation). The credentials are passed explicitly: boto3's default
    session keeps the first credentials it read, and the runtime sets each invocation's."""
    global _client
    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    if not endpoint:
        raise ValueError(f"{ENDPOINT_VARIABLE} is not set: the rotation function cannot reach Secrets Manager")
    key = tuple(os.environ.get(name) for name in CLIENT_VARIABLES)
    if _client is None or _client[0] != key:
        access_key, secret_key, session_token = key[3:]
        _client = (key, boto3.client("secretsmanager", endpoint_url=endpoint, aws_access_key_id=access_key,
                                     aws_secret_access_key=secret_key, aws_session_token=session_token))
    return _client[1]


def read_event(event: Mapping[str, Any]) -> tuple[str, str, str]:
    """(SecretId, ClientRequestToken, Step) of a rotation event; ValueError if one is missing or
    not a non-empty string, or the step is unknown."""
    values = []
    for key in ("SecretId", "ClientRequestToken", "Step"):
        value = event.get(key)
        if not isinstance(value, str) or not value:
            raise ValueError(f"The rotation event has no valid {key}")
        values.append(value)
    arn, token, step = values
    if step not in STEP_NAMES:
        raise ValueError(f"Invalid step parameter {step} for secret {arn}")
    return arn, token, step


def version_needs_step(client: Any, arn: str, token: str) -> bool:
    """Whether the version ``token`` is still being rotated: False when it is already AWSCURRENT
    (a repeated invocation), ValueError when rotation is disabled or the version is not AWSPENDING."""
    metadata = client.describe_secret(SecretId=arn)
    if metadata.get("RotationEnabled") is False:
        raise ValueError(f"Secret {arn} is not enabled for rotation")
    stages = metadata.get("VersionIdsToStages", {})
    if token not in stages:
        raise ValueError(f"Secret version {token} has no stage for rotation of secret {arn}.")
    if CURRENT in stages[token]:
        logger.info("Secret version %s already set as AWSCURRENT for secret %s.", token, arn)
        return False
    if PENDING not in stages[token]:
        raise ValueError(f"Secret version {token} not set as AWSPENDING for rotation of secret {arn}.")
    return True


def make_handler(steps: Mapping[str, Step]) -> Handler:
    """The ``lambda_handler(event, context)`` that checks the version and runs ``steps[Step]``."""
    missing = set(STEP_NAMES) - set(steps)
    if missing:
        raise ValueError(f"steps missing: {sorted(missing)}")

    def lambda_handler(event: Mapping[str, Any], context: Any) -> None:
        arn, token, step = read_event(event)
        client = secrets_client()
        if version_needs_step(client, arn, token):
            steps[step](client, arn, token)

    return lambda_handler


def create_pending_version(client: Any, arn: str, token: str, next_value: Callable[[str], str]) -> None:
    """createSecret: give the pending version ``token`` the value ``next_value(current value)``
    unless it already has one (a retried step keeps the value it made the first time)."""
    current = client.get_secret_value(SecretId=arn, VersionStage=CURRENT)["SecretString"]
    try:
        client.get_secret_value(SecretId=arn, VersionId=token, VersionStage=PENDING)
        logger.info("createSecret: Successfully retrieved secret for %s.", arn)
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    client.put_secret_value(
        SecretId=arn, ClientRequestToken=token, SecretString=next_value(current), VersionStages=[PENDING]
    )
    logger.info("createSecret: Successfully put secret for ARN %s and version %s.", arn, token)


def finish_secret(client: Any, arn: str, token: str, clear_pending: bool = False) -> None:
    """finishSecret: move AWSCURRENT to ``token`` (Secrets Manager then labels the former current
    version AWSPREVIOUS); with ``clear_pending`` also take AWSPENDING off it, as AWS's generic
    template does (AWS's database functions leave it on)."""
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next((version for version, labels in stages.items() if CURRENT in labels), None)
    if current == token:
        logger.info("finishSecret: Version %s already marked as AWSCURRENT for %s", token, arn)
        return
    client.update_secret_version_stage(
        SecretId=arn, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current
    )
    if clear_pending:
        client.update_secret_version_stage(SecretId=arn, VersionStage=PENDING, RemoveFromVersionId=token)
    logger.info("finishSecret: Successfully set AWSCURRENT stage to version %s for secret %s.", token, arn)


def environment_flag(name: str, default: bool) -> bool:
    """An on/off environment variable: true, 1, y or yes (any case) is on."""
    return os.environ.get(name, str(default)).lower() in ("true", "1", "y", "yes")


def random_password(client: Any, default_exclude: str = DEFAULT_EXCLUDE_CHARACTERS) -> str:
    """A new password from GetRandomPassword, shaped by the variables AWS's functions honour:
    EXCLUDE_CHARACTERS, PASSWORD_LENGTH (32), EXCLUDE_NUMBERS, EXCLUDE_PUNCTUATION,
    EXCLUDE_UPPERCASE, EXCLUDE_LOWERCASE (off) and REQUIRE_EACH_INCLUDED_TYPE (on)."""
    answer = client.get_random_password(
        ExcludeCharacters=os.environ.get("EXCLUDE_CHARACTERS", default_exclude),
        PasswordLength=int(os.environ.get("PASSWORD_LENGTH", "32")),
        ExcludeNumbers=environment_flag("EXCLUDE_NUMBERS", False),
        ExcludePunctuation=environment_flag("EXCLUDE_PUNCTUATION", False),
        ExcludeUppercase=environment_flag("EXCLUDE_UPPERCASE", False),
        ExcludeLowercase=environment_flag("EXCLUDE_LOWERCASE", False),
        RequireEachIncludedType=environment_flag("REQUIRE_EACH_INCLUDED_TYPE", True),
    )
    return str(answer["RandomPassword"])
