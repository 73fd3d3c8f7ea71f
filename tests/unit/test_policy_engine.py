"""The policy engine: grammar, every condition operator, variables, and the evaluation matrix."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_docs import GET, allow, deny, pol

from strongroom.errors import MalformedPolicyDocumentException
from strongroom.iam.policy import (
    AuthzRequest,
    Principal,
    access_denied_message,
    evaluate,
    parse_policy,
)

A = "111111111111"  # owns the secret
B = "222222222222"  # another account
SECRET = f"arn:aws:secretsmanager:us-east-1:{A}:secret:prod/db-AbCdEf"

ALICE = Principal(f"arn:aws:iam::{A}:user/alice", A, False, "alice", "AIDAALICE0000000000")
CAROL = Principal(f"arn:aws:iam::{A}:user/team/carol", A, False, "carol", "AIDACAROL0000000000")
ROOT_A = Principal(f"arn:aws:iam::{A}:root", A, True, None, A)
ROLE_SESSION = Principal(f"arn:aws:sts::{A}:assumed-role/Deployer/ci-42", A, False, None, "AROADEPLOYER000000:ci-42")
BOB = Principal(f"arn:aws:iam::{B}:user/bob", B, False, "bob", "AIDABOB00000000000")
ROOT_B = Principal(f"arn:aws:iam::{B}:root", B, True, None, B)

MISSING = object()


def req(
    principal: Principal = ALICE,
    action: str = GET,
    resource: str = SECRET,
    context: dict[str, Any] | None = None,
    resource_account: str | None = None,
) -> AuthzRequest:
    return AuthzRequest(principal, action, resource, resource_account, context or {})


def allowed(identity: list[Any], resource_policy: Any = None, **kw: Any) -> bool:
    return evaluate(req(**kw), identity, resource_policy).allowed


# --- condition operators ------------------------------------------------------------------------
OPERATOR_CASES: list[tuple[str, Any, Any, bool]] = [
    # String
    ("StringEquals", "abc", "abc", True),
    ("StringEquals", "abc", "ABC", False),
    ("StringEquals", "abc", MISSING, False),
    ("StringEquals", ["a", "b"], "b", True),
    ("StringEquals", "a*", "abc", False),  # no wildcards in StringEquals
    ("StringEquals", "true", True, True),  # a boolean context value reads as "true"
    ("StringEquals", "5", 5, True),
    ("StringEquals", 5, "5", True),  # a JSON number in the policy reads as written
    ("StringNotEquals", "abc", "abc", False),
    ("StringNotEquals", "abc", "xyz", True),
    ("StringNotEquals", "abc", MISSING, True),
    ("StringNotEquals", ["a", "b"], "a", False),  # NOR over values
    ("StringNotEquals", ["a", "b"], "c", True),
    ("StringEqualsIgnoreCase", "AbC", "aBc", True),
    ("StringEqualsIgnoreCase", "AbC", "abd", False),
    ("StringEqualsIgnoreCase", "AbC", MISSING, False),
    ("StringNotEqualsIgnoreCase", "AbC", "abc", False),
    ("StringNotEqualsIgnoreCase", "AbC", "xyz", True),
    ("StringNotEqualsIgnoreCase", "AbC", MISSING, True),
    ("StringLike", "ab*", "abc", True),
    ("StringLike", "ab*", "ab", True),
    ("StringLike", "a?c", "abc", True),
    ("StringLike", "a?c", "abbc", False),
    ("StringLike", "ab*", "xab", False),
    ("StringLike", "AB*", "abc", False),  # case-sensitive
    ("StringLike", "a.c", "abc", False),  # regex metacharacters are literal
    ("StringLike", ["x*", "*z"], "abz", True),
    ("StringLike", "ab*", MISSING, False),
    ("StringNotLike", "ab*", "abc", False),
    ("StringNotLike", "ab*", "xyz", True),
    ("StringNotLike", "ab*", MISSING, True),
    ("StringNotLike", ["x*", "*z"], "abz", False),
    # Numeric
    ("NumericEquals", "10", 10, True),
    ("NumericEquals", "10", "10", True),
    ("NumericEquals", 10, "10", True),
    ("NumericEquals", "10", 11, False),
    ("NumericEquals", "1.5", 1.5, True),
    ("NumericEquals", "ten", 10, False),
    ("NumericEquals", "10", "ten", False),
    ("NumericEquals", "10", MISSING, False),
    ("NumericNotEquals", "10", 10, False),
    ("NumericNotEquals", "10", 11, True),
    ("NumericNotEquals", "10", MISSING, True),
    ("NumericLessThan", "10", 9, True),
    ("NumericLessThan", "10", 10, False),
    ("NumericLessThan", "10", MISSING, False),
    ("NumericLessThanEquals", "10", 10, True),
    ("NumericLessThanEquals", "10", 11, False),
    ("NumericGreaterThan", "10", 11, True),
    ("NumericGreaterThan", "10", 10, False),
    ("NumericGreaterThanEquals", "10", 10, True),
    ("NumericGreaterThanEquals", "10", 9, False),
    ("NumericGreaterThanEquals", "10", True, False),  # a boolean is not a number
    # Date
    ("DateEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", True),
    ("DateEquals", "2020-01-01T00:00:00Z", 1577836800, True),
    ("DateEquals", "2020-01-01T00:00:00Z", dt.datetime(2020, 1, 1, tzinfo=dt.UTC), True),
    ("DateEquals", "2020-01-01T00:00:00Z", "2020-01-01T01:00:00+01:00", True),
    ("DateEquals", "2020-01-01", "2020-01-01T00:00:00Z", True),
    ("DateEquals", "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", False),
    ("DateEquals", "2020-01-01T00:00:00Z", "yesterday", False),
    ("DateNotEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", False),
    ("DateNotEquals", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", True),
    ("DateNotEquals", "2020-01-01T00:00:00Z", MISSING, True),
    ("DateLessThan", "2020-01-01T00:00:00Z", "2019-12-31T23:59:59Z", True),
    ("DateLessThan", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", False),
    ("DateLessThan", "2020-01-01T00:00:00Z", MISSING, False),
    ("DateLessThanEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", True),
    ("DateLessThanEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", False),
    ("DateGreaterThan", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", True),
    ("DateGreaterThan", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", False),
    ("DateGreaterThan", "1577836800", "2020-06-01T00:00:00Z", True),  # epoch in the policy
    ("DateGreaterThanEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", True),
    ("DateGreaterThanEquals", "2020-01-01T00:00:00Z", "2019-01-01T00:00:00Z", False),
    # Bool
    ("Bool", "true", True, True),
    ("Bool", "true", "true", True),
    ("Bool", "true", "TRUE", True),
    ("Bool", "true", False, False),
    ("Bool", "false", False, True),
    ("Bool", True, True, True),  # JSON true in the policy
    ("Bool", "true", MISSING, False),
    # Binary
    ("BinaryEquals", "QmluYXJ5", b"Binary", True),
    ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
    ("BinaryEquals", "QmluYXJ5", b"other", False),
    ("BinaryEquals", "QmluYXJ5", MISSING, False),
    # IP addresses
    ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
    ("IpAddress", "203.0.113.0/24", "198.51.100.1", False),
    ("IpAddress", "203.0.113.7", "203.0.113.7", True),  # a bare address is a /32
    ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
    ("IpAddress", "2001:db8::/32", "2001:db9::1", False),
    ("IpAddress", "2001:db8::/32", "203.0.113.7", False),  # v4 caller, v6 range
    ("IpAddress", "203.0.113.0/24", "not-an-ip", False),
    ("IpAddress", ["10.0.0.0/8", "203.0.113.0/24"], "203.0.113.9", True),
    ("IpAddress", "203.0.113.0/24", MISSING, False),
    ("NotIpAddress", "203.0.113.0/24", "203.0.113.7", False),
    ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
    ("NotIpAddress", "203.0.113.0/24", MISSING, True),
    ("NotIpAddress", ["10.0.0.0/8", "192.168.0.0/16"], "192.168.1.1", False),
    ("NotIpAddress", "2001:db8::/32", "2001:db8::1", False),
    # ARNs: six components, each matched on its own
    ("ArnEquals", f"arn:aws:iam::{A}:user/alice", f"arn:aws:iam::{A}:user/alice", True),
    ("ArnEquals", f"arn:aws:iam::{A}:user/alice", f"arn:aws:iam::{A}:user/Alice", False),
    ("ArnEquals", f"arn:aws:iam::{A}:user/*", f"arn:aws:iam::{A}:user/alice", True),
    ("ArnLike", "arn:aws:iam::*:user/*", f"arn:aws:iam::{A}:user/alice", True),
    ("ArnLike", "arn:aws:iam::*:role/*", f"arn:aws:iam::{A}:user/alice", False),
    ("ArnLike", f"arn:aws:iam::{A}:*", f"arn:aws:iam::{A}:user/alice", True),
    ("ArnLike", "arn:aws:*", f"arn:aws:iam::{A}:user/alice", False),  # fewer than six components
    ("ArnLike", "arn:aws:logs:*:*:log-group:*", f"arn:aws:logs:us-east-1:{A}:log-group:g:log-stream:s", True),
    ("ArnLike", "arn:aws:iam::?11111111111:user/alice", f"arn:aws:iam::{A}:user/alice", True),
    ("ArnLike", "arn:aws:iam::*:user/*", "not-an-arn", False),
    ("ArnLike", "arn:aws:iam::*:user/*", MISSING, False),
    ("ArnNotEquals", f"arn:aws:iam::{A}:user/alice", f"arn:aws:iam::{A}:user/alice", False),
    ("ArnNotEquals", f"arn:aws:iam::{A}:user/alice", f"arn:aws:iam::{A}:user/bob", True),
    ("ArnNotEquals", f"arn:aws:iam::{A}:user/alice", MISSING, True),
    ("ArnNotLike", "arn:aws:iam::*:role/*", f"arn:aws:iam::{A}:user/alice", True),
    ("ArnNotLike", "arn:aws:iam::*:user/*", f"arn:aws:iam::{A}:user/alice", False),
    # Null
    ("Null", "true", MISSING, True),
    ("Null", "true", None, True),
    ("Null", "true", [], True),
    ("Null", "true", "x", False),
    ("Null", "false", "x", True),
    ("Null", "false", MISSING, False),
    ("Null", True, MISSING, True),
    # ...IfExists: absent key passes, present key is checked
    ("StringEqualsIfExists", "a", MISSING, True),
    ("StringEqualsIfExists", "a", "a", True),
    ("StringEqualsIfExists", "a", "b", False),
    ("StringNotEqualsIfExists", "a", MISSING, True),
    ("StringNotEqualsIfExists", "a", "a", False),
    ("StringLikeIfExists", "a*", MISSING, True),
    ("NumericLessThanIfExists", "5", MISSING, True),
    ("NumericLessThanIfExists", "5", 6, False),
    ("DateLessThanIfExists", "2020-01-01T00:00:00Z", MISSING, True),
    ("BoolIfExists", "true", MISSING, True),
    ("BoolIfExists", "true", False, False),
    ("IpAddressIfExists", "10.0.0.0/8", MISSING, True),
    ("IpAddressIfExists", "10.0.0.0/8", "11.0.0.1", False),
    ("ArnLikeIfExists", "arn:aws:iam::*:user/*", MISSING, True),
    ("BinaryEqualsIfExists", "QmluYXJ5", MISSING, True),
    # set operators over multivalued keys
    ("ForAllValues:StringEquals", ["a", "b"], ["a"], True),
    ("ForAllValues:StringEquals", ["a", "b"], ["a", "b"], True),
    ("ForAllValues:StringEquals", ["a", "b"], ["a", "c"], False),
    ("ForAllValues:StringEquals", ["a", "b"], [], True),  # empty set: vacuously true
    ("ForAllValues:StringEquals", ["a", "b"], MISSING, True),
    ("ForAllValues:StringLike", ["a*"], ["ab", "ac"], True),
    ("ForAllValues:StringNotEquals", ["a"], ["b", "c"], True),
    ("ForAllValues:StringNotEquals", ["a"], ["a", "b"], False),
    ("ForAllValues:StringNotEquals", ["a"], [], True),
    ("ForAllValues:StringEqualsIgnoreCase", ["A"], ["a", "A"], True),
    ("ForAnyValue:StringEquals", ["a", "b"], ["c", "a"], True),
    ("ForAnyValue:StringEquals", ["a", "b"], ["c"], False),
    ("ForAnyValue:StringEquals", ["a", "b"], [], False),  # empty set: false
    ("ForAnyValue:StringEquals", ["a", "b"], MISSING, False),
    ("ForAnyValue:StringEqualsIfExists", ["a"], MISSING, True),
    ("ForAnyValue:StringNotEquals", ["a"], ["a", "b"], True),
    ("ForAnyValue:StringNotEquals", ["a"], ["a"], False),
    ("ForAnyValue:StringNotEquals", ["a"], MISSING, False),
    ("ForAnyValue:StringLike", ["x*"], ["ax", "xa"], True),
    ("foranyvalue:stringequals", ["a"], ["a"], True),  # operator names are read case-insensitively
    # a single-valued operator on a multivalued key: any value matching
    ("StringEquals", "a", ["b", "a"], True),
    ("StringEquals", "a", ["b", "c"], False),
    ("StringNotEquals", "a", ["b", "a"], False),
    ("StringEquals", "a", [], False),
    ("StringNotEquals", "a", [], True),
]


@pytest.mark.parametrize(("operator", "values", "context", "expected"), OPERATOR_CASES)
def test_condition_operator(operator: str, values: Any, context: Any, expected: bool) -> None:
    policy = pol(allow(Condition={operator: {"ex:Key": values}}))
    ctx = {} if context is MISSING else {"ex:Key": context}
    assert allowed([policy], context=ctx) is expected
    # the context key's name is case-insensitive
    if ctx:
        assert allowed([policy], context={"EX:KEY": context}) is expected


def test_keys_and_operators_are_anded_values_ored() -> None:
    policy = pol(
        allow(
            Condition={
                "StringEquals": {"ex:a": ["1", "2"], "ex:b": "x"},
                "Bool": {"aws:SecureTransport": "true"},
            }
        )
    )
    good = {"ex:a": "2", "ex:b": "x", "aws:SecureTransport": True}
    assert allowed([policy], context=good)
    assert not allowed([policy], context={**good, "ex:b": "y"})
    assert not allowed([policy], context={**good, "aws:SecureTransport": False})
    assert not allowed([policy], context={"ex:a": "2", "ex:b": "x"})


def test_deny_with_negated_condition_applies_when_key_missing() -> None:
    """The classic "deny unless from our network": a caller without aws:SourceIp is denied."""
    identity = [pol(allow(), deny(Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))]
    assert not allowed(identity)
    assert allowed(identity, context={"aws:SourceIp": "10.1.2.3"})
    assert not allowed(identity, context={"aws:SourceIp": "192.0.2.1"})


def test_principal_derived_context_keys() -> None:
    policy = pol(
        allow(
            Condition={
                "StringEquals": {"aws:PrincipalAccount": A, "aws:username": "alice", "aws:PrincipalType": "User"},
                "ArnEquals": {"aws:PrincipalArn": ALICE.arn},
                "StringLike": {"aws:userid": "AIDA*"},
            }
        )
    )
    assert allowed([policy])
    assert not allowed([policy], principal=CAROL)
    # an explicit context value wins over the derived one
    assert not allowed([policy], context={"aws:username": "mallory"})


# --- actions, resources, wildcards and case ------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        (GET, GET, True),
        ("SecretsManager:getsecretvalue", GET, True),  # actions are case-insensitive
        ("secretsmanager:Get*", GET, True),
        ("secretsmanager:Get*", "secretsmanager:DescribeSecret", False),
        ("secretsmanager:?etSecretValue", GET, True),
        ("secretsmanager:*", GET, True),
        ("*", GET, True),
        ("secretsmanager:*Secret*", "secretsmanager:ListSecretVersionIds", True),
        ("s3:GetObject", GET, False),
        (["s3:*", "secretsmanager:Describe*"], "secretsmanager:DescribeSecret", True),
        ("secretsmanager:GetSecretValu", GET, False),
    ],
)
def test_action_matching(pattern: Any, action: str, expected: bool) -> None:
    assert allowed([pol(allow(action=pattern, resource="*"))], action=action) is expected


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("*", SECRET, True),
        (SECRET, SECRET, True),
        (f"arn:aws:secretsmanager:us-east-1:{A}:secret:prod/*", SECRET, True),
        (f"arn:aws:secretsmanager:us-east-1:{A}:secret:Prod/*", SECRET, False),  # case-sensitive
        (f"arn:aws:secretsmanager:*:{A}:secret:prod/db-??????", SECRET, True),
        (f"arn:aws:secretsmanager:*:{A}:secret:prod/db-?????", SECRET, False),
        (f"arn:aws:secretsmanager:us-east-1:{B}:secret:*", SECRET, False),
        ("arn:aws:secretsmanager:*", SECRET, True),  # '*' spans colons in Resource
        (f"arn:aws:secretsmanager:us-east-1:{A}:secret:prod.db-AbCdEf", SECRET.replace("/", "X"), False),
        ([f"arn:aws:secretsmanager:us-east-1:{A}:secret:dev/*", SECRET], SECRET, True),
    ],
)
def test_resource_matching(pattern: Any, resource: str, expected: bool) -> None:
    assert allowed([pol(allow(resource=pattern))], resource=resource) is expected


def test_not_action() -> None:
    identity = [pol({"Effect": "Allow", "NotAction": "secretsmanager:Delete*", "Resource": "*"})]
    assert allowed(identity)
    assert not allowed(identity, action="secretsmanager:DeleteSecret")
    # Deny NotAction: everything but reads is denied
    identity = [
        pol(
            allow("*"),
            {"Effect": "Deny", "NotAction": ["secretsmanager:Get*", "secretsmanager:Describe*"], "Resource": "*"},
        )
    ]
    assert allowed(identity)
    decision = evaluate(req(action="secretsmanager:DeleteSecret"), identity, None)
    assert not decision.allowed and "explicit deny in an identity-based policy" in decision.reason


def test_not_resource() -> None:
    prod = f"arn:aws:secretsmanager:us-east-1:{A}:secret:prod/*"
    dev_secret = f"arn:aws:secretsmanager:us-east-1:{A}:secret:dev/app-123456"
    identity = [pol({"Effect": "Allow", "Action": "*", "NotResource": prod})]
    assert allowed(identity, resource=dev_secret)
    assert not allowed(identity)
    identity = [pol(allow("*"), {"Effect": "Deny", "Action": "*", "NotResource": prod})]
    assert allowed(identity)
    assert not allowed(identity, resource=dev_secret)


# --- policy variables ---------------------------------------------------------------------------
def own_secret(name: str) -> str:
    return f"arn:aws:secretsmanager:us-east-1:{A}:secret:{name}"


def test_variable_in_resource() -> None:
    identity = [pol(allow(resource=own_secret("home/${aws:username}/*")))]
    assert allowed(identity, resource=own_secret("home/alice/key-AbCdEf"))
    assert not allowed(identity, resource=own_secret("home/carol/key-AbCdEf"))
    # a role session has no aws:username: the statement can't match anything
    assert not allowed(identity, principal=ROLE_SESSION, resource=own_secret("home/alice/key-AbCdEf"))
    assert not allowed(identity, principal=ROLE_SESSION, resource=own_secret("home//key-AbCdEf"))


def test_variable_default_value() -> None:
    identity = [pol(allow(resource=own_secret("home/${aws:username, 'shared'}/*")))]
    assert allowed(identity, principal=ROLE_SESSION, resource=own_secret("home/shared/x"))
    assert allowed(identity, resource=own_secret("home/alice/x"))
    assert not allowed(identity, resource=own_secret("home/shared/x"))
    quoted = [pol(allow(resource=own_secret("${ex:missing, 'it''s'}")))]
    assert allowed(quoted, resource=own_secret("it's"))


def test_variable_escapes_are_literal() -> None:
    identity = [pol(allow(resource=own_secret("star${*}q${?}d${$}")))]
    assert allowed(identity, resource=own_secret("star*q?d$"))
    assert not allowed(identity, resource=own_secret("starXqYd$"))
    cond = [pol(allow(Condition={"StringLike": {"ex:k": "a${*}*"}}))]
    assert allowed(cond, context={"ex:k": "a*bc"})
    assert not allowed(cond, context={"ex:k": "abc"})


def test_substituted_values_are_not_wildcards() -> None:
    identity = [pol(allow(resource=own_secret("${aws:PrincipalTag/team}-*")))]
    assert allowed(identity, resource=own_secret("blue-1"), context={"aws:PrincipalTag/team": "blue"})
    assert not allowed(identity, resource=own_secret("red-1"), context={"aws:PrincipalTag/team": "*"})
    assert allowed(identity, resource=own_secret("*-1"), context={"aws:PrincipalTag/team": "*"})


def test_variables_need_version_2012() -> None:
    for version in ("2008-10-17", None):
        identity = [pol(allow(resource=own_secret("home/${aws:username}")), version=version)]
        assert not allowed(identity, resource=own_secret("home/alice"))
        assert allowed(identity, resource=own_secret("home/${aws:username}"))


def test_variables_in_string_and_arn_conditions() -> None:
    identity = [
        pol(
            allow(
                Condition={
                    "StringEquals": {"secretsmanager:ResourceTag/owner": "${aws:username}"},
                    "StringLike": {"ex:path": "/home/${aws:userid}/*"},
                    "ArnEquals": {"ex:source": "${aws:PrincipalArn}"},
                }
            )
        )
    ]
    good = {
        "secretsmanager:ResourceTag/owner": "alice",
        "ex:path": f"/home/{ALICE.userid}/x",
        "ex:source": ALICE.arn,
    }
    assert allowed(identity, context=good)
    assert not allowed(identity, context={**good, "secretsmanager:ResourceTag/owner": "bob"})
    assert not allowed(identity, context={**good, "ex:source": BOB.arn})
    assert not allowed(identity, principal=CAROL, context=good)


def test_unresolvable_variable_invalidates_the_condition() -> None:
    # even a negated operator does not match when its variable can't be resolved
    identity = [pol(allow(Condition={"StringNotEquals": {"ex:k": "${aws:PrincipalTag/none}"}}))]
    assert not allowed(identity, context={"ex:k": "anything"})
    # a multivalued key can't be substituted
    identity = [pol(allow(Condition={"StringEquals": {"ex:k": "${aws:TagKeys}"}}))]
    assert not allowed(identity, context={"ex:k": "a", "aws:TagKeys": ["a"]})


def test_variables_are_not_substituted_for_other_operators() -> None:
    identity = [pol(allow(Condition={"NumericEquals": {"ex:n": "${ex:m}"}}))]
    assert not allowed(identity, context={"ex:n": 1, "ex:m": 1})


# --- the evaluation matrix ----------------------------------------------------------------------
ID_ALLOW = pol(allow())
ID_DENY = pol(deny())


def rp(effect: str, principal: Any, **extra: Any) -> Any:
    return pol({"Effect": effect, "Principal": principal, "Action": GET, "Resource": "*", **extra})


RP_ALICE = rp("Allow", {"AWS": ALICE.arn})
RP_ACCOUNT_A = rp("Allow", {"AWS": A})
RP_ROOT_A = rp("Allow", {"AWS": f"arn:aws:iam::{A}:root"})
RP_ACCOUNT_B = rp("Allow", {"AWS": f"arn:aws:iam::{B}:root"})
RP_BOB = rp("Allow", {"AWS": BOB.arn})
RP_STAR = rp("Allow", "*")
RP_AWS_STAR = rp("Allow", {"AWS": "*"})
RP_DENY_STAR = rp("Deny", "*")
RP_DENY_ALICE = rp("Deny", {"AWS": ALICE.arn})
RP_DENY_ACCOUNT_A = rp("Deny", {"AWS": A})
RP_ROLE = rp("Allow", {"AWS": f"arn:aws:iam::{A}:role/deploy/Deployer"})
RP_B_BUT_NOT_BOB = pol(
    {"Effect": "Allow", "Principal": {"AWS": B}, "Action": GET, "Resource": "*"},
    {"Effect": "Deny", "Principal": {"AWS": BOB.arn}, "Action": GET, "Resource": "*"},
)
RP_DENY_ALL_BUT_ALICE = pol({"Effect": "Deny", "NotPrincipal": {"AWS": [ALICE.arn, A]}, "Action": GET, "Resource": "*"})
RP_DENY_NOT_ALICE = pol({"Effect": "Deny", "NotPrincipal": {"AWS": ALICE.arn}, "Action": GET, "Resource": "*"})
RP_ALLOW_NOT_ALICE = pol({"Effect": "Allow", "NotPrincipal": {"AWS": ALICE.arn}, "Action": GET, "Resource": "*"})

MATRIX: list[tuple[str, Principal, list[Any], Any, bool, str]] = [
    # same account
    ("identity allows", ALICE, [ID_ALLOW], None, True, "allow:identity-based-policy"),
    ("nothing allows", ALICE, [], None, False, "deny:implicit:identity-based-policy"),
    ("resource policy names the user", ALICE, [], RP_ALICE, True, "allow:resource-based-policy"),
    (
        "resource policy names the account: delegation only",
        ALICE,
        [],
        RP_ACCOUNT_A,
        False,
        "deny:implicit:identity-based-policy",
    ),
    ("root ARN principal: delegation only", ALICE, [], RP_ROOT_A, False, "deny:implicit:identity-based-policy"),
    ("identity allows, account principal", ALICE, [ID_ALLOW], RP_ACCOUNT_A, True, "allow:identity-based-policy"),
    ("resource policy allows *", ALICE, [], RP_STAR, True, "allow:resource-based-policy"),
    ("resource policy allows AWS *", ALICE, [], RP_AWS_STAR, True, "allow:resource-based-policy"),
    (
        "resource deny beats identity allow",
        ALICE,
        [ID_ALLOW],
        RP_DENY_STAR,
        False,
        "deny:explicit:resource-based-policy",
    ),
    (
        "identity deny beats resource allow",
        ALICE,
        [ID_ALLOW, ID_DENY],
        RP_ALICE,
        False,
        "deny:explicit:identity-based-policy",
    ),
    ("identity deny alone", ALICE, [ID_DENY], None, False, "deny:explicit:identity-based-policy"),
    (
        "deny naming the account hits its users",
        ALICE,
        [ID_ALLOW],
        RP_DENY_ACCOUNT_A,
        False,
        "deny:explicit:resource-based-policy",
    ),
    ("deny naming alice spares carol", CAROL, [ID_ALLOW], RP_DENY_ALICE, True, "allow:identity-based-policy"),
    ("role ARN matches its session", ROLE_SESSION, [], RP_ROLE, True, "allow:resource-based-policy"),
    ("role session, no policy", ROLE_SESSION, [], RP_ALICE, False, "deny:implicit:identity-based-policy"),
    # root
    ("root needs no policy", ROOT_A, [], None, True, "allow:root"),
    ("root is hit by a resource deny on *", ROOT_A, [], RP_DENY_STAR, False, "deny:explicit:resource-based-policy"),
    (
        "root is hit by a deny naming its account",
        ROOT_A,
        [],
        RP_DENY_ACCOUNT_A,
        False,
        "deny:explicit:resource-based-policy",
    ),
    ("root spared by a deny naming alice", ROOT_A, [], RP_DENY_ALICE, True, "allow:root"),
    ("root spared by NotPrincipal naming its account", ROOT_A, [], RP_DENY_ALL_BUT_ALICE, True, "allow:root"),
    # NotPrincipal
    ("NotPrincipal deny spares alice", ALICE, [ID_ALLOW], RP_DENY_ALL_BUT_ALICE, True, "allow:identity-based-policy"),
    (
        "NotPrincipal deny hits carol",
        CAROL,
        [ID_ALLOW],
        RP_DENY_NOT_ALICE,
        False,
        "deny:explicit:resource-based-policy",
    ),
    ("NotPrincipal allow grants carol", CAROL, [], RP_ALLOW_NOT_ALICE, True, "allow:resource-based-policy"),
    ("NotPrincipal allow excludes alice", ALICE, [], RP_ALLOW_NOT_ALICE, False, "deny:implicit:identity-based-policy"),
    # cross-account
    ("cross: identity only", BOB, [ID_ALLOW], None, False, "deny:implicit:resource-based-policy"),
    (
        "cross: both via account principal",
        BOB,
        [ID_ALLOW],
        RP_ACCOUNT_B,
        True,
        "allow:identity-and-resource-based-policy",
    ),
    ("cross: resource only", BOB, [], RP_ACCOUNT_B, False, "deny:implicit:identity-based-policy"),
    ("cross: both via user principal", BOB, [ID_ALLOW], RP_BOB, True, "allow:identity-and-resource-based-policy"),
    ("cross: * still needs identity", BOB, [], RP_STAR, False, "deny:implicit:identity-based-policy"),
    ("cross: * and identity", BOB, [ID_ALLOW], RP_STAR, True, "allow:identity-and-resource-based-policy"),
    ("cross: wrong account named", BOB, [ID_ALLOW], RP_ACCOUNT_A, False, "deny:implicit:resource-based-policy"),
    (
        "cross: account allowed but bob denied",
        BOB,
        [ID_ALLOW],
        RP_B_BUT_NOT_BOB,
        False,
        "deny:explicit:resource-based-policy",
    ),
    ("cross: identity deny", BOB, [ID_DENY], RP_ACCOUNT_B, False, "deny:explicit:identity-based-policy"),
    ("cross: foreign root via account", ROOT_B, [], RP_ACCOUNT_B, True, "allow:identity-and-resource-based-policy"),
    ("cross: foreign root without grant", ROOT_B, [], None, False, "deny:implicit:resource-based-policy"),
    ("cross: foreign root, grant to A", ROOT_B, [], RP_ROOT_A, False, "deny:implicit:resource-based-policy"),
]


@pytest.mark.parametrize(
    ("principal", "identity", "resource_policy", "expected", "basis"),
    [case[1:] for case in MATRIX],
    ids=[case[0] for case in MATRIX],
)
def test_evaluation_matrix(
    principal: Principal, identity: list[Any], resource_policy: Any, expected: bool, basis: str
) -> None:
    decision = evaluate(req(principal), identity, resource_policy)
    assert (decision.allowed, decision.basis) == (expected, basis)


def test_resource_account_overrides_the_arn() -> None:
    assert not allowed([ID_ALLOW], resource_account=B)
    assert allowed([ID_ALLOW], resource_account=A)


def test_actions_without_a_resource_use_identity_policies() -> None:
    identity = [pol(allow("secretsmanager:ListSecrets"))]
    assert allowed(identity, action="secretsmanager:ListSecrets", resource="*")
    assert not allowed([], action="secretsmanager:ListSecrets", resource="*")
    assert allowed([], principal=ROOT_A, action="secretsmanager:ListSecrets", resource="*")


def test_resource_policy_without_principal_never_applies() -> None:
    loose = pol(allow())  # parsed without kind=..., no Principal
    assert not allowed([], loose)


def test_resource_policy_conditions() -> None:
    policy = pol(
        {
            "Effect": "Allow",
            "Principal": {"AWS": B},
            "Action": GET,
            "Resource": "*",
            "Condition": {"StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}},
        }
    )
    assert allowed([ID_ALLOW], policy, principal=BOB, context={"secretsmanager:VersionStage": "AWSCURRENT"})
    assert not allowed([ID_ALLOW], policy, principal=BOB, context={"secretsmanager:VersionStage": "AWSPREVIOUS"})


# --- AccessDeniedException messages ---------------------------------------------------------------
def test_access_denied_messages() -> None:
    head = f"User: {ALICE.arn} is not authorized to perform: {GET} on resource: {SECRET}"
    r = req()
    assert access_denied_message(r, evaluate(r, [], None)) == (
        f"{head} because no identity-based policy allows the {GET} action"
    )
    assert access_denied_message(r, evaluate(r, [ID_DENY], None)) == (
        f"{head} with an explicit deny in an identity-based policy"
    )
    # Named as the caller gave it (a SecretId), while the decision was made on the real ARN.
    assert access_denied_message(r, evaluate(r, [], None), "team-b/s1") == (
        f"User: {ALICE.arn} is not authorized to perform: {GET} on resource: team-b/s1 "
        f"because no identity-based policy allows the {GET} action"
    )
    assert access_denied_message(r, evaluate(r, [ID_ALLOW], RP_DENY_STAR)) == (
        f"{head} with an explicit deny in a resource-based policy"
    )
    rb = req(BOB)
    assert access_denied_message(rb, evaluate(rb, [ID_ALLOW], None)) == (
        f"User: {BOB.arn} is not authorized to perform: {GET} on resource: {SECRET} "
        f"because no resource-based policy allows the {GET} action"
    )


def test_access_denied_message_needs_a_denial() -> None:
    r = req()
    with pytest.raises(ValueError):
        access_denied_message(r, evaluate(r, [ID_ALLOW], None))


def test_decision_names_the_deciding_statement() -> None:
    identity = [pol(allow(Sid="Reads"), deny(action="secretsmanager:Delete*", Sid="NoDelete"))]
    assert evaluate(req(), identity, None).statement == 'Statement 0 (Sid "Reads")'
    denied = evaluate(req(action="secretsmanager:DeleteSecret"), identity, None)
    assert denied.statement == 'Statement 1 (Sid "NoDelete")'


# --- grammar ------------------------------------------------------------------------------------
STATEMENT = {"Effect": "Allow", "Action": GET, "Resource": "*"}


def with_statement(**changes: Any) -> str:
    statement = {**STATEMENT, **changes}
    return json.dumps({"Version": "2012-10-17", "Statement": [{k: v for k, v in statement.items() if v is not ...}]})


MALFORMED: list[tuple[str, str, str]] = [
    ("not json", "{", "not valid JSON"),
    ("trailing garbage", '{"Statement": []} x', "not valid JSON"),
    (
        "NaN",
        '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": NaN}}',
        "not valid JSON",
    ),
    (
        "duplicate key",
        '{"Statement": {"Effect": "Allow", "Effect": "Deny", "Action": "*", "Resource": "*"}}',
        'Duplicate key "Effect"',
    ),
    ("array document", "[]", "must be a JSON object"),
    ("string document", '"x"', "must be a JSON object"),
    ("missing statement", '{"Version": "2012-10-17"}', "Missing required field Statement"),
    ("empty statement list", '{"Version": "2012-10-17", "Statement": []}', "non-empty list"),
    ("statement is a string", '{"Statement": "x"}', "non-empty list"),
    ("statement item not object", '{"Statement": ["x"]}', "must be a JSON object"),
    (
        "unknown top-level key",
        json.dumps({"Version": "2012-10-17", "Statement": STATEMENT, "Foo": 1}),
        'unknown element "Foo"',
    ),
    ("lower-case element", json.dumps({"version": "2012-10-17", "Statement": STATEMENT}), 'unknown element "version"'),
    ("bad version", json.dumps({"Version": "2012-10-18", "Statement": STATEMENT}), "Version"),
    ("numeric version", json.dumps({"Version": 2012, "Statement": STATEMENT}), "Version"),
    ("id not string", json.dumps({"Id": 1, "Statement": STATEMENT}), "Id must be a string"),
    ("missing Effect", with_statement(Effect=...), "Missing required field Effect"),
    ("lower-case Effect", with_statement(Effect="allow"), "Effect must be"),
    ("Effect not string", with_statement(Effect=True), "Effect must be"),
    ("missing Action", with_statement(Action=...), "Missing required field Action"),
    ("missing Resource", with_statement(Resource=...), "Missing required field Resource"),
    ("Action and NotAction", with_statement(NotAction="*"), "both Action and NotAction"),
    ("Resource and NotResource", with_statement(NotResource="*"), "both Resource and NotResource"),
    ("Principal and NotPrincipal", with_statement(Principal="*", NotPrincipal="*"), "both Principal and NotPrincipal"),
    ("unknown statement element", with_statement(Actions="*"), 'unknown element "Actions"'),
    ("action without vendor", with_statement(Action="GetSecretValue"), "prefaced by a vendor"),
    ("empty action list", with_statement(Action=[]), "at least one action"),
    ("empty action name", with_statement(Action="secretsmanager:"), "prefaced by a vendor"),
    ("action not string", with_statement(Action=[1]), "string or a list of strings"),
    ("resource not ARN", with_statement(Resource="my-secret"), 'must be in ARN format or "*"'),
    ("empty resource list", with_statement(Resource=[]), "at least one resource"),
    ("sid not string", with_statement(Sid=1), "Sid must be a string"),
    (
        "unknown operator",
        with_statement(Condition={"StringEqualz": {"aws:username": "a"}}),
        'Invalid Condition type "StringEqualz"',
    ),
    (
        "unknown qualifier",
        with_statement(Condition={"ForSomeValues:StringEquals": {"aws:username": "a"}}),
        "Invalid Condition type",
    ),
    ("NullIfExists", with_statement(Condition={"NullIfExists": {"aws:username": "true"}}), "Invalid Condition type"),
    ("condition not object", with_statement(Condition=["x"]), "Condition must be an object"),
    ("operator block not object", with_statement(Condition={"StringEquals": "x"}), "must be an object of key"),
    ("key without vendor", with_statement(Condition={"StringEquals": {"username": "a"}}), "prefaced by a vendor"),
    (
        "value is object",
        with_statement(Condition={"StringEquals": {"aws:username": {"a": 1}}}),
        "values must be strings",
    ),
    ("value is null", with_statement(Condition={"StringEquals": {"aws:username": None}}), "values must be strings"),
    ("principal string ARN", with_statement(Principal=ALICE.arn), 'must be "*" or an object'),
    ("principal empty object", with_statement(Principal={}), 'must be "*" or an object'),
    ("principal wildcard account", with_statement(Principal={"AWS": "arn:aws:iam::*:root"}), "unsupported principal"),
    ("principal short account", with_statement(Principal={"AWS": "12345"}), "unsupported principal"),
    ("principal non-ASCII digits", with_statement(Principal={"AWS": "\u0661" * 12}), "unsupported principal"),
    ("principal group", with_statement(Principal={"AWS": f"arn:aws:iam::{A}:group/devs"}), "unsupported principal"),
    (
        "canonical user",
        with_statement(Principal={"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}),
        "unsupported principal",
    ),
    ("bad service principal", with_statement(Principal={"Service": "invalidservice"}), "invalid service principal"),
    ("empty principal list", with_statement(Principal={"AWS": []}), "is empty"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_documents(text: str, message: str) -> None:
    with pytest.raises(MalformedPolicyDocumentException) as info:
        parse_policy(text)
    assert message in info.value.message
    assert info.value.message.startswith("This resource policy contains")
    assert info.value.code == "MalformedPolicyDocumentException"


def test_duplicate_sids_and_deep_nesting() -> None:
    text = json.dumps({"Version": "2012-10-17", "Statement": [{**STATEMENT, "Sid": "s"}, {**STATEMENT, "Sid": "s"}]})
    with pytest.raises(MalformedPolicyDocumentException, match="must be unique"):
        parse_policy(text)
    with pytest.raises(MalformedPolicyDocumentException):
        parse_policy("[" * 100_000 + "]" * 100_000)
    with pytest.raises(MalformedPolicyDocumentException):
        parse_policy(None)  # type: ignore[arg-type]


def test_kind_checks_principal_presence() -> None:
    plain = with_statement()
    parse_policy(plain, kind="identity")
    with pytest.raises(MalformedPolicyDocumentException, match="Missing required field Principal"):
        parse_policy(plain, kind="resource")
    with pytest.raises(MalformedPolicyDocumentException, match="Has prohibited field Principal"):
        parse_policy(with_statement(Principal="*"), kind="identity")


def test_valid_documents() -> None:
    single = parse_policy(json.dumps({"Version": "2008-10-17", "Id": "p1", "Statement": STATEMENT}))
    assert single.version == "2008-10-17" and single.id == "p1" and len(single.statements) == 1
    principals = {
        "AWS": [
            A,
            f"arn:aws:iam::{B}:root",
            ALICE.arn,
            f"arn:aws:iam::{A}:role/path/Deployer",
            f"arn:aws:sts::{A}:assumed-role/Deployer/s1",
            "AIDAABCDEFGHIJKLMNOP",
        ],
        "Service": "secretsmanager.amazonaws.com",
        "Federated": "cognito-identity.amazonaws.com",
    }
    policy = parse_policy(with_statement(Principal=principals, Sid="Share"), kind="resource")
    statement = policy.statements[0]
    assert statement.sid == "Share" and statement.principal is not None
    assert statement.principal.accounts == frozenset({A, B})
    no_version = parse_policy(json.dumps({"Statement": STATEMENT}))
    assert no_version.version is None


# --- property tests -----------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)
element_names = st.sampled_from(
    [
        "Version",
        "Statement",
        "Id",
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "AWS",
        "Service",
        "StringLike",
        "ForAnyValue:StringEquals",
        "NumericLessThanIfExists",
        "Null",
        "IpAddress",
        "ArnLike",
        "aws:SourceIp",
        "ex:k",
    ]
)
scalars = st.sampled_from(
    [
        "2012-10-17",
        "Allow",
        "Deny",
        "*",
        GET,
        "secretsmanager:*",
        SECRET,
        "arn:aws:iam::111111111111:root",
        A,
        "${aws:username}",
        "${*}",
        "10.0.0.0/8",
        "true",
        "2020-01-01T00:00:00Z",
        "5",
        "",
    ]
)
policy_like = st.recursive(
    scalars | st.booleans() | st.integers(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(element_names, children, max_size=5),
    max_leaves=40,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_parse_arbitrary_json_raises_only_malformed(value: Any) -> None:
    try:
        parse_policy(json.dumps(value))
    except MalformedPolicyDocumentException:
        pass


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_parse_arbitrary_text_raises_only_malformed(text: str) -> None:
    try:
        parse_policy(text)
    except MalformedPolicyDocumentException:
        pass


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy_like,
    st.dictionaries(st.sampled_from(["aws:SourceIp", "ex:k", "aws:username"]), scalars | st.lists(scalars, max_size=2)),
)
def test_policy_shaped_documents_parse_or_fail_cleanly_and_evaluate(value: Any, context: dict[str, Any]) -> None:
    try:
        policy = parse_policy(json.dumps(value))
    except MalformedPolicyDocumentException:
        return
    for principal in (ALICE, BOB, ROOT_A):
        decision = evaluate(req(principal, context=context), [policy], policy)
        assert isinstance(decision.allowed, bool)
