"""The Secrets Manager service: its descriptor (operations, protocols, context keys, audit subject)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.secrets import (
    create,
    deletion,
    describe,
    listing,
    random_password,
    resource_policy,
    tags,
    update,
    values,
)
from strongroom.secrets.iam_vocabulary import PREFIX, request_context_keys, resource_context_keys
from strongroom.secrets.replication import accounts, regions
from strongroom.secrets.rotation.cancel import cancel_rotate_secret
from strongroom.secrets.rotation.start import rotate_secret
from strongroom.secrets.unsupported import refuse_unsupported
from strongroom.service.descriptor import Handler, Operation, ServiceDescriptor


def audit_subject(params: Mapping[str, Any]) -> str | None:
    """The secret a request names, as the caller gave it."""
    return params.get("SecretId") or params.get("Name")


_HANDLERS: dict[str, Handler] = {
    "AssociateCrossAccountReplica": accounts.associate_cross_account_replica,
    "BatchGetSecretValue": values.batch_get_secret_value,
    "CancelRotateSecret": cancel_rotate_secret,
    "CreateSecret": create.create_secret,
    "DeleteResourcePolicy": resource_policy.delete_resource_policy,
    "DeleteSecret": deletion.delete_secret,
    "DescribeSecret": describe.describe_secret,
    "DisassociateCrossAccountReplica": accounts.disassociate_cross_account_replica,
    "GetRandomPassword": random_password.get_random_password,
    "GetResourcePolicy": resource_policy.get_resource_policy,
    "GetSecretValue": values.get_secret_value,
    "ListResourcePolicies": resource_policy.list_resource_policies,
    "ListSecretVersionIds": describe.list_secret_version_ids,
    "ListSecrets": listing.list_secrets,
    "PutResourcePolicy": resource_policy.put_resource_policy,
    "PutSecretValue": values.put_secret_value,
    "RemoveRegionsFromReplication": regions.remove_regions_from_replication,
    "ReplicateSecretToRegions": regions.replicate_secret_to_regions,
    "RestoreSecret": deletion.restore_secret,
    "RotateSecret": rotate_secret,
    "StopReplicationToReplica": regions.stop_replication_to_replica,
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "UpdateSecret": update.update_secret,
    "UpdateSecretVersionStage": update.update_secret_version_stage,
    "ValidateResourcePolicy": resource_policy.validate_resource_policy,
}
#: Operations authorized on resource "*" before they run (they name no single secret).
_RESOURCELESS = frozenset({"ListSecrets", "GetRandomPassword", "BatchGetSecretValue"})

SERVICE = ServiceDescriptor(
    name=PREFIX,
    signing_name=PREFIX,
    model=PREFIX,
    operations={
        name: Operation(name, handler, resourceless=name in _RESOURCELESS) for name, handler in _HANDLERS.items()
    },
    json_target_prefix=f"{PREFIX}.",
    json_content_type=b"application/x-amz-json-1.1",
    query_version="2017-10-17",
    context_keys=request_context_keys,
    resource_keys=resource_context_keys,
    audit_subject=audit_subject,
    check_input=refuse_unsupported,
)
