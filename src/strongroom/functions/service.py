"""The Lambda-compatible functions service: its descriptor (REST JSON routes, limits, errors, context keys).

Routes are the ``requestUri`` of the vendored Lambda model (2015-03-31) for the operations served
(tests/unit/test_functions_service.py holds them equal). A request under one of Lambda's path
prefixes that no route takes gets Lambda's answer to an operation it cannot name:
AccessDeniedException "Unable to determine service/operation name to be authorized" (403), as do
the model's operations not served here. CreateFunction and UpdateFunctionCode take a body up to
Lambda's limit for a 50 MB package in base64, Invoke up to 6 MB (Lambda's messages).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.errors import (
    AccessDeniedException,
    ExpiredTokenException,
    InvalidSignatureException,
    UnrecognizedClientException,
)
from strongroom.functions import create, invoke, permissions, read, tags, update
from strongroom.functions.errors import UNKNOWN_OPERATION, request_too_large
from strongroom.functions.iam_vocabulary import PREFIX, request_context_keys, resource_context_keys
from strongroom.functions.runtime.constants import MAX_EVENT_BYTES
from strongroom.functions.unsupported import refuse_unsupported
from strongroom.service.descriptor import BodyLimit, Handler, Operation, ServiceDescriptor

#: Lambda's request limit for CreateFunction and UpdateFunctionCode: a 50 MB zip in base64 (4/3 of
#: 52,428,800 bytes, rounded up), as its RequestEntityTooLargeException states.
MAX_CODE_REQUEST_BYTES = 69_905_067
#: The path prefixes of Lambda's API versions (every requestUri of its model starts with one).
PATH_PREFIXES = (
    "/2014-11-13/", "/2015-03-31/", "/2016-08-19/", "/2017-03-31/", "/2017-10-31/", "/2018-10-31/",
    "/2019-09-25/", "/2019-09-30/", "/2020-04-22/", "/2020-06-30/", "/2021-07-20/", "/2021-10-31/",
    "/2021-11-15/", "/2024-08-31/", "/2025-11-30/", "/2025-12-01/", "/2026-07-09/",
)  # fmt: skip

_FUNCTION = "/2015-03-31/functions/{FunctionName}"
#: operation -> (handler, (method, requestUri of the model))
_OPERATIONS: dict[str, tuple[Handler, tuple[str, str]]] = {
    "CreateFunction": (create.create_function, ("POST", "/2015-03-31/functions")),
    "ListFunctions": (read.list_functions, ("GET", "/2015-03-31/functions")),
    "GetFunction": (read.get_function, ("GET", _FUNCTION)),
    "GetFunctionConfiguration": (read.get_function_configuration, ("GET", f"{_FUNCTION}/configuration")),
    "UpdateFunctionConfiguration": (update.update_function_configuration, ("PUT", f"{_FUNCTION}/configuration")),
    "UpdateFunctionCode": (update.update_function_code, ("PUT", f"{_FUNCTION}/code")),
    "DeleteFunction": (update.delete_function, ("DELETE", _FUNCTION)),
    "AddPermission": (permissions.add_permission, ("POST", f"{_FUNCTION}/policy")),
    "GetPolicy": (permissions.get_policy, ("GET", f"{_FUNCTION}/policy")),
    "RemovePermission": (permissions.remove_permission, ("DELETE", f"{_FUNCTION}/policy/{{StatementId}}")),
    "Invoke": (invoke.invoke, ("POST", f"{_FUNCTION}/invocations")),
    "ListTags": (tags.list_tags, ("GET", "/2017-03-31/tags/{Resource}")),
    "TagResource": (tags.tag_resource, ("POST", "/2017-03-31/tags/{Resource}")),
    "UntagResource": (tags.untag_resource, ("DELETE", "/2017-03-31/tags/{Resource}")),
}
#: Operations authorized on resource "*" before they run (they name no single function).
_RESOURCELESS = frozenset({"ListFunctions"})
_BODY_LIMITS = {
    "CreateFunction": BodyLimit(MAX_CODE_REQUEST_BYTES, request_too_large(MAX_CODE_REQUEST_BYTES, "CreateFunction")),
    "UpdateFunctionCode": BodyLimit(
        MAX_CODE_REQUEST_BYTES, request_too_large(MAX_CODE_REQUEST_BYTES, "UpdateFunctionCode")),
    "Invoke": BodyLimit(MAX_EVENT_BYTES, request_too_large(MAX_EVENT_BYTES, "InvokeFunction")),
}


def audit_subject(params: Mapping[str, Any]) -> str | None:
    """The function (or tagged resource) a request names, as the caller gave it."""
    return params.get("FunctionName") or params.get("Resource")


def unknown_operation() -> AccessDeniedException:
    return AccessDeniedException(UNKNOWN_OPERATION)


SERVICE = ServiceDescriptor(
    name=PREFIX,
    signing_name=PREFIX,
    model=PREFIX,
    operations={
        name: Operation(name, handler, resourceless=name in _RESOURCELESS, route=route,
                        body_limit=_BODY_LIMITS.get(name))
        for name, (handler, route) in _OPERATIONS.items()
    },
    rest_prefix=PATH_PREFIXES,
    unknown_operation=unknown_operation,
    error_statuses={
        AccessDeniedException: 403,
        InvalidSignatureException: 403,
        UnrecognizedClientException: 403,
        ExpiredTokenException: 403,
    },
    context_keys=request_context_keys,
    resource_keys=resource_context_keys,
    audit_subject=audit_subject,
    check_input=refuse_unsupported,
)
