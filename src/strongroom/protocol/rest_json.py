"""AWS REST JSON (restJson1): operations addressed by HTTP method and path, as Lambda's API is.

Each operation of a REST service declares its route (``Operation.route``: the method and the path
of the model's ``requestUri``). A path template's ``{Name}`` takes one path segment, ``{Name+}``
the rest of the path; a literal query part (``?versions``) must be present. Routes with fewer
labels win over more general ones. Input members are read where the model's ``location`` trait
puts them: ``uri`` (a path label), ``querystring``, ``header``, ``headers`` (a prefix map), the
input's ``payload`` member (the raw body for a blob or string, JSON for a structure), the JSON
body for the rest. Scalars sent as text are typed as in the query protocol. Answers: status from
the model's ``http.responseCode`` (or a ``statusCode`` member), ``header`` members as headers, the
``payload`` member (nothing when absent, for a blob) or the other members as the JSON body; a 204
has no body. Errors: ``X-Amzn-ErrorType: <code>``, the status the service gives a shared error type
(``error_statuses``) or the model's error shape (``error.httpStatusCode``), body ``{"Type":
"User"|"Server", "Message": ...}``. A request no route takes is answered with the error of the
service whose prefix it is under (``unknown_operation``), else as JSON RPC answers unknown targets.
An operation may have a body limit of its own (``body_limit``), which the API endpoint looks up
before it reads the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote

import orjson

from strongroom.errors import ApiError, UnknownOperationException
from strongroom.protocol import json_rpc
from strongroom.protocol.adapter import Answer, Call, Route, Scope, Unroutable
from strongroom.protocol.model import Shape, operation_model, service_model
from strongroom.protocol.query import decode_scalar
from strongroom.service.descriptor import BodyLimit, ServiceDescriptor

CONTENT_TYPE = b"application/json"
_LABEL = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")


class _Path(NamedTuple):
    """A route's HTTP side: method, path pattern, required query keys."""

    method: str
    path: re.Pattern[str]
    #: query keys the route requires (and the value, where the template gives one)
    query: tuple[tuple[str, str | None], ...]
    route: Route
    #: sort key: fewer labels, then no greedy label, then longer literal text first
    rank: tuple[int, int, int]


class Request(NamedTuple):
    """What a REST call's parameters are read from."""

    labels: dict[str, str]
    query: list[tuple[str, str]]
    headers: list[tuple[bytes, bytes]]
    body: bytes


def compile_route(method: str, template: str, route: Route) -> _Path:
    """The HTTP side of ``route`` from a method and a ``requestUri`` template."""
    path, _, literal_query = template.partition("?")
    pattern, labels, greedy, literal, position = ["^"], 0, 0, 0, 0
    for match in _LABEL.finditer(path):
        text = path[position : match.start()]
        pattern.append(re.escape(text))
        literal += len(text)
        name, plus = match.groups()
        pattern.append(f"(?P<{name}>.+)" if plus else f"(?P<{name}>[^/]+)")
        labels += 1
        greedy += bool(plus)
        position = match.end()
    pattern.append(re.escape(path[position:]) + "$")
    literal += len(path) - position
    pairs = (part.partition("=") for part in literal_query.split("&") if part)
    query = tuple((key, value if sep else None) for key, sep, value in pairs)
    return _Path(method, re.compile("".join(pattern)), query, route, (labels, greedy, -literal))


