"""Rotation function: a new random password, for secrets whose service needs no update.

createSecret makes the new value: when the current value is a JSON object with a ``password``
key, the same object with a new password; otherwise just the new password. setSecret and
testSecret have nothing to change or test; finishSecret makes the new version AWSCURRENT and
takes AWSPENDING off it, as AWS's generic template does.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .steps import create_pending_version, finish_secret, make_handler, random_password

logger = logging.getLogger(__name__)


def next_value(client: Any, current: str) -> str:
    password = random_password(client)
    try:
        value = json.loads(current)
    except ValueError:
        return password
    if isinstance(value, dict) and "password" in value:
        value["password"] = password
        return json.dumps(value)
    return password


def create_secret(client: Any, arn: str, token: str) -> None:
    create_pending_version(client, arn, token, lambda current: next_value(client, current))


def nothing_to_do(client: Any, arn: str, token: str) -> None:
    """setSecret and testSecret: the secret's only home is Secrets Manager."""
    logger.info("No service to update or test for secret %s.", arn)


def finish_and_clear_pending(client: Any, arn: str, token: str) -> None:
    finish_secret(client, arn, token, clear_pending=True)


STEPS = {
    "createSecret": create_secret,
    "setSecret": nothing_to_do,
    "testSecret": nothing_to_do,
    "finishSecret": finish_and_clear_pending,
}
lambda_handler = make_handler(STEPS)
