"""The query protocol's XML answers, written from the service model.

A result is ``<{Operation}Response xmlns="{the model's xmlNamespace}"><{resultWrapper}>`` with
one element per member (in the order of the result), then ``<ResponseMetadata><RequestId>``;
structures nest, lists hold ``<member>`` elements, timestamps are ISO 8601 with milliseconds,
booleans ``true``/``false``, blobs base64. An error is ``<ErrorResponse><Error><Type>Sender|
Receiver</Type><Code/><Message/></Error><RequestId/></ErrorResponse>``. Text is escaped.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from strongroom.protocol.model import ModelSource, Shape, operation_model, service_model

CONTENT_TYPE = b"text/xml"
_INDENT = "  "


def namespace(model: ModelSource) -> str:
    """The XML namespace of a service's answers (its model's ``xmlNamespace``)."""
    return str(service_model(model).metadata.get("xmlNamespace", ""))


def iso8601(epoch: float) -> str:
    """A timestamp as the query protocol writes it: ``2011-07-11T19:55:29.611Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def encode_result(model: ModelSource, operation: str, result: dict[str, Any], request_id: str) -> bytes:
    """The XML answer carrying ``operation``'s result."""
    shape = operation_model(model, operation).output_shape
    lines = [f'<{operation}Response xmlns="{namespace(model)}">']
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{operation}Result")
        lines.append(f"{_INDENT}<{wrapper}>")
        _members(shape, result, 2, lines)
        lines.append(f"{_INDENT}</{wrapper}>")
    lines += [
        f"{_INDENT}<ResponseMetadata>",
        f"{_INDENT * 2}<RequestId>{escape(request_id)}</RequestId>",
        f"{_INDENT}</ResponseMetadata>",
        f"</{operation}Response>",
    ]
    return ("\n".join(lines) + "\n").encode()


def encode_error(model: ModelSource, code: str, message: str, status: int, request_id: str) -> bytes:
    """The XML error envelope (``Receiver`` for server faults, ``Sender`` for the rest)."""
    kind = "Receiver" if status >= 500 else "Sender"
    return (
        f'<ErrorResponse xmlns="{namespace(model)}">\n'
        "  <Error>\n"
        f"    <Type>{kind}</Type>\n"
        f"    <Code>{escape(code)}</Code>\n"
        f"    <Message>{escape(message)}</Message>\n"
        "  </Error>\n"
        f"  <RequestId>{escape(request_id)}</RequestId>\n"
        "</ErrorResponse>\n"
    ).encode()


def _members(shape: Shape, values: dict[str, Any], depth: int, lines: list[str]) -> None:
    members = shape.members
    for name, value in values.items():
        member = members.get(name)
        if member is not None and value is not None:
            _element(str(member.serialization.get("name", name)), member, value, depth, lines)


def _element(tag: str, shape: Shape, value: Any, depth: int, lines: list[str]) -> None:
    pad = _INDENT * depth
    kind = shape.type_name
    if kind == "structure":
        lines.append(f"{pad}<{tag}>")
        _members(shape, value, depth + 1, lines)
        lines.append(f"{pad}</{tag}>")
    elif kind == "list":
        lines.append(f"{pad}<{tag}>")
        item = str(shape.member.serialization.get("name", "member"))
        for element in value:
            _element(item, shape.member, element, depth + 1, lines)
        lines.append(f"{pad}</{tag}>")
    elif kind == "map":
        lines.append(f"{pad}<{tag}>")
        for key, item in value.items():
            lines.append(f"{pad}{_INDENT}<entry>")
            _element("key", shape.key, key, depth + 2, lines)
            _element("value", shape.value, item, depth + 2, lines)
            lines.append(f"{pad}{_INDENT}</entry>")
        lines.append(f"{pad}</{tag}>")
    else:
        lines.append(f"{pad}<{tag}>{escape(_scalar(kind, value))}</{tag}>")


def _scalar(kind: str, value: Any) -> str:
    if kind == "timestamp":
        return iso8601(value)
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "blob":
        return base64.b64encode(value).decode("ascii")
    return str(value)
