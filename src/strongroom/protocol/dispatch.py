"""The operation table: AWS operation name -> domain handler. One entry per operation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services

Handler = Callable[[Services, RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]

OPERATIONS: dict[str, Handler] = {
    "BatchGetSecretValue": values.batch_get_secret_value,
    "CreateSecret": create.create_secret,
    "DeleteResourcePolicy": resource_policy.delete_resource_policy,
    "DeleteSecret": deletion.delete_secret,
    "DescribeSecret": describe.describe_secret,
    "GetRandomPassword": random_password.get_random_password,
    "GetResourcePolicy": resource_policy.get_resource_policy,
    "GetSecretValue": values.get_secret_value,
    "ListResourcePolicies": resource_policy.list_resource_policies,
    "ListSecretVersionIds": describe.list_secret_version_ids,
    "ListSecrets": listing.list_secrets,
    "PutResourcePolicy": resource_policy.put_resource_policy,
    "PutSecretValue": values.put_secret_value,
    "RestoreSecret": deletion.restore_secret,
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "UpdateSecret": update.update_secret,
    "UpdateSecretVersionStage": update.update_secret_version_stage,
    "ValidateResourcePolicy": resource_policy.validate_resource_policy,
}

#: Operations authorized on resource "*" before they run (they name no single secret).
RESOURCELESS = frozenset({"ListSecrets", "GetRandomPassword", "BatchGetSecretValue"})
