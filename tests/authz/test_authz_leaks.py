"""What a refused caller learns: nothing about whether a secret exists, nor its full ARN.

Each test asks the same questions, with the same SecretId, while the secret exists, while it is
scheduled for deletion and after it is gone, and requires the very same answers (error code and
message). BatchGetSecretValue with filters needs ListSecrets, and reports a denied secret only as
ListSecrets would show it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from authz_support import ACCOUNT, OTHER_ACCOUNT, REGION, World, policy
from botocore.exceptions import ClientError

RESOURCE_POLICY = policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                          "Action": "secretsmanager:GetSecretValue", "Resource": "*"})  # fmt: skip

#: Every operation that takes a SecretId, as the caller would call it.
OPERATIONS: dict[str, Callable[[Any, str], Any]] = {
    "GetSecretValue": lambda sm, sid: sm.get_secret_value(SecretId=sid),
    "DescribeSecret": lambda sm, sid: sm.describe_secret(SecretId=sid),
    "PutSecretValue": lambda sm, sid: sm.put_secret_value(SecretId=sid, SecretString="x"),
    "UpdateSecret": lambda sm, sid: sm.update_secret(SecretId=sid, Description="d"),
    "UpdateSecret+value": lambda sm, sid: sm.update_secret(SecretId=sid, SecretString="x"),
    "UpdateSecretVersionStage": lambda sm, sid: sm.update_secret_version_stage(
        SecretId=sid, VersionStage="MINE", MoveToVersionId=str(uuid.uuid4())
    ),
    "DeleteSecret": lambda sm, sid: sm.delete_secret(SecretId=sid),
    "DeleteSecret+force": lambda sm, sid: sm.delete_secret(SecretId=sid, ForceDeleteWithoutRecovery=True),
    "RestoreSecret": lambda sm, sid: sm.restore_secret(SecretId=sid),
    "TagResource": lambda sm, sid: sm.tag_resource(SecretId=sid, Tags=[{"Key": "k", "Value": "v"}]),
    "UntagResource": lambda sm, sid: sm.untag_resource(SecretId=sid, TagKeys=["k"]),
    "ListSecretVersionIds": lambda sm, sid: sm.list_secret_version_ids(SecretId=sid),
    "GetResourcePolicy": lambda sm, sid: sm.get_resource_policy(SecretId=sid),
    "PutResourcePolicy": lambda sm, sid: sm.put_resource_policy(SecretId=sid, ResourcePolicy=RESOURCE_POLICY),
    "DeleteResourcePolicy": lambda sm, sid: sm.delete_resource_policy(SecretId=sid),
    "ValidateResourcePolicy": lambda sm, sid: sm.validate_resource_policy(SecretId=sid, ResourcePolicy=RESOURCE_POLICY),
    "BatchGetSecretValue": lambda sm, sid: _batch_error(sm.batch_get_secret_value(SecretIdList=[sid])),
}


def _batch_error(out: dict[str, Any]) -> None:
    """BatchGetSecretValue reports a per-secret error in Errors: raise it like a single call would."""
    assert not out["SecretValues"]
    (error,) = out["Errors"]
    raise ClientError({"Error": {"Code": error["ErrorCode"], "Message": error["Message"]}}, "BatchGetSecretValue")


def answers(sm: Any, secret_id: str, operations: dict[str, Callable[[Any, str], Any]] = OPERATIONS) -> dict[str, Any]:
    """operation -> (error code, message) of each call, or "allowed"."""
    out: dict[str, Any] = {}
    for name, call in operations.items():
        try:
            call(sm, secret_id)
            out[name] = "allowed"
        except ClientError as exc:
            out[name] = (exc.response["Error"]["Code"], exc.response["Error"]["Message"])
    return out


def answers_in_every_state(
    admin_sm: Any, sm: Any, name: str, secret_id: str, operations: dict[str, Callable[[Any, str], Any]] = OPERATIONS,
) -> Iterator[dict[str, Any]]:
    """The answers while the secret exists, is scheduled for deletion, and is gone."""
    yield answers(sm, secret_id, operations)
    admin_sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    yield answers(sm, secret_id, operations)
    admin_sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    yield answers(sm, secret_id, operations)


@pytest.fixture
def secret(world: World, admin_sm: Any) -> tuple[str, str]:
    """(name, full ARN) of a fresh secret none of the refused callers may touch."""
    name = f"{world.prefix}/teamb/{uuid.uuid4().hex[:8]}"
    return name, admin_sm.create_secret(Name=name, SecretString="v")["ARN"]


def _partial_arn(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}"


def _denial(principal_arn: str, action: str, resource: str, reason: str) -> tuple[str, str]:
    return (
        "AccessDeniedException",
        f"User: {principal_arn} is not authorized to perform: secretsmanager:{action} on resource: {resource} {reason}",
    )


@pytest.mark.parametrize("form", ["name", "partial-arn"])
@pytest.mark.parametrize("resource_policy", [None, "deny"], ids=["no-resource-policy", "resource-policy-deny"])
def test_refused_caller_gets_the_same_answer_whether_or_not_the_secret_exists(
    world: World, admin_sm: Any, client_of: Callable[..., Any], secret: tuple[str, str], form: str,
    resource_policy: str | None,
) -> None:
    name, arn = secret
    reader = world.principals["reader"].arn
    if resource_policy:  # an explicit Deny of the secret's own must not show through either
        deny = {"Effect": "Deny", "Principal": {"AWS": reader}, "Action": "secretsmanager:*", "Resource": "*"}
        admin_sm.put_resource_policy(SecretId=name, ResourcePolicy=policy(deny))
    secret_id = name if form == "name" else _partial_arn(name)
    existing, scheduled, missing = answers_in_every_state(admin_sm, client_of("reader"), name, secret_id)
    assert existing == scheduled == missing
    for operation, answer in missing.items():
        action = operation.split("+")[0].replace("BatchGetSecretValue", "GetSecretValue")
        assert answer == _denial(reader, action, secret_id, f"because no identity-based policy allows the "
                                 f"secretsmanager:{action} action"), operation  # fmt: skip
        assert arn not in answer[1]


@pytest.mark.parametrize("caller", ["other_eve", "other_bob"])
def test_refused_caller_from_another_account_learns_nothing_by_partial_arn(
    world: World, admin_sm: Any, client_of: Callable[..., Any], secret: tuple[str, str], caller: str
) -> None:
    """other_eve has no identity policy; other_bob may GetSecretValue anything, but no resource policy lets him."""
    name, arn = secret
    partial = _partial_arn(name)
    existing, scheduled, missing = answers_in_every_state(admin_sm, client_of(caller), name, partial)
    assert existing == scheduled == missing
    assert all(answer[0] == "AccessDeniedException" and arn not in answer[1] for answer in missing.values())
    assert missing["GetSecretValue"] == _denial(
        world.principals[caller].arn, "GetSecretValue", partial,
        "because no resource-based policy allows the secretsmanager:GetSecretValue action" if caller == "other_bob"
        else "because no identity-based policy allows the secretsmanager:GetSecretValue action",
    )  # fmt: skip
    assert OTHER_ACCOUNT in world.principals[caller].arn


def test_second_permission_is_checked_before_existence(
    world: World, admin_sm: Any, client_of: Callable[..., Any], secret: tuple[str, str]
) -> None:
    """ValidateResourcePolicy on a secret also needs PutResourcePolicy: refused alike when it is missing."""
    name, arn = secret
    validate = {"ValidateResourcePolicy": OPERATIONS["ValidateResourcePolicy"]}
    existing, scheduled, missing = answers_in_every_state(admin_sm, client_of("manager"), name, name, validate)
    assert existing == scheduled == missing == {
        "ValidateResourcePolicy": _denial(
            world.principals["manager"].arn, "PutResourcePolicy", name,
            "because no identity-based policy allows the secretsmanager:PutResourcePolicy action",
        )
    }  # fmt: skip


def test_policy_on_the_full_arn_shape_still_allows(
    world: World, admin_sm: Any, client_of: Callable[..., Any]
) -> None:
    """The decision is made on the real ARN: ``secret:name-??????`` matches an existing secret by any id."""
    name = f"{world.prefix}/teamb/s1"
    arn = admin_sm.create_secret(Name=name, SecretString="s1-value")["ARN"]
    suffixed = client_of("suffixed")
    for secret_id in (name, _partial_arn(name), arn):
        assert suffixed.get_secret_value(SecretId=secret_id)["SecretString"] == "s1-value"
    admin_sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as exc:  # the requested ARN has no suffix: refused, not "not found"
        suffixed.get_secret_value(SecretId=name)
    assert (exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]) == _denial(
        world.principals["suffixed"].arn, "GetSecretValue", name,
        "because no identity-based policy allows the secretsmanager:GetSecretValue action",
    )  # fmt: skip


# --- BatchGetSecretValue with filters -------------------------------------------------------------


def test_batch_get_with_filters_needs_list_secrets(world: World, client_of: Callable[..., Any]) -> None:
    """reader may BatchGetSecretValue on * but not ListSecrets: filters are refused, nothing listed."""
    reader = client_of("reader")
    with pytest.raises(ClientError) as exc:
        reader.batch_get_secret_value(Filters=[{"Key": "name", "Values": [world.prefix]}])
    assert (exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]) == _denial(
        world.principals["reader"].arn, "ListSecrets", "*",
        "because no identity-based policy allows the secretsmanager:ListSecrets action",
    )  # fmt: skip
    # Without filters, ListSecrets is not needed (AWS: only "If you use filters").
    out = reader.batch_get_secret_value(SecretIdList=[world.secrets["app_db"]])
    assert [v["ARN"] for v in out["SecretValues"]] == [world.secrets["app_db"]]


def test_batch_get_with_filters_reports_denials_as_list_secrets_shows_them(
    world: World, admin_sm: Any, client_of: Callable[..., Any]
) -> None:
    unique = uuid.uuid4().hex[:8]
    readable = admin_sm.create_secret(Name=f"{world.prefix}/batchf/readable/{unique}", SecretString="r")["ARN"]
    hidden = admin_sm.create_secret(Name=f"{world.prefix}/batchf/hidden/{unique}", SecretString="h")["ARN"]
    lister = client_of("lister")
    filters = [{"Key": "name", "Values": [f"{world.prefix}/batchf/"]}]
    out = lister.batch_get_secret_value(Filters=filters)
    assert [(v["ARN"], v["SecretString"]) for v in out["SecretValues"]] == [(readable, "r")]
    listed = {s["ARN"] for s in lister.list_secrets(Filters=filters)["SecretList"]}
    assert {e["SecretId"] for e in out["Errors"]} | {readable} == listed
    (error,) = [e for e in out["Errors"] if e["SecretId"] == hidden]
    # The same answer as GetSecretValue by the ARN ListSecrets showed this caller.
    with pytest.raises(ClientError) as exc:
        lister.get_secret_value(SecretId=hidden)
    assert (error["ErrorCode"], error["Message"]) == (
        exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]
    )
    assert error["Message"].endswith("because no identity-based policy allows the secretsmanager:GetSecretValue action")
    for arn in (readable, hidden):
        admin_sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def test_tag_change_refusal_names_the_secret_as_given(
    world: World, admin_sm: Any, client_of: Callable[..., Any]
) -> None:
    """TagResource refused because it would remove the caller's own access: named as the caller gave it."""
    name = f"{world.prefix}/tag/{uuid.uuid4().hex[:8]}"
    arn = admin_sm.create_secret(Name=name, Tags=[{"Key": "team", "Value": "blue"}])["ARN"]
    with pytest.raises(ClientError) as exc:
        client_of("tagger").tag_resource(SecretId=name, Tags=[{"Key": "team", "Value": "red"}])
    assert (exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]) == _denial(
        world.principals["tagger"].arn, "TagResource", name,
        "because no identity-based policy allows the secretsmanager:TagResource action",
    )  # fmt: skip
    admin_sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
