"""A service described once: how requests reach it, its model, its operations.

The front door builds its routing tables from these descriptors (server/registry.py), keyed by
(service, operation); adding a service is a package with a ``service.py`` exporting its
:class:`ServiceDescriptor` plus one line in the registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services

#: A handler: the service's dependencies, the request context, the validated parameters -> result members.
Handler = Callable[[Services, RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def _no_subject(params: Mapping[str, Any]) -> str | None:
    return None


def _no_keys(params: Mapping[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a service."""

    name: str
    handler: Handler
    #: Authorized on resource "*" before the handler runs (the operation names no single resource).
    resourceless: bool = False
    #: REST JSON services: (HTTP method, path template such as "/2015-03-31/functions/{FunctionName}").
    route: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ServiceDescriptor:
    """Everything the front door needs to know of one service."""

    #: The service's name and IAM action prefix, e.g. "secretsmanager".
    name: str
    #: The SigV4 service name of its credential scope.
    signing_name: str
    #: Its vendored service model (a file under strongroom/protocol/models/).
    model: str
    operations: Mapping[str, Operation]
    #: JSON RPC (awsJson1_0 / awsJson1_1): the X-Amz-Target prefix, e.g. "secretsmanager.".
    json_target_prefix: str | None = None
    json_content_type: bytes = b"application/x-amz-json-1.1"
    #: Query protocol: the Version value that selects this service, e.g. "2017-10-17".
    query_version: str | None = None
    #: Query answers in XML (STS) rather than in the JSON of the JSON protocol (Secrets Manager).
    query_answers_xml: bool = False
    #: REST JSON: the path prefix of its routes, e.g. "/2015-03-31/".
    rest_prefix: str | None = None
    #: Request context keys a request carries for the policy engine (e.g. "secretsmanager:SecretId").
    context_keys: Callable[[Mapping[str, Any]], dict[str, Any]] = field(default=_no_keys)
    #: What the audit record names as the request's subject (e.g. the SecretId).
    audit_subject: Callable[[Mapping[str, Any]], str | None] = field(default=_no_subject)
