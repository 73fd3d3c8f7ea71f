"""Lambda in IAM's terms: its action prefix and actions, its condition keys, and the keys a request's
parameters and a function carry into policy evaluation.

Sources: Service Authorization Reference, "Actions, resources, and condition keys for AWS Lambda"
(docs/api.md, "Lambda API"). Lambda's IAM actions are its API operations, except that Invoke and
InvokeWithResponseStream are ``lambda:InvokeFunction``, InvokeAsync ``lambda:InvokeAsync``; a few
actions have no operation of their own (InvokeFunctionUrl, EnableReplication, DisableReplication).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from strongroom.iam.policy import ContextValue
from strongroom.iam.policy.checks import Vocabulary
from strongroom.service.condition_keys import request_keys

#: The service's name: its IAM action prefix, SigV4 signing name and model name.
PREFIX = "lambda"
TITLE = "Lambda"

#: Operations whose IAM action has another name.
ACTION_OF_OPERATION = {"Invoke": "InvokeFunction", "InvokeWithResponseStream": "InvokeFunction"}

#: Its IAM actions: every operation of its service model under its action's name, and the actions that
#: are no operation (tests/unit/test_functions_service.py keeps them in step with the model).
ACTIONS = (
    "AddLayerVersionPermission", "AddPermission", "CheckpointDurableExecution", "CreateAlias",
    "CreateCapacityProvider", "CreateCodeSigningConfig", "CreateEventSourceMapping", "CreateFunction",
    "CreateFunctionUrlConfig", "DeleteAlias", "DeleteCapacityProvider", "DeleteCodeSigningConfig",
    "DeleteDurableExecution", "DeleteEventSourceMapping", "DeleteFunction", "DeleteFunctionCodeSigningConfig",
    "DeleteFunctionConcurrency", "DeleteFunctionEventInvokeConfig", "DeleteFunctionUrlConfig",
    "DeleteLayerVersion", "DeleteProvisionedConcurrencyConfig", "DeleteResourcePolicy", "DisableReplication",
    "EnableReplication", "GetAccountSettings", "GetAlias", "GetCapacityProvider", "GetCodeSigningConfig",
    "GetDurableExecution", "GetDurableExecutionHistory", "GetDurableExecutionState", "GetEventSourceMapping",
    "GetFunction", "GetFunctionCodeSigningConfig", "GetFunctionConcurrency", "GetFunctionConfiguration",
    "GetFunctionEventInvokeConfig", "GetFunctionRecursionConfig", "GetFunctionScalingConfig",
    "GetFunctionUrlConfig", "GetLayerVersion", "GetLayerVersionByArn", "GetLayerVersionPolicy", "GetPolicy",
    "GetProvisionedConcurrencyConfig", "GetResourcePolicy", "GetRuntimeManagementConfig", "InvokeAsync",
    "InvokeFunction", "InvokeFunctionUrl", "ListAliases", "ListCapacityProviders", "ListCodeSigningConfigs",
    "ListDurableExecutionsByFunction", "ListEventSourceMappings", "ListFunctionEventInvokeConfigs",
    "ListFunctionUrlConfigs", "ListFunctionVersionsByCapacityProvider", "ListFunctions",
    "ListFunctionsByCodeSigningConfig", "ListLayerVersions", "ListLayers",
    "ListProvisionedConcurrencyConfigs", "ListTags", "ListVersionsByFunction", "PauseDurableExecution",
    "PublishLayerVersion", "PublishVersion", "PutFunctionCodeSigningConfig", "PutFunctionConcurrency",
    "PutFunctionEventInvokeConfig", "PutFunctionRecursionConfig", "PutFunctionScalingConfig",
    "PutProvisionedConcurrencyConfig", "PutResourcePolicy", "PutRuntimeManagementConfig",
    "RemoveLayerVersionPermission", "RemovePermission", "ResumeDurableExecution",
    "SendDurableExecutionCallbackFailure", "SendDurableExecutionCallbackHeartbeat",
    "SendDurableExecutionCallbackSuccess", "StopDurableExecution", "TagResource", "UntagResource",
    "UpdateAlias", "UpdateCapacityProvider", "UpdateCodeSigningConfig", "UpdateEventSourceMapping",
    "UpdateFunctionCode", "UpdateFunctionConfiguration", "UpdateFunctionEventInvokeConfig",
    "UpdateFunctionUrlConfig",
)  # fmt: skip

#: IAM actions that are no operation of the model.
ACTIONS_WITHOUT_OPERATION = ("DisableReplication", "EnableReplication", "InvokeFunctionUrl")

#: Its condition keys.
CONDITION_KEYS = (
    "lambda:CodeSigningConfigArn", "lambda:EventSourceToken", "lambda:FunctionArn", "lambda:FunctionUrlAuthType",
    "lambda:InvokedViaFunctionUrl", "lambda:Layer", "lambda:Principal", "lambda:SecurityGroupIds",
    "lambda:SourceFunctionArn", "lambda:SubnetIds", "lambda:VpcIds",
)  # fmt: skip


VOCABULARY = Vocabulary(PREFIX, TITLE, ACTIONS, CONDITION_KEYS)


class FunctionKeys(Protocol):
    """What a function contributes to policy evaluation (a store FunctionRow provides it)."""

    tags: dict[str, str] | None


#: Request members that are condition keys.
_PARAM_KEYS = {"Principal": "lambda:Principal", "EventSourceToken": "lambda:EventSourceToken"}


def request_context_keys(params: Mapping[str, Any]) -> dict[str, ContextValue]:
    """The condition keys a Lambda request's parameters carry (its request tags too)."""
    tags = params.get("Tags")
    return request_keys(params, _PARAM_KEYS, tags.items() if tags else None, params.get("TagKeys"))


def resource_context_keys(function: FunctionKeys | None) -> dict[str, ContextValue]:
    """The condition keys a function carries: its tags."""
    if function is None:
        return {}
    return {f"aws:ResourceTag/{key}": value for key, value in (function.tags or {}).items()}
