"""Resource policies of secrets: PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy,
ListResourcePolicies, ValidateResourcePolicy.

What AWS does, and how we know:

* The policy text is stored and returned as sent (botocore's examples for Put/GetResourcePolicy
  return the very string that was put); GetResourcePolicy has ``ResourcePolicy`` only when a policy
  is attached (recorded scenario ``test_resource_policy``; moto PR #6049 "We no longer return a
  policy if there hasn't been one created, in-line with what AWS does"). Put and Delete answer
  ``ARN`` and ``Name``.
* Size: at most 20,480 characters, checked from the model (``NonEmptyResourcePolicyType``) before
  the handler runs, with the model's ValidationException.
* Grammar errors are MalformedPolicyDocumentException with Secrets Manager's sentences
  ("This resource policy contains a syntax error." and, for an IAM user that does not exist,
  "This resource policy contains an unsupported principal."; Secrets Manager User Guide,
  "Managing a resource-based policy for a secret"; the Terraform AWS provider retries
  PutResourcePolicy on that second message while a new principal propagates).
* ``BlockPublicPolicy`` refuses a policy granting broad access with PublicPolicyException, "You
  can't attach a resource-based policy that allows broad access to the secret." (same guide; it
  names the error BlockPublicPolicyException, the service model names it PublicPolicyException,
  which is what SDKs decode). What "broad" means is :func:`find_broad_access`'s docstring.
* Lock-out and broad access are *not* refused by PutResourcePolicy otherwise: the guide says the
  console refuses such policies but "You can still add, modify, retrieve, and delete
  resource-based policies using the CLI and API commands". ValidateResourcePolicy reports them.
* Put and Delete change the secret, so a secret scheduled for deletion refuses them with the
  standard InvalidRequestException (as TagResource does, recorded); Get reads metadata and works
  on it, as DescribeSecret does (our choice: no public source says either way).
* A secret has one policy, named ``default`` (the current model: "You can modify only the default
  policy"). ``PolicyName`` other than ``default`` is InvalidParameterException for Put and Delete
  and ResourceNotFoundException for Get (the model's documentation of each). Put and Delete answer
  ``PolicyName`` (``default``: "If you didn't specify PolicyName in the request, this is
  default"), Get does when a policy is attached. ListResourcePolicies (``secretsmanager:
  ListResourcePolicies`` on the secret) lists the names only, ``default`` first, paged with
  MaxResults (default 100) and a sealed NextToken; like Get it reads metadata and works on a
  secret scheduled for deletion.
* ValidateResourcePolicy needs ``secretsmanager:ValidateResourcePolicy`` and, on a named secret,
  ``secretsmanager:PutResourcePolicy`` (API reference, "Required permissions"). It runs three
  checks (API reference): grammar, broad access (Zelkova on AWS), lock-out of the caller, and
  answers ``PolicyValidationPassed`` with ``ValidationErrors`` (``[]`` when it passes: AWS CLI
  example ``validate-resource-policy``). The lock-out sentence is the guide's, "Your requested
  changes will not allow you to manage this secret in the future."; the broad-access entry
  starts with the guide's "This resource policy grants broad access to your secret.".
  AWS publishes no list of ``CheckName`` values; ours are the constants of
  :mod:`strongroom.iam.policy.checks` plus :data:`CHECK_LOCKOUT`.

Lock-out: the caller is locked out when, with the new policy attached, it could neither put nor
delete the secret's policy any more (either one would let it repair the policy). With a secret,
that is asked of the request's own authorizer (identity policies, the new resource policy and
the request's context keys). Without a secret, or in dev mode (no authorization), only the new
policy's explicit Deny statements are evaluated against the caller, with no context keys, so a
Deny that only spares some networks or endpoints counts against the caller.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from strongroom.errors import (
    AccessDeniedException,
    InvalidParameterException,
    MalformedPolicyDocumentException,
    PublicPolicyException,
    ResourceNotFoundException,
)
from strongroom.iam.identities import root_principal, user_principal
from strongroom.iam.policy import (
    BROAD_ACCESS_MESSAGE,
    LOCKOUT_MESSAGE,
    PUBLIC_POLICY_MESSAGE,
    Policy,
    Principal,
    find_broad_access,
    lint,
    locked_out_actions,
    parse_policy,
)
from strongroom.iam.policy.checks import CHECK_BROAD_ACCESS, CHECK_SYNTAX
from strongroom.iam.policy.document import UNSUPPORTED_PRINCIPAL
from strongroom.secrets.authorization import find_secret
from strongroom.secrets.changes import secret_change
from strongroom.secrets.iam_vocabulary import VOCABULARY, resource_context_keys
from strongroom.secrets.replicas import MANAGED_POLICY, managed_policy
from strongroom.secrets.tokens import offset_page
from strongroom.service.context import CallerKind, RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.base import Tx
from strongroom.store.records import SecretRow

CHECK_LOCKOUT = "LOCKOUT"
#: Either one lets a caller repair a secret's policy; losing both is a lock-out.
MANAGE_ACTIONS = ("PutResourcePolicy", "DeleteResourcePolicy")
#: The name of a secret's one resource policy.
DEFAULT_POLICY = "default"
ONLY_DEFAULT = "You can only {verb} the default resource policy: PolicyName must be default, not {name}."
NO_SUCH_POLICY = "Secrets Manager can't find the resource policy {name} of the specified secret."


def _identity(secret: SecretRow) -> dict[str, Any]:
    return {"ARN": secret.arn, "Name": secret.name}


def _require_default(params: dict[str, Any], verb: str) -> None:
    """Put and Delete change only the default policy (InvalidParameterException otherwise)."""
    name = params.get("PolicyName", DEFAULT_POLICY)
    if name != DEFAULT_POLICY:
        raise InvalidParameterException(ONLY_DEFAULT.format(verb=verb, name=name))


async def put_resource_policy(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    text = params["ResourcePolicy"]
    async with secret_change(services, ctx, params["SecretId"]) as change:
        _require_default(params, "attach")
        policy = parse_policy(text, kind="resource")
        await _require_known_users(change.tx, ctx, policy)
        if params.get("BlockPublicPolicy") and find_broad_access(policy):
            raise PublicPolicyException(PUBLIC_POLICY_MESSAGE)
        change.set(resource_policy=text)
    return {**_identity(change.secret), "PolicyName": DEFAULT_POLICY}


async def get_resource_policy(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    async with services.store.read() as tx:
        secret = await find_secret(tx, ctx, params["SecretId"])
    name = params.get("PolicyName", DEFAULT_POLICY)
    text = _policies(secret).get(name)
    if name != DEFAULT_POLICY and text is None:
        raise ResourceNotFoundException(NO_SUCH_POLICY.format(name=name))
    out = _identity(secret)
    if text is not None:
        out["ResourcePolicy"] = text
        out["PolicyName"] = name
    return out


def _policies(secret: SecretRow) -> dict[str, str]:
    """The secret's resource policies by name: ``default`` if attached, then a linked cross-account
    replica's managed ``cross-account-replication`` (User Guide, "Permissions for cross-account
    replication"), which only StopReplicationToReplica removes."""
    out = {DEFAULT_POLICY: secret.resource_policy} if secret.resource_policy is not None else {}
    managed = managed_policy(secret)
    if managed is not None:
        out[MANAGED_POLICY] = managed
    return out


