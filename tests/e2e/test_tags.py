"""TagResource / UntagResource and tags in DescribeSecret / ListSecrets.

Limits: API_TagResource (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_TagResource.html):
at most 50 tags per secret; key up to 127 and value up to 255 characters (the service model allows
128 / 256, so only values beyond the model are checked as ValidationException); "Do not use the
aws: prefix in your tag names or values because AWS reserves it".
AWS's error text for the 50-tag limit and for the aws: prefix is not public: those tests check that
the request is rejected with a 400 of a plausible type and that nothing changed.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_helpers import all_version_ids, assert_keys, assert_request_id, expect_error


def tags_of(sm: Any, sid: str) -> list[dict[str, str]] | None:
    t = sm.describe_secret(SecretId=sid).get("Tags")
    return None if t is None else sorted(t, key=lambda x: x["Key"])


def test_secret_tags(sm, name):
    """recorded:test_secret_tags"""
    created = sm.create_secret(Name=name)
    arn = created["ARN"]
    d = sm.describe_secret(SecretId=arn)
    assert_keys(d, {"ARN", "CreatedDate", "LastChangedDate", "Name"})  # no Tags key at all yet

    r = sm.tag_resource(SecretId=arn, Tags=[{"Key": "tag1", "Value": "value1"}])
    assert_keys(r, set())
    assert_request_id(r)
    d1 = sm.describe_secret(SecretId=arn)
    assert_keys(d1, {"ARN", "CreatedDate", "LastChangedDate", "Name", "Tags"})
    assert d1["Tags"] == [{"Key": "tag1", "Value": "value1"}]

    sm.tag_resource(SecretId=arn, Tags=[{"Key": "tag2", "Value": "value2"}])
    assert tags_of(sm, arn) == [{"Key": "tag1", "Value": "value1"}, {"Key": "tag2", "Value": "value2"}]

    r = sm.untag_resource(SecretId=arn, TagKeys=["tag1"])
    assert_keys(r, set())
    assert tags_of(sm, arn) == [{"Key": "tag2", "Value": "value2"}]

    sm.untag_resource(SecretId=arn, TagKeys=["tag2"])
    # Non-obvious (recorded describe_secret_4): once a secret has had tags, removing the last
    # one leaves "Tags": [] in DescribeSecret rather than dropping the key.
    d4 = sm.describe_secret(SecretId=arn)
    assert d4["Tags"] == []

    sm.tag_resource(SecretId=arn, Tags=[{"Key": "tag3", "Value": "value3"}, {"Key": "tag4", "Value": "value4"}])
    assert tags_of(sm, arn) == [{"Key": "tag3", "Value": "value3"}, {"Key": "tag4", "Value": "value4"}]
    sm.untag_resource(SecretId=arn, TagKeys=["tag3", "tag4"])
    assert sm.describe_secret(SecretId=arn)["Tags"] == []


def test_tag_overwrites_existing_key(sm, name):
    sm.create_secret(Name=name, SecretString="v", Tags=[{"Key": "env", "Value": "dev"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "Env", "Value": "x"}])
    # keys are case-sensitive: "Env" is a different tag
    assert tags_of(sm, name) == [{"Key": "Env", "Value": "x"}, {"Key": "env", "Value": "prod"}]


def test_untag_missing_key_is_a_no_op(sm, name):
    sm.create_secret(Name=name, SecretString="v", Tags=[{"Key": "a", "Value": "1"}])
    sm.untag_resource(SecretId=name, TagKeys=["nope"])
    assert tags_of(sm, name) == [{"Key": "a", "Value": "1"}]


def test_tags_do_not_touch_versions(sm, name):
    sm.create_secret(Name=name, SecretString="v")
    before = all_version_ids(sm, name)
    sm.tag_resource(SecretId=name, Tags=[{"Key": "a", "Value": "1"}])
    sm.untag_resource(SecretId=name, TagKeys=["a"])
    assert all_version_ids(sm, name) == before
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


def test_tag_by_arn_and_partial_arn(sm, name):
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    sm.tag_resource(SecretId=arn, Tags=[{"Key": "full", "Value": "1"}])
    sm.tag_resource(SecretId=arn[:-7], Tags=[{"Key": "partial", "Value": "2"}])
    sm.untag_resource(SecretId=arn[:-7], TagKeys=["full"])
    assert tags_of(sm, name) == [{"Key": "partial", "Value": "2"}]


def test_tags_in_list_secrets(sm, prefix):
    n = f"{prefix}-t"
    sm.create_secret(Name=n, SecretString="v", Tags=[{"Key": "k1", "Value": "v1"}])
    sm.tag_resource(SecretId=n, Tags=[{"Key": "k2", "Value": ""}])  # empty values are allowed
    [entry] = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}])["SecretList"]
    assert sorted(entry["Tags"], key=lambda t: t["Key"]) == [{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": ""}]


def test_fifty_tags_allowed(sm, name):
    tags = [{"Key": f"k{i:02d}", "Value": f"v{i}"} for i in range(50)]
    sm.create_secret(Name=name, SecretString="v", Tags=tags)
    assert tags_of(sm, name) == tags
    # re-tagging existing keys does not count as new tags
    sm.tag_resource(SecretId=name, Tags=[{"Key": "k00", "Value": "changed"}])
    assert len(tags_of(sm, name) or []) == 50


LIMIT_CODES = {"InvalidParameterException", "ValidationException", "LimitExceededException", "InvalidRequestException"}


def _rejected(call: Any) -> str:
    with pytest.raises(ClientError) as excinfo:
        call()
    err = excinfo.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["Error"]["Message"]
    return str(err["Error"]["Code"])


def test_fifty_first_tag_rejected(sm, name):
    tags = [{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)]
    sm.create_secret(Name=name, SecretString="v", Tags=tags)
    code = _rejected(lambda: sm.tag_resource(SecretId=name, Tags=[{"Key": "one-too-many", "Value": "v"}]))
    assert code in LIMIT_CODES
    assert len(tags_of(sm, name) or []) == 50


def test_create_with_fifty_one_tags_rejected(sm, name):
    tags = [{"Key": f"k{i:02d}", "Value": "v"} for i in range(51)]
    code = _rejected(lambda: sm.create_secret(Name=name, SecretString="v", Tags=tags))
    assert code in LIMIT_CODES
    with expect_error("ResourceNotFoundException"):
        sm.describe_secret(SecretId=name)


def test_tag_key_and_value_lengths(sm, sm_raw, name):
    sm.create_secret(Name=name, SecretString="v")
    sm.tag_resource(SecretId=name, Tags=[{"Key": "k" * 127, "Value": "v" * 255}])
    with expect_error("ValidationException") as err:
        sm_raw.tag_resource(SecretId=name, Tags=[{"Key": "k" * 129, "Value": "v"}])
    assert (
        "at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"
        in (err["Error"]["Message"])
    )
    with expect_error("ValidationException") as err:
        sm_raw.tag_resource(SecretId=name, Tags=[{"Key": "k", "Value": "v" * 257}])
    assert (
        "at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"
        in (err["Error"]["Message"])
    )
    with expect_error("ValidationException") as err:
        sm_raw.tag_resource(SecretId=name, Tags=[{"Key": "", "Value": "v"}])
    assert (
        "at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"
        in (err["Error"]["Message"])
    )
    assert tags_of(sm, name) == [{"Key": "k" * 127, "Value": "v" * 255}]


@pytest.mark.parametrize("key", ["aws:reserved", "aws:cloudformation:stack-name"])
def test_aws_prefix_is_reserved(sm, name, key):
    sm.create_secret(Name=name, SecretString="v")
    code = _rejected(lambda: sm.tag_resource(SecretId=name, Tags=[{"Key": key, "Value": "x"}]))
    assert code in {"InvalidParameterException", "ValidationException"}
    assert tags_of(sm, name) is None
    code = _rejected(lambda: sm.create_secret(Name=name + "-2", SecretString="v", Tags=[{"Key": key, "Value": "x"}]))
    assert code in {"InvalidParameterException", "ValidationException"}
