"""STS as a service: input validated from its vendored model, its handlers, its wire forms (XML
answers and errors read back with botocore's own query parser; awsQueryCompatible JSON errors)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.parsers import create_parser

from strongroom.errors import (
    AccessDeniedException,
    ExpiredTokenException,
    InvalidSignatureException,
    MalformedPolicyDocumentException,
    MissingAuthenticationTokenException,
    SerializationException,
    UnrecognizedClientException,
    ValidationException,
)
from strongroom.iam.authenticate import EXPIRED_TOKEN
from strongroom.iam.caller import Caller, root_principal
from strongroom.iam.policy import Principal
from strongroom.protocol.adapter import query_error
from strongroom.protocol.json_rpc import JsonRpc, decode_body
from strongroom.protocol.query import InvalidAction, Query, decode_params
from strongroom.protocol.validation import parse_input
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.sts import handlers
from strongroom.sts.service import SERVICE as STS

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
USER = Principal("arn:aws:iam::123456789012:user/a&b", "123456789012", False, "a&b", "AIDAEXAMPLE0000000001")


def query_input(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return parse_input(STS, "GetSessionToken", decode_params(STS.model, "GetSessionToken", pairs))


def json_input(body: bytes) -> dict[str, Any]:
    return parse_input(STS, "GetSessionToken", decode_body(body))


def _botocore_operation(name: str) -> Any:
    return ServiceModel(Loader().load_service_model("sts", "service-2"), service_name="sts").operation_model(name)


def _parse(operation: str, status: int, body: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = create_parser("query").parse(
        {"status_code": status, "headers": {}, "body": body}, _botocore_operation(operation).output_shape
    )
    return parsed


# --- input, validated from the model --------------------------------------------------------------
def test_duration_seconds_in_the_query_protocol() -> None:
    assert query_input([]) == {}
    assert query_input([("DurationSeconds", "900")]) == {"DurationSeconds": 900}
    assert query_input([("DurationSeconds", "129600")]) == {"DurationSeconds": 129600}
    with pytest.raises(ValidationException) as low:
        query_input([("DurationSeconds", "600")])
    assert low.value.message == (
        "1 validation error detected: Value '600' at 'durationSeconds' failed to satisfy constraint: "
        "Member must have value greater than or equal to 900"
    )
    assert query_error(STS, low.value)[:2] == ("ValidationError", 400)
    with pytest.raises(ValidationException) as high:
        query_input([("DurationSeconds", "129601")])
    assert high.value.message.endswith("Member must have value less than or equal to 129600")
    # text that is no integer of at most 19 digits is refused as a JSON string would be (no 500)
    for bad in ("abc", "", "9" * 5000, "-" + "9" * 5000, "\u00b2"):
        with pytest.raises(SerializationException) as exc:
            query_input([("DurationSeconds", bad)])
        assert exc.value.message == "STRING_VALUE cannot be converted to Integer"


def test_duration_seconds_in_json_must_be_a_json_number() -> None:
    assert json_input(b'{"DurationSeconds": 900}') == {"DurationSeconds": 900}
    assert json_input(b'{"DurationSeconds": 900.7}') == {"DurationSeconds": 900}  # Jackson truncates
    assert json_input(b'{"DurationSeconds": null}') == {}
    for body, message in (
        (b'{"DurationSeconds": "900"}', "STRING_VALUE cannot be converted to Integer"),
        (b'{"DurationSeconds": true}', "TRUE_VALUE cannot be converted to Integer"),
        (b'{"DurationSeconds": [900]}', "Unrecognized collection type class java.lang.Integer"),
        (b'{"DurationSeconds": 99999999999}', "NUMBER_VALUE cannot be converted to Integer"),
        (b'{"DurationSeconds": 1e300}', "NUMBER_VALUE cannot be converted to Integer"),
    ):
        with pytest.raises(SerializationException) as exc:
            json_input(body)
        assert exc.value.message == message


# --- handlers -----------------------------------------------------------------------------------
def _run(handler: Any, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    ctx = RequestContext.of(caller, 1000.0)
    result: dict[str, Any] = asyncio.run(handler(Services(None, None, None, None, None), ctx, params))  # type: ignore[arg-type]
    return result


def test_get_caller_identity_names_the_caller() -> None:
    user = Caller(USER, (), "us-east-1", "AKIAEXAMPLE")
    assert _run(handlers.get_caller_identity, user, {}) == {
        "Arn": USER.arn, "UserId": "AIDAEXAMPLE0000000001", "Account": "123456789012",
    }  # fmt: skip
    root = Caller(root_principal("210987654321"), (), "us-east-1", "AKIAEXAMPLE")
    assert _run(handlers.get_caller_identity, root, {}) == {
        "Arn": "arn:aws:iam::210987654321:root", "UserId": "210987654321", "Account": "210987654321",
    }  # fmt: skip


def test_get_session_token_refusals() -> None:
    temporary = Caller(USER, (), "us-east-1", "ASIAEXAMPLE", temporary=True)
    with pytest.raises(AccessDeniedException) as refused:
        _run(handlers.get_session_token, temporary, {})
    assert refused.value.message == "Cannot call GetSessionToken with session credentials"
    mfa = {"SerialNumber": "arn:aws:iam::123456789012:mfa/a", "TokenCode": "123456"}
    with pytest.raises(AccessDeniedException) as no_mfa:
        _run(handlers.get_session_token, Caller(USER, (), "us-east-1", "AKIAEXAMPLE"), mfa)
    assert no_mfa.value.message.startswith("MultiFactorAuthentication failed")
    assert query_error(STS, no_mfa.value)[:2] == ("AccessDenied", 403)


# --- wire forms -----------------------------------------------------------------------------------
def _route(operation: str) -> Any:
    route, _ = Query([STS]).route({"method": "POST"}, f"Action={operation}&Version=2011-06-15".encode(), None, None)
    return route


def test_identity_xml_reads_back_with_botocore() -> None:
    identity = {"Arn": USER.arn, "UserId": USER.userid, "Account": USER.account}
    status, content_type, body, _ = Query([STS]).answer(_route("GetCallerIdentity"), identity, "req-1")
    assert (status, content_type) == (200, b"text/xml")
    assert body.startswith(f'<GetCallerIdentityResponse xmlns="{NAMESPACE}">'.encode())
    parsed = _parse("GetCallerIdentity", 200, body)
    assert {k: parsed[k] for k in identity} == identity
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"


def test_session_xml_reads_back_with_botocore() -> None:
    credentials = {
        "AccessKeyId": "ASIAEXAMPLEEXAMPLE12", "SecretAccessKey": "se<cr>et&", "SessionToken": "to/ken+==",
        "Expiration": 1_700_000_000.25,
    }  # fmt: skip
    _, _, body, _ = Query([STS]).answer(_route("GetSessionToken"), {"Credentials": credentials}, "req-1")
    assert b"<Expiration>2023-11-14T22:13:20.250Z</Expiration>" in body
    out = _parse("GetSessionToken", 200, body)["Credentials"]
    assert (out["AccessKeyId"], out["SecretAccessKey"], out["SessionToken"]) == (
        "ASIAEXAMPLEEXAMPLE12", "se<cr>et&", "to/ken+==",
    )  # fmt: skip
    assert out["Expiration"].timestamp() == 1_700_000_000.25


def test_assume_role_xml_reads_back_with_botocore() -> None:
    answer = {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLEEXAMPLE12", "SecretAccessKey": "secret", "SessionToken": "token",
            "Expiration": 1_700_000_000.0,
        },
        "AssumedRoleUser": {
            "AssumedRoleId": "AROAEXAMPLE000000000:s1", "Arn": "arn:aws:sts::123456789012:assumed-role/R/s1",
        },
        "PackedPolicySize": 6,
    }  # fmt: skip
    _, _, body, _ = Query([STS]).answer(_route("AssumeRole"), answer, "req-1")
    assert body.startswith(f'<AssumeRoleResponse xmlns="{NAMESPACE}">\n  <AssumeRoleResult>'.encode())
    parsed = _parse("AssumeRole", 200, body)
    assert parsed["AssumedRoleUser"] == answer["AssumedRoleUser"]
    assert parsed["PackedPolicySize"] == 6
    assert parsed["Credentials"]["AccessKeyId"] == "ASIAEXAMPLEEXAMPLE12"


def test_assume_role_input_from_the_model() -> None:
    def query(pairs: list[tuple[str, str]]) -> dict[str, Any]:
        return parse_input(STS, "AssumeRole", decode_params(STS.model, "AssumeRole", pairs))

    arn = ("RoleArn", "arn:aws:iam::123456789012:role/R")
    assert query([arn, ("RoleSessionName", "s1"), ("DurationSeconds", "900"), ("ExternalId", "x:y/z")]) == {
        "RoleArn": "arn:aws:iam::123456789012:role/R", "RoleSessionName": "s1", "DurationSeconds": 900,
        "ExternalId": "x:y/z",
    }  # fmt: skip
    with pytest.raises(ValidationException) as bad_name:
        query([arn, ("RoleSessionName", "Session1:2")])
    assert bad_name.value.message == (
        "1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]*"
    )
    with pytest.raises(ValidationException) as long_name:
        query([arn, ("RoleSessionName", "s" * 65)])
    assert long_name.value.message.endswith("Member must have length less than or equal to 64")
    with pytest.raises(ValidationException) as missing:
        query([arn])
    assert "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null" in (
        missing.value.message
    )
    with pytest.raises(ValidationException) as long_duration:
        query([arn, ("RoleSessionName", "s1"), ("DurationSeconds", "43201")])
    assert long_duration.value.message.endswith("Member must have value less than or equal to 43200")
    # tag patterns use Java's Unicode classes (\p{L}\p{Z}\p{N}): any letter, not only ASCII
    tags = [arn, ("RoleSessionName", "s1"), ("Tags.member.1.Key", "Käse Ω"), ("Tags.member.1.Value", "x")]
    assert query(tags)["Tags"] == [{"Key": "Käse Ω", "Value": "x"}]
    with pytest.raises(ValidationException) as bad_tag:
        query([*tags[:2], ("Tags.member.1.Key", "a;b"), ("Tags.member.1.Value", "x")])
    assert "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+" in (
        bad_tag.value.message
    )


@pytest.mark.parametrize(
    ("error", "code", "status", "message"),
    [
        (MalformedPolicyDocumentException("Syntax errors in policy."), "MalformedPolicyDocument", 400, None),
        (UnrecognizedClientException("The security token included in the request is invalid."),
         "InvalidClientTokenId", 403, None),
        (InvalidSignatureException("The request signature we calculated does not match"),
         "SignatureDoesNotMatch", 403, None),
        (InvalidAction("Could not find operation X for version 2011-06-15"), "InvalidAction", 400, None),
        (ExpiredTokenException(EXPIRED_TOKEN), "ExpiredToken", 403, None),
        (MissingAuthenticationTokenException("Missing Authentication Token"), "MissingAuthenticationToken", 403,
         "Request is missing Authentication Token"),
    ],
)  # fmt: skip
def test_errors_in_xml_and_in_query_compatible_json(error: Any, code: str, status: int, message: str | None) -> None:
    message = message or error.message
    xml_status, xml_type, xml_body, _ = Query([STS]).error(STS, error, "req-2")
    assert (xml_status, xml_type) == (status, b"text/xml")
    parsed = _parse("GetCallerIdentity", status, xml_body)
    assert (parsed["Error"]["Code"], parsed["Error"]["Message"]) == (code, message)
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"
    json_status, json_type, json_body, headers = JsonRpc([STS]).error(STS, error, "req-2")
    assert (json_status, json_type) == (status, b"application/x-amz-json-1.0")
    assert orjson.loads(json_body) == {"__type": code, "message": message}
    assert tuple(headers) == ((b"x-amzn-query-error", f"{code};Sender".encode()),)
