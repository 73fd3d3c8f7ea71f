"""The shapes Lambda answers with: FunctionConfiguration, and its date and architecture values."""

from __future__ import annotations

import platform
import time
from collections.abc import Mapping
from typing import Any

from strongroom.functions.arns import LATEST
from strongroom.store.records import FunctionRow

#: The host's architecture in Lambda's words (every function runs on the server's own Python).
ARCHITECTURE = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


def last_modified(epoch: float) -> str:
    """Lambda's LastModified: ``2024-01-31T12:00:00.000+0000`` (milliseconds, UTC offset without a colon)."""
    seconds = int(epoch)
    millis = int(round((epoch - seconds) * 1000)) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}+0000"


def configuration(function: FunctionRow, environment: Mapping[str, str]) -> dict[str, Any]:
    """FunctionConfiguration of a function's only version, $LATEST, always ready (Active, Successful)."""
    return {
        "FunctionName": function.name,
        "FunctionArn": function.arn,
        "Runtime": function.runtime,
        "Role": function.role,
        "Handler": function.handler,
        "CodeSize": function.code_size,
        "Description": function.description,
        "Timeout": function.timeout,
        "MemorySize": function.memory_size,
        "LastModified": last_modified(function.last_modified),
        "CodeSha256": function.code_sha256,
        "Version": LATEST,
        "Environment": {"Variables": dict(environment)},
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": function.revision_id,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": [ARCHITECTURE],
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.name}"},
    }
