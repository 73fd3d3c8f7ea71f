"""ListResourcePolicies and PolicyName (the current model's additions to the resource-policy operations).

Sources: the API reference of ListResourcePolicies ("The response contains only the names of the
policies ... Secrets Manager lists default first ... You can modify only the default policy";
MaxResults 1..100, default 100; paginated) and the model's documentation of PolicyName on
Put/Get/DeleteResourcePolicy (another name: InvalidParameterException for Put and Delete,
ResourceNotFoundException for Get; responses name the policy, "default" when not specified).
Authorization of ListResourcePolicies: tests/authz/test_authz_resource_policy.py.
"""

from __future__ import annotations

import json

import pytest
from e2e_helpers import NOT_FOUND, body_keys, expect_error

POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                   "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
})  # fmt: skip


def test_list_names_the_default_policy_only_when_attached(sm, name):
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    empty = sm.list_resource_policies(SecretId=name)
    assert body_keys(empty) == {"ResourcePolicies"} and empty["ResourcePolicies"] == []
    sm.put_resource_policy(SecretId=name, ResourcePolicy=POLICY)
    listed = sm.list_resource_policies(SecretId=arn, MaxResults=1)
    assert body_keys(listed) == {"ResourcePolicies"}  # no NextToken: nothing more to list
    assert listed["ResourcePolicies"] == [{"PolicyName": "default"}]
    sm.delete_resource_policy(SecretId=name)
    assert sm.list_resource_policies(SecretId=name)["ResourcePolicies"] == []


def test_list_through_the_paginator(sm, name):
    sm.create_secret(Name=name, SecretString="v")
    sm.put_resource_policy(SecretId=name, ResourcePolicy=POLICY)
    pages = list(sm.get_paginator("list_resource_policies").paginate(SecretId=name, PaginationConfig={"PageSize": 1}))
    assert [p["ResourcePolicies"] for p in pages] == [[{"PolicyName": "default"}]]


def test_list_of_a_missing_secret(sm, name):
    with expect_error("ResourceNotFoundException", NOT_FOUND):
        sm.list_resource_policies(SecretId=name)


def test_list_works_on_a_secret_scheduled_for_deletion(sm, name):
    # a metadata read, like GetResourcePolicy and DescribeSecret
    sm.create_secret(Name=name, SecretString="v")
    sm.put_resource_policy(SecretId=name, ResourcePolicy=POLICY)
    sm.delete_secret(SecretId=name)
    assert sm.list_resource_policies(SecretId=name)["ResourcePolicies"] == [{"PolicyName": "default"}]


@pytest.mark.parametrize("token", ["not-a-token", "A" * 40])
def test_list_with_a_forged_next_token(sm, name, token):
    sm.create_secret(Name=name, SecretString="v")
    with expect_error("InvalidNextTokenException"):
        sm.list_resource_policies(SecretId=name, NextToken=token)


def test_responses_name_the_default_policy(sm, name):
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    put = sm.put_resource_policy(SecretId=name, ResourcePolicy=POLICY, PolicyName="default")
    assert {k: put[k] for k in body_keys(put)} == {"ARN": arn, "Name": name, "PolicyName": "default"}
    got = sm.get_resource_policy(SecretId=name)
    assert {k: got[k] for k in body_keys(got)} == {
        "ARN": arn, "Name": name, "ResourcePolicy": POLICY, "PolicyName": "default"
    }
    deleted = sm.delete_resource_policy(SecretId=name)
    assert {k: deleted[k] for k in body_keys(deleted)} == {"ARN": arn, "Name": name, "PolicyName": "default"}


def test_only_the_default_policy_exists(sm, name):
    sm.create_secret(Name=name, SecretString="v")
    sm.put_resource_policy(SecretId=name, ResourcePolicy=POLICY)
    with expect_error("InvalidParameterException") as err:
        sm.put_resource_policy(SecretId=name, ResourcePolicy=POLICY, PolicyName="other")
    assert "other" in err["Error"]["Message"]
    with expect_error("InvalidParameterException"):
        sm.delete_resource_policy(SecretId=name, PolicyName="other")
    with expect_error("ResourceNotFoundException"):
        sm.get_resource_policy(SecretId=name, PolicyName="other")
    assert sm.get_resource_policy(SecretId=name, PolicyName="default")["ResourcePolicy"] == POLICY
