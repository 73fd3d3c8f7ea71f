"""Decide one request against the caller's identity policies and the resource's policy.

1. An explicit Deny in any applicable policy wins, for the root user too.
2. The root user of the caller's account needs no identity policy.
3. Same account: allowed when an identity policy allows OR the resource policy allows the caller
   by name (its user/role ARN, one of its role's sessions, or "*").
4. Cross-account: allowed only when an identity policy of the caller allows (root: implicitly)
   AND the resource policy allows the caller, by name, by "*" or by naming its account.
5. Naming an account in a resource policy delegates to that account: it satisfies the resource
   side of a cross-account request but grants nothing in the same account; for Deny, an account
   principal matches every principal of that account.
6. A role session with session policies (``Policy.session``, AssumeRole's Policy): what its
   role's policies allow, and what a resource policy grants by naming the role (or "*"), counts
   only where a session policy allows it too; a resource policy naming the session's own ARN
   grants regardless of them. A session policy's Deny denies.
7. A role's trust policy (``resource_policy_required``) must always allow: in the same account
   a trust policy naming the account grants nothing by itself (an identity policy must allow),
   one naming the caller suffices; across accounts both must allow, as for any resource.

Identity-policy statements are evaluated without looking at Principal (IAM forbids it there);
resource-policy statements without Principal/NotPrincipal never apply. Each rule's source:
docs/api.md, "Policy evaluation".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from strongroom.iam.policy.context import AuthzRequest, RequestContext
from strongroom.iam.policy.document import (
    ACCOUNT_MATCH,
    DIRECT_MATCH,
    NO_MATCH,
    SESSION_MATCH,
    Policy,
    Statement,
)

# Decision.basis values
ALLOW_ROOT = "allow:root"
ALLOW_IDENTITY = "allow:identity-based-policy"
ALLOW_RESOURCE = "allow:resource-based-policy"
ALLOW_BOTH = "allow:identity-and-resource-based-policy"
EXPLICIT_DENY_IDENTITY = "deny:explicit:identity-based-policy"
EXPLICIT_DENY_RESOURCE = "deny:explicit:resource-based-policy"
IMPLICIT_DENY_IDENTITY = "deny:implicit:identity-based-policy"
IMPLICIT_DENY_RESOURCE = "deny:implicit:resource-based-policy"
EXPLICIT_DENY_SESSION = "deny:explicit:session-policy"
IMPLICIT_DENY_SESSION = "deny:implicit:session-policy"


@dataclass(frozen=True)
class Decision:
    """The outcome. ``reason`` completes AWS's "User: ... on resource: ... <reason>" sentence."""

    allowed: bool
    reason: str
    basis: str = ""
    statement: str | None = None  # label of the deciding statement, for logs (never sent to clients)


def _account_of(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] or None if len(parts) == 6 and parts[0] == "arn" else None


def _statement_applies(statement: Statement, action: str, resource: str | None, ctx: RequestContext) -> bool:
    """Action, resource and conditions (not the principal). ``resource`` None: any resource."""
    if statement.actions.matches(action) == statement.not_action:
        return False
    if resource is not None:
        hit = statement.resources.matches(resource, ctx)
        if hit is None or hit == statement.not_resource:
            return False
    for condition in statement.conditions:
        if not condition.evaluate(ctx):
            return False
    return True


def _principal_match(statement: Statement, req: AuthzRequest) -> int:
    spec = statement.principal
    if spec is None:
        return NO_MATCH
    level = spec.match(req.principal)
    if statement.not_principal:
        return DIRECT_MATCH if level == NO_MATCH else NO_MATCH
    return level


def evaluate_identity(
    policies: Sequence[Policy], action: str, resource: str | None, ctx: RequestContext
) -> tuple[Statement | None, Statement | None]:
    """(first applicable Deny, first applicable Allow) across identity policies."""
    allow: Statement | None = None
    for policy in policies:
        for statement in policy.statements:
            if statement.allow and allow is not None:
                continue
            if _statement_applies(statement, action, resource, ctx):
                if not statement.allow:
                    return statement, allow
                allow = statement
    return None, allow


def evaluate_resource(
    policy: Policy, req: AuthzRequest, action: str, resource: str | None, ctx: RequestContext
) -> tuple[Statement | None, Statement | None, int]:
    """(applicable Deny, best applicable Allow, its principal match level) for a resource policy."""
    allow: Statement | None = None
    level = NO_MATCH
    for statement in policy.statements:
        if statement.allow and level == SESSION_MATCH:
            continue
        match = _principal_match(statement, req)
        if match == NO_MATCH:
            continue
        if statement.allow and match <= level:
            continue
        if _statement_applies(statement, action, resource, ctx):
            if not statement.allow:
                return statement, allow, level
            allow, level = statement, match
    return None, allow, level


