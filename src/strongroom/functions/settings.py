"""A function's configuration checked as Lambda checks it, and the runtime's view of it (a FunctionSpec).

The limits are the runtime's (:mod:`strongroom.functions.runtime.spec`, Lambda's own: Timeout 1-900,
MemorySize 128-10240, Handler, environment variables); a configuration they refuse is
InvalidParameterValueException with their message. Sources in docs/api.md, "Lambda API".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.functions.arns import LATEST
from strongroom.functions.errors import InvalidParameterValueException, runtime_not_supported
from strongroom.functions.runtime import FunctionSpec, InvalidSpecError
from strongroom.functions.runtime.spec import RUNTIMES
from strongroom.store.records import FunctionRow

DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY_SIZE = 128
MAX_TAGS = 50
TOO_MANY_TAGS = f"A function can have at most {MAX_TAGS} tags."
#: The model's Python runtimes that Lambda no longer takes for new or updated functions.
RETIRED_PYTHONS = frozenset({"python2.7", "python3.6", "python3.7", "python3.8"})


def check_runtime(runtime: str) -> None:
    """python3.9 to python3.14 (every one runs on the server's Python); Lambda's words for older Pythons."""
    if runtime not in RUNTIMES:
        raise InvalidParameterValueException(runtime_not_supported(runtime, retired=runtime in RETIRED_PYTHONS))


def spec_of(function: FunctionRow, environment: Mapping[str, str]) -> FunctionSpec:
    """The runtime's view of ``function``'s only version; InvalidParameterValueException where Lambda
    would refuse its configuration."""
    check_runtime(function.runtime)
    try:
        return FunctionSpec(
            name=function.name, arn=function.arn, handler=function.handler, code_sha256=function.code_sha256,
            region=function.region, account=function.account, version=LATEST, runtime=function.runtime,
            timeout=function.timeout, memory_size=function.memory_size, environment=environment,
        )
    except InvalidSpecError as exc:
        raise InvalidParameterValueException(str(exc)) from None


def variables_of(params: Mapping[str, Any]) -> dict[str, str] | None:
    """The request's Environment.Variables (None: no Environment member; {} clears them)."""
    environment = params.get("Environment")
    if environment is None:
        return None
    return dict(environment.get("Variables") or {})


def check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise InvalidParameterValueException(TOO_MANY_TAGS)
    return dict(tags)
