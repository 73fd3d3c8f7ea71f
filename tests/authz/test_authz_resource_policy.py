"""Put-, Get-, Delete-, List- and ValidateResourcePolicy end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from authz_support import ACCOUNT, World, policy
from botocore.exceptions import ClientError

PUBLIC = policy({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
DEFAULT = {"PolicyName": "default"}
LOCKOUT = "Your requested changes will not allow you to manage this secret in the future."


def _grant(principal_arn: str, action: str = "secretsmanager:GetSecretValue") -> str:
    return policy({"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": action, "Resource": "*"})


def _deny_manage(principal_arn: str) -> str:
    return policy(
        {
            "Effect": "Deny",
            "Principal": {"AWS": principal_arn},
            "Action": ["secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"],
            "Resource": "*",
        }
    )


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_put_get_delete_round_trip(world: World, client_of: Callable[..., Any]) -> None:
    manager = client_of("manager")
    arn = world.secrets["rp"]
    name = f"{world.prefix}/rp/s1"
    out = manager.get_resource_policy(SecretId=arn)
    assert {k: v for k, v in out.items() if k != "ResponseMetadata"} == {"ARN": arn, "Name": name}

    text = _grant(world.principals["reader"].arn)
    out = manager.put_resource_policy(SecretId=name, ResourcePolicy=text)
    # PolicyName: the current model ("If you didn't specify PolicyName in the request, this is default")
    assert {k: v for k, v in out.items() if k != "ResponseMetadata"} == {"ARN": arn, "Name": name, **DEFAULT}
    out = manager.get_resource_policy(SecretId=arn)
    assert out["ResourcePolicy"] == text  # stored and returned as sent
    assert json.loads(out["ResourcePolicy"])["Statement"][0]["Principal"]["AWS"] == world.principals["reader"].arn

    out = manager.delete_resource_policy(SecretId=arn)
    assert {k: v for k, v in out.items() if k != "ResponseMetadata"} == {"ARN": arn, "Name": name, **DEFAULT}
    assert "ResourcePolicy" not in manager.get_resource_policy(SecretId=arn)


def test_manager_is_limited_to_its_prefix(world: World, client_of: Callable[..., Any]) -> None:
    with pytest.raises(ClientError) as exc:
        client_of("manager").get_resource_policy(SecretId=world.secrets["app_db"])
    code, message = _error(exc)
    assert code == "AccessDeniedException"
    assert message == (
        f"User: {world.principals['manager'].arn} is not authorized to perform: secretsmanager:GetResourcePolicy "
        f"on resource: {world.secrets['app_db']} because no identity-based policy allows the "
        "secretsmanager:GetResourcePolicy action"
    )


def test_list_resource_policies_needs_its_own_permission(
    world: World, client_of: Callable[..., Any], admin_sm: Any
) -> None:
    # API reference: "Required permissions: secretsmanager:ListResourcePolicies" (on the secret)
    manager, arn = client_of("manager"), world.secrets["rp"]
    with pytest.raises(ClientError) as exc:
        manager.list_resource_policies(SecretId=arn)  # its identity policy allows Get/Put/Delete, not List
    assert _error(exc) == (
        "AccessDeniedException",
        f"User: {world.principals['manager'].arn} is not authorized to perform: "
        f"secretsmanager:ListResourcePolicies on resource: {arn} because no identity-based policy allows the "
        "secretsmanager:ListResourcePolicies action",
    )
    admin_sm.put_resource_policy(
        SecretId=arn, ResourcePolicy=_grant(world.principals["manager"].arn, "secretsmanager:ListResourcePolicies")
    )
    try:
        assert manager.list_resource_policies(SecretId=arn)["ResourcePolicies"] == [{"PolicyName": "default"}]
    finally:
        admin_sm.delete_resource_policy(SecretId=arn)


def test_block_public_policy(world: World, client_of: Callable[..., Any]) -> None:
    manager = client_of("manager")
    arn = world.secrets["rp"]
    with pytest.raises(ClientError) as exc:
        manager.put_resource_policy(SecretId=arn, ResourcePolicy=PUBLIC, BlockPublicPolicy=True)
    assert _error(exc) == (
        "PublicPolicyException",
        "You can't attach a resource-based policy that allows broad access to the secret.",
    )
    assert "ResourcePolicy" not in manager.get_resource_policy(SecretId=arn)
    # A policy narrowed to the caller's own account is not broad.
    narrowed = policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}},
        }
    )
    manager.put_resource_policy(SecretId=arn, ResourcePolicy=narrowed, BlockPublicPolicy=True)
    assert manager.get_resource_policy(SecretId=arn)["ResourcePolicy"] == narrowed
    manager.delete_resource_policy(SecretId=arn)


def test_malformed_policies(world: World, client_of: Callable[..., Any]) -> None:
    manager = client_of("manager")
    arn = world.secrets["rp"]
    bad_effect = policy({"Effect": "AllowSomething", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"})
    for text in ("not json", bad_effect, policy({"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"})):
        with pytest.raises(ClientError) as exc:
            manager.put_resource_policy(SecretId=arn, ResourcePolicy=text)
        code, message = _error(exc)
        assert code == "MalformedPolicyDocumentException"
        assert message.startswith("This resource policy contains a syntax error.")
    with pytest.raises(ClientError) as exc:
        manager.put_resource_policy(SecretId=arn, ResourcePolicy=_grant(f"arn:aws:iam::{ACCOUNT}:user/no-such-user"))
    assert _error(exc) == (
        "MalformedPolicyDocumentException",
        "This resource policy contains an unsupported principal.",
    )


def test_policy_size_limit(world: World, admin_sm: Any) -> None:
    statement = {"Effect": "Allow", "Principal": {"AWS": world.admin.arn}, "Action": "secretsmanager:GetSecretValue"}
    text = json.dumps({"Version": "2012-10-17", "Statement": [dict(statement, Sid=f"s{i}") for i in range(400)]})
    assert len(text) > 20480
    with pytest.raises(ClientError) as exc:
        admin_sm.put_resource_policy(SecretId=world.secrets["rp"], ResourcePolicy=text)
    error = exc.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "1 validation error detected: Value '" + text + "' at 'resourcePolicy' failed to satisfy constraint: "
        "Member must have length less than or equal to 20480"
    )


def test_put_on_secret_scheduled_for_deletion(world: World, admin_sm: Any) -> None:
    arn = world.secrets["rp_deleted"]
    admin_sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    for call in (
        lambda: admin_sm.put_resource_policy(SecretId=arn, ResourcePolicy=_grant(world.admin.arn)),
        lambda: admin_sm.delete_resource_policy(SecretId=arn),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _error(exc) == (
            "InvalidRequestException",
            "You can't perform this operation on the secret because it was marked for deletion.",
        )
    assert admin_sm.get_resource_policy(SecretId=arn)["ARN"] == arn


def test_validate(world: World, client_of: Callable[..., Any]) -> None:
    manager = client_of("manager")
    ok = manager.validate_resource_policy(ResourcePolicy=_grant(world.principals["reader"].arn))
    assert ok["PolicyValidationPassed"] is True
    assert ok["ValidationErrors"] == []

    broad = manager.validate_resource_policy(ResourcePolicy=PUBLIC)
    assert broad["PolicyValidationPassed"] is False
    assert [e["CheckName"] for e in broad["ValidationErrors"]] == ["BROAD_ACCESS"]
    assert broad["ValidationErrors"][0]["ErrorMessage"].startswith(
        "This resource policy grants broad access to your secret."
    )

    syntax = manager.validate_resource_policy(ResourcePolicy='{"Version": "2012-10-17"}')
    assert syntax["PolicyValidationPassed"] is False
    assert [e["CheckName"] for e in syntax["ValidationErrors"]] == ["SYNTAX"]
    assert syntax["ValidationErrors"][0]["ErrorMessage"].startswith("This resource policy contains a syntax error.")

    unknown = manager.validate_resource_policy(
        ResourcePolicy=_grant(world.principals["reader"].arn, "secretsmanager:GetSecretValu")
    )
    assert [e["CheckName"] for e in unknown["ValidationErrors"]] == ["UNKNOWN_ACTION"]


def test_validate_lockout_and_put_still_accepts_it(world: World, client_of: Callable[..., Any], admin_sm: Any) -> None:
    manager = client_of("manager")
    arn = world.secrets["rp_lock"]
    text = _deny_manage(world.principals["manager"].arn)
    for secret_id in (arn, None):
        kwargs = {"SecretId": secret_id} if secret_id else {}
        out = manager.validate_resource_policy(ResourcePolicy=text, **kwargs)
        assert out["PolicyValidationPassed"] is False
        assert out["ValidationErrors"] == [{"CheckName": "LOCKOUT", "ErrorMessage": LOCKOUT}]
    # The same policy does not lock the administrator out.
    assert admin_sm.validate_resource_policy(ResourcePolicy=text, SecretId=arn)["ValidationErrors"] == []

    # As on AWS, the API itself accepts it (only the console refuses lock-outs) ...
    manager.put_resource_policy(SecretId=arn, ResourcePolicy=text)
    with pytest.raises(ClientError) as exc:
        manager.delete_resource_policy(SecretId=arn)
    code, message = _error(exc)
    assert code == "AccessDeniedException"
    assert message.endswith("with an explicit deny in a resource-based policy")
    # ... and someone it does not name can repair it.
    admin_sm.delete_resource_policy(SecretId=arn)
    assert "ResourcePolicy" not in manager.get_resource_policy(SecretId=arn)


def test_validate_needs_put_permission_on_the_named_secret(world: World, client_of: Callable[..., Any]) -> None:
    with pytest.raises(ClientError) as exc:
        client_of("manager").validate_resource_policy(ResourcePolicy=PUBLIC, SecretId=world.secrets["app_db"])
    code, message = _error(exc)
    assert code == "AccessDeniedException"
    assert message.startswith(
        f"User: {world.principals['manager'].arn} is not authorized to perform: secretsmanager:PutResourcePolicy "
        f"on resource: {world.secrets['app_db']} "
    )
