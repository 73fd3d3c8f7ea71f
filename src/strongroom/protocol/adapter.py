"""What every wire adapter shares: routes, answers, and the adapter interface.

An adapter turns a request's bytes into (service, operation, parameters) and a result or an
error back into bytes, in one wire protocol (JSON RPC, query, REST JSON). The API endpoint
(server/api.py) picks the adapter, asks it to :meth:`Adapter.route` the request, authenticates,
reads the parameters with :meth:`Adapter.params` after that, and has the adapter write the answer.
Routes are built once, with the adapters' tables; what a request allocates on the way are plain
tuples (the hot path builds them on every GetSecretValue).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple, Protocol

from strongroom.errors import ApiError
from strongroom.service.descriptor import Operation, ServiceDescriptor

#: Response headers besides Content-Type, Content-Length and x-amzn-RequestId.
Headers = list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...]

#: ASGI's HTTP connection scope.
Scope = dict[str, Any]


#: A response: (status, content type, body, extra headers).
Answer = tuple[int, bytes, bytes, Headers]


class Route(NamedTuple):
    """One operation of one service, as an adapter's routing table holds it."""

    service: ServiceDescriptor
    operation: Operation


#: A routed request: its route, and the adapter's own view of the request it reads parameters
#: from (a JSON body, query pairs, REST path labels and body).
Call = tuple[Route, Any]


class Unroutable(Exception):
    """A request no operation takes: ``error`` is answered in the protocol form of ``service``
    (None: the service is unknown too)."""

    def __init__(self, error: ApiError, service: ServiceDescriptor | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.service = service


class Adapter(Protocol):
    """One wire protocol."""

    def route(self, scope: Scope, body: bytes, target: str | None, media_type: str | None) -> Call:
        """The route a request takes, with its payload; raises :class:`Unroutable`."""
        ...

    def params(self, route: Route, payload: Any) -> Any:
        """The parameters in ``payload``, decoded to JSON-shaped values (validated by the caller)."""
        ...

    def answer(self, route: Route, result: dict[str, Any], request_id: str) -> Answer:
        """The response carrying an operation's result."""
        ...

    def error(self, service: ServiceDescriptor | None, error: ApiError, request_id: str) -> Answer:
        """The response carrying an error, in ``service``'s form of this protocol."""
        ...


def query_error(service: ServiceDescriptor, error: ApiError) -> tuple[str, int, str]:
    """The query-protocol (code, status, message) of ``error`` for ``service``."""
    mapped = service.query_errors.get(type(error))
    if mapped is None:
        return error.code, error.status, error.message
    return mapped.code, mapped.status, mapped.message or error.message


def services_by(services: Iterable[ServiceDescriptor], attribute: str) -> dict[str, ServiceDescriptor]:
    """The services that set ``attribute`` (a routing key: target prefix, query version), by its
    value; two services with one value would be ambiguous, a ValueError."""
    found: dict[str, ServiceDescriptor] = {}
    for service in services:
        key = getattr(service, attribute)
        if key is None:
            continue
        if key in found:
            raise ValueError(f"{attribute} {key!r} of {service.name} is taken by {found[key].name}")
        found[key] = service
    return found


def routes_of(service: ServiceDescriptor) -> dict[str, Route]:
    """The routes of a service's operations, by operation name."""
    return {name: Route(service, operation) for name, operation in service.operations.items()}
