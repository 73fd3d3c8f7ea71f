"""A function's execution role: the check CreateFunction and UpdateFunctionConfiguration make, and the
credentials a function runs with. IAM roles arrive with issue 15's roles part (branch i15-roles);
until it is merged these two functions are the only places that need it, and say what they lack.
"""

from __future__ import annotations

import re
import secrets
import time

from strongroom.functions.errors import ROLE_CANNOT_BE_ASSUMED, InvalidParameterValueException
from strongroom.functions.runtime import Credentials
from strongroom.service.dependencies import Services
from strongroom.store.records import FunctionRow

#: Seconds dev-mode placeholder credentials outlive the invocation's Timeout.
DEV_CREDENTIALS_MARGIN = 300.0
#: The model's RoleArn pattern, with the account captured.
_ROLE_ARN = re.compile(r"arn:(?:aws[a-zA-Z-]*)?:iam::(?P<account>\d{12}):role/?[a-zA-Z_0-9+=,.@\-_/]+")


async def check_function_role(services: Services, account: str, role_arn: str) -> None:
    """Refuse a Role that Lambda could not assume: InvalidParameterValueException with Lambda's message.

    Checked now: the ARN's form, and that the role belongs to the function's account. To complete
    at integration with IAM roles (the lead): the role must exist and its trust policy must allow
    ``lambda.amazonaws.com`` to call ``sts:AssumeRole``, as on AWS.
    """
    match = _ROLE_ARN.fullmatch(role_arn)
    if match is None or match["account"] != account:
        raise InvalidParameterValueException(ROLE_CANNOT_BE_ASSUMED)


async def function_credentials(services: Services, function: FunctionRow, *, dev: bool) -> Credentials | None:
    """The temporary credentials of the function's role for one invocation.

    In dev mode every well-formed credential acts as the account root, so a function gets
    placeholder credentials its SDK can sign with (as every dev-mode caller may). With
    authentication on: None until IAM roles exist, so the function runs without credentials. To wire
    at integration (the lead): ``services.identities.assume_role_for_service(...)`` for
    ``function.role`` on behalf of ``lambda.amazonaws.com``, converted to
    :class:`~strongroom.functions.runtime.Credentials`.
    """
    if dev:
        return Credentials(access_key_id="ASIA" + secrets.token_hex(8).upper(),
                           secret_access_key=secrets.token_urlsafe(30), session_token=secrets.token_urlsafe(48),
                           expiration=time.time() + function.timeout + DEV_CREDENTIALS_MARGIN)
    return None
