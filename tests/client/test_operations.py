"""Every operation through each client form against a real server (SQLite, authentication on).

SERVED lists every operation of the model; the scenario calls each of them once per client form.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from botocore import xform_name

from strongroom.client import (
    AccessDeniedException,
    AsyncSecretsManager,
    InvalidParameterException,
    InvalidRequestException,
    ResourceNotFoundException,
    SecretsManager,
    shapes,
    stages,
)
from strongroom.client._operations import OPERATIONS

SERVED = frozenset(
    {
        "AssociateCrossAccountReplica", "BatchGetSecretValue", "CancelRotateSecret", "CreateSecret",
        "DeleteResourcePolicy", "DeleteSecret",
        "DescribeSecret", "DisassociateCrossAccountReplica",
        "GetRandomPassword", "GetResourcePolicy", "GetSecretValue", "ListResourcePolicies", "ListSecretVersionIds",
        "ListSecrets",
        "PutResourcePolicy", "PutSecretValue", "RemoveRegionsFromReplication", "ReplicateSecretToRegions",
        "RestoreSecret", "RotateSecret", "StopReplicationToReplica", "TagResource", "UntagResource", "UpdateSecret",
        "UpdateSecretVersionStage", "ValidateResourcePolicy",
    }
)  # fmt: skip

def test_served_covers_every_operation() -> None:
    every = {operation.name for operation in OPERATIONS.values()}
    assert len(every) == 26
    assert SERVED == every


Call = Callable[..., Awaitable[Any]]


class RecordingHandler:
    """A completion handler that remembers what it was told, and on which thread."""

    def __init__(self) -> None:
        self.successes: list[tuple[Any, Any]] = []
        self.errors: list[BaseException] = []
        self.threads: set[str] = set()

    def on_success(self, request: Any, result: Any) -> None:
        self.threads.add(threading.current_thread().name)
        self.successes.append((request, result))

    def on_error(self, exception: BaseException) -> None:
        self.threads.add(threading.current_thread().name)
        self.errors.append(exception)


def async_form(sm: AsyncSecretsManager) -> Call:
    async def call(method: str, **kwargs: Any) -> Any:
        return await getattr(sm, method)(**kwargs)

    return call


def blocking_form(sm: SecretsManager) -> Call:
    async def call(method: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(lambda: getattr(sm, method)(**kwargs))

    return call


def futures_form(sm: SecretsManager) -> Call:
    """``x_async(request, handler)``; checks the handler was told exactly once, before the Future."""

    async def call(method: str, **kwargs: Any) -> Any:
        request_type = next(op.request_type for op in OPERATIONS.values() if _method(op.name) == method)
        request = request_type(**kwargs)
        handler = RecordingHandler()
        future = getattr(sm, f"{method}_async")(request, handler)
        try:
            result = await asyncio.wrap_future(future)
        except Exception as exc:
            assert handler.errors == [exc] and not handler.successes
            raise
        assert handler.successes == [(request, result)] and not handler.errors
        assert handler.threads == {next(iter(handler.threads))}
        assert next(iter(handler.threads)).startswith("strongroom-client-handlers")
        return result

    return call


def _method(operation: str) -> str:
    return str(xform_name(operation))


async def scenario(call: Call, name: str) -> set[str]:
    """Every served operation once at least, with checks on the typed results; returns the
    operations it called."""
    called: set[str] = set()

    async def op(operation: str, **kwargs: Any) -> Any:
        called.add(operation)
        return await call(_method(operation), **kwargs)

    created = await op("CreateSecret", name=name, secret_string="v1", tags=[shapes.Tag(key="team", value="blue")])
    assert isinstance(created, shapes.CreateSecretResponse) and created.name == name and created.version_id
    first_version = created.version_id
    value = await op("GetSecretValue", secret_id=name)
    assert value.secret_string == "v1" and value.version_stages == ("AWSCURRENT",)
    assert value.created_date is not None and value.created_date.tzinfo is not None
    put = await op("PutSecretValue", secret_id=created.arn, secret_binary=b"\x00\xffbinary")
    assert put.version_stages == ("AWSCURRENT",) and put.version_id != first_version
    assert (await op("GetSecretValue", secret_id=name)).secret_binary == b"\x00\xffbinary"
    described = await op("DescribeSecret", secret_id=name)
    assert stages.current(described) == put.version_id and stages.previous(described) == first_version
    assert described.tags == (shapes.Tag(key="team", value="blue"),)
    versions = await op("ListSecretVersionIds", secret_id=name)
    assert stages.current(versions) == put.version_id
    moved = await op(
        "UpdateSecretVersionStage", secret_id=name, version_stage="blue", move_to_version_id=first_version
    )
    assert moved.name == name
    assert stages.version_with(await op("DescribeSecret", secret_id=name), "blue") == first_version
    await op("TagResource", secret_id=name, tags=[shapes.Tag(key="env", value="test")])
    await op("UntagResource", secret_id=name, tag_keys=["team"])
    assert (await op("DescribeSecret", secret_id=name)).tags == (shapes.Tag(key="env", value="test"),)
    updated = await op("UpdateSecret", secret_id=name, description="d", secret_string="v3")
    assert updated.version_id and updated.version_id not in (first_version, put.version_id)
    listed = await op("ListSecrets", filters=[shapes.Filter(key="name", values=[name])])
    assert [entry.name for entry in listed.secret_list or ()] == [name]
    batch = await op("BatchGetSecretValue", secret_id_list=[name, f"{name}-missing"])
    assert [v.secret_string for v in batch.secret_values or ()] == ["v3"]
    assert [e.error_code for e in batch.errors or ()] == ["ResourceNotFoundException"]
    password = await op("GetRandomPassword", password_length=24, exclude_punctuation=True)
    assert len(password.random_password) == 24
    statement = {
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*",
    }  # fmt: skip
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    validated = await op("ValidateResourcePolicy", secret_id=name, resource_policy=policy)
    assert validated.policy_validation_passed is True
    await op("PutResourcePolicy", secret_id=name, resource_policy=policy)
    listed_policies = await op("ListResourcePolicies", secret_id=name)
    assert [p.policy_name for p in listed_policies.resource_policies or ()] == ["default"]
    assert json.loads((await op("GetResourcePolicy", secret_id=name)).resource_policy) == json.loads(policy)
    await op("DeleteResourcePolicy", secret_id=name)
    assert (await op("GetResourcePolicy", secret_id=name)).resource_policy is None
    replicated = await op("ReplicateSecretToRegions", secret_id=name,
                          add_replica_regions=[shapes.ReplicaRegionType(region="eu-west-1")])
    assert [(r.region, r.status) for r in replicated.replication_status or ()] == [("eu-west-1", "InProgress")]
    removed = await op("RemoveRegionsFromReplication", secret_id=name, remove_replica_regions=["eu-west-1"])
    assert removed.arn == created.arn and not removed.replication_status
    with pytest.raises(InvalidParameterException):  # a primary is no replica
        await op("StopReplicationToReplica", secret_id=name)
    elsewhere = f"arn:aws:secretsmanager:us-east-1:210987654321:secret:{name}-AbCdEf"
    with pytest.raises(AccessDeniedException):  # another account's secret, no policy of its own letting us in
        await op("AssociateCrossAccountReplica", secret_id=name, cross_account_replica_arn=elsewhere)
    with pytest.raises(InvalidParameterException):  # not associated
        await op("DisassociateCrossAccountReplica", secret_id=name, cross_account_replica_arn=elsewhere)
    with pytest.raises(InvalidRequestException) as refused:  # no rotation function on the secret, none named
        await op("RotateSecret", secret_id=name, rotation_rules=shapes.RotationRulesType(automatically_after_days=30))
    assert refused.value.message == "No Lambda rotation function ARN is associated with this secret."
    cancelled = await op("CancelRotateSecret", secret_id=name)
    assert cancelled.arn == created.arn and cancelled.version_id is None
    assert (await op("DescribeSecret", secret_id=name)).rotation_enabled is False
    deleted = await op("DeleteSecret", secret_id=name, recovery_window_in_days=7)
    assert deleted.deletion_date is not None
    assert (await op("RestoreSecret", secret_id=name)).name == name
    with pytest.raises(ResourceNotFoundException) as caught:
        await op("GetSecretValue", secret_id=f"{name}-missing")
    assert caught.value.status == 400 and caught.value.request_id
    await op("DeleteSecret", secret_id=name, force_delete_without_recovery=True)
    return called


def test_every_served_operation_async(settings: dict[str, Any], name: str) -> None:
    async def run() -> set[str]:
        async with AsyncSecretsManager(**settings) as sm:
            return await scenario(async_form(sm), name)

    assert asyncio.run(run()) == SERVED


@pytest.mark.parametrize("form", [futures_form, blocking_form], ids=["futures-handler", "blocking"])
def test_every_served_operation_futures_client(
    settings: dict[str, Any], name: str, form: Callable[[SecretsManager], Call]
) -> None:
    with SecretsManager(**settings) as sm:
        assert asyncio.run(scenario(form(sm), name)) == SERVED
