"""The functions service of one server process: runs functions through the runtime.

One :class:`Functions` per server process (server/build.py), with one
:class:`~strongroom.functions.runtime.Runtime` that the lifespan starts and closes. It runs an
invocation from the stored function: the configuration as a FunctionSpec, the variables and the
code opened from their sealed form (the code only when no worker holds an unpacked copy), the
role's credentials and this server's endpoint. Other services reach it through
:class:`~strongroom.service.functions.FunctionInvoker` (``Services.functions``): Secrets Manager's
rotation invokes a function only if the function's policy lets ``secretsmanager.amazonaws.com``
invoke it, as on AWS.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from strongroom.errors import AccessDeniedException, ApiError, RequestEntityTooLargeException
from strongroom.functions.arns import parse_function_name, require_latest
from strongroom.functions.errors import (
    InvalidParameterValueException,
    ResourceConflictException,
    ServiceException,
    request_too_large,
    update_in_progress,
)
from strongroom.functions.packages import open_code, open_environment
from strongroom.functions.roles import function_credentials
from strongroom.functions.runtime import (
    CodeError,
    EventTooLargeError,
    InvocationResult,
    Runtime,
    RuntimeClosedError,
    RuntimeConfig,
)
from strongroom.functions.settings import spec_of
from strongroom.iam.authorizer import request_context_keys
from strongroom.iam.policy import AuthzRequest, Principal, evaluate
from strongroom.jobs import JobRuntime
from strongroom.service.dependencies import Services
from strongroom.service.functions import FunctionResult
from strongroom.store.records import FunctionRow

log = logging.getLogger("strongroom.functions")

SECRETS_MANAGER = "secretsmanager.amazonaws.com"
#: How a service principal is named in the AccessDeniedException it gets.
SERVICE_TITLES = {SECRETS_MANAGER: "Secrets Manager"}
#: Lambda's ServiceException text (its API reference's "An error occurred..." wording as SDKs show it).
SERVICE_ERROR = "An error occurred and the request cannot be processed."
INVOKE_ACTION = "lambda:InvokeFunction"


def service_cannot_invoke(principal: str) -> str:
    """What a service answers when a function's policy does not let it invoke the function."""
    title = SERVICE_TITLES.get(principal, principal)
    return (f"{title} cannot invoke the specified Lambda function. Ensure that the function policy grants "
            f"access to the principal {principal}.")


@dataclass(frozen=True)
class FunctionsSettings:
    """What the functions service takes from the server's configuration."""

    runtime: RuntimeConfig
    #: This server's address for the functions' SDKs (AWS_ENDPOINT_URL, SECRETS_MANAGER_ENDPOINT).
    endpoint_url: str | None
    #: Dev mode: functions get placeholder credentials (any well-formed credentials act as the account root).
    dev: bool = False


class Functions:
    """Runs functions: for Invoke, for Event work items, for other services (rotation)."""

    def __init__(self, services: Services, settings: FunctionsSettings) -> None:
        self.services = services
        self.settings = settings
        self._runtime: Runtime | None = None
        self.jobs: JobRuntime | None = None

    # --- lifecycle (the server's lifespan) ------------------------------------------------------
    def start(self, jobs: JobRuntime | None = None) -> None:
        """Build the runtime (it refuses a configuration its workers could not run under) and take the
        jobs runtime that runs Event invocations."""
        self._runtime = Runtime(self.settings.runtime)
        self.jobs = jobs

    async def close(self) -> None:
        if self._runtime is not None:
            await self._runtime.close()

    def retire(self, function_arn: str) -> None:
        """This process's warm workers of the function serve no more (its code or configuration changed)."""
        if self._runtime is not None:
            self._runtime.retire(function_arn)

    # --- running ---------------------------------------------------------------------------------
    async def invoke(self, function: FunctionRow, event: bytes, *, request_id: str,
                     log_tail: bool = False) -> InvocationResult:
        """Run ``function`` on ``event`` (RequestResponse); everything the function does is in the result."""
        runtime = self._runtime
        if runtime is None:
            raise ServiceException(SERVICE_ERROR)
        services = self.services
        environment = await open_environment(services, function.account, function.region, function.arn,
                                             function.environment)
        spec = spec_of(function, environment)
        credentials = await function_credentials(services, function, dev=self.settings.dev)

        async def load_code() -> bytes:
            async with services.store.read() as tx:
                blob = await tx.functions.code(function.id, function.code_sha256)
            if blob is None:  # the code changed since the function was read
                raise ResourceConflictException(update_in_progress(function.arn))
            return await open_code(services, function.account, function.region, function.arn,
                                   function.code_sha256, blob)

        try:
            return await runtime.invoke(spec, load_code, event, request_id=request_id, credentials=credentials,
                                        endpoint_url=self.settings.endpoint_url, log_tail=log_tail)
        except EventTooLargeError as exc:
            raise RequestEntityTooLargeException(request_too_large(exc.limit, "InvokeFunction")) from None
        except CodeError as exc:
            raise InvalidParameterValueException(str(exc)) from None
        except (RuntimeClosedError, OSError):
            log.exception("function %s could not run (request %s)", function.arn, request_id)
            raise ServiceException(SERVICE_ERROR) from None

    # --- for other services (FunctionInvoker) --------------------------------------------------
    async def invoke_for_service(self, account: str, region: str, function: str, event: Any, *,
                                 service_principal: str = SECRETS_MANAGER,
                                 source_arn: str | None = None) -> FunctionResult:
        """Run ``function`` on ``event`` (a JSON value, or bytes) for ``service_principal``, if the
        function's policy allows it (AccessDeniedException otherwise, also for a missing function)."""
        row = await self._permitted(account, region, function, service_principal, source_arn)
        payload = event if isinstance(event, bytes) else orjson.dumps(event)
        result = await self.invoke(row, payload, request_id=str(uuid.uuid4()))
        return FunctionResult(result.payload, result.function_error)

    async def check_service_may_invoke(self, account: str, region: str, function: str, *,
                                       service_principal: str = SECRETS_MANAGER,
                                       source_arn: str | None = None) -> str:
        """The function's ARN if ``service_principal`` may invoke it (RotateSecret checks before it starts)."""
        return (await self._permitted(account, region, function, service_principal, source_arn)).arn

    async def _permitted(self, account: str, region: str, function: str, principal: str,
                         source_arn: str | None) -> FunctionRow:
        denied = AccessDeniedException(service_cannot_invoke(principal))
        try:
            ref = require_latest(parse_function_name(function, account, region), region)
        except ApiError:
            raise denied from None
        async with self.services.store.read() as tx:
            row = await tx.functions.get(ref.account, ref.region, ref.name)
        if row is None or row.resource_policy is None:
            raise denied
        context = request_context_keys(None, True)
        context.update({"aws:SourceAccount": account, "aws:PrincipalIsAWSService": True,
                        "aws:PrincipalServiceName": principal})
        if source_arn is not None:
            context["aws:SourceArn"] = source_arn
        caller = Principal(arn=principal, account=account, is_root=False, username=None, userid=principal)
        request = AuthzRequest(caller, INVOKE_ACTION, row.arn, row.account, context)
        if not evaluate(request, (), self.services.authorizer.resource_policy(row.resource_policy)).allowed:
            raise denied
        return row


def engine(services: Services) -> Functions:
    """The functions service of ``services`` (Lambda's handlers run only while it is on)."""
    functions = services.functions
    if not isinstance(functions, Functions):
        raise ServiceException(SERVICE_ERROR)
    return functions
