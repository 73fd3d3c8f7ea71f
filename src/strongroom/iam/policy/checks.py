"""Checks on resource policies: broad access, linting against a service's vocabulary, lock-out.

Broad ("public") access is Amazon S3 Block Public Access's notion, which Secrets Manager's
BlockPublicPolicy and ValidateResourcePolicy use: a statement allowing every principal is
acceptable only when a narrowing condition pins the caller to fixed values (aws:SourceArn,
aws:SourceVpc, aws:SourceVpce, aws:SourceAccount, aws:SourceOwner, aws:userid, aws:SourceIp CIDRs,
and the organization, account and identity keys). A fixed AWS principal, also a foreign account,
is not broad; :func:`find_foreign_account_grants` reports those separately. A narrowing condition
must really narrow: a positive operator, not ...IfExists, not ForAllValues, values without
wildcards or policy variables. Sources: docs/api.md, "Policy evaluation".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from strongroom.errors import MalformedPolicyDocumentException
from strongroom.iam.policy.conditions import FOR_ALL_VALUES, Condition, as_epoch, as_network, as_number
from strongroom.iam.policy.context import AuthzRequest, ContextValue, Principal, RequestContext
from strongroom.iam.policy.document import Policy, Statement, parse_policy
from strongroom.iam.policy.evaluate import evaluate_resource
from strongroom.iam.policy.wildcard import compile_globs, has_wildcard

#: Messages of Secrets Manager (Secrets Manager User Guide, "Managing a resource-based policy").
BROAD_ACCESS_MESSAGE = "This resource policy grants broad access to your secret."
PUBLIC_POLICY_MESSAGE = "You can't attach a resource-based policy that allows broad access to the secret."
LOCKOUT_MESSAGE = "Your requested changes will not allow you to manage this secret in the future."

# Check names reported by lint (ValidationErrorsEntry.CheckName).
CHECK_SYNTAX = "SYNTAX"
CHECK_BROAD_ACCESS = "BROAD_ACCESS"
CHECK_UNKNOWN_ACTION = "UNKNOWN_ACTION"
CHECK_NOT_SERVICE_ACTION = "NOT_SECRETSMANAGER_ACTION"  # the check name ValidateResourcePolicy reports
CHECK_UNKNOWN_CONDITION_KEY = "UNKNOWN_CONDITION_KEY"
CHECK_CONDITION_VALUE_TYPE = "CONDITION_VALUE_TYPE"

class Vocabulary(NamedTuple):
    """A service in IAM's terms, what :func:`lint` checks a policy's actions and condition keys against."""

    #: the service's action prefix
    prefix: str
    #: its name in findings
    title: str
    #: its action names (without the prefix)
    actions: tuple[str, ...]
    #: its condition keys (with the prefix)
    condition_keys: tuple[str, ...]
    #: prefixes of its condition key families (``<prefix>:ResourceTag/``)
    condition_key_prefixes: tuple[str, ...] = ()


#: Global condition keys (IAM User Guide, "AWS global condition context keys").
GLOBAL_CONDITION_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:AssumedRoot",
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:Ec2InstanceSourcePrivateIPv4",
        "aws:Ec2InstanceSourceVpc",
        "aws:FederatedProvider",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:Referer",
        "aws:RequestedRegion",
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceIdentity",
        "aws:SourceIp",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceOwner",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceVpcArn",
        "aws:TagKeys",
        "aws:TokenIssueTime",
        "aws:UserAgent",
        "aws:userid",
        "aws:username",
        "aws:ViaAWSService",
        "aws:VpcSourceIp",
        "aws:VpceAccount",
        "aws:VpceOrgID",
        "aws:VpceOrgPaths",
    )
)
GLOBAL_CONDITION_KEY_PREFIXES = ("aws:principaltag/", "aws:requesttag/", "aws:resourcetag/")

#: Keys that pin a request to fixed callers or network origins when compared to a fixed value.
NARROWING_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:SourceArn",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceAccount",
        "aws:SourceOwner",
        "aws:SourceOrgID",
        "aws:PrincipalOrgID",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:userid",
    )
)
_NARROWING_FAMILIES = frozenset({"string", "string_ic", "string_like", "arn"})


def _narrows(condition: Condition) -> bool:
    spec = condition.spec
    if spec.negated or spec.if_exists or spec.qualifier == FOR_ALL_VALUES or not condition.values:
        return False
    if condition.templates is not None:
        return False
    if condition.key_lower == "aws:sourceip":
        if spec.family != "ip":
            return False
        networks = [as_network(v) for v in condition.values]
        return all(n is not None and n.prefixlen > 0 for n in networks)
    if condition.key_lower not in NARROWING_KEYS or spec.family not in _NARROWING_FAMILIES:
        return False
    return all(v and not has_wildcard(v) for v in condition.values)


def _is_narrowed(statement: Statement) -> bool:
    return any(_narrows(c) for c in statement.conditions)


def _principal_is_public(statement: Statement) -> bool:
    spec = statement.principal
    if spec is None:
        return False
    return statement.not_principal or spec.wildcard


def find_broad_access(policy: Policy) -> list[str]:
    """Allow statements that grant everyone ("*" or NotPrincipal) without a narrowing condition.

    An empty list means BlockPublicPolicy would accept the policy.
    """
    findings: list[str] = []
    for statement in policy.statements:
        if not statement.allow or not _principal_is_public(statement) or _is_narrowed(statement):
            continue
        who = "every principal except those in NotPrincipal" if statement.not_principal else 'principal "*"'
        findings.append(
            f"{statement.label} allows {who} without a condition that limits access to fixed values of "
            "aws:SourceArn, aws:SourceVpc, aws:SourceVpce, aws:SourceAccount, aws:SourceOwner, "
            "aws:PrincipalOrgID, aws:PrincipalAccount, aws:PrincipalArn or aws:userid, "
            "or to CIDR ranges with aws:SourceIp."
        )
    return findings


def find_foreign_account_grants(policy: Policy, owner_account: str) -> list[str]:
    """Allow statements that name a whole account other than ``owner_account``, unnarrowed.

    Not public by AWS's definition (the other account's administrators still decide), so not a
    reason to refuse a policy; a finding worth showing to an operator.
    """
    findings: list[str] = []
    for statement in policy.statements:
        spec = statement.principal
        if not statement.allow or spec is None or statement.not_principal or _is_narrowed(statement):
            continue
        foreign = sorted(a for a in spec.accounts if a != owner_account)
        if foreign:
            findings.append(
                f"{statement.label} allows every principal of account(s) {', '.join(foreign)} "
                "without a narrowing condition."
            )
    return findings


def _condition_type_problems(statement: Statement, condition: Condition) -> list[str]:
    family = condition.spec.family
    bad: list[str] = []
    for value in condition.values:
        if family == "numeric" and as_number(value) is None:
            bad.append(value)
        elif family == "date" and as_epoch(value) is None:
            bad.append(value)
        elif family == "ip" and as_network(value) is None:
            bad.append(value)
        elif family in ("bool", "null") and value.lower() not in ("true", "false"):
            bad.append(value)
    return [
        f'{statement.label}: {condition.spec.name} value "{value}" for "{condition.key}" can never match.'
        for value in bad
    ]


def lint(policy_text: str, vocabulary: Vocabulary) -> list[tuple[str, str]]:
    """Findings for ValidateResourcePolicy as ``(check name, message)``; empty when it passes.

    Checks: grammar (stops there), broad access, actions that none of the service's actions
    matches, other services' actions (they never apply to the service's resources), condition
    keys that are neither the service's nor global, and condition values of the wrong type.
    """
    try:
        policy = parse_policy(policy_text, kind="resource")
    except MalformedPolicyDocumentException as exc:
        return [(CHECK_SYNTAX, exc.message)]
    findings: list[tuple[str, str]] = [(CHECK_BROAD_ACCESS, m) for m in find_broad_access(policy)]
    prefix, title = vocabulary.prefix, vocabulary.title
    known = frozenset(f"{prefix}:{action}".lower() for action in vocabulary.actions)
    own_keys = frozenset(key.lower() for key in vocabulary.condition_keys)
    own_key_prefixes = tuple(p.lower() for p in vocabulary.condition_key_prefixes)
    for statement in policy.statements:
        for pattern in statement.action_patterns:
            lowered = pattern.lower()
            service = lowered.split(":", 1)[0] if ":" in lowered else "*"
            if lowered == "*" or service == "*":
                continue
            if not has_wildcard(service) and service != prefix:
                findings.append(
                    (
                        CHECK_NOT_SERVICE_ACTION,
                        f'{statement.label}: "{pattern}" is not a {title} action; it never applies to a secret.',
                    )
                )
                continue
            globs = compile_globs([lowered], ignore_case=True)
            if not any(globs.matches(name) for name in known):
                findings.append((CHECK_UNKNOWN_ACTION, f'{statement.label}: "{pattern}" matches no {title} action.'))
        for condition in statement.conditions:
            key = condition.key_lower
            if key.startswith(f"{prefix}:"):
                known_key = key in own_keys or any(key.startswith(p) and len(key) > len(p) for p in own_key_prefixes)
            elif key.startswith("aws:"):
                known_key = key in GLOBAL_CONDITION_KEYS or any(
                    key.startswith(p) and len(key) > len(p) for p in GLOBAL_CONDITION_KEY_PREFIXES
                )
            else:
                known_key = False
            if not known_key:
                findings.append(
                    (
                        CHECK_UNKNOWN_CONDITION_KEY,
                        f'{statement.label}: condition key "{condition.key}" is not a {title} '
                        "or global condition key; it is never present.",
                    )
                )
            findings.extend((CHECK_CONDITION_VALUE_TYPE, m) for m in _condition_type_problems(statement, condition))
    return findings


def locked_out_actions(
    policy: Policy,
    principal: Principal,
    action_set: Iterable[str],
    *,
    resource: str | None = None,
    context: Mapping[str, ContextValue] | None = None,
) -> list[str]:
    """The actions of ``action_set`` that ``policy`` (a resource policy) explicitly denies to ``principal``.

    ``resource`` None matches any Resource pattern (in a secret's policy the resource is the secret
    itself). Conditions are evaluated against ``context`` (default: empty, so a negated condition
    such as NotIpAddress counts as denying: the caller may well call from elsewhere).
    """
    denied: list[str] = []
    for action in action_set:
        req = AuthzRequest(principal, action, resource or "*", principal.account, context or {})
        ctx = RequestContext(req.context, principal)
        deny, _, _ = evaluate_resource(policy, req, action.lower(), resource, ctx)
        if deny is not None:
            denied.append(action)
    return denied


def would_lock_out(
    policy: Policy,
    principal: Principal,
    action_set: Iterable[str],
    *,
    resource: str | None = None,
    context: Mapping[str, ContextValue] | None = None,
) -> bool:
    """True when ``policy`` explicitly denies ``principal`` any action of ``action_set``.

    PutResourcePolicy refuses such a policy with :data:`LOCKOUT_MESSAGE`; pass the actions needed
    to manage the policy (``<prefix>:PutResourcePolicy``, ...).
    """
    return bool(locked_out_actions(policy, principal, action_set, resource=resource, context=context))
