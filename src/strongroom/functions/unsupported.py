"""Request members of the Lambda model that Strongroom cannot honour: refused, never ignored.

Ignoring one would answer for something that did not happen (a VPC the function is not in, a layer
it does not have, code fetched from S3). A member is refused with InvalidParameterValueException
naming it, unless its value asks for nothing this server does not do anyway (an empty VpcConfig,
``TracingConfig.Mode: PassThrough``, ``PackageType: Zip``, the host's architecture...), which
clients and tools send routinely. The server checks every request here before its operation
runs; docs/api.md lists the members.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from strongroom.functions.errors import InvalidParameterValueException, not_served
from strongroom.functions.wire import ARCHITECTURE


def _never(value: Any) -> bool:
    return False


def _empty_vpc(value: Mapping[str, Any]) -> bool:
    return not value.get("SubnetIds") and not value.get("SecurityGroupIds") and not value.get("Ipv6AllowedForDualStack")


def _empty(value: Any) -> bool:
    return not value


#: member (``Code.S3Bucket`` for a member of a member) -> whether a value asks for nothing more
_CONFIGURATION: dict[str, Callable[[Any], bool]] = {
    "VpcConfig": _empty_vpc,
    "DeadLetterConfig": lambda value: not value.get("TargetArn"),
    "KMSKeyArn": _empty,
    "TracingConfig": lambda value: value.get("Mode") in (None, "PassThrough"),
    "Layers": _empty,
    "FileSystemConfigs": _empty,
    "ImageConfig": _empty,
    "EphemeralStorage": lambda value: value.get("Size") == 512,
    "SnapStart": lambda value: value.get("ApplyOn") in (None, "None"),
    "LoggingConfig": lambda value: set(value) <= {"LogFormat"} and value.get("LogFormat") in (None, "Text"),
    "CapacityProviderConfig": _never,
    "DurableConfig": _never,
    "RuntimeConfig": _never,
    "AcceleratorConfig": _never,
}
_CODE: dict[str, Callable[[Any], bool]] = {
    "S3Bucket": _never, "S3Key": _never, "S3ObjectVersion": _never, "S3ObjectStorageMode": _never,
    "ImageUri": _never, "SourceKMSKeyArn": _empty,
}
_ARCHITECTURES = {"Architectures": lambda value: value == [ARCHITECTURE]}

UNSUPPORTED: dict[str, dict[str, Callable[[Any], bool]]] = {
    "CreateFunction": {
        **_CONFIGURATION, **_ARCHITECTURES, **{f"Code.{member}": check for member, check in _CODE.items()},
        "PackageType": lambda value: value == "Zip", "CodeSigningConfigArn": _empty, "PublishTo": _never,
        "TenancyConfig": _never,
    },
    "UpdateFunctionConfiguration": dict(_CONFIGURATION),
    "UpdateFunctionCode": {**_CODE, **_ARCHITECTURES, "PublishTo": _never},
    "Invoke": {"ClientContext": _never, "DurableExecutionName": _never, "TenantId": _never},
    "AddPermission": {"FunctionUrlAuthType": _never, "InvokedViaFunctionUrl": _never},
    "ListFunctions": {"MasterRegion": _never},
}


def _value(params: Mapping[str, Any], path: str) -> Any:
    value: Any = params
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def refuse_unsupported(operation: str, params: Mapping[str, Any]) -> None:
    """InvalidParameterValueException for a member of ``operation`` this server cannot honour."""
    for member, harmless in UNSUPPORTED.get(operation, {}).items():
        value = _value(params, member)
        if value is not None and not harmless(value):
            raise InvalidParameterValueException(not_served(member))
