"""Identity and resource policies enforced end to end, through boto3, on a server without --dev."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from authz_support import OTHER_ACCOUNT, World, policy
from botocore.exceptions import ClientError


def _denied(exc: pytest.ExceptionInfo[ClientError]) -> str:
    error = exc.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error["Message"])


def _message(principal_arn: str, action: str, resource: str, reason: str) -> str:
    return (
        f"User: {principal_arn} is not authorized to perform: secretsmanager:{action} on resource: {resource} {reason}"
    )


def _no_identity(action: str) -> str:
    return f"because no identity-based policy allows the secretsmanager:{action} action"


# --- identity policies ------------------------------------------------------------------------


def test_reader_reads_its_prefix_only(world: World, client_of: Callable[..., Any]) -> None:
    reader = client_of("reader")
    assert reader.get_secret_value(SecretId=world.secrets["app_db"])["SecretString"] == "value-of-app_db"
    assert reader.describe_secret(SecretId=f"{world.prefix}/app/db")["ARN"] == world.secrets["app_db"]
    with pytest.raises(ClientError) as exc:
        reader.get_secret_value(SecretId=world.secrets["other"])
    arn = world.principals["reader"].arn
    assert _denied(exc) == _message(arn, "GetSecretValue", world.secrets["other"], _no_identity("GetSecretValue"))


def test_reader_cannot_write_and_writer_cannot_read(world: World, client_of: Callable[..., Any]) -> None:
    with pytest.raises(ClientError) as exc:
        client_of("reader").put_secret_value(SecretId=world.secrets["app_db"], SecretString="x")
    assert _no_identity("PutSecretValue") in _denied(exc)

    writer = client_of("writer")
    out = writer.put_secret_value(SecretId=world.secrets["app_db"], SecretString="value-of-app_db")
    assert out["ARN"] == world.secrets["app_db"]
    with pytest.raises(ClientError) as exc:
        writer.get_secret_value(SecretId=world.secrets["app_db"])
    assert _denied(exc) == _message(
        world.principals["writer"].arn, "GetSecretValue", world.secrets["app_db"], _no_identity("GetSecretValue")
    )


def test_denied_secret_that_does_not_exist_reveals_nothing(world: World, client_of: Callable[..., Any]) -> None:
    name = f"{world.prefix}/other/missing"
    with pytest.raises(ClientError) as exc:
        client_of("reader").get_secret_value(SecretId=name)
    # Named as the caller gave it (AWS: "... on resource: sharepoint_account because ...", docs/api.md).
    assert _denied(exc) == _message(
        world.principals["reader"].arn, "GetSecretValue", name, _no_identity("GetSecretValue")
    )
    # Allowed on the prefix: the caller learns that the secret does not exist.
    with pytest.raises(ClientError) as exc:
        client_of("reader").get_secret_value(SecretId=f"{world.prefix}/app/missing")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_user_without_policies_is_denied(world: World, client_of: Callable[..., Any]) -> None:
    with pytest.raises(ClientError) as exc:
        client_of("nobody").get_secret_value(SecretId=world.secrets["app_db"])
    assert _denied(exc) == _message(
        world.principals["nobody"].arn, "GetSecretValue", world.secrets["app_db"], _no_identity("GetSecretValue")
    )
    with pytest.raises(ClientError) as exc:
        client_of("nobody").list_secrets()
    assert _denied(exc) == _message(world.principals["nobody"].arn, "ListSecrets", "*", _no_identity("ListSecrets"))


def test_explicit_deny_wins_over_allow(world: World, client_of: Callable[..., Any]) -> None:
    denied = client_of("denied")
    assert denied.get_secret_value(SecretId=world.secrets["app_db"])["SecretString"] == "value-of-app_db"
    with pytest.raises(ClientError) as exc:
        denied.get_secret_value(SecretId=world.secrets["app_blocked"])
    assert _denied(exc) == _message(
        world.principals["denied"].arn, "GetSecretValue", world.secrets["app_blocked"],
        "with an explicit deny in an identity-based policy",
    )  # fmt: skip
    # The deny covers one action: the rest of secretsmanager:* still works on that secret.
    assert denied.describe_secret(SecretId=world.secrets["app_blocked"])["ARN"] == world.secrets["app_blocked"]


def test_resource_tag_condition(world: World, client_of: Callable[..., Any]) -> None:
    team = client_of("team")
    assert team.get_secret_value(SecretId=world.secrets["blue"])["SecretString"] == "value-of-blue"
    with pytest.raises(ClientError) as exc:
        team.get_secret_value(SecretId=world.secrets["red"])
    assert _no_identity("GetSecretValue") in _denied(exc)


def test_username_variable_in_resource(world: World, client_of: Callable[..., Any]) -> None:
    carol = client_of("carol")
    assert carol.get_secret_value(SecretId=world.secrets["carol_home"])["SecretString"] == "value-of-carol_home"
    with pytest.raises(ClientError) as exc:
        carol.get_secret_value(SecretId=world.secrets["dave_home"])
    assert _no_identity("GetSecretValue") in _denied(exc)


def test_batch_get_reports_denied_secrets_in_errors(world: World, client_of: Callable[..., Any]) -> None:
    out = client_of("reader").batch_get_secret_value(SecretIdList=[world.secrets["app_db"], world.secrets["other"]])
    assert [v["ARN"] for v in out["SecretValues"]] == [world.secrets["app_db"]]
    assert len(out["Errors"]) == 1
    error = out["Errors"][0]
    assert error["SecretId"] == world.secrets["other"]
    assert error["ErrorCode"] == "AccessDeniedException"
    assert error["Message"] == _message(
        world.principals["reader"].arn, "GetSecretValue", world.secrets["other"], _no_identity("GetSecretValue")
    )


def test_batch_get_needs_its_own_permission(world: World, client_of: Callable[..., Any]) -> None:
    with pytest.raises(ClientError) as exc:
        client_of("team").batch_get_secret_value(SecretIdList=[world.secrets["blue"]])
    assert _denied(exc) == _message(
        world.principals["team"].arn, "BatchGetSecretValue", "*", _no_identity("BatchGetSecretValue")
    )


def test_tag_change_that_removes_own_access_is_refused(
    world: World, client_of: Callable[..., Any], admin_sm: Any
) -> None:
    tagger = client_of("tagger")
    arn = world.secrets["tagged"]
    tagger.tag_resource(SecretId=arn, Tags=[{"Key": "env", "Value": "prod"}])
    with pytest.raises(ClientError) as exc:
        tagger.tag_resource(SecretId=arn, Tags=[{"Key": "team", "Value": "red"}])
    assert _no_identity("TagResource") in _denied(exc)
    tags = {t["Key"]: t["Value"] for t in admin_sm.describe_secret(SecretId=arn)["Tags"]}
    assert tags == {"team": "blue", "env": "prod"}


# --- cross-account ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared(world: World, admin_sm: Any) -> str:
    """The secret whose resource policy lets account 210987654321 read it."""
    arn = world.secrets["shared"]
    admin_sm.put_resource_policy(
        SecretId=arn,
        ResourcePolicy=policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ),
    )
    return arn


def test_cross_account_root_with_resource_policy(shared: str, client_of: Callable[..., Any]) -> None:
    assert client_of("other_root").get_secret_value(SecretId=shared)["SecretString"] == "value-of-shared"


def test_cross_account_user_needs_identity_and_resource_policy(
    world: World, shared: str, client_of: Callable[..., Any]
) -> None:
    assert client_of("other_bob").get_secret_value(SecretId=shared)["SecretString"] == "value-of-shared"

    # Resource policy allows the account, but eve has no identity policy.
    with pytest.raises(ClientError) as exc:
        client_of("other_eve").get_secret_value(SecretId=shared)
    assert _denied(exc) == _message(
        world.principals["other_eve"].arn, "GetSecretValue", shared, _no_identity("GetSecretValue")
    )

    # Identity policy allows everything, but the secret has no resource policy.
    unshared = world.secrets["unshared"]
    with pytest.raises(ClientError) as exc:
        client_of("other_bob").get_secret_value(SecretId=unshared)
    assert _denied(exc) == _message(
        world.principals["other_bob"].arn, "GetSecretValue", unshared,
        "because no resource-based policy allows the secretsmanager:GetSecretValue action",
    )  # fmt: skip


def test_cross_account_resource_policy_grants_only_what_it_names(shared: str, client_of: Callable[..., Any]) -> None:
    with pytest.raises(ClientError) as exc:
        client_of("other_root").describe_secret(SecretId=shared)
    assert "because no resource-based policy allows the secretsmanager:DescribeSecret action" in _denied(exc)


def test_resource_policy_deny_beats_identity_allow(world: World, client_of: Callable[..., Any], admin_sm: Any) -> None:
    arn = world.secrets["rp_deny"]
    reader = client_of("reader")
    assert reader.get_secret_value(SecretId=arn)["SecretString"] == "value-of-rp_deny"
    admin_sm.put_resource_policy(
        SecretId=arn,
        ResourcePolicy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": world.principals["reader"].arn},
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    with pytest.raises(ClientError) as exc:
        reader.get_secret_value(SecretId=arn)
    assert _denied(exc) == _message(
        world.principals["reader"].arn, "GetSecretValue", arn, "with an explicit deny in a resource-based policy"
    )
    admin_sm.delete_resource_policy(SecretId=arn)
    assert reader.get_secret_value(SecretId=arn)["SecretString"] == "value-of-rp_deny"
