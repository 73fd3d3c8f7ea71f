"""AWS STS ``GetCallerIdentity`` and ``GetSessionToken`` on the Secrets Manager endpoint, in STS's wire formats.

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

GetSessionToken (STS API reference, ``API_GetSessionToken``; botocore's STS model for the shapes):
``DurationSeconds`` 900..129600, 43200 by default, the account root's sessions cut to 3600 (done
by :meth:`strongroom.iam.identities.Identities.create_session`); the answer is
``GetSessionTokenResponse/GetSessionTokenResult/Credentials/{AccessKeyId, SecretAccessKey,
SessionToken, Expiration}`` (Expiration ISO 8601 in XML, epoch seconds in JSON). No permission is
needed, as on AWS. Refusals, with AWS's wording as SDK users report it:

* called with temporary credentials: ``AccessDenied`` "Cannot call GetSessionToken with session
  credentials" (aws/aws-sdk-js#3670, aws/aws-sdk-php#1876, aws/aws-sdk-net#1704);
* ``SerialNumber``/``TokenCode`` given: there are no MFA devices here, so MFA always fails, as AWS
  fails an MFA serial it doesn't know: ``AccessDenied`` "MultiFactorAuthentication failed, unable
  to validate MFA code.  Please verify your MFA serial number is valid and associated with this
  user." (aws/aws-cli#6325; two spaces after "code." as AWS writes it);
* ``DurationSeconds`` out of range: ``ValidationError`` "1 validation error detected: Value '600'
  at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal
  to 900" (goldstack/goldstack#425; the ``less than or equal to 129600`` twin follows the same
  Coral form). Query text that isn't an integer of at most 19 digits is reported in that form
  too ("Member must be an integer"): our wording, not verified against AWS. In JSON the model's
  ``integer`` must be a JSON number: ``"900"`` is a SerializationException, as for Secrets
  Manager's integer members (:func:`strongroom.protocol.validation.json_integer`).

Errors use the query protocol's XML error envelope
(``<ErrorResponse xmlns=...><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error>
<RequestId>..</RequestId></ErrorResponse>``) with STS's codes: an unknown or inactive key is
``InvalidClientTokenId`` (403) and a wrong signature ``SignatureDoesNotMatch`` (403), where the
JSON services say UnrecognizedClientException / InvalidSignatureException; the messages stay
the same (AWS "Common Errors": InvalidClientTokenId, SignatureDoesNotMatch, IncompleteSignature,
MissingAuthenticationToken, InvalidAction, ValidationError). Expired temporary credentials are
``ExpiredToken`` (403) where JSON services say ExpiredTokenException (miquella/vaulted#107: "An
error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token
included in the request is expired"; HTTP 403 as the AWS Knowledge Center's "ExpiredToken" example
shows for a query service). JSON-protocol errors carry ``__type`` and ``message``
plus the ``x-amzn-query-error: <Code>;<Sender|Receiver>`` header that query-compatible JSON
services send so SDKs can report the query error code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import orjson

from strongroom.errors import (
    AccessDeniedException,
    ApiError,
    ExpiredTokenException,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    SerializationException,
    UnrecognizedClientException,
    ValidationException,
)
from strongroom.iam.identities import SESSION_MAX_SECONDS, SESSION_MIN_SECONDS, SessionCredentials
from strongroom.iam.policy import Principal
from strongroom.integers import decimal_integer
from strongroom.protocol import json11
from strongroom.protocol.validation import json_integer

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
    "json_params",
    "query_error",
    "session_json",
    "session_token_input",
    "session_xml",
]

STS_VERSION = "2011-06-15"
NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
XML_CONTENT_TYPE = b"text/xml"
JSON_CONTENT_TYPE = b"application/x-amz-json-1.0"
JSON_TARGET_PREFIX = "AWSSecurityTokenServiceV20110615."
#: The STS operations this endpoint answers.
STS_ACTIONS = frozenset({"GetCallerIdentity", "GetSessionToken"})
MISSING_TOKEN_MESSAGE = "Request is missing Authentication Token"
SESSION_CREDENTIALS_REFUSED = "Cannot call GetSessionToken with session credentials"
MFA_FAILED = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  "
    "Please verify your MFA serial number is valid and associated with this user."
)

#: JSON-service error type -> (STS query error code, HTTP status).
_CODES: dict[type[ApiError], tuple[str, int]] = {
    UnrecognizedClientException: ("InvalidClientTokenId", 403),
    InvalidSignatureException: ("SignatureDoesNotMatch", 403),
    IncompleteSignatureException: ("IncompleteSignature", 400),
    MissingAuthenticationTokenException: ("MissingAuthenticationToken", 403),
    ExpiredTokenException: ("ExpiredToken", 403),
    AccessDeniedException: ("AccessDenied", 403),
    ValidationException: ("ValidationError", 400),
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


def session_token_input(params: Mapping[str, object]) -> int | None:
    """GetSessionToken's DurationSeconds (None: the default), after STS's input checks.

    ``params`` are the query pairs (strings) or the members of a JSON body read by :func:`json_params`.
    """
    if params.get("SerialNumber") is not None or params.get("TokenCode") is not None:
        raise AccessDeniedException(MFA_FAILED)
    raw = params.get("DurationSeconds")
    if raw is None:
        return None
    duration = raw if type(raw) is int else decimal_integer(raw) if isinstance(raw, str) else None
    if duration is None:
        raise ValidationException(_invalid_duration(raw, "Member must be an integer"))
    if duration < SESSION_MIN_SECONDS:
        raise ValidationException(
            _invalid_duration(duration, f"Member must have value greater than or equal to {SESSION_MIN_SECONDS}")
        )
    if duration > SESSION_MAX_SECONDS:
        raise ValidationException(
            _invalid_duration(duration, f"Member must have value less than or equal to {SESSION_MAX_SECONDS}")
        )
    return duration


def _invalid_duration(value: object, constraint: str) -> str:
    shown = str(value)[:64]
    return (
        f"1 validation error detected: Value '{shown}' at 'durationSeconds' failed to satisfy constraint: "
        f"{constraint}"
    )


def json_params(body: bytes) -> dict[str, object]:
    """The members of an STS JSON 1.0 request body (decoded as JSON 1.1 bodies are).

    DurationSeconds, an ``integer`` in STS's model, must be a JSON number (SerializationException).
    """
    params = json11.decode_body(body)
    if not isinstance(params, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    duration = params.get("DurationSeconds")
    if duration is not None:
        params["DurationSeconds"] = json_integer(duration)
    return params


def _iso8601(epoch: float) -> str:
    """STS's timestamp text: ``2011-07-11T19:55:29.611Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def session_xml(creds: SessionCredentials, request_id: str) -> bytes:
    return (
        f'<GetSessionTokenResponse xmlns="{NAMESPACE}">\n'
        "  <GetSessionTokenResult>\n"
        "    <Credentials>\n"
        f"      <AccessKeyId>{escape(creds.access_key_id)}</AccessKeyId>\n"
        f"      <SecretAccessKey>{escape(creds.secret_access_key)}</SecretAccessKey>\n"
        f"      <SessionToken>{escape(creds.session_token)}</SessionToken>\n"
        f"      <Expiration>{_iso8601(creds.expiration)}</Expiration>\n"
        "    </Credentials>\n"
        "  </GetSessionTokenResult>\n"
        "  <ResponseMetadata>\n"
        f"    <RequestId>{escape(request_id)}</RequestId>\n"
        "  </ResponseMetadata>\n"
        "</GetSessionTokenResponse>\n"
    ).encode()


def session_json(creds: SessionCredentials) -> bytes:
    return orjson.dumps(
        {
            "Credentials": {
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key,
                "SessionToken": creds.session_token,
                "Expiration": round(creds.expiration, 3),
            }
        }
    )


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
