"""AWS STS ``GetCallerIdentity`` on the Secrets Manager endpoint, in STS's own wire formats.

Clients (``aws sts get-caller-identity``, ``boto3.client("sts").get_caller_identity()``, tools that
check their credentials first) send it to the same endpoint URL, signed for service ``sts``:

* the query protocol botocore uses for STS (its model says ``"protocol": "query"``):
  ``POST /`` form ``Action=GetCallerIdentity&Version=2011-06-15``, or a presigned
  ``GET /?Action=GetCallerIdentity&...`` (as Vault and EKS use). The answer is STS's XML;
* the JSON protocol newer SDKs may choose (``X-Amz-Target:
  AWSSecurityTokenServiceV20110615.GetCallerIdentity``, ``application/x-amz-json-1.0``). The
  answer is the same three members as a JSON object.

Response shape: botocore's STS model (``GetCallerIdentityResponse`` with ``resultWrapper``
``GetCallerIdentityResult``, members UserId, Account, Arn, namespace
``https://sts.amazonaws.com/doc/2011-06-15/``) and the example in the STS API reference
(``GetCallerIdentity``: ``<GetCallerIdentityResponse xmlns=...><GetCallerIdentityResult><Arn>...``
then ``<ResponseMetadata><RequestId>``). UserId is the ``aws:userid`` of the caller: the account
id for the root user, the ``AIDA...`` unique id for an IAM user (IAM User Guide, "Policy
variables", principal table).

Errors use the query protocol's XML error envelope
(``<ErrorResponse xmlns=...><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error>
<RequestId>..</RequestId></ErrorResponse>``) with STS's codes: an unknown or inactive key is
``InvalidClientTokenId`` (403) and a wrong signature ``SignatureDoesNotMatch`` (403), where the
JSON services say UnrecognizedClientException / InvalidSignatureException; the messages stay
the same (AWS "Common Errors": InvalidClientTokenId, SignatureDoesNotMatch, IncompleteSignature,
MissingAuthenticationToken, InvalidAction). JSON-protocol errors carry ``__type`` and ``message``
plus the ``x-amzn-query-error: <Code>;<Sender|Receiver>`` header that query-compatible JSON
services send so SDKs can report the query error code.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import orjson

from strongroom.auth.policy import Principal
from strongroom.errors import (
    ApiError,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

__all__ = [
    "JSON_CONTENT_TYPE",
    "JSON_TARGET_PREFIX",
    "STS_ACTIONS",
    "STS_VERSION",
    "XML_CONTENT_TYPE",
    "caller_identity",
    "error_json",
    "error_xml",
    "identity_json",
    "identity_xml",
    "is_sts_query",
    "query_error",
]

STS_VERSION = "2011-06-15"
NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
XML_CONTENT_TYPE = b"text/xml"
JSON_CONTENT_TYPE = b"application/x-amz-json-1.0"
JSON_TARGET_PREFIX = "AWSSecurityTokenServiceV20110615."
#: The STS operations this endpoint answers.
STS_ACTIONS = frozenset({"GetCallerIdentity"})
MISSING_TOKEN_MESSAGE = "Request is missing Authentication Token"

#: JSON-service error type -> (STS query error code, HTTP status).
_CODES: dict[type[ApiError], tuple[str, int]] = {
    UnrecognizedClientException: ("InvalidClientTokenId", 403),
    InvalidSignatureException: ("SignatureDoesNotMatch", 403),
    IncompleteSignatureException: ("IncompleteSignature", 400),
    MissingAuthenticationTokenException: ("MissingAuthenticationToken", 403),
}


def is_sts_query(action: str | None, version: str | None) -> bool:
    """Whether a query request is meant for STS rather than Secrets Manager."""
    return version == STS_VERSION or (version is None and action in STS_ACTIONS)


def caller_identity(principal: Principal) -> dict[str, str]:
    """GetCallerIdentity's members for a principal (root: UserId is the account id)."""
    return {"UserId": principal.userid, "Account": principal.account, "Arn": principal.arn}


def identity_xml(principal: Principal, request_id: str) -> bytes:
    result = caller_identity(principal)
    return (
        f'<GetCallerIdentityResponse xmlns="{NAMESPACE}">\n'
        "  <GetCallerIdentityResult>\n"
        f"    <Arn>{escape(result['Arn'])}</Arn>\n"
        f"    <UserId>{escape(result['UserId'])}</UserId>\n"
        f"    <Account>{escape(result['Account'])}</Account>\n"
        "  </GetCallerIdentityResult>\n"
        "  <ResponseMetadata>\n"
        f"    <RequestId>{escape(request_id)}</RequestId>\n"
        "  </ResponseMetadata>\n"
        "</GetCallerIdentityResponse>\n"
    ).encode()


def identity_json(principal: Principal) -> bytes:
    return orjson.dumps(caller_identity(principal))


def query_error(error: ApiError) -> tuple[str, int]:
    """STS's (code, HTTP status) for an error raised on the shared request path."""
    mapped = _CODES.get(type(error))
    if mapped is not None:
        return mapped
    return error.code, error.status


def _message(error: ApiError) -> str:
    if isinstance(error, MissingAuthenticationTokenException):
        return MISSING_TOKEN_MESSAGE
    return error.message


def error_xml(error: ApiError, request_id: str) -> tuple[int, bytes]:
    code, status = query_error(error)
    kind = "Receiver" if status >= 500 else "Sender"
    body = (
        f'<ErrorResponse xmlns="{NAMESPACE}">\n'
        "  <Error>\n"
        f"    <Type>{kind}</Type>\n"
        f"    <Code>{escape(code)}</Code>\n"
        f"    <Message>{escape(_message(error))}</Message>\n"
        "  </Error>\n"
        f"  <RequestId>{escape(request_id)}</RequestId>\n"
        "</ErrorResponse>\n"
    ).encode()
    return status, body


def error_json(error: ApiError) -> tuple[int, bytes, bytes]:
    """(status, body, x-amzn-query-error header value) of an error in STS's JSON protocol."""
    code, status = query_error(error)
    kind = "Receiver" if status >= 500 else "Sender"
    return status, orjson.dumps({"__type": code, "message": _message(error)}), f"{code};{kind}".encode()