class RestJson:
    """The REST JSON adapter over a set of services (one table: routes, most specific first)."""

    def __init__(self, services: Iterable[ServiceDescriptor]) -> None:
        services = list(services)
        routes = []
        for service in services:
            for operation in service.operations.values():
                if operation.route is None:
                    continue
                method, template = operation.route
                if service.rest_prefix is not None and not template.startswith(service.rest_prefix):
                    raise ValueError(f"{service.name} {operation.name}: {template} is outside {service.rest_prefix}")
                routes.append(compile_route(method, template, Route(service, operation)))
        self._routes = sorted(routes, key=lambda path: path.rank)
        #: services that answer requests under their prefix that no route takes with an error of their own
        self._answering_unknown = [
            service for service in services if service.rest_prefix is not None and service.unknown_operation
        ]

    def _match(self, scope: Scope) -> tuple[_Path, re.Match[str], list[tuple[str, str]]]:
        """The route a request's method, path and query take, with the path's match and the query pairs."""
        method = scope["method"]
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        query = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
        present = dict(query)
        for candidate in self._routes:
            prefix = candidate.route.service.rest_prefix
            if candidate.method != method or (prefix is not None and not path.startswith(prefix)):
                continue
            match = candidate.path.match(path)
            if match is None or any(
                key not in present or (value is not None and present[key] != value) for key, value in candidate.query
            ):
                continue
            return candidate, match, query
        for service in self._answering_unknown:
            if path.startswith(service.rest_prefix):  # type: ignore[arg-type]  # set for these services
                raise Unroutable(service.unknown_operation(), service)  # type: ignore[misc]
        raise Unroutable(UnknownOperationException(""), None)

    def route(self, scope: Scope, body: bytes, target: str | None, media_type: str | None) -> Call:
        candidate, match, query = self._match(scope)
        labels = {name: unquote(value) for name, value in match.groupdict().items()}
        return candidate.route, Request(labels, query, scope["headers"], body)

    def body_limit(self, scope: Scope) -> tuple[ServiceDescriptor, BodyLimit] | None:
        """The service and body limit of the operation a request routes to, if the operation has a limit
        of its own (looked up before the body is read)."""
        try:
            route = self._match(scope)[0].route
        except Unroutable:
            return None
        limit = route.operation.body_limit
        return None if limit is None else (route.service, limit)

    def params(self, route: Route, payload: Any) -> Any:
        request: Request = payload
        shape = operation_model(route.service.model, route.operation.name).input_shape
        if shape is None:
            return {}
        payload_member = shape.serialization.get("payload")
        params: dict[str, Any] = {}
        body_members: dict[str, Shape] = {}
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = str(member.serialization.get("name", name))
            if name == payload_member:
                value = _payload(member, request.body)
            elif location == "uri":
                value = _scalar(member, request.labels.get(wire))
            elif location == "querystring":
                value = _from_query(member, wire, request.query)
            elif location == "header":
                value = _scalar(member, _header(request.headers, wire.lower().encode()))
            elif location == "headers":
                value = _prefixed_headers(request.headers, wire.lower())
            else:
                body_members[name] = member
                continue
            if value is not None:
                params[name] = value
        if body_members and payload_member is None:
            body = json_rpc.decode_body(request.body)
            if isinstance(body, dict):
                params.update({name: body[name] for name in body_members if name in body})
        return params

    def answer(self, route: Route, result: dict[str, Any], request_id: str) -> Answer:
        model = operation_model(route.service.model, route.operation.name)
        status = int(model.http.get("responseCode", 200))
        shape = model.output_shape
        if shape is None:
            return status, CONTENT_TYPE, b"" if status == 204 else b"{}", ()
        payload_member = shape.serialization.get("payload")
        headers: list[tuple[bytes, bytes]] = []
        body: dict[str, Any] = {}
        raw: bytes | None = None
        for name, value in result.items():
            member = shape.members.get(name)
            if member is None or value is None:
                continue
            location = member.serialization.get("location")
            if location == "header":
                headers.append((str(member.serialization.get("name", name)).lower().encode(), _header_text(value)))
            elif location == "statusCode":
                status = int(value)
            elif name == payload_member:
                raw = value if isinstance(value, bytes) else (
                    value.encode() if isinstance(value, str) else json_rpc.encode_result(value)
                )
            else:
                body[name] = value
        if status == 204:  # No Content: a body would break the response
            return status, CONTENT_TYPE, b"", headers
        if raw is None and payload_member is not None:
            raw = _empty_payload(shape.members[payload_member])
        if raw is None:
            raw = json_rpc.encode_result(body)
        return status, CONTENT_TYPE, raw, headers

    def error(self, service: ServiceDescriptor | None, error: ApiError, request_id: str) -> Answer:
        if service is None:
            return json_rpc.error_answer(None, error)
        status = _error_status(service, error)
        body = orjson.dumps({"Type": "Server" if status >= 500 else "User", "Message": error.message})
        return status, CONTENT_TYPE, body, ((b"x-amzn-errortype", error.code.encode()),)


def _empty_payload(member: Shape) -> bytes:
    """The body of an answer without its payload member: nothing for a blob or string, else ``{}``."""
    return b"" if member.type_name in ("blob", "string") else b"{}"


def _error_status(service: ServiceDescriptor, error: ApiError) -> int:
    """The service's status for a shared error type, the model's for its error shape, else the error's own."""
    status = service.error_statuses.get(type(error))
    if status is not None:
        return status
    try:
        shape = service_model(service.model).shape_for(error.code)
    except KeyError:
        return error.status
    return int(shape.metadata.get("error", {}).get("httpStatusCode", error.status))


def _payload(member: Shape, body: bytes) -> Any:
    if member.type_name == "structure":
        return json_rpc.decode_body(body) if body else None
    if member.type_name == "string":
        return body.decode("utf-8", "replace") if body else None
    return body if body else None  # blob: the bytes as sent


def _scalar(member: Shape, text: str | None) -> Any:
    if text is None:
        return None
    if member.type_name == "blob":
        return text  # base64 text, decoded by validation
    return decode_scalar(member.type_name, text)


def _from_query(member: Shape, wire: str, query: list[tuple[str, str]]) -> Any:
    if member.type_name == "list":
        values = [value for key, value in query if key == wire]
        return [_scalar(member.member, value) for value in values] if values else None
    if member.type_name == "map":  # a querystring map takes the pairs no other member names
        return dict(query) or None
    for key, value in query:
        if key == wire:
            return _scalar(member, value)
    return None


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _prefixed_headers(headers: list[tuple[bytes, bytes]], prefix: str) -> dict[str, str] | None:
    found = {
        key.decode("latin-1")[len(prefix) :]: value.decode("latin-1")
        for key, value in headers
        if key.decode("latin-1").startswith(prefix)
    }
    return found or None


def _header_text(value: Any) -> bytes:
    if isinstance(value, bool):
        return b"true" if value else b"false"
    return str(value).encode("latin-1", "replace")
