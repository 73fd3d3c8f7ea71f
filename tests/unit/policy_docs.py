"""Policy documents for tests: statements as dicts, documents as JSON text, compiled policies."""

from __future__ import annotations

import json
from typing import Any

from strongroom.iam.policy import Policy, parse_policy

GET = "secretsmanager:GetSecretValue"


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    body: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        body = {"Version": version, **body}
    return json.dumps(body)


def pol(*statements: dict[str, Any], version: str | None = "2012-10-17") -> Policy:
    return parse_policy(doc(*statements, version=version))


def allow(action: Any = GET, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = GET, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}
