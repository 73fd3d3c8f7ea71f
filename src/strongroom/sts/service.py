"""The STS service: its descriptor. Query-first (XML answers); its JSON 1.0 protocol reports the
query error codes (awsQueryCompatible)."""

from __future__ import annotations

from strongroom.errors import (
    AccessDeniedException,
    ExpiredTokenException,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
    ValidationException,
)
from strongroom.service.descriptor import Operation, QueryError, ServiceDescriptor
from strongroom.sts import handlers

NAME = "sts"

SERVICE = ServiceDescriptor(
    name=NAME,
    signing_name=NAME,
    model=NAME,
    operations={
        "GetCallerIdentity": Operation("GetCallerIdentity", handlers.get_caller_identity),
        "GetSessionToken": Operation("GetSessionToken", handlers.get_session_token),
    },
    json_target_prefix="AWSSecurityTokenServiceV20110615.",
    json_content_type=b"application/x-amz-json-1.0",
    query_version="2011-06-15",
    query_answers_xml=True,
    query_errors={
        UnrecognizedClientException: QueryError("InvalidClientTokenId", 403),
        InvalidSignatureException: QueryError("SignatureDoesNotMatch", 403),
        IncompleteSignatureException: QueryError("IncompleteSignature", 400),
        MissingAuthenticationTokenException: QueryError(
            "MissingAuthenticationToken", 403, "Request is missing Authentication Token"
        ),
        ExpiredTokenException: QueryError("ExpiredToken", 403),
        AccessDeniedException: QueryError("AccessDenied", 403),
        ValidationException: QueryError("ValidationError", 400),
    },
)
