"""DeleteSecret and RestoreSecret: recovery windows, forced deletion, what a secret scheduled for
deletion still allows.

Sources: recorded scenarios named inline; API_DeleteSecret
(https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html): recovery
window 7..30 days, default 30; "You can't use both this parameter and ForceDeleteWithoutRecovery";
"If you forcibly delete an already deleted or nonexistent secret, the operation does not return
ResourceNotFoundException".
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from e2e_helpers import (
    FORCE_AND_WINDOW,
    MARKED_DELETED_DOC,
    MARKED_FOR_DELETION,
    NOT_FOUND,
    RECOVERY_WINDOW_RANGE,
    SCHEDULED_FOR_DELETION,
    all_version_ids,
    assert_arn,
    assert_keys,
    expect_error,
    near,
    now,
)

DELETE_KEYS = {"ARN", "DeletionDate", "Name"}


def test_default_recovery_window_is_30_days(sm, name):
    created = sm.create_secret(Name=name, SecretString="v")
    deleted = sm.delete_secret(SecretId=name)
    assert_keys(deleted, DELETE_KEYS)
    assert deleted["ARN"] == created["ARN"] and deleted["Name"] == name
    assert near(deleted["DeletionDate"], now() + dt.timedelta(days=30))
    # recorded:test_force_delete_deleted_secret describe_secret_response: DescribeSecret still
    # works and shows DeletedDate, "the date the secret is scheduled for deletion"
    # (API_DescribeSecret), i.e. DeleteSecret's DeletionDate (moto does the same).
    d = sm.describe_secret(SecretId=name)
    assert_keys(d, {"ARN", "CreatedDate", "DeletedDate", "LastChangedDate", "Name", "VersionIdsToStages"})
    assert abs(d["DeletedDate"] - deleted["DeletionDate"]) <= dt.timedelta(seconds=1)


@pytest.mark.parametrize("days", [7, 30, 15])
def test_recovery_window(sm, name, days):
    sm.create_secret(Name=name, SecretString="v")
    deleted = sm.delete_secret(SecretId=name, RecoveryWindowInDays=days)
    assert near(deleted["DeletionDate"], now() + dt.timedelta(days=days))


@pytest.mark.parametrize("days", [0, 6, 31, 365, -1])
def test_recovery_window_out_of_range(sm, name, days):
    # aws-issue: https://github.com/getmoto/moto/issues/6461 (the real service's message)
    sm.create_secret(Name=name, SecretString="v")
    with expect_error("InvalidParameterException", RECOVERY_WINDOW_RANGE):
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=days)
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)


def test_recovery_window_zero_with_force_is_a_range_error(sm, name):
    # aws-issue: https://github.com/getmoto/moto/issues/6461 - exactly this call, on real AWS
    sm.create_secret(Name=name, SecretString="foosecret")
    with expect_error("InvalidParameterException", RECOVERY_WINDOW_RANGE):
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=0, ForceDeleteWithoutRecovery=True)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "foosecret"


def test_window_and_force_together(sm, name):
    sm.create_secret(Name=name, SecretString="v")
    with expect_error("InvalidParameterException", FORCE_AND_WINDOW):
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_force_delete_is_immediate_and_name_reusable(sm, name):
    # recorded:test_can_recreate_delete_secret - the re-created secret gets a new ARN suffix
    first = sm.create_secret(Name=name, SecretString=f"secretstr-{uuid.uuid4().hex[:8]}")
    deleted = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert_keys(deleted, DELETE_KEYS)
    assert deleted["ARN"] == first["ARN"]
    assert near(deleted["DeletionDate"], now())
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm.describe_secret(SecretId=name)
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm.get_secret_value(SecretId=first["ARN"])
    again = sm.create_secret(Name=name, SecretString="new")
    assert_arn(again["ARN"], name)
    assert again["ARN"] != first["ARN"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "new"
    assert len(all_version_ids(sm, name, include_deprecated=True)) == 1  # nothing carried over
    assert "Tags" not in sm.describe_secret(SecretId=name)


def test_force_delete_deleted_secret(sm, name):
    # recorded:test_force_delete_deleted_secret
    created = sm.create_secret(Name=name, SecretString="v")
    sm.delete_secret(SecretId=created["ARN"])
    assert "DeletedDate" in sm.describe_secret(SecretId=created["ARN"])
    forced = sm.delete_secret(SecretId=created["ARN"], ForceDeleteWithoutRecovery=True)
    assert_keys(forced, DELETE_KEYS)
    assert forced["ARN"] == created["ARN"]
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm.describe_secret(SecretId=created["ARN"])
    sm.create_secret(Name=name, SecretString="reborn")


def test_force_delete_nonexistent_secret_succeeds(sm, name):
    # LocalStack test_delete_non_existent_secret_returns_as_if_secret_exists (AWS-validated)
    resp = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert_keys(resp, DELETE_KEYS)
    assert resp["Name"] == name
    assert resp["ARN"].startswith(f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}")
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm.describe_secret(SecretId=name)


def test_delete_nonexistent_without_force(sm, name):
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm.delete_secret(SecretId=name)


# --- a secret scheduled for deletion ------------------------------------------------------------
@pytest.fixture
def scheduled(sm, name):
    """A secret with two versions and a tag, then scheduled for deletion."""
    created = sm.create_secret(Name=name, SecretString="s1", Tags=[{"Key": "k", "Value": "v"}])
    second = sm.put_secret_value(SecretId=name, SecretString="s2")
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    return {"name": name, "arn": created["ARN"], "v1": created["VersionId"], "v2": second["VersionId"]}


@pytest.mark.parametrize(
    "operation",
    [
        "get_secret_value", "get_secret_value_by_arn", "put_secret_value", "update_secret_value",
        "update_secret_description", "update_secret_version_stage", "tag_resource", "untag_resource",
    ],
)  # fmt: skip
def test_operations_on_scheduled_secret(sm, scheduled, operation):
    # recorded:test_tag_untag_resource_on_deleted_secret (tag/untag); the same text is AWS's answer
    # for reads (aws-issue: external-secrets/kubernetes-external-secrets#114) and other changes.
    n, arn = scheduled["name"], scheduled["arn"]
    calls = {
        "get_secret_value": lambda: sm.get_secret_value(SecretId=n),
        "get_secret_value_by_arn": lambda: sm.get_secret_value(SecretId=arn, VersionId=scheduled["v1"]),
        "put_secret_value": lambda: sm.put_secret_value(SecretId=n, SecretString="x"),
        "update_secret_value": lambda: sm.update_secret(SecretId=n, SecretString="x"),
        "update_secret_description": lambda: sm.update_secret(SecretId=n, Description="x"),
        "update_secret_version_stage": lambda: sm.update_secret_version_stage(
            SecretId=n, VersionStage="AWSCURRENT", RemoveFromVersionId=scheduled["v2"], MoveToVersionId=scheduled["v1"]
        ),
        "tag_resource": lambda: sm.tag_resource(SecretId=arn, Tags=[{"Key": "new-tag", "Value": "new-value"}]),
        "untag_resource": lambda: sm.untag_resource(SecretId=arn, TagKeys=["k"]),
    }
    with expect_error("InvalidRequestException", MARKED_FOR_DELETION):
        calls[operation]()
    # nothing changed
    d = sm.describe_secret(SecretId=n)
    assert d["Tags"] == [{"Key": "k", "Value": "v"}]
    assert "Description" not in d
    assert {k: set(v) for k, v in d["VersionIdsToStages"].items()} == {
        scheduled["v1"]: {"AWSPREVIOUS"}, scheduled["v2"]: {"AWSCURRENT"},
    }  # fmt: skip


def test_delete_scheduled_secret_again(sm, scheduled):
    first = sm.describe_secret(SecretId=scheduled["name"])["DeletedDate"]
    with expect_error("InvalidRequestException", messages=(MARKED_FOR_DELETION, MARKED_DELETED_DOC)):
        sm.delete_secret(SecretId=scheduled["name"])
    assert sm.describe_secret(SecretId=scheduled["name"])["DeletedDate"] == first


def test_create_with_name_scheduled_for_deletion(sm, name):
    # recorded:test_exp_raised_on_creation_of_secret_scheduled_for_deletion
    sm.create_secret(Name=name, SecretString=f"secretstr-{uuid.uuid4().hex[:8]}")
    deleted = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert_keys(deleted, DELETE_KEYS)
    with expect_error("InvalidRequestException", SCHEDULED_FOR_DELETION):
        sm.create_secret(Name=name, SecretString="again")


def test_restore_secret(sm, scheduled):
    # recorded:test_secret_restore
    restored = sm.restore_secret(SecretId=scheduled["name"])
    assert_keys(restored, {"ARN", "Name"})
    assert restored["ARN"] == scheduled["arn"]
    d = sm.describe_secret(SecretId=scheduled["name"])
    assert "DeletedDate" not in d
    assert d["Tags"] == [{"Key": "k", "Value": "v"}]
    got = sm.get_secret_value(SecretId=scheduled["name"])
    assert (got["VersionId"], got["SecretString"]) == (scheduled["v2"], "s2")
    assert sm.get_secret_value(SecretId=scheduled["name"], VersionStage="AWSPREVIOUS")["SecretString"] == "s1"
    # and it is an ordinary secret again
    sm.put_secret_value(SecretId=scheduled["name"], SecretString="s3")
    sm.tag_resource(SecretId=scheduled["name"], Tags=[{"Key": "k2", "Value": "v2"}])
    assert sm.get_secret_value(SecretId=scheduled["name"])["SecretString"] == "s3"


def test_restore_by_arn_then_delete_again(sm, scheduled):
    sm.restore_secret(SecretId=scheduled["arn"])
    again = sm.delete_secret(SecretId=scheduled["arn"], RecoveryWindowInDays=10)
    assert near(again["DeletionDate"], now() + dt.timedelta(days=10))
