"""Secrets Manager resource-policy checks: broad access, lint, lock-out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from strongroom.iam.policy import (
    Principal,
    find_broad_access,
    find_foreign_account_grants,
    lint,
    locked_out_actions,
    parse_policy,
    would_lock_out,
)
from strongroom.secrets.iam_vocabulary import VOCABULARY

A = "111111111111"
B = "222222222222"
ALICE = Principal(f"arn:aws:iam::{A}:user/alice", A, False, "alice", "AIDAALICE0000000000")
CAROL = Principal(f"arn:aws:iam::{A}:user/carol", A, False, "carol", "AIDACAROL0000000000")
MANAGE = ["secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"]


def statement(effect: str = "Allow", principal: Any = "*", condition: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Effect": effect,
        "Principal": principal,
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        **extra,
    }
    if condition is not None:
        body["Condition"] = condition
    return body


def text(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def policy(*statements: dict[str, Any]) -> Any:
    return parse_policy(text(*statements), kind="resource")


BROAD_CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("star", statement(), True),
    ("AWS star", statement(principal={"AWS": "*"}), True),
    ("star in a list", statement(principal={"AWS": [ALICE.arn, "*"]}), True),
    (
        "NotPrincipal allow",
        {"Effect": "Allow", "NotPrincipal": {"AWS": ALICE.arn}, "Action": "*", "Resource": "*"},
        True,
    ),
    ("deny star", statement("Deny"), False),
    ("fixed user", statement(principal={"AWS": ALICE.arn}), False),
    ("fixed foreign account", statement(principal={"AWS": B}), False),
    ("service principal", statement(principal={"Service": "lambda.amazonaws.com"}), False),
    ("SourceAccount", statement(condition={"StringEquals": {"aws:SourceAccount": A}}), False),
    (
        "SourceArn",
        statement(condition={"ArnEquals": {"aws:SourceArn": f"arn:aws:lambda:us-east-1:{A}:function:f"}}),
        False,
    ),
    ("SourceVpc", statement(condition={"StringEquals": {"aws:SourceVpc": "vpc-1234"}}), False),
    ("SourceVpce", statement(condition={"StringEquals": {"aws:SourceVpce": "vpce-1234"}}), False),
    ("PrincipalOrgID", statement(condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}), False),
    ("PrincipalAccount", statement(condition={"StringEquals": {"aws:PrincipalAccount": A}}), False),
    ("case-insensitive key", statement(condition={"StringEquals": {"AWS:SOURCEACCOUNT": A}}), False),
    ("SourceIp CIDR", statement(condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), False),
    ("SourceIp everything", statement(condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), True),
    (
        "SourceIp one of them everything",
        statement(condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "::/0"]}}),
        True,
    ),
    ("NotIpAddress", statement(condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), True),
    ("wildcard account", statement(condition={"StringLike": {"aws:SourceAccount": "*"}}), True),
    ("partial wildcard", statement(condition={"StringLike": {"aws:PrincipalOrgID": "o-*"}}), True),
    ("IfExists", statement(condition={"StringEqualsIfExists": {"aws:SourceAccount": A}}), True),
    ("negated", statement(condition={"StringNotEquals": {"aws:SourceAccount": A}}), True),
    ("ForAllValues", statement(condition={"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}), True),
    ("ForAnyValue", statement(condition={"ForAnyValue:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}), False),
    ("variable", statement(condition={"StringEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}}), True),
    ("unrelated key", statement(condition={"StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}}), True),
    ("empty value list", statement(condition={"StringEquals": {"aws:SourceAccount": []}}), True),
]


@pytest.mark.parametrize(("body", "broad"), [c[1:] for c in BROAD_CASES], ids=[c[0] for c in BROAD_CASES])
def test_find_broad_access(body: dict[str, Any], broad: bool) -> None:
    findings = find_broad_access(policy(body))
    assert bool(findings) is broad
    if broad:
        assert findings[0].startswith("Statement 0 allows")


def test_foreign_account_grants_are_reported_separately() -> None:
    p = policy(statement(principal={"AWS": [f"arn:aws:iam::{B}:root", A, ALICE.arn]}, Sid="Share"))
    assert find_broad_access(p) == []
    assert find_foreign_account_grants(p, A) == [
        f'Statement 0 (Sid "Share") allows every principal of account(s) {B} without a narrowing condition.'
    ]
    narrowed = policy(statement(principal={"AWS": B}, condition={"StringEquals": {"aws:PrincipalArn": ALICE.arn}}))
    assert find_foreign_account_grants(narrowed, A) == []
    assert find_foreign_account_grants(policy(statement(principal={"AWS": A})), A) == []


def test_lint_clean_policy() -> None:
    good = text(
        statement(
            principal={"AWS": f"arn:aws:iam::{B}:root"},
            Action=["secretsmanager:GetSecretValue", "secretsmanager:Describe*", "secretsmanager:*"],
            condition={
                "StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT", "secretsmanager:ResourceTag/env": "prod"},
                "StringLike": {"aws:PrincipalTag/team": "blue*"},
                "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
                "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
                "Bool": {"aws:SecureTransport": "true"},
            },
        )
    )
    assert lint(good, VOCABULARY) == []


def test_lint_syntax_stops_there() -> None:
    findings = lint("{", VOCABULARY)
    assert len(findings) == 1 and findings[0][0] == "SYNTAX"
    assert findings[0][1].startswith("This resource policy contains a syntax error.")
    missing_principal = json.dumps({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})
    assert lint(missing_principal, VOCABULARY)[0][0] == "SYNTAX"


@pytest.mark.parametrize(
    ("changes", "check", "fragment"),
    [
        ({"principal": "*"}, "BROAD_ACCESS", 'allows principal "*"'),
        ({"Action": "secretsmanager:GetSecretValues"}, "UNKNOWN_ACTION", '"secretsmanager:GetSecretValues" matches no'),
        ({"Action": "secretsmanager:Frob*"}, "UNKNOWN_ACTION", "Frob*"),
        ({"Action": "SecretsManager:getsecretvalue"}, None, None),
        ({"Action": "s3:GetObject"}, "NOT_SECRETSMANAGER_ACTION", '"s3:GetObject" is not a Secrets Manager action'),
        ({"Action": "*"}, None, None),
        ({"Action": "*:Get*"}, None, None),
        ({"condition": {"StringEquals": {"secretsmanager:Nope": "x"}}}, "UNKNOWN_CONDITION_KEY", "secretsmanager:Nope"),
        (
            {"condition": {"StringEquals": {"secretsmanager:ResourceTag/": "x"}}},
            "UNKNOWN_CONDITION_KEY",
            "ResourceTag/",
        ),
        ({"condition": {"StringEquals": {"aws:Bogus": "x"}}}, "UNKNOWN_CONDITION_KEY", "aws:Bogus"),
        ({"condition": {"StringEquals": {"ec2:Region": "x"}}}, "UNKNOWN_CONDITION_KEY", "ec2:Region"),
        (
            {"condition": {"NumericLessThan": {"secretsmanager:RecoveryWindowInDays": "seven"}}},
            "CONDITION_VALUE_TYPE",
            '"seven"',
        ),
        ({"condition": {"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}}}, "CONDITION_VALUE_TYPE", "10.0.0.300/8"),
        ({"condition": {"DateLessThan": {"aws:CurrentTime": "soon"}}}, "CONDITION_VALUE_TYPE", '"soon"'),
        ({"condition": {"Bool": {"aws:SecureTransport": "yes"}}}, "CONDITION_VALUE_TYPE", '"yes"'),
        ({"condition": {"Null": {"aws:SourceVpc": "maybe"}}}, "CONDITION_VALUE_TYPE", '"maybe"'),
    ],
)
def test_lint_findings(changes: dict[str, Any], check: str | None, fragment: str | None) -> None:
    body = statement(**{"principal": {"AWS": ALICE.arn}, **changes})
    findings = lint(text(body), VOCABULARY)
    if check is None:
        assert findings == []
    else:
        assert [c for c, _ in findings] == [check]
        assert fragment is not None and fragment in findings[0][1]


def test_would_lock_out() -> None:
    deny_all = policy(statement("Deny", "*", Action="secretsmanager:*"))
    assert would_lock_out(deny_all, ALICE, MANAGE)
    assert locked_out_actions(deny_all, ALICE, MANAGE) == MANAGE

    deny_carol = policy(statement("Deny", {"AWS": CAROL.arn}, Action="secretsmanager:*"))
    assert not would_lock_out(deny_carol, ALICE, MANAGE)
    assert would_lock_out(deny_carol, CAROL, MANAGE)

    deny_reads = policy(statement("Deny", "*"))
    assert not would_lock_out(deny_reads, ALICE, MANAGE)

    allow_only = policy(statement("Allow", {"AWS": ALICE.arn}, Action="secretsmanager:*"))
    assert not would_lock_out(allow_only, ALICE, MANAGE)

    deny_put = policy(statement("Deny", {"AWS": A}, Action="secretsmanager:PutResourcePolicy"))
    assert locked_out_actions(deny_put, ALICE, MANAGE) == ["secretsmanager:PutResourcePolicy"]


def test_lock_out_with_conditions_uses_the_given_context() -> None:
    off_network = policy(
        statement("Deny", "*", Action="secretsmanager:*", condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    )
    assert would_lock_out(off_network, ALICE, MANAGE)  # no context: the caller may come from anywhere
    assert not would_lock_out(off_network, ALICE, MANAGE, context={"aws:SourceIp": "10.1.1.1"})
    assert would_lock_out(off_network, ALICE, MANAGE, context={"aws:SourceIp": "192.0.2.1"})


def test_lock_out_resource_scoping() -> None:
    secret = f"arn:aws:secretsmanager:us-east-1:{A}:secret:prod-AbCdEf"
    other = policy(
        statement("Deny", "*", Action="secretsmanager:*", Resource=f"arn:aws:secretsmanager:*:{A}:secret:dev-*")
    )
    assert would_lock_out(other, ALICE, MANAGE)  # resource None: any resource pattern applies
    assert not would_lock_out(other, ALICE, MANAGE, resource=secret)
