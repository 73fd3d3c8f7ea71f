"""The STS service: its descriptor. Query-first (XML answers); its JSON 1.0 protocol reports the
query error codes (awsQueryCompatible)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.errors import (
    AccessDeniedException,
    ExpiredTokenException,
    IncompleteSignatureException,
    InvalidSignatureException,
    MalformedPolicyDocumentException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
    ValidationException,
)
from strongroom.iam.policy import ContextValue
from strongroom.service.descriptor import Operation, QueryError, ServiceDescriptor
from strongroom.sts import handlers
from strongroom.sts.unsupported import refuse_unsupported

NAME = "sts"


def request_context_keys(params: Mapping[str, Any]) -> dict[str, ContextValue]:
    """STS's condition keys of an AssumeRole request: ``sts:RoleSessionName``, ``sts:ExternalId``."""
    keys: dict[str, ContextValue] = {}
    if "RoleSessionName" in params:
        keys["sts:RoleSessionName"] = params["RoleSessionName"]
    if "ExternalId" in params:
        keys["sts:ExternalId"] = params["ExternalId"]
    return keys


def audit_subject(params: Mapping[str, Any]) -> str | None:
    """The role an AssumeRole names, as the caller gave it."""
    role_arn = params.get("RoleArn")
    return role_arn if isinstance(role_arn, str) else None

SERVICE = ServiceDescriptor(
    name=NAME,
    signing_name=NAME,
    model=NAME,
    operations={
        "GetCallerIdentity": Operation("GetCallerIdentity", handlers.get_caller_identity),
        "GetSessionToken": Operation("GetSessionToken", handlers.get_session_token),
        "AssumeRole": Operation("AssumeRole", handlers.assume_role),
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
        MalformedPolicyDocumentException: QueryError("MalformedPolicyDocument", 400),
    },
    context_keys=request_context_keys,
    audit_subject=audit_subject,
    check_input=refuse_unsupported,
)
