"""ClientRequestToken: it becomes the VersionId, and makes retries idempotent.

Source: ClientRequestToken in API_CreateSecret / API_PutSecretValue
(https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html):
  * token not yet used -> a new version with VersionId = token;
  * same token, same SecretString/SecretBinary -> "the request is ignored" (no new version);
  * same token, different value -> the request fails: ResourceExistsException "You can't use
    ClientRequestToken <token> because that value is already in use for a version of secret <ARN>."
    (moto's AWS-verified tests, for CreateSecret, PutSecretValue and UpdateSecret).
"""

from __future__ import annotations

import uuid

import pytest
from e2e_helpers import EXISTS, TOKEN_IN_USE, all_version_ids, body_keys, expect_error


def test_token_becomes_version_id(sm, name):
    t1, t2 = str(uuid.uuid4()), str(uuid.uuid4())
    assert sm.create_secret(Name=name, SecretString="a", ClientRequestToken=t1)["VersionId"] == t1
    assert sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=t2)["VersionId"] == t2
    assert sm.get_secret_value(SecretId=name, VersionId=t1)["SecretString"] == "a"
    assert all_version_ids(sm, name) == {t1: {"AWSPREVIOUS"}, t2: {"AWSCURRENT"}}


def test_put_retry_same_value_is_a_no_op(sm, name):
    sm.create_secret(Name=name, SecretString="v0")
    token = str(uuid.uuid4())
    first = sm.put_secret_value(SecretId=name, SecretString="v1", ClientRequestToken=token)
    before = all_version_ids(sm, name)
    again = sm.put_secret_value(SecretId=name, SecretString="v1", ClientRequestToken=token)
    assert {k: again[k] for k in body_keys(again)} == {k: first[k] for k in body_keys(first)}
    assert all_version_ids(sm, name) == before


def test_put_retry_after_a_newer_version_does_not_move_awscurrent(sm, name):
    sm.create_secret(Name=name, SecretString="v0")
    token = str(uuid.uuid4())
    sm.put_secret_value(SecretId=name, SecretString="v1", ClientRequestToken=token)
    newest = sm.put_secret_value(SecretId=name, SecretString="v2")["VersionId"]
    before = all_version_ids(sm, name)
    replay = sm.put_secret_value(SecretId=name, SecretString="v1", ClientRequestToken=token)
    assert replay["VersionId"] == token
    assert all_version_ids(sm, name) == before
    current = sm.get_secret_value(SecretId=name)
    assert (current["VersionId"], current["SecretString"]) == (newest, "v2")


def test_put_retry_binary_same_value(sm, name):
    sm.create_secret(Name=name, SecretBinary=b"\x00")
    token = str(uuid.uuid4())
    sm.put_secret_value(SecretId=name, SecretBinary=b"\x00\x01\x02\xff", ClientRequestToken=token)
    before = all_version_ids(sm, name)
    sm.put_secret_value(SecretId=name, SecretBinary=b"\x00\x01\x02\xff", ClientRequestToken=token)
    assert all_version_ids(sm, name) == before


@pytest.mark.parametrize("operation", ["put_secret_value", "update_secret"])
def test_same_token_different_value_fails(sm, name, operation):
    write = getattr(sm, operation)
    arn = sm.create_secret(Name=name, SecretString="v0")["ARN"]
    token = str(uuid.uuid4())
    write(SecretId=name, SecretString="v1", ClientRequestToken=token)
    before = all_version_ids(sm, name)
    with expect_error("ResourceExistsException", TOKEN_IN_USE.format(token=token, arn=arn)) as err:
        write(SecretId=name, SecretString="DIFFERENT", ClientRequestToken=token)
    assert "DIFFERENT" not in err["Error"]["Message"]  # never echo a secret value
    assert all_version_ids(sm, name) == before
    assert sm.get_secret_value(SecretId=name, VersionId=token)["SecretString"] == "v1"


def test_put_token_of_create_version_different_value_fails(sm, name):
    token = str(uuid.uuid4())
    arn = sm.create_secret(Name=name, SecretString="v0", ClientRequestToken=token)["ARN"]
    with expect_error("ResourceExistsException", TOKEN_IN_USE.format(token=token, arn=arn)):
        sm.put_secret_value(SecretId=name, SecretString="v1", ClientRequestToken=token)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v0"


def test_create_retry_same_token_same_value(sm, name):
    token = str(uuid.uuid4())
    first = sm.create_secret(Name=name, SecretString="v", Description="d", ClientRequestToken=token)
    again = sm.create_secret(Name=name, SecretString="v", Description="d", ClientRequestToken=token)
    assert (again["ARN"], again["Name"], again["VersionId"]) == (first["ARN"], name, token)
    assert all_version_ids(sm, name) == {token: {"AWSCURRENT"}}


def test_create_same_token_different_value_fails(sm, name):
    token = str(uuid.uuid4())
    arn = sm.create_secret(Name=name, SecretString="v", ClientRequestToken=token)["ARN"]
    with expect_error("ResourceExistsException", TOKEN_IN_USE.format(token=token, arn=arn)):
        sm.create_secret(Name=name, SecretString="other", ClientRequestToken=token)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_create_again_with_a_new_token_fails(sm, name):
    # aws-issue: https://github.com/getmoto/moto/issues/9700 - boto3 sends a fresh token on each
    # call, and AWS answers the second create with the recorded "already exists" error.
    sm.create_secret(Name=name, SecretString="Hello", Description="Test")
    with expect_error("ResourceExistsException", EXISTS.format(name=name)):
        sm.create_secret(Name=name, SecretString="Hello", Description="Test")


def test_update_secret_token_becomes_version_id(sm, name):
    sm.create_secret(Name=name, SecretString="v0")
    token = str(uuid.uuid4())
    assert sm.update_secret(SecretId=name, SecretString="v1", ClientRequestToken=token)["VersionId"] == token
    assert sm.get_secret_value(SecretId=name)["VersionId"] == token


def test_token_length_is_validated(sm_raw, name):
    # model: ClientRequestTokenType length 32..64
    with expect_error("ValidationException") as err:
        sm_raw.create_secret(Name=name, SecretString="v", ClientRequestToken="x" * 31)
    assert (
        "at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32"
        in (err["Error"]["Message"])
    )
    with expect_error("ValidationException") as err:
        sm_raw.create_secret(Name=name, SecretString="v", ClientRequestToken="x" * 65)
    assert (
        "at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 64"
        in (err["Error"]["Message"])
    )
    token = "t" * 64
    assert sm_raw.create_secret(Name=name, SecretString="v", ClientRequestToken=token)["VersionId"] == token
