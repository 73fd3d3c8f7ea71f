"""Installing the shipped rotation functions into an account (``strongroom admin install-rotators``).

Each rotator of :mod:`strongroom.rotators.catalog` becomes a function of the account and region
through the Lambda handlers themselves (CreateFunction, UpdateFunctionCode,
UpdateFunctionConfiguration, AddPermission, RemovePermission), run as Strongroom's own caller, so
an installed rotator is a function like any other: ListFunctions shows it, the same checks apply
(its role must exist and trust lambda.amazonaws.com). Installing again changes only what differs:
code whose CodeSha256 differs, the settings the catalog gives (runtime, handler, role,
description, timeout, memory size; environment variables are the user's and are kept) and the
statement that lets Secrets Manager invoke the function. Not part of the function code: this
module runs in the server's environment, never in a function's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from strongroom.clock import now
from strongroom.errors import ResourceNotFoundException
from strongroom.functions.arns import function_arn
from strongroom.functions.changes import read_function
from strongroom.functions.create import create_function
from strongroom.functions.invoker import SECRETS_MANAGER, Functions, FunctionsSettings
from strongroom.functions.lookup import requested_function
from strongroom.functions.permissions import add_permission, remove_permission, statement_of
from strongroom.functions.runtime import RuntimeConfig
from strongroom.functions.update import update_function_code, update_function_configuration
from strongroom.iam.caller import system_caller
from strongroom.iam.role_sessions import LAMBDA_SERVICE
from strongroom.rotators.catalog import ROTATORS, FunctionPackage, Rotator, build_zip
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import FunctionRow

#: The role made when none is given: Lambda may assume it; it may do what the rotators call.
DEFAULT_ROLE_NAME = "strongroom-rotators"
ROLE_POLICY_NAME = "strongroom-rotation"
ROLE_DESCRIPTION = "Execution role of Strongroom's rotation functions (strongroom admin install-rotators)"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": LAMBDA_SERVICE}, "Action": "sts:AssumeRole"}],
}
#: What the rotators call (docs/rotation.md, "Environment variables"): the secret's operations,
#: on any secret (the master secret of alternating users included), and GetRandomPassword.
ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                                       "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"},
    ],
}
#: The Sid of the statement that lets Secrets Manager invoke an installed rotator.
STATEMENT_ID = "SecretsManagerAccess"
#: The catalog's settings as UpdateFunctionConfiguration's members, with the FunctionRow field of each.
_SETTINGS = (("Runtime", "runtime"), ("Handler", "handler"), ("Role", "role"), ("Description", "description"),
             ("Timeout", "timeout"), ("MemorySize", "memory_size"))


@dataclass(frozen=True)
class InstalledFunction:
    """One rotator after installing: ``outcome`` is created, updated or unchanged; ``changed`` says
    what an update changed (code, configuration, permission)."""

    name: str
    arn: str
    outcome: str
    code_sha256: str
    changed: tuple[str, ...] = ()


@dataclass
class Installation:
    """What an installation did: the role the functions run with, and each function."""

    account: str
    region: str
    role_arn: str
    role_created: bool
    functions: list[InstalledFunction] = field(default_factory=list)


def selected(only: Iterable[str] | None) -> list[Rotator]:
    """The rotators named in ``only`` (all when None or empty), in catalog order; KeyError for an unknown one."""
    names = list(only or [])
    if not names:
        return list(ROTATORS)
    known = {rotator.name for rotator in ROTATORS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise KeyError(f"no rotator {unknown[0]!r}; known: {', '.join(sorted(known))}")
    return [rotator for rotator in ROTATORS if rotator.name in names]


async def ensure_default_role(services: Services, account: str) -> tuple[str, bool]:
    """(ARN, created) of :data:`DEFAULT_ROLE_NAME` with :data:`ROLE_POLICY` (made or put again)."""
    roles = services.identities.roles
    try:
        role = await roles.get_role(account, DEFAULT_ROLE_NAME)
        created = False
    except ResourceNotFoundException:
        role = await roles.create_role(account, DEFAULT_ROLE_NAME, orjson.dumps(TRUST_POLICY).decode(),
                                       description=ROLE_DESCRIPTION)
        created = True
    policy = orjson.dumps(ROLE_POLICY).decode()
    current = dict(await services.identities.list_policies(account, "role", DEFAULT_ROLE_NAME))
    if current.get(ROLE_POLICY_NAME) is None or orjson.loads(current[ROLE_POLICY_NAME]) != ROLE_POLICY:
        await services.identities.put_policy(account, "role", DEFAULT_ROLE_NAME, ROLE_POLICY_NAME, policy)
    return role.arn, created


def _context(account: str, region: str, action: str) -> RequestContext:
    return RequestContext.of(system_caller(account, region), now(), str(uuid.uuid4()), action)


def _settings(rotator: Rotator, role: str) -> dict[str, Any]:
    return {"Runtime": rotator.runtime, "Handler": rotator.handler, "Role": role,
            "Description": rotator.description, "Timeout": rotator.timeout, "MemorySize": rotator.memory_size}


def permission_request(name: str, account: str) -> dict[str, Any]:
    """AddPermission's request for Secrets Manager, limited to the function's own account (SourceAccount)."""
    return {"FunctionName": name, "StatementId": STATEMENT_ID, "Action": "lambda:InvokeFunction",
            "Principal": SECRETS_MANAGER, "SourceAccount": account}


async def _read(services: Services, account: str, region: str, name: str) -> FunctionRow | None:
    ctx = _context(account, region, "GetFunction")
    try:
        return await read_function(services, ctx, requested_function(ctx, {"FunctionName": name}), "GetFunction")
    except ResourceNotFoundException:
        return None


async def _existing(services: Services, account: str, region: str, name: str) -> FunctionRow:
    """The function as it is now; ResourceNotFoundException if it was deleted while this ran."""
    function = await _read(services, account, region, name)
    if function is None:
        raise ResourceNotFoundException(f"Function not found: {function_arn(region, account, name)}")
    return function


async def _ensure_permission(services: Services, account: str, region: str, function: FunctionRow) -> bool:
    """Give the function :data:`STATEMENT_ID` as :func:`permission_request` writes it; True if it changed."""
    request = permission_request(function.name, account)
    wanted = statement_of(request, function.arn)
    statements = orjson.loads(function.resource_policy)["Statement"] if function.resource_policy else []
    current = next((s for s in statements if s.get("Sid") == STATEMENT_ID), None)
    if current == wanted:
        return False
    if current is not None:
        await remove_permission(services, _context(account, region, "RemovePermission"),
                                {"FunctionName": function.name, "StatementId": STATEMENT_ID,
                                 "RevisionId": function.revision_id})
        function = await _existing(services, account, region, function.name)
    await add_permission(services, _context(account, region, "AddPermission"),
                         {**request, "RevisionId": function.revision_id})
    return True


async def install_package(services: Services, account: str, region: str, package: FunctionPackage,
                          role: str) -> InstalledFunction:
    """Create the package's function, or bring an existing one up to date; then its permission."""
    rotator = package.rotator
    settings = _settings(rotator, role)
    existing = await _read(services, account, region, rotator.name)
    changed: list[str] = []
    if existing is None:
        await create_function(services, _context(account, region, "CreateFunction"),
                              {"FunctionName": rotator.name, "Code": {"ZipFile": package.zip_file}, **settings})
        outcome = "created"
    else:
        if existing.code_sha256 != package.code_sha256:
            updated = await update_function_code(services, _context(account, region, "UpdateFunctionCode"),
                                                 {"FunctionName": rotator.name, "ZipFile": package.zip_file,
                                                  "RevisionId": existing.revision_id})
            revision = updated["RevisionId"]
            changed.append("code")
        else:
            revision = existing.revision_id
        differing = {member: settings[member] for member, column in _SETTINGS
                     if getattr(existing, column) != settings[member]}
        if differing:
            await update_function_configuration(services, _context(account, region, "UpdateFunctionConfiguration"),
                                                {"FunctionName": rotator.name, "RevisionId": revision, **differing})
            changed.append("configuration")
        outcome = "updated" if changed else "unchanged"
    function = await _existing(services, account, region, rotator.name)
    if await _ensure_permission(services, account, region, function) and existing is not None:
        changed.append("permission")
        outcome = "updated"
    return InstalledFunction(rotator.name, function.arn, outcome, package.code_sha256, tuple(changed))


