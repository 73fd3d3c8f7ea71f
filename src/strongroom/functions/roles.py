"""A function's execution role: the check CreateFunction and UpdateFunctionConfiguration make, and the
credentials a function runs with. IAM roles arrive with issue 15's roles part (branch i15-roles);
until it is merged these two functions are the only places that need it, and say what they lack.
"""

from __future__ import annotations

import re

from strongroom.functions.errors import ROLE_CANNOT_BE_ASSUMED, InvalidParameterValueException
from strongroom.functions.runtime import Credentials
from strongroom.service.dependencies import Services
from strongroom.store.records import FunctionRow

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


async def function_credentials(services: Services, function: FunctionRow) -> Credentials | None:
    """The temporary credentials of the function's role for one invocation.

    None until IAM roles exist: the function then runs without credentials (its SDK calls are
    unsigned unless its code brings its own). To wire at integration (the lead):
    ``services.identities.assume_role_for_service(...)`` for ``function.role`` on behalf of
    ``lambda.amazonaws.com``, converted to :class:`~strongroom.functions.runtime.Credentials`.
    """
    return None