async def delete_resource_policy(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    async with secret_change(services, ctx, params["SecretId"]) as change:
        _require_default(params, "delete")
        if change.secret.resource_policy is not None:
            change.set(resource_policy=None)
    return {**_identity(change.secret), "PolicyName": DEFAULT_POLICY}


async def list_resource_policies(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """The names of the secret's resource policies: ``default`` when one is attached, and a
    cross-account replica's managed one."""
    async with services.store.read() as tx:
        secret = await find_secret(tx, ctx, params["SecretId"])
    names = list(_policies(secret))
    page, next_token = offset_page(
        services.tokens, f"ListResourcePolicies|{secret.arn}", names, params.get("NextToken"),
        int(params.get("MaxResults") or 100),
    )
    out: dict[str, Any] = {"ResourcePolicies": [{"PolicyName": name} for name in page]}
    if next_token is not None:
        out["NextToken"] = next_token
    return out


async def validate_resource_policy(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    text = params["ResourcePolicy"]
    secret_id = params.get("SecretId")
    async with services.store.read() as tx:
        secret: SecretRow | None = None
        if secret_id is not None:
            secret = await find_secret(tx, ctx, secret_id, also=("PutResourcePolicy",))
        else:
            ctx.authorize(ctx.action, "*", None)
        errors = [{"CheckName": check, "ErrorMessage": message} for check, message in _lint(text)]
        if not any(e["CheckName"] == CHECK_SYNTAX for e in errors):
            policy = parse_policy(text, kind="resource")
            try:
                await _require_known_users(tx, ctx, policy)
            except MalformedPolicyDocumentException as exc:
                errors.insert(0, {"CheckName": CHECK_SYNTAX, "ErrorMessage": exc.message})
            if await _locks_out(tx, ctx, policy, secret):
                errors.append({"CheckName": CHECK_LOCKOUT, "ErrorMessage": LOCKOUT_MESSAGE})
    return {"PolicyValidationPassed": not errors, "ValidationErrors": errors}


def _lint(text: str) -> list[tuple[str, str]]:
    """Grammar, broad access, unknown actions and condition keys; AWS's sentence leads broad access."""
    findings = []
    for check, message in lint(text, VOCABULARY):
        if check == CHECK_BROAD_ACCESS:
            message = f"{BROAD_ACCESS_MESSAGE} {message}"
        findings.append((check, message))
    return findings


async def _require_known_users(tx: Tx, ctx: RequestContext, policy: Policy) -> None:
    """Refuse IAM user principals that don't exist (AWS resolves principals when a policy is put).

    Skipped in dev mode, where no identities are kept. Roles and accounts are not checked.
    """
    if ctx.kind is CallerKind.DEV:  # no identities are kept in emulator mode
        return
    iam = tx.iam
    for statement in policy.statements:
        spec = statement.principal
        if spec is None:
            continue
        for arn in spec.arns:
            parts = arn.split(":", 5)
            if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("user/"):
                name = parts[5].rsplit("/", 1)[-1]
                if await iam.get_user(parts[4], name) is None:
                    raise MalformedPolicyDocumentException(UNSUPPORTED_PRINCIPAL)


async def _caller(tx: Tx, ctx: RequestContext) -> Principal:
    """The calling principal, rebuilt from its ARN (with the user's unique id when it is a user)."""
    arn = ctx.principal_arn
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[5].startswith("user/"):
        user = await tx.iam.get_user(parts[4], parts[5].rsplit("/", 1)[-1])
        if user is not None:
            return user_principal(user)
    return root_principal(ctx.account)


async def _locks_out(tx: Tx, ctx: RequestContext, policy: Policy, secret: SecretRow | None) -> bool:
    """Whether attaching ``policy`` would leave the caller unable to change the policy again."""
    if secret is not None and ctx.kind is not CallerKind.DEV:
        candidate = replace(secret, resource_policy=policy.text)
        for action in MANAGE_ACTIONS:
            try:
                ctx.authorize(action, secret.arn, candidate)
            except AccessDeniedException:
                continue
            return False
        return True
    principal = await _caller(tx, ctx)
    context = resource_context_keys(secret)
    denied = locked_out_actions(
        policy,
        principal,
        [f"secretsmanager:{action}" for action in MANAGE_ACTIONS],
        resource=secret.arn if secret is not None else None,
        context=context,
    )
    return len(denied) == len(MANAGE_ACTIONS)
