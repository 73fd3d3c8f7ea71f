"""Runs a rotation function the way Secrets Manager does: four invocations with one fresh token.

Secrets Manager creates the new version (labelled AWSPENDING, without a value) before it invokes
createSecret; the handler refuses a token that is not such a version. Strongroom has no
RotateSecret yet and its API cannot make a version without a value, so this driver runs
createSecret's step function itself (what lambda_handler would run once the version exists) and
every later step through ``lambda_handler``, checks included. test_steps.py drives createSecret
through ``lambda_handler`` against an empty pending version made with botocore's Stubber.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

LATER_STEPS = ("setSecret", "testSecret", "finishSecret")


@dataclass
class FakeContext:
    """The parts of a Lambda context object a handler may read."""

    function_name: str = "strongroom-rotator-under-test"
    function_version: str = "$LATEST"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    memory_limit_in_mb: int = 128

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def invoke(module: ModuleType, step: str, arn: str, token: str) -> None:
    """One invocation of the module's ``lambda_handler`` with Secrets Manager's event."""
    event = {"Step": step, "SecretId": arn, "ClientRequestToken": token, "RotationToken": str(uuid.uuid4())}
    module.lambda_handler(event, FakeContext())


def create(module: ModuleType, sm: Any, arn: str, token: str) -> None:
    module.STEPS["createSecret"](sm, arn, token)


def rotate(
    module: ModuleType,
    sm: Any,
    arn: str,
    token: str | None = None,
    between: Callable[[str], None] | None = None,
) -> str:
    """A whole rotation with ``token`` (a fresh one by default); ``between(name)`` runs after each
    step, named by the step just done. Returns the token."""
    token = token or str(uuid.uuid4())
    create(module, sm, arn, token)
    if between:
        between("createSecret")
    for step in LATER_STEPS:
        invoke(module, step, arn, token)
        if between:
            between(step)
    return token


def labels(sm: Any, arn: str) -> dict[str, list[str]]:
    return dict(sm.describe_secret(SecretId=arn)["VersionIdsToStages"])
