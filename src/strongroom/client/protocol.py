"""The AWS JSON 1.1 protocol on the client side: the request's headers and body, the error of a response."""

from __future__ import annotations

import http
import platform
import uuid
from typing import Any

import msgspec

from strongroom import __version__
from strongroom.client._base import Operation, Shape
from strongroom.client._modeled_errors import MODELED_ERRORS
from strongroom.client.errors import COMMON_ERRORS, ClientError
from strongroom.client.metadata import ResponseMetadata
from strongroom.client.transport import HttpResponse

CONTENT_TYPE = "application/x-amz-json-1.1"
USER_AGENT = f"strongroom-client/{__version__} Python/{platform.python_version()}"
_ENCODER = msgspec.json.Encoder()
_ERROR_DOCUMENT = msgspec.json.Decoder(dict[str, Any])


def base_headers(operation: Operation[Any]) -> dict[str, str]:
    """The headers of every request of ``operation`` before signing (as botocore sends them)."""
    return {"X-Amz-Target": operation.target, "Content-Type": CONTENT_TYPE, "User-Agent": USER_AGENT}


def with_idempotency_tokens(operation: Operation[Any], request: Shape) -> Shape:
    """``request`` with a fresh UUID in each idempotency token it leaves empty (ClientRequestToken),
    filled once per call so that every retry sends the same token."""
    missing = {name: str(uuid.uuid4()) for name in operation.idempotency_tokens if getattr(request, name) is None}
    return msgspec.structs.replace(request, **missing) if missing else request


def encode(request: Shape) -> bytes:
    return _ENCODER.encode(request)


def metadata_of(response: HttpResponse | None, attempts: int) -> ResponseMetadata:
    if response is None:
        return ResponseMetadata(None, 0, {}, attempts)
    return ResponseMetadata(response.headers.get("x-amzn-requestid"), response.status, response.headers, attempts)


def error_of(response: HttpResponse, metadata: ResponseMetadata) -> ClientError:
    """The exception of an error response: ``__type`` (namespace dropped; else the ``x-amzn-ErrorType``
    header, else the HTTP status, as botocore does) and ``message`` or ``Message``."""
    try:
        document = _ERROR_DOCUMENT.decode(response.body) if response.body else {}
    except msgspec.DecodeError:
        document = {}
    code = str(document.get("__type") or response.headers.get("x-amzn-errortype") or response.status)
    code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    message = document.get("message") or document.get("Message")
    if not isinstance(message, str):
        try:
            message = http.HTTPStatus(response.status).phrase
        except ValueError:
            message = ""
    error_class = MODELED_ERRORS.get(code) or COMMON_ERRORS.get(code) or ClientError
    return error_class(message, code=code, metadata=metadata)
