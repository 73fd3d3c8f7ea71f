"""A service described once: how requests reach it, its model, its operations.

The front door builds its routing tables from these descriptors (server/registry.py), keyed by
(service, operation); adding a service is a package with a ``service.py`` exporting its
:class:`ServiceDescriptor` plus one line in the registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from strongroom.errors import ApiError
from strongroom.iam.policy import ContextValue
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services

#: A handler: the service's dependencies, the request context, the validated parameters -> result members.
Handler = Callable[[Services, RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


class QueryError(NamedTuple):
    """How a query-protocol service reports an error type: its code, HTTP status and, where its
    wording differs from the shared error's, its message."""

    code: str
    status: int
    message: str | None = None


def _no_subject(params: Mapping[str, Any]) -> str | None:
    return None


def _no_keys(facts: Any) -> dict[str, ContextValue]:
    return {}


class BodyLimit(NamedTuple):
    """An operation's own limit on the request body, and the message of its RequestEntityTooLargeException."""

    size: int
    message: str


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a service."""

    name: str
    handler: Handler
    #: Authorized on resource "*" before the handler runs (the operation names no single resource).
    resourceless: bool = False
    #: REST JSON services: (HTTP method, path template of the model's ``requestUri``, such as
    #: "/2015-03-31/functions/{FunctionName}/invocations"; ``{Name+}`` takes the rest of the path).
    route: tuple[str, str] | None = None
    #: REST JSON: this operation's body limit instead of the server's ``max_body_bytes`` (checked
    #: before the body is read).
    body_limit: BodyLimit | None = None


@dataclass(frozen=True, slots=True)
class ServiceDescriptor:
    """Everything the front door needs to know of one service."""

    #: The service's name and IAM action prefix.
    name: str
    #: The SigV4 service name of its credential scope.
    signing_name: str
    #: Its service model: a vendored model's name (strongroom/protocol/models/) or a definition's path.
    model: str | Path
    operations: Mapping[str, Operation]
    #: JSON RPC (awsJson1_0 / awsJson1_1): the X-Amz-Target prefix, with its final dot.
    json_target_prefix: str | None = None
    json_content_type: bytes = b"application/x-amz-json-1.1"
    #: Query protocol: the Version value that selects this service.
    query_version: str | None = None
    #: Query answers in XML (a query-first service such as STS) rather than in the JSON of its
    #: JSON protocol. A query-first service's JSON protocol is awsQueryCompatible: its errors carry
    #: the query codes of :attr:`query_errors` and an ``x-amzn-query-error`` header.
    query_answers_xml: bool = False
    #: Query-protocol codes, statuses and wordings of errors raised on the shared request path.
    query_errors: Mapping[type[ApiError], QueryError] = field(default_factory=dict)
    #: REST JSON: the path prefix (or prefixes) every route of the service starts with (checked;
    #: paths outside it are not matched against its routes).
    rest_prefix: str | tuple[str, ...] | None = None
    #: REST JSON: the error of a request under ``rest_prefix`` that no route takes (None: as JSON RPC
    #: answers an unknown target).
    unknown_operation: Callable[[], ApiError] | None = None
    #: REST JSON: HTTP statuses of shared error types where the service's differ from the error's own
    #: (the model's error shapes give the statuses of the service's own errors).
    error_statuses: Mapping[type[ApiError], int] = field(default_factory=dict)
    #: Condition keys a request's parameters carry into policy evaluation.
    context_keys: Callable[[Mapping[str, Any]], Mapping[str, ContextValue]] = _no_keys
    #: Condition keys a resource carries (the facts the domain passes to ``authorize``).
    resource_keys: Callable[[Any], Mapping[str, ContextValue]] = _no_keys
    #: What the audit record names as the request's subject (a parameter as the caller gave it).
    audit_subject: Callable[[Mapping[str, Any]], str | None] = _no_subject
    #: Refuses valid input the service cannot honour: (operation name, validated parameters) -> None.
    check_input: Callable[[str, Mapping[str, Any]], None] | None = None
