"""The query protocol (strongroom.protocol.query): decoding, the envelope, routing by Version.

Decoding is checked against botocore's own query serializer (what SDKs send), against the
JSON-protocol equivalent through ``parse_input`` (the server must see the same parameters either
way), and on hand-written spellings botocore never produces (``Name.N``, out-of-order indices).
Maps and timestamps do not occur in Secrets Manager inputs, so they are checked on a synthetic
model built with botocore's ``DenormalizedStructureBuilder``.
"""

from __future__ import annotations

import base64
import functools
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from botocore.loaders import Loader
from botocore.model import DenormalizedStructureBuilder, ServiceModel
from botocore.serialize import create_serializer

from strongroom.errors import (
    SerializationException,
    ValidationException,
)
from strongroom.protocol.adapter import Call, Unroutable
from strongroom.protocol.query import (
    InvalidAction,
    MissingAction,
    Query,
    decode_params,
    decode_shape,
    is_query_request,
    parse_query_request,
)
from strongroom.protocol.validation import parse_input
from strongroom.secrets.service import SERVICE as SM
from strongroom.server.registry import SERVICES
from strongroom.sts.service import SERVICE as STS

FORM = "application/x-www-form-urlencoded"
JSON_11 = b"application/x-amz-json-1.1"
QUERY = Query(SERVICES)


def decode(operation: str, pairs: Any) -> dict[str, Any]:
    """Secrets Manager query pairs decoded for ``operation``."""
    return decode_params(SM.model, operation, pairs)


@functools.cache
def _botocore_model() -> ServiceModel:
    """botocore's own model of the service (its serializer needs botocore's classes)."""
    return ServiceModel(Loader().load_service_model("secretsmanager", "service-2"), service_name="secretsmanager")


def _wire(operation: str, params: dict[str, Any]) -> bytes:
    """The form body botocore's query serializer would send for ``params``."""
    request = create_serializer("query").serialize_to_request(params, _botocore_model().operation_model(operation))
    return urlencode(request["body"]).encode()