def store_only_functions(services: Services) -> None:
    """Give ``services`` a functions service that is never started, when it has none (the admin CLI):
    the Lambda handlers' changes need one to retire warm workers, and an unstarted one has none."""
    if services.functions is None:
        services.functions = Functions(services, FunctionsSettings(RuntimeConfig(), endpoint_url=None))


async def install_rotators(services: Services, account: str, region: str, *, role: str | None = None,
                           only: Iterable[str] | None = None) -> Installation:
    """Install the rotators (all, or those named in ``only``) into ``account`` and ``region``, running
    with ``role`` (an ARN), or with :data:`DEFAULT_ROLE_NAME`, made if missing, when None.

    ValueError for a region the deployment does not serve, KeyError for an unknown rotator,
    LookupError when a driver the packages carry is not installed; Lambda's errors otherwise (a
    role Lambda cannot assume: InvalidParameterValueException).
    """
    if region not in services.regions:
        raise ValueError(f"{region!r} is not a region this deployment serves")
    rotators = selected(only)
    store_only_functions(services)
    if role is None:
        role, role_created = await ensure_default_role(services, account)
    else:
        role_created = False
    installation = Installation(account, region, role, role_created)
    for rotator in rotators:
        package = FunctionPackage(rotator, build_zip(rotator.name))
        installation.functions.append(await install_package(services, account, region, package, role))
    return installation

