"""What the runtime needs to know about a function and an invocation, with Lambda's limits.

A :class:`FunctionSpec` is one version's configuration, checked on construction against the
limits Lambda enforces (sources in docs/api.md, "Functions (Lambda-compatible)"), so a worker is
never started for a configuration Lambda would have refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

RUNTIMES = frozenset(f"python3.{minor}" for minor in range(9, 15))
"""Runtimes a function may name; every one runs on the server's own Python (3.11+)."""

MIN_TIMEOUT, MAX_TIMEOUT = 1, 900
MIN_MEMORY, MAX_MEMORY = 128, 10240
MAX_ENVIRONMENT_BYTES = 4096
MAX_HANDLER_LENGTH = 128

RESERVED_VARIABLES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ",
})
"""Variables Lambda sets itself and refuses in a function's configuration."""

_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_VERSION = re.compile(r"\$LATEST|[0-9]{1,10}")
_VARIABLE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")
_HANDLER = re.compile(r"[^\s]+")
_ACCOUNT = re.compile(r"[0-9]{12}")
_REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-[0-9]")


class InvalidSpecError(ValueError):
    """A configuration Lambda would refuse; the message is Lambda's where it has one."""


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials of the function's role, given to its code as Lambda does (environment)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: float
    """Epoch seconds."""


@dataclass(frozen=True)
class FunctionSpec:
    """One version of a function: its code (by hash) and configuration.

    ``arn`` is the unqualified function ARN; ``code_sha256`` is Lambda's CodeSha256 (base64 of the
    SHA-256 of the zip). ``environment`` is copied into a read-only mapping.
    """

    name: str
    arn: str
    handler: str
    code_sha256: str
    region: str
    account: str
    version: str = "$LATEST"
    runtime: str = "python3.12"
    timeout: int = 3
    memory_size: int = 128
    environment: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "environment", MappingProxyType(dict(self.environment)))
        _check_spec(self)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def config_key(self) -> str:
        """Identifies everything a warm worker was started with: workers are reused only under it."""
        document = [
            self.arn, self.version, self.handler, self.code_sha256, self.region, self.runtime,
            self.timeout, self.memory_size, sorted(self.environment.items()),
        ]
        return hashlib.sha256(json.dumps(document).encode()).hexdigest()


def _check_spec(spec: FunctionSpec) -> None:
    if not _NAME.fullmatch(spec.name):
        raise InvalidSpecError(f"Invalid function name: {spec.name!r}")
    if not spec.arn.startswith("arn:") or not spec.arn.endswith(f":function:{spec.name}"):
        raise InvalidSpecError(f"Invalid function ARN for {spec.name}: {spec.arn!r}")
    if not _VERSION.fullmatch(spec.version):
        raise InvalidSpecError(f"Invalid function version: {spec.version!r}")
    if not _ACCOUNT.fullmatch(spec.account) or not _REGION.fullmatch(spec.region):
        raise InvalidSpecError(f"Invalid account or region: {spec.account!r}, {spec.region!r}")
    if spec.runtime not in RUNTIMES:
        raise InvalidSpecError(f"Value {spec.runtime} at 'runtime' failed to satisfy constraint: "
                               f"Member must satisfy enum value set: [{', '.join(sorted(RUNTIMES))}]")
    if len(spec.handler) > MAX_HANDLER_LENGTH or not _HANDLER.fullmatch(spec.handler):
        raise InvalidSpecError(f"Value '{spec.handler}' at 'handler' failed to satisfy constraint: "
                               r"Member must satisfy regular expression pattern: [^\s]+")
    _check_range("timeout", spec.timeout, MIN_TIMEOUT, MAX_TIMEOUT)
    _check_range("memorySize", spec.memory_size, MIN_MEMORY, MAX_MEMORY)
    _check_code_sha256(spec.code_sha256)
    check_environment(spec.environment)


def _check_range(member: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidSpecError(f"Value '{value}' at '{member}' failed to satisfy constraint: "
                               f"Member must have value between {low} and {high}")


def _check_code_sha256(code_sha256: str) -> None:
    try:
        digest = base64.b64decode(code_sha256, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != hashlib.sha256().digest_size:
        raise InvalidSpecError(f"Invalid CodeSha256: {code_sha256!r}")


def check_environment(variables: Mapping[str, str]) -> None:
    """Lambda's rules for a function's variables: key pattern, no reserved key, 4 KB in all.

    Lambda's size message quotes the variables; this one gives only the size, as values may be secret.
    """
    for key, value in variables.items():
        if not isinstance(key, str) or not isinstance(value, str) or not _VARIABLE.fullmatch(key):
            raise InvalidSpecError(f"Invalid environment variable name: {key!r}; keys start with a letter, "
                                   "have at least two characters and only letters, digits and underscores")
    reserved = sorted(RESERVED_VARIABLES.intersection(variables))
    if reserved:
        raise InvalidSpecError(
            "Lambda was unable to configure your environment variables because the environment variables "
            "you have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {', '.join(reserved)}")
    size = len(json.dumps(dict(variables), separators=(",", ":")).encode())
    if size > MAX_ENVIRONMENT_BYTES:
        raise InvalidSpecError(
            "Lambda was unable to configure your environment variables because the environment variables "
            f"you have provided exceeded the 4KB limit. String measured: {size} bytes")