def _json_equivalent(value: Any) -> Any:
    """``params`` as a JSON 1.1 client would send them (blobs as base64)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _json_equivalent(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_equivalent(v) for v in value]
    return value


ROUND_TRIPS: list[tuple[str, dict[str, Any]]] = [
    ("GetSecretValue", {"SecretId": "app/db with space+plus&amp=", "VersionStage": "AWSPREVIOUS"}),
    (
        "CreateSecret",
        {
            "Name": "n/ä",
            "SecretBinary": b"\x00\xff binary",
            "Description": "",
            "Tags": [{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": "a=b&c"}],
            "AddReplicaRegions": [{"Region": "eu-west-1", "KmsKeyId": "alias/x"}, {"Region": "us-west-2"}],
            "ForceOverwriteReplicaSecret": False,
            "ClientRequestToken": "0" * 32,
        },
    ),
    (
        "ListSecrets",
        {
            "Filters": [
                {"Key": "name", "Values": ["a", "b"]},
                {"Key": "tag-key", "Values": ["!x"]},
            ],
            "MaxResults": 5,
            "IncludePlannedDeletion": True,
            "SortOrder": "asc",
        },
    ),
    (
        "GetRandomPassword",
        {"PasswordLength": 40, "ExcludeNumbers": True, "IncludeSpace": False, "ExcludeCharacters": "+/ ="},
    ),
    ("UntagResource", {"SecretId": "s", "TagKeys": ["a", "b.c", "member"]}),
    ("UntagResource", {"SecretId": "s", "TagKeys": []}),
    ("BatchGetSecretValue", {"SecretIdList": [f"s{i}" for i in range(12)]}),
    ("RotateSecret", {"SecretId": "s", "RotationRules": {"AutomaticallyAfterDays": 7, "Duration": "2h"}}),
    ("DeleteSecret", {"SecretId": "s", "RecoveryWindowInDays": 30, "ForceDeleteWithoutRecovery": False}),
    ("PutResourcePolicy", {"SecretId": "s", "ResourcePolicy": '{"Version": "2012-10-17"}', "BlockPublicPolicy": True}),
]


@pytest.mark.parametrize(("operation", "params"), ROUND_TRIPS, ids=[op for op, _ in ROUND_TRIPS])
def test_botocore_query_requests_decode_like_json(operation: str, params: dict[str, Any]) -> None:
    request = parse_query_request("POST", b"", _wire(operation, params))
    assert (request.action, request.version) == (operation, "2017-10-17")
    decoded = decode(operation, request.params)
    assert parse_input(SM, operation, decoded) == parse_input(SM, operation, _json_equivalent(params))


def test_scalars_are_typed_by_the_model() -> None:
    decoded = decode_params("secretsmanager",
        "ListSecrets", [("MaxResults", "7"), ("IncludePlannedDeletion", "TRUE"), ("SortOrder", "desc")]
    )
    assert decoded == {"MaxResults": 7, "IncludePlannedDeletion": "TRUE", "SortOrder": "desc"}
    expected = {"MaxResults": 7, "IncludePlannedDeletion": True, "SortOrder": "desc"}
    assert parse_input(SM, "ListSecrets", decoded) == expected
    blob = decode("PutSecretValue", [("SecretId", "s"), ("SecretBinary", "AAEC")])
    assert parse_input(SM, "PutSecretValue", blob)["SecretBinary"] == b"\x00\x01\x02"
    assert decode("GetRandomPassword", [("PasswordLength", "-3")]) == {"PasswordLength": -3}


def test_unconvertible_values_fail_like_json() -> None:
    decoded = decode("ListSecrets", [("MaxResults", "ten")])
    assert decoded == {"MaxResults": "ten"}
    with pytest.raises(SerializationException) as exc:
        parse_input(SM, "ListSecrets", decoded)
    assert exc.value.message == "STRING_VALUE cannot be converted to Integer"
    with pytest.raises(SerializationException):
        parse_input(SM, "ListSecrets", decode("ListSecrets", [("IncludePlannedDeletion", "yes")]))


def test_numbers_longer_than_int_converts_are_refused_not_converted() -> None:
    # More than 4,300 digits made int() raise ValueError: a 500 for any query client (issue 13).
    huge = "9" * 5000
    for operation, member in (("ListSecrets", "MaxResults"), ("GetRandomPassword", "PasswordLength"),
                              ("DeleteSecret", "RecoveryWindowInDays")):
        decoded = decode(operation, [(member, huge), ("SecretId", "s")])
        assert decoded[member] == huge  # left as text, as any other non-number
        with pytest.raises(SerializationException) as exc:
            parse_input(SM, operation, decoded)
        assert exc.value.message.startswith("STRING_VALUE cannot be converted to ")
    # 19 digits still convert (every long), and fall to the model's range checks
    too_big = decode("GetRandomPassword", [("PasswordLength", "9" * 19)])
    assert too_big == {"PasswordLength": 10**19 - 1}
    with pytest.raises(SerializationException, match="^NUMBER_VALUE cannot be converted to Long$"):
        parse_input(SM, "GetRandomPassword", too_big)
    assert decode("ListSecrets", [("MaxResults", "0" * 5000 + "7")]) == {"MaxResults": 7}
    assert decode("ListSecrets", [("MaxResults", "\u0663")]) == {"MaxResults": "\u0663"}  # Arabic-Indic 3


def test_list_indexes_are_bounded_ascii_numbers() -> None:
    pairs = [("Filters.member.1.Key", "name"), ("Filters.member." + "9" * 5000 + ".Key", "description"),
             ("Filters.member.\u00b2.Key", "tag-key"), ("Filters.member.\u0663.Key", "tag-value")]
    assert decode("ListSecrets", pairs) == {"Filters": [{"Key": "name"}]}  # int("\u00b2") raised too
    assert decode("UntagResource", [("TagKeys.member." + "0" * 30 + "2", "b"), ("TagKeys.member.1", "a")]) == {
        "TagKeys": ["a", "b"]
    }


def test_list_spellings_and_order() -> None:
    flattened = decode("UntagResource", [("SecretId", "s"), ("TagKeys.2", "b"), ("TagKeys.1", "a")])
    assert flattened == {"SecretId": "s", "TagKeys": ["a", "b"]}
    pairs = [("TagKeys.member.10", "j"), ("TagKeys.member.2", "b"), ("TagKeys.member.1", "a"), ("SecretId", "s")]
    assert decode("UntagResource", pairs)["TagKeys"] == ["a", "b", "j"]
    ignored = [("TagKeys.member.0", "zero"), ("TagKeys.member.x", "x"), ("TagKeys.member.1", "a")]
    assert decode("UntagResource", ignored)["TagKeys"] == ["a"]
    assert decode("UntagResource", [("TagKeys", "")])["TagKeys"] == []


def test_nested_lists_of_structures() -> None:
    pairs = [
        ("Filters.member.2.Key", "description"),
        ("Filters.member.2.Values.member.1", "d"),
        ("Filters.member.1.Key", "name"),
        ("Filters.member.1.Values.member.2", "y"),
        ("Filters.member.1.Values.member.1", "x"),
        ("Filters.3.Key", "tag-key"),  # a flattened index next to ``member``: the wrapper wins
    ]
    assert decode("ListSecrets", pairs) == {
        "Filters": [{"Key": "name", "Values": ["x", "y"]}, {"Key": "description", "Values": ["d"]}]
    }


def test_unknown_and_partial_parameters() -> None:
    pairs = [("SecretId", "s"), ("Bogus", "1"), ("Tags.member.1.Bogus", "x"), ("VersionId.sub", "v")]
    assert decode("TagResource", pairs) == {"SecretId": "s", "Tags": [{}]}
    with pytest.raises(ValidationException):
        parse_input(SM, "TagResource", decode("TagResource", [("SecretId", "s")]))
    assert decode("GetSecretValue", [("VersionId.sub", "v")]) == {}


def test_an_element_missing_between_present_ones_is_dropped() -> None:
    # Indices are positions to sort by, not slots: 1 and 3 give a two-element list.
    assert decode("BatchGetSecretValue", [("SecretIdList.member.3", "c"), ("SecretIdList.member.1", "a")]) == {
        "SecretIdList": ["a", "c"]
    }


SYNTHETIC = (
    DenormalizedStructureBuilder()
    .with_members(
        {
            "Attributes": {"type": "map", "key": {"type": "string"}, "value": {"type": "string"}},
            "Groups": {
                "type": "map",
                "key": {"type": "string"},
                "value": {"type": "list", "member": {"type": "string"}},
            },
            "When": {"type": "timestamp"},
            "Ratio": {"type": "double"},
            "Inner": {"type": "structure", "members": {"Flag": {"type": "boolean"}, "Count": {"type": "long"}}},
        }
    )
    .build_model()
)


def test_maps() -> None:
    pairs = [
        ("Attributes.entry.2.key", "b"),
        ("Attributes.entry.2.value", "2"),
        ("Attributes.entry.1.key", "a"),
        ("Attributes.entry.1.value", "1"),
        ("Groups.entry.1.key", "admins"),
        ("Groups.entry.1.value.member.2", "bob"),
        ("Groups.entry.1.value.member.1", "alice"),
    ]
    assert decode_shape(SYNTHETIC, pairs) == {
        "Attributes": {"a": "1", "b": "2"},
        "Groups": {"admins": ["alice", "bob"]},
    }
    flattened = [("Attributes.1.key", "k"), ("Attributes.1.value", "v"), ("Attributes.2.value", "no key")]
    assert decode_shape(SYNTHETIC, flattened) == {"Attributes": {"k": "v"}}
    assert decode_shape(SYNTHETIC, [("Attributes", "")]) == {"Attributes": {}}


def test_botocore_serializes_maps_the_way_we_read_them() -> None:
    model = ServiceModel(
        {
            "metadata": {"protocol": "query", "apiVersion": "2020-01-01", "serviceId": "T"},
            "operations": {
                "Op": {"name": "Op", "input": {"shape": "In"}, "http": {"method": "POST", "requestUri": "/"}}
            },
            "shapes": {
                "In": {"type": "structure", "members": {"M": {"shape": "M"}}},
                "M": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}},
                "S": {"type": "string"},
            },
        }
    )
    body = create_serializer("query").serialize_to_request({"M": {"x": "1", "y": "2"}}, model.operation_model("Op"))
    pairs = [(k, str(v)) for k, v in body["body"].items() if k not in ("Action", "Version")]
    assert decode_shape(model.operation_model("Op").input_shape, pairs) == {"M": {"x": "1", "y": "2"}}


def test_timestamps_doubles_and_nested_structures() -> None:
    assert decode_shape(SYNTHETIC, [("When", "2024-01-02T03:04:05Z")]) == {"When": 1704164645.0}
    assert decode_shape(SYNTHETIC, [("When", "2024-01-02T03:04:05.5+01:00")]) == {"When": 1704161045.5}
    assert decode_shape(SYNTHETIC, [("When", "1700000000.25")]) == {"When": 1700000000.25}
    assert decode_shape(SYNTHETIC, [("When", "yesterday")]) == {"When": "yesterday"}
    assert decode_shape(SYNTHETIC, [("Ratio", "0.5"), ("Inner.Flag", "true"), ("Inner.Count", "9")]) == {
        "Ratio": 0.5,
        "Inner": {"Flag": "true", "Count": 9},
    }


# --- the envelope -----------------------------------------------------------------------------


def test_query_string_and_form_body() -> None:
    raw_query = (
        b"Action=GetSecretValue&Version=2017-10-17&SecretId=a%2Fb+c&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        b"&X-Amz-Credential=AKIA%2F20240101%2Fus-east-1%2Fsecretsmanager%2Faws4_request&X-Amz-Signature=00"
        b"&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Security-Token=t"
    )
    request = parse_query_request("GET", raw_query, b"ignored for GET")
    assert (request.action, request.version, request.params) == (
        "GetSecretValue",
        "2017-10-17",
        [("SecretId", "a/b c")],
    )
    form = parse_query_request("POST", b"Version=2017-10-17", b"Action=ListSecrets&Action=Other&MaxResults=3&Empty=")
    assert (form.action, form.version, form.params) == (
        "ListSecrets",
        "2017-10-17",
        [("MaxResults", "3"), ("Empty", "")],
    )
    assert parse_query_request("POST", b"", b"").action is None


def test_is_query_request() -> None:
    assert is_query_request("POST", FORM, b"")
    assert not is_query_request("POST", "application/x-amz-json-1.1", b"Action=ListSecrets")
    assert is_query_request("GET", None, b"Version=2017-10-17&Action=ListSecrets")
    assert not is_query_request("GET", None, b"")
    assert not is_query_request("GET", None, b"Actions=x")
    assert not is_query_request("PUT", FORM, b"Action=ListSecrets")


def _route(body: bytes, method: str = "POST", query: bytes = b"") -> Call:
    scope = {"method": method, "query_string": query}
    return QUERY.route(scope, body, None, FORM)


def _unroutable(body: bytes) -> Unroutable:
    with pytest.raises(Unroutable) as exc:
        _route(body)
    return exc.value


def test_the_version_picks_the_service() -> None:
    route, payload = _route(b"Action=ListSecrets&Version=2017-10-17&MaxResults=3")
    assert (route.service, route.operation.name, payload) == (SM, "ListSecrets", [("MaxResults", "3")])
    sts, _ = _route(b"", "GET", b"Action=GetCallerIdentity&Version=2011-06-15")
    assert (sts.service, sts.operation.name) == (STS, "GetCallerIdentity")


def test_unknown_actions_and_versions_are_invalid_action() -> None:
    nope = _unroutable(b"Action=Nope&Version=2017-10-17")
    assert (nope.service, nope.error.code, nope.error.message) == (
        SM, "InvalidAction", "Could not find operation Nope for version 2017-10-17",
    )  # fmt: skip
    other = _unroutable(b"Action=ListSecrets&Version=2011-06-15")  # STS's version: STS answers
    assert (other.service, other.error.message) == (STS, "Could not find operation ListSecrets for version 2011-06-15")
    old = _unroutable(b"Action=ListSecrets&Version=2016-01-01")  # no such version: no service
    assert (old.service, old.error.message) == (None, "Could not find operation ListSecrets for version 2016-01-01")
    # without a Version, the service that has the Action answers, naming the missing version
    for action, service in (("ListSecrets", SM), ("GetCallerIdentity", STS), ("Nope", None)):
        missing = _unroutable(f"Action={action}".encode())
        assert missing.service is service
        assert missing.error.message == f"Could not find operation {action} for version NO_VERSION_SPECIFIED"


def test_no_action_is_missing_action() -> None:
    missing = _unroutable(b"Version=2017-10-17")
    assert isinstance(missing.error, MissingAction) and missing.service is SM
    assert missing.error.body() == {
        "__type": "MissingAction",
        "Message": "The request is missing an action or a required parameter.",
    }
    assert _unroutable(b"Version=2011-06-15").service is STS
    assert _unroutable(b"").service is None


def test_secrets_manager_query_answers_json() -> None:
    route, _ = _route(b"Action=ListSecrets&Version=2017-10-17")
    assert QUERY.answer(route, {"SecretList": []}, "req-1") == (200, JSON_11, b'{"SecretList":[]}', ())
    message = "Could not find operation X for version 1"
    status, content_type, body, headers = QUERY.error(SM, InvalidAction(message), "req-1")
    assert (status, content_type, headers) == (400, JSON_11, ())
    assert orjson.loads(body) == {"__type": "InvalidAction", "Message": message}
