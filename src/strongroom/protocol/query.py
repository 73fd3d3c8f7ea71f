"""The AWS query protocol: ``Action=<Op>&Version=<api version>&<flattened params>``.

Requests come as ``GET /?Action=...`` (usually a presigned URL) or as ``POST /`` with
``Content-Type: application/x-www-form-urlencoded`` and the same pairs in the body. The Version
selects the service (its descriptor's ``query_version``; without a Version, the service that has
the Action, so that the error names the version); the flat pairs are turned into the nested
structure the operation's input shape describes, then validated like any JSON body. A query-first
service (STS) answers in XML (:mod:`strongroom.protocol.xml`); the others answer with their JSON
protocol's JSON, as Secrets Manager does.

Flattening: structure members ``Parent.Member``; lists ``Name.member.N`` (N from 1) or the
flattened ``Name.N``, an empty list ``Name=``; maps ``Name.entry.N.key``/``.value`` or
``Name.N.key``. Scalars are strings on the wire: integers are converted when they are decimal
integers of at most 19 digits (:mod:`strongroom.integers`), other text is passed on as sent so
validation reports it as it would in JSON. Unknown parameters are ignored; element order follows
N; an index that isn't a positive integer is ignored. An unknown Action or Version is
``InvalidAction``, no Action ``MissingAction``. AWS's behaviour and sources: docs/api.md,
"Query protocol".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from strongroom.errors import ApiError
from strongroom.integers import decimal_integer
from strongroom.protocol import json_rpc, xml
from strongroom.protocol.adapter import Answer, Call, Route, Scope, Unroutable, query_error, routes_of, services_by
from strongroom.protocol.model import ModelSource, Shape, input_shape
from strongroom.service.descriptor import ServiceDescriptor

__all__ = [
    "FORM_CONTENT_TYPE",
    "MISSING_ACTION_MESSAGE",
    "InvalidAction",
    "MissingAction",
    "Query",
    "QueryRequest",
    "decode_params",
    "decode_scalar",
    "decode_shape",
    "invalid_action",
    "is_query_request",
    "parse_query_request",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
NO_VERSION = "NO_VERSION_SPECIFIED"
MISSING_ACTION_MESSAGE = "The request is missing an action or a required parameter."

#: SigV4 query-authentication parameters: part of the signature, never operation input.
_AUTH_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
    }
)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class InvalidAction(ApiError):
    """The Action is unknown, or not known for the requested Version."""


class MissingAction(ApiError):
    """The request names no Action."""


def invalid_action(action: str, version: str | None) -> InvalidAction:
    return InvalidAction(f"Could not find operation {action} for version {version or NO_VERSION}")


# --- Recognising and reading a query request --------------------------------------------------


def is_query_request(method: str, content_type: str | None, raw_query: bytes) -> bool:
    """A form POST, or a GET whose query string carries an ``Action``."""
    if method == "POST":
        return content_type == FORM_CONTENT_TYPE
    if method == "GET" and raw_query:
        return any(key == "Action" for key, _ in _pairs(raw_query))
    return False


class QueryRequest:
    """The envelope of a query request: Action, Version and the operation's flat parameters."""

    __slots__ = ("action", "version", "params")

    def __init__(self, action: str | None, version: str | None, params: list[tuple[str, str]]) -> None:
        self.action = action
        self.version = version
        self.params = params


def parse_query_request(method: str, raw_query: bytes, body: bytes) -> QueryRequest:
    """Collect the pairs of the query string (minus SigV4's) and, for a POST, of the form body.

    The first ``Action`` and ``Version`` win; a parameter given twice keeps its last value
    (as a dictionary would), which only matters for malformed requests.
    """
    pairs = [(k, v) for k, v in _pairs(raw_query) if k not in _AUTH_PARAMS]
    if method == "POST" and body:
        pairs.extend(_pairs(body))
    action = version = None
    params: list[tuple[str, str]] = []
    for key, value in pairs:
        if key == "Action":
            action = value if action is None else action
        elif key == "Version":
            version = value if version is None else version
        else:
            params.append((key, value))
    return QueryRequest(action or None, version or None, params)


def _pairs(raw: bytes) -> list[tuple[str, str]]:
    """Form decoding: ``+`` is a space, percent-escapes are UTF-8, blank values are kept."""
    if not raw:
        return []
    return parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)


# --- Model-driven decoding ---------------------------------------------------------------------


class _Node:
    """One segment of the dotted parameter names: its value (if sent) and its sub-segments."""

    __slots__ = ("value", "children")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def _tree(pairs: Iterable[tuple[str, str]]) -> _Node:
    root = _Node()
    for key, value in pairs:
        node = root
        for segment in key.split("."):
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = _Node()
            node = child
        node.value = value
    return root


def decode_params(model: ModelSource, operation: str, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The JSON-shaped parameters of ``operation`` from flattened query pairs.

    Raises ``KeyError`` for an operation the model does not define.
    """
    shape = input_shape(model, operation)
    if shape is None:
        return {}
    return decode_shape(shape, pairs)


def decode_shape(shape: Shape, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Decode flattened pairs against a structure shape (any botocore model's)."""
    result = _structure(shape, _tree(pairs))
    return result if isinstance(result, dict) else {}


def _decode(shape: Shape, node: _Node) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, node)
    if kind == "list":
        return _list(shape, node)
    if kind == "map":
        return _map(shape, node)
    if node.value is None:
        return None  # only sub-keys were sent for a scalar: nothing usable
    return decode_scalar(kind, node.value)


