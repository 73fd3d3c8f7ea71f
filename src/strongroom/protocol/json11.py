"""The AWS JSON 1.1 wire format: request decoding and response/error encoding."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from strongroom.errors import ApiError, SerializationException

CONTENT_TYPE = b"application/x-amz-json-1.1"
ACCEPTED_CONTENT_TYPES = frozenset({"application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json"})
TARGET_PREFIX = "secretsmanager."


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
        raise SerializationException("Start of structure or map found where not expected.") from exc


def encode_result(result: dict[str, Any]) -> bytes:
    """Serialize a response: bytes as base64, dates already epoch seconds, absent keys absent."""
    return orjson.dumps(result, default=_default)


def encode_error(error: ApiError) -> bytes:
    return orjson.dumps(error.body())