def evaluate(
    req: AuthzRequest, identity_policies: Sequence[Policy], resource_policy: Policy | None,
    *, resource_policy_required: bool = False,
) -> Decision:
    """Allow or deny ``req`` (see the module docstring for the rules and their sources).

    ``identity_policies`` end with the caller's session policies, if any (``Policy.session``).
    ``resource_policy_required``: the resource policy must allow whatever else does (a role's
    trust policy for sts:AssumeRole).
    """
    principal = req.principal
    ctx = RequestContext(req.context, principal)
    action = req.action.lower()
    resource = req.resource
    owner = req.resource_account or _account_of(resource) or principal.account
    cross_account = owner != principal.account

    session_ok = True
    if identity_policies and identity_policies[-1].session:
        own = [p for p in identity_policies if not p.session]
        id_deny, id_allow = evaluate_identity(own, action, resource, ctx)
        if id_deny is None:
            session_deny, session_allow = evaluate_identity(
                [p for p in identity_policies if p.session], action, resource, ctx
            )
            if session_deny is not None:
                return Decision(
                    False, "with an explicit deny in a session policy", EXPLICIT_DENY_SESSION, session_deny.label
                )
            session_ok = session_allow is not None
    else:
        id_deny, id_allow = evaluate_identity(identity_policies, action, resource, ctx)
    if id_deny is not None:
        return Decision(
            False, "with an explicit deny in an identity-based policy", EXPLICIT_DENY_IDENTITY, id_deny.label
        )
    rp_allow: Statement | None = None
    rp_level = NO_MATCH
    if resource_policy is not None:
        rp_deny, rp_allow, rp_level = evaluate_resource(resource_policy, req, action, resource, ctx)
        if rp_deny is not None:
            return Decision(
                False,
                "with an explicit deny in a resource-based policy",
                EXPLICIT_DENY_RESOURCE,
                rp_deny.label,
            )
    if rp_allow is None and resource_policy_required:
        return _no_resource_allow(req)

    identity_ok = principal.is_root or (id_allow is not None and session_ok)
    if not cross_account:
        if principal.is_root:
            return _allowed(ALLOW_ROOT, None)
        if rp_allow is not None and rp_level == SESSION_MATCH:
            return _allowed(ALLOW_RESOURCE, rp_allow.label)
        if id_allow is not None and session_ok:
            return _allowed(ALLOW_IDENTITY, id_allow.label)
        if rp_allow is not None and rp_level == DIRECT_MATCH and session_ok:
            return _allowed(ALLOW_RESOURCE, rp_allow.label)
        return _no_identity_allow(req, session_ok)
    if not identity_ok:
        return _no_identity_allow(req, session_ok)
    if rp_allow is None or rp_level < ACCOUNT_MATCH:
        return _no_resource_allow(req)
    return _allowed(ALLOW_BOTH, rp_allow.label)


_ALLOW_REASONS = {
    ALLOW_ROOT: "allowed: root user of the owning account",
    ALLOW_IDENTITY: "allowed by an identity-based policy",
    ALLOW_RESOURCE: "allowed by a resource-based policy",
    ALLOW_BOTH: "allowed by identity-based and resource-based policies",
}
_ALLOWED: dict[tuple[str, str | None], Decision] = {}


def _allowed(basis: str, label: str | None) -> Decision:
    """Allow decisions are few and immutable: build each once (saves ~1 us per request)."""
    decision = _ALLOWED.get((basis, label))
    if decision is None:
        if len(_ALLOWED) > 1024:
            _ALLOWED.clear()
        decision = _ALLOWED[(basis, label)] = Decision(True, _ALLOW_REASONS[basis], basis, label)
    return decision


def _no_identity_allow(req: AuthzRequest, session_ok: bool = True) -> Decision:
    if not session_ok:
        return Decision(False, f"because no session policy allows the {req.action} action", IMPLICIT_DENY_SESSION)
    return Decision(False, f"because no identity-based policy allows the {req.action} action", IMPLICIT_DENY_IDENTITY)


def _no_resource_allow(req: AuthzRequest) -> Decision:
    return Decision(False, f"because no resource-based policy allows the {req.action} action", IMPLICIT_DENY_RESOURCE)


def access_denied_message(req: AuthzRequest, decision: Decision, resource: str | None = None) -> str:
    """AWS's AccessDeniedException text for a denied decision, naming ``resource`` (default: the one evaluated).

    Format from the IAM User Guide, "Troubleshoot access denied error messages"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html): "Most access
    denied error messages appear in the format User user is not authorized to perform action on
    resource because context"; an explicit deny adds "with an explicit deny in a type policy", an
    implicit one "because no type policy allows the action action". Example there:
    "User: arn:aws:iam::123456789012:user/janedoe is not authorized to perform:
    iam:CreateInstanceProfile on resource: arn:aws:iam::123456789012:instance-profile/my-instance-profile
    with an explicit deny in an identity-based policy". AWS names one policy type even when several
    deny; so do we (identity-based first). Secrets Manager names a secret as the caller gave it
    (docs/api.md, "AccessDeniedException"), hence ``resource``.
    """
    if decision.allowed:
        raise ValueError("access_denied_message() needs a denied decision")
    return (
        f"User: {req.principal.arn} is not authorized to perform: {req.action} "
        f"on resource: {req.resource if resource is None else resource} {decision.reason}"
    )
