"""The AWS query protocol: ``Action=<Op>&Version=2017-10-17&<flattened params>``.

Requests come as ``GET /?Action=...`` (usually a presigned URL) or as ``POST /`` with
``Content-Type: application/x-www-form-urlencoded`` and the same pairs in the body. This module
turns the flat pairs into the nested structure the operation's input shape describes, so the
request then takes exactly the JSON 1.1 path (``parse_input``, authorization, the handler) and is
answered with the same JSON.

Flattening, as botocore's query serializer writes it (``botocore/serialize.py``,
``QuerySerializer``) plus the other spellings AWS query services accept:

* structure members: ``Parent.Member``;
* lists: ``Name.member.N`` (N from 1), also the flattened ``Name.N``; an empty list is sent as
  ``Name=`` with no elements;
* maps: ``Name.entry.N.key`` / ``Name.entry.N.value``, also the flattened ``Name.N.key``;
* scalars are strings on the wire: integers and longs are converted when they are decimal
  integers of at most 19 digits (:mod:`strongroom.integers`), booleans are left to ``parse_input``
  (it accepts ``true``/``false`` in any case), blobs stay base64 text (``parse_input`` decodes
  them), timestamps are ISO 8601 or epoch seconds.

A value that can't be converted is passed on as its string, so ``parse_input`` reports it with the
same SerializationException a JSON client would get. Unknown parameters are ignored, as JSON
services ignore unknown members. Element order follows N, not the order on the wire; an index
that isn't a positive integer (ASCII digits, at most 19) is ignored.

Errors of the query envelope itself (common errors of AWS query APIs, "Common Errors" page of
every AWS API reference): an unknown Action or an unsupported Version is ``InvalidAction``, worded
as AWS's query front end words it ("Could not find operation GetCallerIdentity for version
2011-06-15", reproduced by S3Proxy's STS emulation, gaul/s3proxy ``AwsHttpHandler``); no Action at
all is ``MissingAction``. The version placeholder for a request without Version,
``NO_VERSION_SPECIFIED``, is our recollection of AWS's wording, not verified against a source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from strongroom.errors import ApiError
from strongroom.integers import decimal_integer
from strongroom.protocol.model import Shape, input_shape

__all__ = [
    "FORM_CONTENT_TYPE",
    "MISSING_ACTION_MESSAGE",
    "SECRETSMANAGER_VERSION",
    "InvalidAction",
    "MissingAction",
    "QueryRequest",
    "decode_params",
    "decode_shape",
    "invalid_action",
    "is_query_request",
    "operation_for",
    "parse_query_request",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
SECRETSMANAGER_VERSION = "2017-10-17"
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


def decode_params(operation: str, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The JSON-shaped parameters of ``operation`` from flattened query pairs.

    Raises ``KeyError`` for an operation the model does not define.
    """
    shape = input_shape(operation)
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
    return _scalar(kind, node.value)


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


def _scalar(kind: str, text: str) -> Any:
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


def operation_for(action: str | None, version: str | None, known: Container[str]) -> str:
    """Check the envelope of a Secrets Manager query request; return the operation name."""
    if not action:
        raise MissingAction(MISSING_ACTION_MESSAGE)
    if version != SECRETSMANAGER_VERSION or action not in known:
        raise invalid_action(action, version)
    return action
