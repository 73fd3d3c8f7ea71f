"""Tests for model-driven input parsing and validation (strongroom.protocol.validation)."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from botocore.model import Shape
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.errors import (
    ApiError,
    SerializationException,
    UnknownOperationException,
    ValidationException,
)
from strongroom.protocol.model import input_shape, operation_names, output_shape
from strongroom.protocol.validation import MAX_REPORTED_ERRORS, parse_input
from strongroom.secrets.service import SERVICE as SM

ENUM_FILTER_KEYS = "[description, name, tag-key, tag-value, primary-region, owning-service, all]"
TAG_KEY_CONSTRAINTS = (
    "Member must have length less than or equal to 128, Member must have length greater than or equal to 1"
)
REGION_PATTERN = r"^([a-z]+-)+\d+$"
FILTER_VALUE_PATTERN = r"^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$"


def one_error(detail: str) -> str:
    return f"1 validation error detected: {detail}"


def validation_message(operation: str, body: object) -> str:
    with pytest.raises(ValidationException) as caught:
        parse_input(SM, operation, body)
    assert caught.value.body() == {"__type": "ValidationException", "message": caught.value.message}
    return caught.value.message


def serialization_message(operation: str, body: object) -> str:
    with pytest.raises(SerializationException) as caught:
        parse_input(SM, operation, body)
    return caught.value.message


# --- The model ---------------------------------------------------------------------------


def test_model_lists_operations_with_their_shapes() -> None:
    names = operation_names("secretsmanager")
    assert "GetSecretValue" in names and "CreateSecret" in names
    assert input_shape("secretsmanager", "GetSecretValue").name == "GetSecretValueRequest"
    assert output_shape("secretsmanager", "GetSecretValue").name == "GetSecretValueResponse"
    with pytest.raises(KeyError):
        input_shape("secretsmanager", "NoSuchOperation")


def test_unknown_operation_is_an_api_error() -> None:
    with pytest.raises(UnknownOperationException):
        parse_input(SM, "NoSuchOperation", {})


# --- Each constraint kind ----------------------------------------------------------------

CONSTRAINT_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "required",
        "GetSecretValue",
        {},
        "Value null at 'secretId' failed to satisfy constraint: Member must not be null",
    ),
    (
        "null is absent",
        "GetSecretValue",
        {"SecretId": None},
        "Value null at 'secretId' failed to satisfy constraint: Member must not be null",
    ),
    (
        "member names are case-sensitive",
        "GetSecretValue",
        {"secretId": "abc"},
        "Value null at 'secretId' failed to satisfy constraint: Member must not be null",
    ),
    (
        "max length",
        "GetSecretValue",
        {"SecretId": "a" * 2049},
        f"Value '{'a' * 2049}' at 'secretId' failed to satisfy constraint: "
        "Member must have length less than or equal to 2048",
    ),
    (
        "min length",
        "GetSecretValue",
        {"SecretId": "s", "VersionId": "short"},
        "Value 'short' at 'versionId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 32",
    ),
    (
        "length counts characters",
        "GetSecretValue",
        {"SecretId": "s", "VersionId": "é" * 31},
        f"Value '{'é' * 31}' at 'versionId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 32",
    ),
    (
        "pattern",
        "RotateSecret",
        {"SecretId": "s", "RotationRules": {"Duration": "xh"}},
        "Value 'xh' at 'rotationRules.duration' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [0-9]+h",
    ),
    (
        "pattern must match the whole value",
        "DeleteResourcePolicy",
        {"SecretId": "s", "PolicyName": "ok;"},
        "Value 'ok;' at 'policyName' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: [0-9A-Za-z\-\_]+",
    ),
    (
        "enum",
        "ListSecrets",
        {"SortOrder": "up"},
        "Value 'up' at 'sortOrder' failed to satisfy constraint: "
        "Member must satisfy enum value set: [asc, desc]",
    ),
    (
        "range min",
        "ListSecrets",
        {"MaxResults": 0},
        "Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ),
    (
        "range max",
        "ListSecrets",
        {"MaxResults": 101},
        "Value '101' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 100",
    ),
    (
        "long range",
        "GetRandomPassword",
        {"PasswordLength": 4097},
        "Value '4097' at 'passwordLength' failed to satisfy constraint: "
        "Member must have value less than or equal to 4096",
    ),
    (
        "list min count",
        "RemoveRegionsFromReplication",
        {"SecretId": "s", "RemoveReplicaRegions": []},
        "Value '[]' at 'removeReplicaRegions' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ),
    (
        "list max count",
        "BatchGetSecretValue",
        {"SecretIdList": [str(i) for i in range(21)]},
        f"Value '[{', '.join(str(i) for i in range(21))}]' at 'secretIdList' failed to satisfy constraint: "
        "Member must have length less than or equal to 20",
    ),
    (
        "scalar list elements are reported at the list",
        "UntagResource",
        {"SecretId": "s", "TagKeys": ["", "ok"]},
        "Value '[, ok]' at 'tagKeys' failed to satisfy constraint: "
        f"Member must satisfy constraint: [{TAG_KEY_CONSTRAINTS}]",
    ),
    (
        "null list element",
        "UntagResource",
        {"SecretId": "s", "TagKeys": ["a", None]},
        "Value '[a, null]' at 'tagKeys' failed to satisfy constraint: "
        f"Member must satisfy constraint: [{TAG_KEY_CONSTRAINTS}, Member must not be null]",
    ),
    (
        "scalar list element pattern",
        "RemoveRegionsFromReplication",
        {"SecretId": "s", "RemoveReplicaRegions": ["us_east"]},
        "Value '[us_east]' at 'removeReplicaRegions' failed to satisfy constraint: Member must satisfy "
        "constraint: [Member must have length less than or equal to 128, Member must have length greater "
        f"than or equal to 1, Member must satisfy regular expression pattern: {REGION_PATTERN}]",
    ),
    (
        "nested structure",
        "RotateSecret",
        {"SecretId": "s", "RotationRules": {"AutomaticallyAfterDays": 0}},
        "Value '0' at 'rotationRules.automaticallyAfterDays' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ),
    (
        "structure in a list",
        "ListSecrets",
        {"Filters": [{"Key": "name", "Values": ["ok"]}, {"Key": "bogus"}]},
        "Value 'bogus' at 'filters.2.member.key' failed to satisfy constraint: "
        f"Member must satisfy enum value set: {ENUM_FILTER_KEYS}",
    ),
    (
        "scalar list in a structure in a list",
        "ListSecrets",
        {"Filters": [{"Key": "name", "Values": ["b#d"]}]},
        "Value '[b#d]' at 'filters.1.member.values' failed to satisfy constraint: Member must satisfy "
        "constraint: [Member must have length less than or equal to 512, Member must satisfy regular "
        f"expression pattern: {FILTER_VALUE_PATTERN}]",
    ),
    (
        "empty list in a structure in a list",
        "BatchGetSecretValue",
        {"Filters": [{"Key": "name", "Values": []}]},
        "Value '[]' at 'filters.1.member.values' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ),
    (
        "pattern of a structure member in a list",
        "ReplicateSecretToRegions",
        {"SecretId": "s", "AddReplicaRegions": [{"Region": "bad"}]},
        "Value 'bad' at 'addReplicaRegions.1.member.region' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {REGION_PATTERN}",
    ),
    (
        "null structure in a list",
        "TagResource",
        {"SecretId": "s", "Tags": [None]},
        "Value null at 'tags.1.member' failed to satisfy constraint: Member must not be null",
    ),
    (
        "list of structures is printed as Java prints it",
        "ListSecrets",
        {"Filters": [{"Key": "name", "Values": ["a", "b"]}] * 11},
        f"Value '[{', '.join(['{Key=name, Values=[a, b]}'] * 11)}]' at 'filters' failed to satisfy "
        "constraint: Member must have length less than or equal to 10",
    ),
]


@pytest.mark.parametrize(
    ("operation", "body", "detail"),
    [case[1:] for case in CONSTRAINT_CASES],
    ids=[case[0] for case in CONSTRAINT_CASES],
)
def test_constraint_violation_message(operation: str, body: dict[str, Any], detail: str) -> None:
    assert validation_message(operation, body) == one_error(detail)


def test_several_errors_are_joined_with_semicolons() -> None:
    message = validation_message("GetSecretValue", {"SecretId": "", "VersionStage": ""})
    assert message == (
        "2 validation errors detected: "
        "Value '' at 'secretId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; "
        "Value '' at 'versionStage' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_one_value_can_fail_several_constraints() -> None:
    message = validation_message("RotateSecret", {"SecretId": "s", "RotationRules": {"Duration": "5"}})
    assert message == (
        "2 validation errors detected: "
        "Value '5' at 'rotationRules.duration' failed to satisfy constraint: "
        "Member must have length greater than or equal to 2; "
        "Value '5' at 'rotationRules.duration' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [0-9]+h"
    )


def test_missing_required_members_follow_the_other_errors() -> None:
    message = validation_message("UpdateSecretVersionStage", {"MoveToVersionId": "short"})
    assert message == (
        "3 validation errors detected: "
        "Value 'short' at 'moveToVersionId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 32; "
        "Value null at 'secretId' failed to satisfy constraint: Member must not be null; "
        "Value null at 'versionStage' failed to satisfy constraint: Member must not be null"
    )


def test_at_most_ten_errors_are_reported() -> None:
    message = validation_message("ListSecrets", {"Filters": [{"Key": "bogus"}] * 11})
    prefix = f"{MAX_REPORTED_ERRORS} validation errors detected: "
    assert message.startswith(prefix)
    details = message[len(prefix) :].split("; ")
    assert len(details) == MAX_REPORTED_ERRORS
    assert details[0].endswith("Member must have length less than or equal to 10")
    assert details[-1].startswith("Value 'bogus' at 'filters.9.member.key'")


# --- Sensitive members -------------------------------------------------------------------

SENSITIVE_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "CreateSecret",
        {"Name": "n", "SecretString": ""},
        "Value at 'secretString' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ),
    (
        "PutSecretValue",
        {"SecretId": "s", "SecretString": "S3CR3T" * 10923},
        "Value at 'secretString' failed to satisfy constraint: "
        "Member must have length less than or equal to 65536",
    ),
    (
        "PutSecretValue",
        {"SecretId": "s", "SecretBinary": base64.b64encode(b"S3CR3T" * 10923).decode()},
        "Value at 'secretBinary' failed to satisfy constraint: "
        "Member must have length less than or equal to 65536",
    ),
    (
        "UpdateSecret",
        {"SecretId": "s", "SecretBinary": ""},
        "Value at 'secretBinary' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ),
]


@pytest.mark.parametrize(("operation", "body", "detail"), SENSITIVE_CASES)
def test_sensitive_values_are_never_echoed(operation: str, body: dict[str, Any], detail: str) -> None:
    message = validation_message(operation, body)
    assert message == one_error(detail)
    assert "S3CR3T" not in message


def test_sensitive_token_is_not_echoed_for_any_constraint() -> None:
    message = validation_message("PutSecretValue", {"SecretId": "s", "RotationToken": "S3CR3T!"})
    assert message == (
        "2 validation errors detected: "
        "Value at 'rotationToken' failed to satisfy constraint: "
        "Member must have length greater than or equal to 36; "
        "Value at 'rotationToken' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: ^[a-zA-Z0-9\-]+$"
    )


@pytest.mark.parametrize("member", ["RotationToken", "SecretString", "SecretBinary"])
@given(secret=st.text(max_size=40))
def test_no_sensitive_text_reaches_a_message(member: str, secret: str) -> None:
    marked = f"S3CR3T{secret}"
    with pytest.raises(ApiError) as caught:
        parse_input(SM, "PutSecretValue", {"SecretId": "", member: marked})
    assert "S3CR3T" not in caught.value.message


# --- Blobs -------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"abc", bytes(range(256)), b"\x00"])
def test_blob_is_decoded(data: bytes) -> None:
    params = parse_input(SM, "CreateSecret", {"Name": "n", "SecretBinary": base64.b64encode(data).decode()})
    assert params == {"Name": "n", "SecretBinary": data}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("YWJ", "Base64 encoded length is expected a multiple of 4 bytes but found: 3"),
        ("YW!j", "Invalid Base64 character detected"),
        ("=YWJ", "Invalid Base64 character detected"),
        ("YW\nj", "Invalid Base64 character detected"),
        ("ÿÿÿÿ", "Invalid Base64 character detected"),
        ("YR==", "Invalid last non-pad Base64 character dectected"),
        ("+/+=", "Invalid last non-pad Base64 character dectected"),
        (5, "only base-64-encoded strings are convertible to bytes"),
        (True, "only base-64-encoded strings are convertible to bytes"),
        ([], "Unrecognized collection type class java.nio.ByteBuffer"),
        ({}, "Start of structure or map found where not expected"),
    ],
)
def test_invalid_blob_is_a_serialization_error(value: object, message: str) -> None:
    assert serialization_message("CreateSecret", {"Name": "n", "SecretBinary": value}) == message


# --- Wrong JSON types --------------------------------------------------------------------

TYPE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("GetSecretValue", {"SecretId": 1}, "NUMBER_VALUE cannot be converted to String"),
    ("GetSecretValue", {"SecretId": 1.5}, "DECIMAL_VALUE cannot be converted to String"),
    ("GetSecretValue", {"SecretId": True}, "TRUE_VALUE cannot be converted to String"),
    ("GetSecretValue", {"SecretId": False}, "FALSE_VALUE cannot be converted to String"),
    ("GetSecretValue", {"SecretId": ["a"]}, "Unrecognized collection type class java.lang.String"),
    ("GetSecretValue", {"SecretId": {}}, "Start of structure or map found where not expected"),
    ("ListSecrets", {"MaxResults": "5"}, "STRING_VALUE cannot be converted to Integer"),
    ("ListSecrets", {"MaxResults": 2**31}, "NUMBER_VALUE cannot be converted to Integer"),
    ("ListSecrets", {"MaxResults": float("nan")}, "DECIMAL_VALUE cannot be converted to Integer"),
    ("GetRandomPassword", {"PasswordLength": "5"}, "STRING_VALUE cannot be converted to Long"),
    ("GetRandomPassword", {"PasswordLength": False}, "FALSE_VALUE cannot be converted to Long"),
    ("GetRandomPassword", {"PasswordLength": [1]}, "Unrecognized collection type class java.lang.Long"),
    ("GetRandomPassword", {"ExcludeNumbers": 1}, "NUMBER_VALUE cannot be converted to Boolean"),
    ("GetRandomPassword", {"ExcludeNumbers": "yes"}, "Unexpected token received from parser"),
    ("GetRandomPassword", {"ExcludeNumbers": [True]}, "Unrecognized collection type class java.lang.Boolean"),
    ("ListSecrets", {"Filters": "name"}, "Unexpected field type"),
    ("ListSecrets", {"Filters": {}}, "Start of structure or map found where not expected"),
    ("ListSecrets", {"Filters": [3]}, "Unexpected value type in payload"),
    ("ListSecrets", {"Filters": [{"Values": "a"}]}, "Unexpected field type"),
    ("RotateSecret", {"SecretId": "s", "RotationRules": "daily"}, "Unexpected field type"),
    ("RotateSecret", {"SecretId": "s", "RotationRules": []}, "Unexpected field type"),
    # A type error wins over constraint failures anywhere in the body.
    ("GetSecretValue", {"SecretId": "", "VersionId": 5}, "NUMBER_VALUE cannot be converted to String"),
]


@pytest.mark.parametrize(("operation", "body", "message"), TYPE_CASES)
def test_wrong_type_is_a_serialization_error(operation: str, body: dict[str, Any], message: str) -> None:
    assert serialization_message(operation, body) == message


@pytest.mark.parametrize("body", [[], ["SecretId"], "SecretId", 1, 1.5, True, False])
def test_body_that_is_not_an_object(body: object) -> None:
    assert serialization_message("GetSecretValue", body) == "Unexpected value type in payload"


def test_null_body_is_an_empty_request() -> None:
    assert parse_input(SM, "ListSecrets", None) == {}
    assert validation_message("GetSecretValue", None) == one_error(
        "Value null at 'secretId' failed to satisfy constraint: Member must not be null"
    )


# --- Normalization -----------------------------------------------------------------------


def test_unknown_and_null_members_are_dropped() -> None:
    body = {"SecretId": "s", "VersionId": None, "Bogus": {"x": [1]}, "__type": "x"}
    assert parse_input(SM, "GetSecretValue", body) == {"SecretId": "s"}


def test_nested_unknown_members_are_dropped() -> None:
    body = {"SecretId": "s", "Tags": [{"Key": "k", "Value": "v", "Extra": 1}]}
    assert parse_input(SM, "TagResource", body) == {"SecretId": "s", "Tags": [{"Key": "k", "Value": "v"}]}


def test_scalars_are_normalized_as_jackson_reads_them() -> None:
    body = {
        "PasswordLength": 12.9,
        "ExcludeNumbers": "TRUE",
        "IncludeSpace": "false",
        "ExcludeLowercase": True,
    }
    assert parse_input(SM, "GetRandomPassword", body) == {
        "PasswordLength": 12,
        "ExcludeNumbers": True,
        "IncludeSpace": False,
        "ExcludeLowercase": True,
    }


def test_client_request_token_is_optional_for_the_validator() -> None:
    # Raw requests without it get a domain error (InvalidRequestException), not a validation error.
    assert parse_input(SM, "CreateSecret", {"Name": "n", "SecretString": "v"}) == {
        "Name": "n",
        "SecretString": "v",
    }


def test_secret_names_are_not_pattern_checked_here() -> None:
    # The model has no Name pattern; "Invalid name. ..." is the domain layer's message.
    assert parse_input(SM, "CreateSecret", {"Name": " Inv *?!]Name\\-"}) == {"Name": " Inv *?!]Name\\-"}


# --- Every operation: valid bodies generated from the model ------------------------------

#: Values for patterned string shapes that a run of "a" does not match.
PATTERN_SAMPLES = {"DurationType": "2h", "RegionType": "us-east-1"}


def valid_value(shape: Shape, everything: bool) -> object:
    """A valid wire value for ``shape``: required members only, or every member."""
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        names = shape.members if everything else shape.required_members
        return {name: valid_value(shape.members[name], everything) for name in names}
    if kind == "list":
        return [valid_value(shape.member, everything) for _ in range(max(meta.get("min", 0), everything))]
    if kind == "string":
        return valid_string(shape)
    if kind in ("integer", "long"):
        return meta.get("min", 0)
    if kind == "boolean":
        return True
    if kind == "blob":
        return base64.b64encode(b"\x00" * max(meta.get("min", 1), 1)).decode()
    raise AssertionError(f"no sample for {kind} shape {shape.name}")


def valid_string(shape: Shape) -> str:
    meta = shape.metadata
    if meta.get("enum"):
        return str(meta["enum"][0])
    value = "a" * max(meta.get("min", 1), 1)
    pattern = meta.get("pattern")
    if pattern and not re.fullmatch(pattern, value):
        value = PATTERN_SAMPLES[shape.name]
        assert re.fullmatch(pattern, value)
    return value


def decoded(value: object, shape: Shape) -> object:
    """What parse_input should return for a valid wire value."""
    if shape.type_name == "structure":
        assert isinstance(value, dict)
        return {name: decoded(item, shape.members[name]) for name, item in value.items()}
    if shape.type_name == "list":
        assert isinstance(value, list)
        return [decoded(item, shape.member) for item in value]
    if shape.type_name == "blob":
        assert isinstance(value, str)
        return base64.b64decode(value)
    return value


@pytest.mark.parametrize("everything", [False, True], ids=["required-only", "all-members"])
@pytest.mark.parametrize("operation", operation_names("secretsmanager"))
def test_every_operation_accepts_a_valid_body(operation: str, everything: bool) -> None:
    shape = input_shape("secretsmanager", operation)
    body = valid_value(shape, everything)
    assert parse_input(SM, operation, body) == decoded(body, shape)


# --- Property: only ApiErrors, whatever the input ----------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

SCALAR_STRATEGIES = {
    "string": st.text(max_size=70),
    "integer": st.integers(min_value=-(2**32), max_value=2**32),
    "long": st.integers(min_value=-(2**64), max_value=2**64),
    "boolean": st.booleans(),
    "blob": st.binary(max_size=8).map(lambda data: base64.b64encode(data).decode()) | st.text(max_size=8),
    "timestamp": st.floats(),
}


def shaped(shape: Shape) -> st.SearchStrategy[object]:
    """Values that mostly follow ``shape`` but sometimes are any JSON at all."""
    kind = shape.type_name
    if kind == "structure":
        members = {name: shaped(member) for name, member in shape.members.items()}
        typed: st.SearchStrategy[object] = st.fixed_dictionaries({}, optional=members)
    elif kind == "list":
        typed = st.lists(shaped(shape.member), max_size=12)
    elif kind == "map":
        typed = st.dictionaries(st.text(max_size=8), shaped(shape.value), max_size=4)
    else:
        typed = SCALAR_STRATEGIES.get(kind, JSON_VALUES)
    return typed | JSON_VALUES | st.none()


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, object]:
    operation = draw(st.sampled_from(operation_names("secretsmanager")))
    body = draw(shaped(input_shape("secretsmanager", operation)) | JSON_VALUES)
    return operation, body


@settings(max_examples=500)
@given(request=requests())
def test_parse_input_raises_only_api_errors(request: tuple[str, object]) -> None:
    operation, body = request
    try:
        params = parse_input(SM, operation, body)
    except ApiError as error:
        assert isinstance(error, SerializationException | ValidationException)
        assert error.message
    else:
        assert isinstance(params, dict)
        assert isinstance(body, dict) or body is None
        assert set(params) <= set(body or {})
