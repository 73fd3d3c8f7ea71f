"""Authorization of one API call: the caller's identity policies plus the resource's resource policy.

The policy language and the evaluation logic live in :mod:`strongroom.iam.policy`; this module
assembles the request (action, resource, context keys) and turns a denial into AWS's
AccessDeniedException.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from strongroom.errors import AccessDeniedException
from strongroom.iam.policy import (
    AuthzRequest,
    ContextValue,
    Policy,
    Principal,
    access_denied_message,
    evaluate,
)
from strongroom.iam.policy import parse_policy as _parse_policy


class ResourceFacts(Protocol):
    """What authorization needs to know of a resource besides its ARN (a store SecretRow provides it)."""

    account: str
    resource_policy: str | None


@dataclass(frozen=True, slots=True)
class RoleTrust:
    """A role as sts:AssumeRole is authorized on it: its trust policy must allow the caller."""

    account: str
    #: the role's trust policy (AssumeRolePolicyDocument)
    resource_policy: str


def request_context_keys(source_ip: str | None, secure: bool) -> dict[str, ContextValue]:
    """The global condition keys every request carries by itself: time, transport, source address."""
    now = time.time()
    keys: dict[str, ContextValue] = {
        "aws:CurrentTime": datetime.fromtimestamp(now, UTC),
        "aws:EpochTime": int(now),
        "aws:SecureTransport": secure,
    }
    if source_ip:
        keys["aws:SourceIp"] = source_ip
    return keys


def _no_resource_keys(resource: ResourceFacts) -> Mapping[str, ContextValue]:
    return {}


#: Request context keys, computed on first use (most requests are decided without them).
RequestKeys = Callable[[], Mapping[str, ContextValue]]
_DecisionKey = tuple[str, str, tuple[str, ...], str, str, str | None, str | None]


class Authorizer:
    """Evaluates requests; compiled resource policies are cached by their text (bounded).

    Allow decisions reached with context-free policies only (no Condition, no policy variable)
    depend on nothing but the principal (ARN and unique id: a recreated user is another principal),
    the policy texts, the action and the resource, so they are remembered (bounded) and such a
    request is answered without building its context. Keys hold the policy texts themselves: a
    changed or removed policy can never hit an old entry. When full, the oldest entry goes;
    ``decision_cache_size=0`` turns it off. Callers with session policies are always evaluated
    (their texts alone would not tell a session policy from an identity policy of the same text).
    """

    def __init__(self, cache_size: int = 4096, decision_cache_size: int = 16_384) -> None:
        self._policies: OrderedDict[str, Policy] = OrderedDict()
        self._cache_size = cache_size
        self._allowed: dict[_DecisionKey, bool] = {}
        self._decision_cache_size = decision_cache_size

    def resource_policy(self, text: str, *, trust: bool = False) -> Policy:
        """The compiled resource policy (a role's trust policy with ``trust``) of ``text``, cached."""
        key = "trust\n" + text if trust else text
        policy = self._policies.get(key)
        if policy is None:
            policy = _parse_policy(text, kind="trust") if trust else _parse_policy(text)
            self._policies[key] = policy
            if len(self._policies) > self._cache_size:
                self._policies.popitem(last=False)
        return policy

    def check(
        self, principal: Principal, identity_policies: tuple[Policy, ...], action: str, resource: str,
        secret: ResourceFacts | None, request_keys: RequestKeys, named: str | None = None,
        resource_keys: Callable[[Any], Mapping[str, ContextValue]] = _no_resource_keys,
    ) -> None:
        """Raise AccessDeniedException unless the policies allow ``action`` on ``resource``.

        ``secret`` is the resource's facts (its resource policy and owner; None for "*"; a
        :class:`RoleTrust` for a role, whose trust policy must allow), ``resource_keys`` the
        condition keys the service derives from them. The denial's message names ``named`` (the
        resource as the caller gave it) if given.
        """
        resource_text = secret.resource_policy if secret is not None else None
        owner = secret.account if secret is not None else None
        texts = tuple([p.text for p in identity_policies])
        key = (principal.arn, principal.userid, texts, action, resource, owner, resource_text)
        sessioned = bool(identity_policies) and identity_policies[-1].session
        if not sessioned and key in self._allowed:
            return
        context = dict(request_keys())
        if secret is not None:
            context.update(resource_keys(secret))
        trust = type(secret) is RoleTrust
        resource_policy = self.resource_policy(resource_text, trust=trust) if resource_text else None
        request = AuthzRequest(
            principal=principal, action=action, resource=resource, resource_account=owner, context=context,
        )
        decision = evaluate(request, identity_policies, resource_policy, resource_policy_required=trust)
        if not decision.allowed:
            raise AccessDeniedException(access_denied_message(request, decision, named))
        if (
            not sessioned
            and self._decision_cache_size > 0
            and all(p.context_free and p.text for p in identity_policies)
            and (resource_policy is None or resource_policy.context_free)
        ):
            if len(self._allowed) >= self._decision_cache_size:
                del self._allowed[next(iter(self._allowed))]  # the oldest
            self._allowed[key] = True
