"""AWS JSON RPC (awsJson1_0 and awsJson1_1): ``POST /`` with ``X-Amz-Target: <prefix><Operation>``.

The target prefix selects the service (its descriptor's ``json_target_prefix``), the rest of the
target the operation. The body is a JSON object (empty: ``{}``); answers are JSON with bytes as
base64 and absent members absent. Errors are ``{"__type": <code>, "Message": ...}`` (``message``
for ValidationException); a query-first service's (STS) JSON errors are awsQueryCompatible: its
query code as ``__type``, ``message``, and an ``x-amzn-query-error: <code>;<Sender|Receiver>``
header. Requests no service takes are answered in plain JSON 1.1.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

import orjson

from strongroom.errors import ApiError, SerializationException, UnknownOperationException
from strongroom.protocol.adapter import Answer, Call, Route, Scope, Unroutable, query_error, routes_of, services_by
from strongroom.service.descriptor import ServiceDescriptor

#: The content type of answers when no service is known.
DEFAULT_CONTENT_TYPE = b"application/x-amz-json-1.1"
ACCEPTED_CONTENT_TYPES = frozenset({"application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json"})
START_OF_STRUCTURE = "Start of structure or map found where not expected."


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot serialize {type(value).__name__}")


def decode_body(body: bytes) -> Any:
    """Parse a request body; an empty body is an empty object, as AWS treats it."""
    if not body.strip():
        return {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SerializationException(START_OF_STRUCTURE) from exc


def encode_result(result: dict[str, Any]) -> bytes:
    """Serialize a result: bytes as base64, dates already epoch seconds, absent keys absent."""
    return orjson.dumps(result, default=_default)


def answer(service: ServiceDescriptor, result: dict[str, Any]) -> Answer:
    """A service's result in its JSON form."""
    return 200, service.json_content_type, encode_result(result), ()


def error_answer(service: ServiceDescriptor | None, error: ApiError) -> Answer:
    """An error in ``service``'s JSON form (plain JSON 1.1 when no service is known)."""
    if service is None:
        return error.status, DEFAULT_CONTENT_TYPE, orjson.dumps(error.body()), ()
    if not service.query_answers_xml:
        return error.status, service.json_content_type, orjson.dumps(error.body()), ()
    code, status, message = query_error(service, error)
    kind = "Receiver" if status >= 500 else "Sender"
    body = orjson.dumps({"__type": code, "message": message})
    return status, service.json_content_type, body, ((b"x-amzn-query-error", f"{code};{kind}".encode()),)


class JsonRpc:
    """The JSON RPC adapter over a set of services (one table: full target -> service, operation)."""

    def __init__(self, services: Iterable[ServiceDescriptor]) -> None:
        self._prefixes = services_by(services, "json_target_prefix")
        self._targets: dict[str, Route] = {
            prefix + name: route
            for prefix, service in self._prefixes.items()
            for name, route in routes_of(service).items()
        }

    def route(self, scope: Scope, body: bytes, target: str | None, media_type: str | None) -> Call:
        route = self._targets.get(target) if target is not None else None
        if route is None or scope["method"] != "POST":
            raise Unroutable(UnknownOperationException(""), self._service_of(target))
        if media_type not in ACCEPTED_CONTENT_TYPES:
            raise Unroutable(SerializationException(f"Unsupported content type: {media_type}"), route.service)
        return route, body

    def _service_of(self, target: str | None) -> ServiceDescriptor | None:
        """The service whose prefix ``target`` carries (its form answers the error)."""
        if target:
            for prefix, service in self._prefixes.items():
                if target.startswith(prefix):
                    return service
        return None

    def params(self, route: Route, payload: Any) -> Any:
        return decode_body(payload)

    def answer(self, route: Route, result: dict[str, Any], request_id: str) -> Answer:
        return 200, route.service.json_content_type, encode_result(result), ()

    def error(self, service: ServiceDescriptor | None, error: ApiError, request_id: str) -> Answer:
        return error_answer(service, error)
