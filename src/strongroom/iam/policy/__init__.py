"""The IAM policy language: parse and compile policies, evaluate requests, check resource policies.

Pure: no I/O, no clock (``aws:CurrentTime`` comes in the request context). Compile a policy once
with :func:`parse_policy`, keep the :class:`Policy`, and call :func:`evaluate` per request.
"""

from strongroom.iam.policy.checks import (
    BROAD_ACCESS_MESSAGE,
    LOCKOUT_MESSAGE,
    PUBLIC_POLICY_MESSAGE,
    find_broad_access,
    find_foreign_account_grants,
    lint,
    locked_out_actions,
    would_lock_out,
)
from strongroom.iam.policy.context import AuthzRequest, ContextValue, Principal
from strongroom.iam.policy.document import Policy, PolicyKind, Statement, parse_policy
from strongroom.iam.policy.evaluate import Decision, access_denied_message, evaluate

__all__ = [
    "BROAD_ACCESS_MESSAGE",
    "LOCKOUT_MESSAGE",
    "PUBLIC_POLICY_MESSAGE",
    "AuthzRequest",
    "ContextValue",
    "Decision",
    "Policy",
    "PolicyKind",
    "Principal",
    "Statement",
    "access_denied_message",
    "evaluate",
    "find_broad_access",
    "find_foreign_account_grants",
    "lint",
    "locked_out_actions",
    "parse_policy",
    "would_lock_out",
]
