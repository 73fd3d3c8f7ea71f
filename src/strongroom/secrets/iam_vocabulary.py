"""Secrets Manager in IAM's terms: its action prefix and actions, its condition keys, and the keys
a request's parameters and a secret carry into policy evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from strongroom.iam.policy import ContextValue
from strongroom.iam.policy.checks import Vocabulary
from strongroom.service.condition_keys import request_keys

#: The service's name: its IAM action prefix, SigV4 signing name and model name.
PREFIX = "secretsmanager"

#: Its IAM actions: every operation of its service model (tests/unit/test_model.py keeps them equal).
ACTIONS = (
    "AssociateCrossAccountReplica", "BatchGetSecretValue", "CancelRotateSecret", "CreateSecret",
    "DeleteResourcePolicy", "DeleteSecret", "DescribeSecret", "DisassociateCrossAccountReplica",
    "GetRandomPassword", "GetResourcePolicy", "GetSecretValue", "ListResourcePolicies", "ListSecretVersionIds",
    "ListSecrets", "PutResourcePolicy", "PutSecretValue", "RemoveRegionsFromReplication",
    "ReplicateSecretToRegions", "RestoreSecret", "RotateSecret", "StopReplicationToReplica", "TagResource",
    "UntagResource", "UpdateSecret", "UpdateSecretVersionStage", "ValidateResourcePolicy",
)  # fmt: skip

#: Its condition keys (Service Authorization Reference, "Actions, resources, and condition keys for
#: AWS Secrets Manager"; checked against parliament 1.6.4's copy of it).
CONDITION_KEYS = (
    "secretsmanager:AddReplicaRegions", "secretsmanager:BlockPublicPolicy", "secretsmanager:Description",
    "secretsmanager:ForceDeleteWithoutRecovery", "secretsmanager:ForceOverwriteReplicaSecret",
    "secretsmanager:KmsKeyArn", "secretsmanager:KmsKeyId", "secretsmanager:ModifyRotationRules",
    "secretsmanager:Name", "secretsmanager:RecoveryWindowInDays", "secretsmanager:RotateImmediately",
    "secretsmanager:RotationLambdaARN", "secretsmanager:SecretId", "secretsmanager:SecretPrimaryRegion",
    "secretsmanager:VersionId", "secretsmanager:VersionStage", "secretsmanager:resource/AllowRotationLambdaArn",
)  # fmt: skip

#: Actions of the service that are no operation of its API: AssociateCrossAccountReplica checks
#: AcceptCrossAccountReplication on the replica (API reference, AssociateCrossAccountReplica).
INTERNAL_ACTIONS = ("AcceptCrossAccountReplication",)

VOCABULARY = Vocabulary(
    PREFIX, "Secrets Manager", ACTIONS + INTERNAL_ACTIONS, CONDITION_KEYS, ("secretsmanager:ResourceTag/",)
)

#: Request members that are condition keys of the same name.
_PARAM_KEYS = {
    "SecretId": "secretsmanager:SecretId",
    "Name": "secretsmanager:Name",
    "Description": "secretsmanager:Description",
    "KmsKeyId": "secretsmanager:KmsKeyId",
    "VersionId": "secretsmanager:VersionId",
    "VersionStage": "secretsmanager:VersionStage",
    "RotationLambdaARN": "secretsmanager:RotationLambdaARN",
    "ForceOverwriteReplicaSecret": "secretsmanager:ForceOverwriteReplicaSecret",
    "BlockPublicPolicy": "secretsmanager:BlockPublicPolicy",
    "RotateImmediately": "secretsmanager:RotateImmediately",
}


class SecretKeys(Protocol):
    """What a secret contributes to policy evaluation (a store SecretRow provides it)."""

    tags: list[tuple[str, str]] | None
    primary_region: str | None
    rotation_lambda_arn: str | None


def request_context_keys(params: Mapping[str, Any]) -> dict[str, ContextValue]:
    """The condition keys a Secrets Manager request's parameters carry (its request tags too)."""
    tags = params.get("Tags")
    pairs = [(tag.get("Key", ""), tag.get("Value", "")) for tag in tags] if tags else None
    keys = request_keys(params, _PARAM_KEYS, pairs, params.get("TagKeys"))
    if params.get("RotationRules") is not None:
        keys["secretsmanager:ModifyRotationRules"] = True
    replicas = params.get("AddReplicaRegions")
    if replicas:
        keys["secretsmanager:AddReplicaRegions"] = [r.get("Region", "") for r in replicas]
    return keys


def resource_context_keys(secret: SecretKeys | None) -> dict[str, ContextValue]:
    """The condition keys a secret carries: its tags, primary region and rotation function."""
    if secret is None:
        return {}
    keys: dict[str, ContextValue] = {}
    for key, value in secret.tags or ():
        keys[f"secretsmanager:ResourceTag/{key}"] = value
        keys[f"aws:ResourceTag/{key}"] = value
    if secret.primary_region:
        keys["secretsmanager:SecretPrimaryRegion"] = secret.primary_region
    if secret.rotation_lambda_arn:
        keys["secretsmanager:resource/AllowRotationLambdaArn"] = secret.rotation_lambda_arn
    return keys
