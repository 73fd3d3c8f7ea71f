"""The function's resource policy: AddPermission, RemovePermission and GetPolicy.

AddPermission writes one statement as Lambda writes it (compact JSON, keys in Lambda's order):
``Sid``, ``Effect: Allow``, ``Principal`` (``{"Service": ...}`` for a service, ``{"AWS":
"arn:aws:iam::<account>:root"}`` for an account id, ``{"AWS": <arn>}`` for an IAM ARN, ``"*"``),
``Action``, ``Resource`` (the function's ARN) and the conditions of SourceAccount, PrincipalOrgID
and EventSourceToken (``StringEquals``) and SourceArn (``ArnLike``). The policy is ``{"Version":
"2012-10-17", "Id": "default", "Statement": [...]}``; removing its last statement removes it.
Every change gives the function a new RevisionId, which AddPermission and RemovePermission
check when the request names one. The policy is evaluated with the caller's identity policies
for every operation on the function (cross-account callers, service principals).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from strongroom.errors import MalformedPolicyDocumentException, ResourceNotFoundException
from strongroom.functions.changes import check_revision, commit_change, read_function
from strongroom.functions.errors import (
    NO_POLICY,
    InvalidParameterValueException,
    PolicyLengthExceededException,
    ResourceConflictException,
    statement_exists,
    statement_not_found,
)
from strongroom.functions.iam_vocabulary import ACTIONS, PREFIX
from strongroom.functions.lookup import requested_function
from strongroom.iam.policy import parse_policy
from strongroom.iam.policy.wildcard import compile_globs
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services

#: Lambda's limit on a function's policy (the Lambda quotas page: "Function resource-based policy: 20 KB").
MAX_POLICY_BYTES = 20_480
_ACCOUNT = re.compile(r"\d{12}")
_SERVICE = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?")
INVALID_PRINCIPAL = "The provided principal was invalid. Please check the principal and try again."
_KNOWN_ACTIONS = tuple(f"{PREFIX}:{action}".lower() for action in ACTIONS)


def principal_element(principal: str) -> Any:
    """AddPermission's Principal as the statement's Principal element."""
    if principal == "*":
        return "*"
    if _ACCOUNT.fullmatch(principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if principal.startswith("arn:"):
        return {"AWS": principal}
    if _SERVICE.fullmatch(principal):
        return {"Service": principal}
    raise InvalidParameterValueException(INVALID_PRINCIPAL)


def _check_action(action: str) -> None:
    """The Action must name Lambda actions (``lambda:InvokeFunction``, ``lambda:*``, ``*``)."""
    globs = compile_globs([action.lower()], ignore_case=True)
    if not any(globs.matches(known) for known in _KNOWN_ACTIONS):
        raise InvalidParameterValueException(f"The action {action} is not a Lambda action.")


def statement_of(params: dict[str, Any], resource: str) -> dict[str, Any]:
    _check_action(params["Action"])
    statement: dict[str, Any] = {"Sid": params["StatementId"], "Effect": "Allow",
                                 "Principal": principal_element(params["Principal"]),
                                 "Action": params["Action"], "Resource": resource}
    equals = {key: params[member] for member, key in (("SourceAccount", "AWS:SourceAccount"),
                                                      ("PrincipalOrgID", "aws:PrincipalOrgID"),
                                                      ("EventSourceToken", "lambda:EventSourceToken"))
              if params.get(member)}
    condition: dict[str, Any] = {}
    if equals:
        condition["StringEquals"] = equals
    if params.get("SourceArn"):
        condition["ArnLike"] = {"AWS:SourceArn": params["SourceArn"]}
    if condition:
        statement["Condition"] = condition
    return statement


def _statements(policy: str | None) -> list[dict[str, Any]]:
    return list(orjson.loads(policy)["Statement"]) if policy else []


def policy_text(statements: list[dict[str, Any]]) -> str | None:
    """The policy of ``statements`` (None: no statement, no policy), checked as any resource policy is."""
    if not statements:
        return None
    text = orjson.dumps({"Version": "2012-10-17", "Id": "default", "Statement": statements}).decode()
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise PolicyLengthExceededException(
            f"The final policy size ({len(text.encode())}) is bigger than the limit ({MAX_POLICY_BYTES}).")
    try:
        parse_policy(text, kind="resource")
    except MalformedPolicyDocumentException as exc:  # an IAM ARN principal of the wrong form
        raise InvalidParameterValueException(INVALID_PRINCIPAL) from exc
    return text


async def add_permission(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ref = requested_function(ctx, params)
    seen = await read_function(services, ctx, ref, "AddPermission")
    check_revision(seen, params)
    statements = _statements(seen.resource_policy)
    if any(statement.get("Sid") == params["StatementId"] for statement in statements):
        raise ResourceConflictException(statement_exists(params["StatementId"]))
    statement = statement_of(params, seen.arn)
    await commit_change(services, ctx, ref, "AddPermission", seen,
                        resource_policy=policy_text([*statements, statement]))
    return {"Statement": orjson.dumps(statement).decode()}


async def remove_permission(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ref = requested_function(ctx, params)
    seen = await read_function(services, ctx, ref, "RemovePermission")
    check_revision(seen, params)
    statements = _statements(seen.resource_policy)
    kept = [statement for statement in statements if statement.get("Sid") != params["StatementId"]]
    if len(kept) == len(statements):
        raise ResourceNotFoundException(statement_not_found(params["StatementId"]))
    await commit_change(services, ctx, ref, "RemovePermission", seen, resource_policy=policy_text(kept))
    return {}


async def get_policy(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    function = await read_function(services, ctx, requested_function(ctx, params), "GetPolicy")
    if function.resource_policy is None:
        raise ResourceNotFoundException(NO_POLICY)
    return {"Policy": function.resource_policy, "RevisionId": function.revision_id}
