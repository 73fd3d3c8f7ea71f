"""A function's execution role: the check CreateFunction and UpdateFunctionConfiguration make, and the
credentials a function runs with (its role's, assumed on behalf of lambda.amazonaws.com)."""

from __future__ import annotations

import re
import secrets
import time

from strongroom.errors import AccessDeniedException
from strongroom.functions.errors import ROLE_CANNOT_BE_ASSUMED, InvalidParameterValueException
from strongroom.functions.runtime import Credentials
from strongroom.iam.role_sessions import LAMBDA_SERVICE
from strongroom.service.dependencies import Services
from strongroom.store.records import FunctionRow

#: Seconds dev-mode placeholder credentials outlive the invocation's Timeout.
DEV_CREDENTIALS_MARGIN = 300.0
#: The model's RoleArn pattern, with the account captured.
_ROLE_ARN = re.compile(r"arn:(?:aws[a-zA-Z-]*)?:iam::(?P<account>\d{12}):role/?[a-zA-Z_0-9+=,.@\-_/]+")


async def check_function_role(services: Services, account: str, role_arn: str, *, dev: bool) -> None:
    """Refuse a Role that Lambda could not assume: InvalidParameterValueException with Lambda's message.

    Always: the ARN's form, and that the role belongs to the function's account. With
    authentication on, also as on AWS: the role exists and its trust policy lets
    ``lambda.amazonaws.com`` call ``sts:AssumeRole``. Dev mode keeps no identities (any role ARN of
    the account is taken, as emulators take it).
    """
    match = _ROLE_ARN.fullmatch(role_arn)
    if match is None or match["account"] != account:
        raise InvalidParameterValueException(ROLE_CANNOT_BE_ASSUMED)
    if dev:
        return
    try:
        await services.identities.role_sessions.trusted_by(account, role_arn, LAMBDA_SERVICE)
    except AccessDeniedException:
        raise InvalidParameterValueException(ROLE_CANNOT_BE_ASSUMED) from None


async def function_credentials(services: Services, function: FunctionRow, *, dev: bool) -> Credentials:
    """The temporary credentials of the function's role for one invocation.

    With authentication on: the role's session for lambda.amazonaws.com (reused while it has time
    left, so warm invocations write nothing); a role deleted or no longer trusting Lambda refuses
    the invocation with the message CreateFunction gives. In dev mode every well-formed credential
    acts as the account root, so a function gets placeholder credentials its SDK can sign with.
    """
    if dev:
        return Credentials(access_key_id="ASIA" + secrets.token_hex(8).upper(),
                           secret_access_key=secrets.token_urlsafe(30), session_token=secrets.token_urlsafe(48),
                           expiration=time.time() + function.timeout + DEV_CREDENTIALS_MARGIN)
    try:
        assumed = await services.identities.role_sessions.assume_role_for_service(
            function.account, function.role, session_name=function.name, service=LAMBDA_SERVICE,
        )
    except AccessDeniedException:
        raise InvalidParameterValueException(ROLE_CANNOT_BE_ASSUMED) from None
    creds = assumed.credentials
    return Credentials(access_key_id=creds.access_key_id, secret_access_key=creds.secret_access_key,
                       session_token=creds.session_token, expiration=creds.expiration)