def _structure(shape: Shape, node: _Node) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        child = node.children.get(_wire_name(name, member))
        if child is None:
            continue
        value = _decode(member, child)
        if value is not None:
            out[name] = value
    if not out and not node.children and node.value is None:
        return None
    return out


def _wire_name(name: str, member: Shape) -> str:
    """The member's name on the wire: its query/location name if the model gives one."""
    serialization = member.serialization
    return str(serialization.get("queryName") or serialization.get("name") or name)


def _indexed(node: _Node, wrapper: str) -> list[_Node]:
    """Elements N of ``<wrapper>.N`` (or of the flattened ``N``), in index order."""
    holder = node.children.get(wrapper, node)
    items: list[tuple[int, _Node]] = []
    for key, child in holder.children.items():
        index = decimal_integer(key) if key.isdigit() else None  # no sign, no spaces
        if index is not None and index >= 1:
            items.append((index, child))
    items.sort(key=lambda item: item[0])
    return [child for _, child in items]


def _list(shape: Shape, node: _Node) -> list[Any] | None:
    member = shape.member  # type: ignore[attr-defined]
    wrapper = str(member.serialization.get("name") or "member")
    elements = _indexed(node, wrapper)
    if not elements:
        # ``Name=`` with nothing under it is botocore's spelling of an empty list.
        return [] if node.value is not None and not node.children else None
    out = []
    for child in elements:
        value = _decode(member, child)
        out.append(value)  # a missing element stays None: parse_input reports it like JSON null
    return out


def _map(shape: Shape, node: _Node) -> dict[str, Any] | None:
    key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
    key_name = str(key_shape.serialization.get("name") or "key")
    value_name = str(value_shape.serialization.get("name") or "value")
    entries = _indexed(node, "entry")
    if not entries:
        return {} if node.value is not None and not node.children else None
    out: dict[str, Any] = {}
    for entry in entries:
        key_node = entry.children.get(key_name)
        if key_node is None or key_node.value is None:
            continue
        value_node = entry.children.get(value_name)
        out[key_node.value] = _decode(value_shape, value_node) if value_node is not None else None
    return out


def decode_scalar(kind: str, text: str) -> Any:
    """A scalar sent as text, typed by its shape where it reads as one (else the text, for validation to report)."""
    if kind in ("integer", "long"):
        number = decimal_integer(text)
        return text if number is None else number
    if kind in ("float", "double"):
        return float(text) if _NUMBER.fullmatch(text.strip()) else text
    if kind == "timestamp":
        return _timestamp(text)
    return text  # string, blob (base64 text), boolean ("true"/"false"): as parse_input reads JSON


def _timestamp(text: str) -> Any:
    value = text.strip()
    if _NUMBER.fullmatch(value):
        seconds = float(value)
        return seconds if math.isfinite(seconds) else text
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class Query:
    """The query adapter over a set of services (tables: Version -> service, Action -> service)."""

    def __init__(self, services: Iterable[ServiceDescriptor]) -> None:
        self._versions = services_by(services, "query_version")
        self._routes = {version: routes_of(service) for version, service in self._versions.items()}
        self._actions: dict[str, ServiceDescriptor] = {}
        for service in self._versions.values():
            for name in service.operations:
                self._actions.setdefault(name, service)

    @staticmethod
    def accepts(method: str, media_type: str | None, raw_query: bytes) -> bool:
        """Whether a request speaks the query protocol."""
        return is_query_request(method, media_type, raw_query)

    def route(self, scope: Scope, body: bytes, target: str | None, media_type: str | None) -> Call:
        method = scope["method"]
        envelope = parse_query_request(method, scope.get("query_string", b""), body)
        action, version = envelope.action, envelope.version
        routes = self._routes.get(version) if version is not None else None
        if version is not None:
            service = self._versions.get(version)
        else:
            service = self._actions.get(action) if action else None
        if not action:
            raise Unroutable(MissingAction(MISSING_ACTION_MESSAGE), service)
        route = routes.get(action) if routes is not None else None
        if route is None:
            raise Unroutable(invalid_action(action, version), service)
        return route, envelope.params

    def params(self, route: Route, payload: Any) -> Any:
        return decode_params(route.service.model, route.operation.name, payload)

    def answer(self, route: Route, result: dict[str, Any], request_id: str) -> Answer:
        service = route.service
        if not service.query_answers_xml:
            return json_rpc.answer(service, result)
        return 200, xml.CONTENT_TYPE, xml.encode_result(service.model, route.operation.name, result, request_id), ()

    def error(self, service: ServiceDescriptor | None, error: ApiError, request_id: str) -> Answer:
        if service is None or not service.query_answers_xml:
            return json_rpc.error_answer(service, error)
        code, status, message = query_error(service, error)
        return status, xml.CONTENT_TYPE, xml.encode_error(service.model, code, message, status, request_id), ()
