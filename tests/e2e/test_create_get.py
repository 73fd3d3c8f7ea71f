"""CreateSecret, GetSecretValue, DescribeSecret: values, metadata, names, SecretId forms, errors.

Recorded scenarios referenced are in /work/shared/reference/aws-recorded-responses.json (their
requests are in LocalStack's tests/aws/services/secretsmanager/test_secretsmanager.py).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from e2e_helpers import (
    BOTH_STRING_AND_BINARY,
    EXISTS,
    INVALID_NAME,
    INVALID_REPLICA_REGION,
    NO_VALUE_FOR_STAGE,
    NO_VALUE_FOR_VERSION,
    NOT_FOUND,
    STAGE_VERSION_MISMATCH,
    assert_arn,
    assert_keys,
    assert_request_id,
    expect_error,
    is_datetime,
    now,
)

CREATE_KEYS = {"ARN", "Name", "VersionId"}  # recorded:test_create_and_update_secret create_secret_rs_1
CREATE_NO_VALUE_KEYS = {"ARN", "Name"}  # recorded:test_secret_tags create_secret
GET_STRING_KEYS = {"ARN", "CreatedDate", "Name", "SecretString", "VersionId", "VersionStages"}
GET_BINARY_KEYS = {"ARN", "CreatedDate", "Name", "SecretBinary", "VersionId", "VersionStages"}
PUT_KEYS = {"ARN", "Name", "VersionId", "VersionStages"}
UPDATE_KEYS = {"ARN", "Name", "VersionId"}
DELETE_KEYS = {"ARN", "DeletionDate", "Name"}


# --- create / get: values --------------------------------------------------------------------
def test_create_and_get_string(sm, name):
    created = sm.create_secret(Name=name, SecretString="my_secret")
    assert_keys(created, CREATE_KEYS)
    assert_request_id(created)
    assert created["Name"] == name
    assert_arn(created["ARN"], name)
    assert 32 <= len(created["VersionId"]) <= 64

    got = sm.get_secret_value(SecretId=name)
    assert_keys(got, GET_STRING_KEYS)
    assert got["SecretString"] == "my_secret"
    assert got["ARN"] == created["ARN"]
    assert got["Name"] == name
    assert got["VersionId"] == created["VersionId"]
    assert got["VersionStages"] == ["AWSCURRENT"]
    assert is_datetime(got["CreatedDate"])


@pytest.mark.parametrize(
    "value",
    [b"footest", b"\x00\x01\x02\xff", b"\xfe\xfd", b"\x00", bytes(range(256))],
    ids=["ascii", "nul-ff", "high", "single-nul", "all-bytes"],
)
def test_create_and_get_binary(sm, name, value):
    # recorded:test_get_secret_value, test_change_secret_value_after_creation[\x00\x01\x02\xff-\xfe\xfd]
    sm.create_secret(Name=name, SecretBinary=value)
    got = sm.get_secret_value(SecretId=name)
    assert_keys(got, GET_BINARY_KEYS)
    assert got["SecretBinary"] == value
    assert got["VersionStages"] == ["AWSCURRENT"]


def test_binary_value_change_after_creation(sm, name):
    # recorded:test_change_secret_value_after_creation - Put and Update each make a new AWSCURRENT
    sm.create_secret(Name=name, SecretBinary=b"initial")
    v1 = sm.get_secret_value(SecretId=name)
    assert v1["SecretBinary"] == b"initial"
    sm.put_secret_value(SecretId=name, SecretBinary=b"\x00\x01\x02\xff")
    v2 = sm.get_secret_value(SecretId=name)
    assert v2["SecretBinary"] == b"\x00\x01\x02\xff"
    assert v2["VersionId"] != v1["VersionId"]
    assert v2["VersionStages"] == ["AWSCURRENT"]
    sm.update_secret(SecretId=name, SecretBinary=b"\xfe\xfd")
    v3 = sm.get_secret_value(SecretId=name)
    assert v3["SecretBinary"] == b"\xfe\xfd"
    assert v3["VersionId"] not in {v1["VersionId"], v2["VersionId"]}
    assert v3["VersionStages"] == ["AWSCURRENT"]


def test_unicode_string_roundtrip(sm, name):
    value = 'p\u00e4ss \u2603 \U0001f511 "quoted" \\ \n\t{json: true}'
    sm.create_secret(Name=name, SecretString=value)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == value


def test_string_and_binary_switch_between_versions(sm, name):
    sm.create_secret(Name=name, SecretString="text")
    sm.put_secret_value(SecretId=name, SecretBinary=b"\x01bin")
    got = sm.get_secret_value(SecretId=name)
    assert_keys(got, GET_BINARY_KEYS)
    prev = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert_keys(prev, GET_STRING_KEYS)
    assert prev["SecretString"] == "text"


@pytest.mark.parametrize("operation", ["create", "put", "update"])
def test_string_and_binary_together_rejected(sm, name, operation):
    # aws-issue: https://github.com/aws/aws-sdk-java/issues/1556 (InvalidParameterException)
    if operation != "create":
        sm.create_secret(Name=name, SecretString="base")
    with expect_error("InvalidParameterException", BOTH_STRING_AND_BINARY):
        if operation == "create":
            sm.create_secret(Name=name, SecretString="s", SecretBinary=b"b")
        elif operation == "put":
            sm.put_secret_value(SecretId=name, SecretString="s", SecretBinary=b"b")
        else:
            sm.update_secret(SecretId=name, SecretString="s", SecretBinary=b"b")
    if operation == "create":
        with expect_error("ResourceNotFoundException", NOT_FOUND):
            sm.describe_secret(SecretId=name)
    else:
        assert sm.get_secret_value(SecretId=name)["SecretString"] == "base"
        assert len(sm.list_secret_version_ids(SecretId=name)["Versions"]) == 1


def test_empty_secret_string_is_a_validation_error(sm_raw, name):
    # model: SecretStringType min 1 (botocore checks this client-side, so use sm_raw)
    with expect_error("ValidationException") as err:
        sm_raw.create_secret(Name=name, SecretString="")
    assert (
        "at 'secretString' failed to satisfy constraint: Member must have length greater than or equal to 1"
        in (err["Error"]["Message"])
    )


# --- a secret without any value ----------------------------------------------------------------
def test_secret_without_value(sm, name):
    # recorded:test_create_secret_version_from_empty_secret and test_secret_version_not_found
    created = sm.create_secret(Name=name, Description="")
    assert_keys(created, CREATE_NO_VALUE_KEYS)
    assert_arn(created["ARN"], name)

    described = sm.describe_secret(SecretId=created["ARN"])
    # An empty Description is not echoed; no versions means no VersionIdsToStages.
    assert_keys(described, {"ARN", "CreatedDate", "LastChangedDate", "Name"})

    with expect_error("ResourceNotFoundException", NO_VALUE_FOR_STAGE.format(stage="AWSCURRENT")):
        sm.get_secret_value(SecretId=name)
    version = str(uuid.uuid4())
    with expect_error("ResourceNotFoundException", NO_VALUE_FOR_VERSION.format(version=version)):
        sm.get_secret_value(SecretId=name, VersionId=version)
    with expect_error("ResourceNotFoundException", NO_VALUE_FOR_STAGE.format(stage="AWSPENDING")):
        sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")

    assert sm.list_secret_version_ids(SecretId=name)["Versions"] == []

    put = sm.put_secret_value(SecretId=created["ARN"], SecretString="example-string-to-protect")
    assert_keys(put, PUT_KEYS)
    assert put["VersionStages"] == ["AWSCURRENT"]
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretString"] == "example-string-to-protect"
    assert got["VersionId"] == put["VersionId"]


# --- describe ----------------------------------------------------------------------------------
def test_describe_fresh_secret(sm, name):
    # recorded:test_update_secret_description describe_secret_res_0 (no Description, no
    # LastAccessedDate before any read, no KmsKeyId for the default key, no Tags)
    created = sm.create_secret(Name=name, SecretString="v")
    d = sm.describe_secret(SecretId=name)
    assert_keys(d, {"ARN", "CreatedDate", "LastChangedDate", "Name", "VersionIdsToStages"})
    assert d["ARN"] == created["ARN"]
    assert d["VersionIdsToStages"] == {created["VersionId"]: ["AWSCURRENT"]}
    assert is_datetime(d["CreatedDate"]) and is_datetime(d["LastChangedDate"])
    assert d["LastChangedDate"] >= d["CreatedDate"]
    assert abs(d["CreatedDate"] - now()) < dt.timedelta(minutes=10)


def test_describe_with_description_tags_and_access(sm, name):
    # recorded:test_create_and_update_secret describe_secret_rs_1 (after a GetSecretValue)
    tags = [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "test"}]
    sm.create_secret(Name=name, SecretString="v", Description="Testing secret creation.", Tags=tags)
    sm.get_secret_value(SecretId=name)
    d = sm.describe_secret(SecretId=name)
    assert_keys(
        d,
        {"ARN", "CreatedDate", "Description", "LastAccessedDate", "LastChangedDate", "Name", "Tags",
         "VersionIdsToStages"},
    )  # fmt: skip
    assert d["Description"] == "Testing secret creation."
    assert sorted(d["Tags"], key=lambda t: t["Key"]) == sorted(tags, key=lambda t: t["Key"])
    assert "KmsKeyId" not in d  # default aws/secretsmanager key is not reported


DEFAULT_KEY_REFS = ["alias/aws/secretsmanager", "arn:aws:kms:us-east-1:123456789012:alias/aws/secretsmanager", ""]


@pytest.mark.parametrize("ref", DEFAULT_KEY_REFS)
def test_default_key_by_any_name_is_not_reported(sm, name, ref):
    # model (DescribeSecretResponse.KmsKeyId): "If the secret is encrypted with the Amazon Web
    # Services managed key aws/secretsmanager, this field is omitted."
    sm.create_secret(Name=name, SecretString="v", KmsKeyId=ref)
    assert "KmsKeyId" not in sm.describe_secret(SecretId=name)
    sm.update_secret(SecretId=name, KmsKeyId=ref)
    assert "KmsKeyId" not in sm.describe_secret(SecretId=name)
    [entry] = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    assert "KmsKeyId" not in entry
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_type_is_stored_and_reported(sm, name):
    # model: CreateSecret/UpdateSecret Type, reported by DescribeSecret and ListSecrets (omitted when unset)
    sm.create_secret(Name=name, SecretString="v", Type="SalesforceClientSecret")
    assert sm.describe_secret(SecretId=name)["Type"] == "SalesforceClientSecret"
    [entry] = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    assert entry["Type"] == "SalesforceClientSecret"
    sm.update_secret(SecretId=name, Type="DatadogApiKey")
    assert sm.describe_secret(SecretId=name)["Type"] == "DatadogApiKey"
    sm.update_secret(SecretId=name, Type="")
    assert "Type" not in sm.describe_secret(SecretId=name)


def test_type_is_omitted_when_not_given(sm, name):
    sm.create_secret(Name=name, SecretString="v")
    assert "Type" not in sm.describe_secret(SecretId=name)


def test_last_accessed_date_is_truncated_to_the_day(sm, name):
    # LocalStack test_last_accessed_date (validated against AWS): absent until the first read,
    # then a date with no time part, stable across reads on the same day.
    sm.create_secret(Name=name, SecretString="MySecretValue")
    assert "LastAccessedDate" not in sm.describe_secret(SecretId=name)
    before = now().date()
    sm.get_secret_value(SecretId=name)
    lad = sm.describe_secret(SecretId=name)["LastAccessedDate"]
    after = now().date()
    assert is_datetime(lad)
    utc = lad.astimezone(dt.UTC)
    assert (utc.hour, utc.minute, utc.second, utc.microsecond) == (0, 0, 0, 0), lad
    assert utc.date() in {before, after}
    sm.get_secret_value(SecretId=name)
    lad2 = sm.describe_secret(SecretId=name)["LastAccessedDate"]
    if now().date() == utc.date():
        assert lad2 == lad


def test_last_changed_date_moves_on_new_value(sm, name):
    sm.create_secret(Name=name, SecretString="a")
    d0 = sm.describe_secret(SecretId=name)
    got = sm.get_secret_value(SecretId=name)
    # The version's CreatedDate is the secret's creation time here (LocalStack test_last_updated_date)
    assert abs(got["CreatedDate"] - d0["CreatedDate"]) < dt.timedelta(seconds=5)
    sm.update_secret(SecretId=name, SecretString="b")
    d1 = sm.describe_secret(SecretId=name)
    assert d1["LastChangedDate"] >= d0["LastChangedDate"]
    assert d1["CreatedDate"] == d0["CreatedDate"]


# --- names ---------------------------------------------------------------------------------------
INVALID_NAMES = ["Inv Name", " Inv Name", " Inv*Name? ", " Inv *?!]Name\\-"]


@pytest.mark.parametrize("bad", INVALID_NAMES)
@pytest.mark.parametrize(
    "operation",
    [
        "create_secret", "delete_secret", "describe_secret", "get_secret_value",
        "list_secret_version_ids", "put_secret_value", "tag_resource", "untag_resource",
        "update_secret",
    ],
)  # fmt: skip
def test_invalid_secret_name(sm, bad, operation):
    # recorded:test_invalid_secret_name[<bad>] ex_log_1..9 (same calls, in this order)
    calls = {
        "create_secret": lambda: sm.create_secret(Name=bad, SecretString="MySecretString"),
        "delete_secret": lambda: sm.delete_secret(SecretId=bad, ForceDeleteWithoutRecovery=True),
        "describe_secret": lambda: sm.describe_secret(SecretId=bad),
        "get_secret_value": lambda: sm.get_secret_value(SecretId=bad),
        "list_secret_version_ids": lambda: sm.list_secret_version_ids(SecretId=bad, IncludeDeprecated=True),
        "put_secret_value": lambda: sm.put_secret_value(SecretId=bad, SecretString="MySecretString"),
        "tag_resource": lambda: sm.tag_resource(SecretId=bad, Tags=[{"Key": "FirstTag", "Value": "SomeValue"}]),
        "untag_resource": lambda: sm.untag_resource(SecretId=bad, TagKeys=["FirstTag"]),
        "update_secret": lambda: sm.update_secret(SecretId=bad, Description="MyNewDescription"),
    }
    with expect_error("ValidationException", INVALID_NAME):
        calls[operation]()


@pytest.mark.parametrize("suffix", ["Valid/_+=.@-Name", "Valid/_+=.@-Name-a1b2", "Valid/_+=.@-Name-a1b2c3-"])
def test_valid_names_and_partial_arn(sm, suffix):
    # recorded:test_create_and_update_secret[<name>-True]: the full sequence, including lookup by
    # the ARN without its 6-character suffix ("partial ARN").
    name = f"{uuid.uuid4().hex[:12]}-{suffix}"
    created = sm.create_secret(Name=name, SecretString="my_secret", Description="Testing secret creation.")
    assert_keys(created, CREATE_KEYS)
    arn = created["ARN"]
    assert_arn(arn, name)
    assert len(arn.rpartition("-")[-1]) == 6

    by_name = sm.get_secret_value(SecretId=name)
    by_arn = sm.get_secret_value(SecretId=arn)
    by_partial = sm.get_secret_value(SecretId=arn[:-7])
    for got in (by_name, by_arn, by_partial):
        assert_keys(got, GET_STRING_KEYS)
        assert (got["ARN"], got["SecretString"], got["VersionId"]) == (arn, "my_secret", created["VersionId"])

    put = sm.put_secret_value(SecretId=name, SecretString="new_secret")
    assert_keys(put, PUT_KEYS)
    assert put["VersionStages"] == ["AWSCURRENT"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "new_secret"

    upd = sm.update_secret(SecretId=arn, SecretString="test123", Description="d1")
    assert_keys(upd, UPDATE_KEYS)
    assert upd["VersionId"] not in {created["VersionId"], put["VersionId"]}

    deleted = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert_keys(deleted, DELETE_KEYS)
    assert deleted["ARN"] == arn


def test_partial_arn_that_looks_like_a_full_arn(sm):
    # recorded:test_create_and_update_secret[Invalid/_+=.@-Name-a1b2c3-False]: a name ending in
    # "-" + 6 characters; its ARN minus the real suffix ends in "-a1b2c3", which AWS reads as a
    # full ARN with suffix a1b2c3 -> not found. The plain name still works.
    name = f"{uuid.uuid4().hex[:12]}-Invalid/_+=.@-Name-a1b2c3"
    created = sm.create_secret(Name=name, SecretString="my_secret", Description="Testing secret creation.")
    arn = created["ARN"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "my_secret"
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "my_secret"
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm.get_secret_value(SecretId=arn[:-7])
    put = sm.put_secret_value(SecretId=name, SecretString="new_secret")
    assert put["VersionStages"] == ["AWSCURRENT"]


def test_exact_name_wins_over_suffix_lookalike(sm, prefix):
    # "foo" and "foo-abcdef" are two secrets; each name reaches its own secret (a name is matched
    # exactly before anything is read as an ARN suffix).
    short, long_ = f"{prefix}-foo", f"{prefix}-foo-abcdef"
    a = sm.create_secret(Name=short, SecretString="short")["ARN"]
    b = sm.create_secret(Name=long_, SecretString="long")["ARN"]
    assert a != b
    assert sm.get_secret_value(SecretId=short)["SecretString"] == "short"
    assert sm.get_secret_value(SecretId=long_)["SecretString"] == "long"
    assert sm.get_secret_value(SecretId=a)["SecretString"] == "short"
    assert sm.get_secret_value(SecretId=b)["SecretString"] == "long"


def test_long_name(sm):
    name = ("n" * 200) + uuid.uuid4().hex[:16]
    created = sm.create_secret(Name=name, SecretString="v")
    assert_arn(created["ARN"], name)
    assert sm.describe_secret(SecretId=name)["Name"] == name


def test_arn_with_wrong_suffix_is_not_found(sm, name):
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    wrong = arn[:-6] + ("AAAAAA" if not arn.endswith("AAAAAA") else "BBBBBB")
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm.get_secret_value(SecretId=wrong)
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm.describe_secret(SecretId=wrong)


def test_each_secret_gets_its_own_arn_suffix(sm, prefix):
    arns = {sm.create_secret(Name=f"{prefix}-{i}", SecretString="v")["ARN"].rpartition("-")[-1] for i in range(5)}
    assert all(len(s) == 6 and s.isalnum() for s in arns)


def test_all_secret_id_forms_for_describe_put_update(sm, name):
    arn = sm.create_secret(Name=name, SecretString="v0")["ARN"]
    for sid in (name, arn, arn[:-7]):
        assert sm.describe_secret(SecretId=sid)["ARN"] == arn
    p = sm.put_secret_value(SecretId=arn[:-7], SecretString="v1")
    assert p["ARN"] == arn and p["Name"] == name
    u = sm.update_secret(SecretId=arn, Description="desc")
    assert u["ARN"] == arn
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "v1"


# --- existing names -----------------------------------------------------------------------------
def test_create_existing_name(sm, name):
    # recorded:test_secret_exists_snapshots
    sm.create_secret(Name=name, SecretString=f"my_secret_{name}", Description="d")
    with expect_error("ResourceExistsException", EXISTS.format(name=name)):
        sm.create_secret(Name=name, SecretString=f"my_secret_{name}", Description="d")
    assert len(sm.list_secret_version_ids(SecretId=name)["Versions"]) == 1


def test_create_existing_name_without_value(sm, name):
    # aws-issue: external-secrets/external-secrets#4833 - an empty secret's name is taken too
    sm.create_secret(Name=name)
    with expect_error("ResourceExistsException", EXISTS.format(name=name)):
        sm.create_secret(Name=name, SecretString="x")


# --- replication (tests/e2e/test_replication.py has the rest) --------------------------------------
@pytest.mark.parametrize("force", [None, True])
def test_create_with_a_refused_replica_region_creates_nothing(sm, name, force):
    extra = {} if force is None else {"ForceOverwriteReplicaSecret": force}
    with expect_error("InvalidParameterException", INVALID_REPLICA_REGION):
        sm.create_secret(
            Name=name, SecretString="x", AddReplicaRegions=[{"Region": "us-east-1"}], Tags=[{"Key": "k", "Value": "v"}],
            **extra,
        )
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm.describe_secret(SecretId=name)
    assert sm.create_secret(Name=name, SecretString="x")["Name"] == name  # the name stayed free
    # ForceOverwriteReplicaSecret alone only matters with replicas: accepted, as before.
    other = sm.create_secret(Name=f"{name}-2", ForceOverwriteReplicaSecret=True)
    assert other["Name"] == f"{name}-2" and "ReplicationStatus" not in other


# --- not found ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "operation",
    [
        "get_secret_value", "describe_secret", "list_secret_version_ids", "put_secret_value",
        "update_secret", "update_secret_description", "delete_secret", "restore_secret",
        "tag_resource", "untag_resource", "update_secret_version_stage",
    ],
)  # fmt: skip
def test_not_found(sm, name, operation):
    # recorded:test_secret_not_found (GetSecretValue, ListSecretVersionIds); the same message is
    # used for every operation on a missing SecretId.
    calls = {
        "get_secret_value": lambda: sm.get_secret_value(SecretId=name),
        "describe_secret": lambda: sm.describe_secret(SecretId=name),
        "list_secret_version_ids": lambda: sm.list_secret_version_ids(SecretId=name),
        "put_secret_value": lambda: sm.put_secret_value(SecretId=name, SecretString="x"),
        "update_secret": lambda: sm.update_secret(SecretId=name, SecretString="x"),
        "update_secret_description": lambda: sm.update_secret(SecretId=name, Description="x"),
        "delete_secret": lambda: sm.delete_secret(SecretId=name),
        "restore_secret": lambda: sm.restore_secret(SecretId=name),
        "tag_resource": lambda: sm.tag_resource(SecretId=name, Tags=[{"Key": "k", "Value": "v"}]),
        "untag_resource": lambda: sm.untag_resource(SecretId=name, TagKeys=["k"]),
        "update_secret_version_stage": lambda: sm.update_secret_version_stage(
            SecretId=name, VersionStage="CUSTOM", MoveToVersionId=str(uuid.uuid4())
        ),
    }
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        calls[operation]()


def test_not_found_by_arn(sm, name):
    arn = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm.get_secret_value(SecretId=arn)


# --- version / stage selection --------------------------------------------------------------------
def test_get_secret_value_errors(sm, name):
    # recorded:test_get_secret_value_errors
    created = sm.create_secret(Name=name, SecretString="test")
    with expect_error("ResourceNotFoundException", NO_VALUE_FOR_STAGE.format(stage="AWSPREVIOUS")):
        sm.get_secret_value(SecretId=created["ARN"], VersionStage="AWSPREVIOUS")
    with expect_error("InvalidRequestException", STAGE_VERSION_MISMATCH):
        sm.get_secret_value(SecretId=name, VersionId=created["VersionId"], VersionStage="AWSPREVIOUS")


def test_secret_version_not_found(sm, name):
    # recorded:test_secret_version_not_found (message format for an unknown VersionId / stage)
    sm.create_secret(Name=name, SecretString="x")
    version = str(uuid.uuid4())
    with expect_error("ResourceNotFoundException", NO_VALUE_FOR_VERSION.format(version=version)):
        sm.get_secret_value(SecretId=name, VersionId=version)
    with expect_error("ResourceNotFoundException", NO_VALUE_FOR_STAGE.format(stage="AWSPENDING")):
        sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")


def test_version_id_is_validated(sm_raw, name):
    # model: SecretVersionIdType length 32..64 (botocore checks the minimum client-side)
    sm_raw.create_secret(Name=name, SecretString="v")
    with expect_error("ValidationException") as err:
        sm_raw.get_secret_value(SecretId=name, VersionId="short")
    assert err["Error"]["Message"] == (
        "1 validation error detected: Value 'short' at 'versionId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 32"
    )


def test_get_by_version_id_and_stage(sm, name):
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "one"
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["VersionStages"] == ["AWSPREVIOUS"]
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["VersionId"] == v1
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["VersionId"] == v2
    both = sm.get_secret_value(SecretId=name, VersionId=v2, VersionStage="AWSCURRENT")
    assert both["SecretString"] == "two"
    with expect_error("InvalidRequestException", STAGE_VERSION_MISMATCH):
        sm.get_secret_value(SecretId=name, VersionId=v1, VersionStage="AWSCURRENT")


# --- misc ------------------------------------------------------------------------------------------
def test_regions_are_separate_namespaces(sm, sm_west, name):
    east = sm.create_secret(Name=name, SecretString="east")
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm_west.get_secret_value(SecretId=name)
    west = sm_west.create_secret(Name=name, SecretString="west")
    assert_arn(east["ARN"], name, "us-east-1")
    assert_arn(west["ARN"], name, "us-west-2")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "east"
    assert sm_west.get_secret_value(SecretId=name)["SecretString"] == "west"
    sm_west.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "east"
    listed = sm_west.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    assert listed == []


def test_large_binary_value(sm, name):
    value = os.urandom(65536)  # model maximum for SecretBinary
    sm.create_secret(Name=name, SecretBinary=value)
    assert sm.get_secret_value(SecretId=name)["SecretBinary"] == value


def test_binary_too_large(sm_raw, name):
    with expect_error("ValidationException") as err:
        sm_raw.create_secret(Name=name, SecretBinary=b"\x00" * 65537)
    assert (
        "at 'secretBinary' failed to satisfy constraint: Member must have length less than or equal to 65536"
        in (err["Error"]["Message"])
    )
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm_raw.describe_secret(SecretId=name)
