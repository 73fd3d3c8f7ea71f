"""The Authorizer's decision cache: allow decisions of context-free policies are remembered.

A remembered decision is served without building the request context (``request_keys`` is a
zero-argument callable, called lazily). Policies with a Condition or a policy variable in
Resource are evaluated every time; denials are never remembered; a change of any input in the
cache key (principal, identity policy texts, action, resource, owner, resource policy text) misses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pytest
from policy_docs import GET, allow, deny, doc, pol

from strongroom.errors import AccessDeniedException
from strongroom.iam.authorizer import Authorizer
from strongroom.iam.policy import AuthzRequest, ContextValue, Policy, Principal, evaluate, parse_policy
from strongroom.secrets.iam_vocabulary import resource_context_keys

A = "111111111111"  # owns the secrets
B = "222222222222"
REGION = "us-east-1"
DESCRIBE = "secretsmanager:DescribeSecret"

ALICE = Principal(f"arn:aws:iam::{A}:user/alice", A, False, "alice", "AIDAALICE0000000000")
BOB = Principal(f"arn:aws:iam::{A}:user/bob", A, False, "bob", "AIDABOB00000000000")
ROOT_A = Principal(f"arn:aws:iam::{A}:root", A, True, None, A)
CAROL_B = Principal(f"arn:aws:iam::{B}:user/carol", B, False, "carol", "AIDACAROL0000000000")


def secret_arn(name: str, account: str = A) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{account}:secret:{name}-AbCdEf"


DB, APP = secret_arn("db"), secret_arn("app")


@dataclass
class Secret:
    """SecretFacts, as a store SecretRow provides them."""

    arn: str = DB
    account: str = A
    tags: list[tuple[str, str]] | None = None
    resource_policy: str | None = None
    primary_region: str | None = None
    rotation_lambda_arn: str | None = None


class Keys:
    """A request_keys callable that counts its calls; the context it returns can be changed."""

    def __init__(self, **context: ContextValue) -> None:
        self.context: dict[str, ContextValue] = dict(context)
        self.calls = 0

    def __call__(self) -> Mapping[str, ContextValue]:
        self.calls += 1
        return self.context


def must_not_build_context() -> Mapping[str, ContextValue]:
    raise AssertionError("request_keys() was called on a cache hit")


def grant(principal: Any, action: Any = GET, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    """A resource-policy Allow statement."""
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource, **extra}


ALLOW_GET = pol(allow())
FROM_TEN = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}


def allowed(
    authz: Authorizer, principal: Principal, policies: tuple[Policy, ...], keys: Any, *, action: str = GET,
    resource: str = DB, secret: Any = None,
) -> bool:
    try:
        authz.check(principal, policies, action, resource, secret, keys, resource_keys=resource_context_keys)
    except AccessDeniedException:
        return False
    return True


# --- Policy.context_free -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (doc(allow()), True),
        (doc(allow(resource=[DB, "arn:aws:secretsmanager:*:*:secret:app-*"])), True),
        (doc(allow(), deny(DESCRIBE)), True),
        (doc(allow(), version=None), True),
        (doc(grant({"AWS": ALICE.arn})), True),
        (doc({"Effect": "Allow", "NotAction": GET, "NotResource": DB}), True),
        # ${*} ${?} ${$} are escapes, not variables: they read nothing from the request
        (doc(allow(resource="arn:aws:secretsmanager:*:*:secret:a${*}b")), True),
        (doc(allow(Condition=FROM_TEN)), False),
        (doc(allow(Condition={"StringEquals": {"secretsmanager:ResourceTag/env": "prod"}})), False),
        (doc(allow(Condition={"NumericLessThan": {"aws:EpochTime": "2000000000"}})), False),
        (doc(allow(Condition={"Bool": {"aws:SecureTransport": "true"}})), False),
        (doc(allow(), deny(DESCRIBE, Condition=FROM_TEN)), False),  # one statement is enough
        (doc(grant("*", Condition={"StringEquals": {"aws:PrincipalAccount": A}})), False),
        (doc(allow(resource="arn:aws:secretsmanager:*:*:secret:${aws:username}-*")), False),
        (doc(allow(), allow(DESCRIBE, resource="arn:aws:secretsmanager:*:*:secret:${aws:userid}/*")), False),
        (doc({"Effect": "Deny", "Action": GET, "NotResource": "arn:aws:secretsmanager:*:*:secret:${aws:username}"}),
         False),
        # without Version 2012-10-17, ${aws:username} is literal text, not a variable
        (doc(allow(resource="arn:aws:secretsmanager:*:*:secret:${aws:username}-*"), version=None), True),
        (doc(allow(resource="arn:aws:secretsmanager:*:*:secret:${aws:username}-*"), version="2008-10-17"), True),
    ],
)
def test_policy_context_free(text: str, expected: bool) -> None:
    assert parse_policy(text).context_free is expected


# --- hits ------------------------------------------------------------------------------------------
def test_first_allowed_check_builds_the_context_the_second_does_not() -> None:
    authz = Authorizer()
    keys = Keys()
    authz.check(ALICE, (ALLOW_GET,), GET, DB, None, keys)
    assert keys.calls == 1  # a miss evaluates, with the context built
    authz.check(ALICE, (ALLOW_GET,), GET, DB, None, keys)
    assert keys.calls == 1
    authz.check(ALICE, (ALLOW_GET,), GET, DB, None, must_not_build_context)


def test_a_hit_needs_only_equal_policy_texts_not_the_same_objects() -> None:
    authz = Authorizer()
    text = doc(allow())
    authz.check(ALICE, (parse_policy(text),), GET, DB, None, Keys())
    authz.check(ALICE, (parse_policy(text),), GET, DB, None, must_not_build_context)


def test_allowed_with_a_context_free_resource_policy_is_cached() -> None:
    authz = Authorizer()
    secret = Secret(resource_policy=doc(grant({"AWS": ALICE.arn})))
    keys = Keys()
    assert allowed(authz, ALICE, (), keys, secret=secret)  # same account, granted by name
    assert allowed(authz, ALICE, (), keys, secret=secret)
    assert keys.calls == 1


def test_root_is_cached_too() -> None:
    authz = Authorizer()
    keys = Keys()
    assert allowed(authz, ROOT_A, (), keys, secret=Secret())
    assert allowed(authz, ROOT_A, (), keys, secret=Secret())
    assert keys.calls == 1


def test_cross_account_allow_is_cached() -> None:
    authz = Authorizer()
    secret = Secret(resource_policy=doc(grant({"AWS": B})))
    keys = Keys()
    assert allowed(authz, CAROL_B, (ALLOW_GET,), keys, secret=secret)
    assert allowed(authz, CAROL_B, (ALLOW_GET,), keys, secret=secret)
    assert keys.calls == 1


# --- context-dependent policies are evaluated every time -------------------------------------------
def test_source_ip_condition_is_evaluated_every_time() -> None:
    authz = Authorizer()
    policies = (pol(allow(Condition=FROM_TEN)),)
    keys = Keys(**{"aws:SourceIp": "10.1.2.3"})
    authz.check(ALICE, policies, GET, DB, None, keys)
    keys.context["aws:SourceIp"] = "192.168.1.1"
    with pytest.raises(AccessDeniedException, match="because no identity-based policy allows"):
        authz.check(ALICE, policies, GET, DB, None, keys)
    keys.context["aws:SourceIp"] = "10.9.9.9"
    authz.check(ALICE, policies, GET, DB, None, keys)
    authz.check(ALICE, policies, GET, DB, None, keys)
    assert keys.calls == 4


def test_time_condition_is_evaluated_every_time() -> None:
    authz = Authorizer()
    policies = (pol(allow(Condition={"NumericLessThan": {"aws:EpochTime": "2000000000"}})),)
    keys = Keys(**{"aws:EpochTime": 1_900_000_000})
    authz.check(ALICE, policies, GET, DB, None, keys)
    keys.context["aws:EpochTime"] = 2_100_000_000
    with pytest.raises(AccessDeniedException):
        authz.check(ALICE, policies, GET, DB, None, keys)
    assert keys.calls == 2


def test_current_time_deny_condition_is_evaluated_every_time() -> None:
    """A context-free Allow plus a conditional Deny: the policy set is not context-free."""
    authz = Authorizer()
    policies = (ALLOW_GET, pol(deny(Condition={"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}})))
    keys = Keys(**{"aws:CurrentTime": dt.datetime(2029, 6, 1, tzinfo=dt.UTC)})
    authz.check(ALICE, policies, GET, DB, None, keys)
    authz.check(ALICE, policies, GET, DB, None, keys)
    keys.context["aws:CurrentTime"] = dt.datetime(2030, 6, 1, tzinfo=dt.UTC)
    with pytest.raises(AccessDeniedException, match="explicit deny in an identity-based policy"):
        authz.check(ALICE, policies, GET, DB, None, keys)
    assert keys.calls == 3


def test_resource_tag_condition_follows_the_secret_tags() -> None:
    """Tags are not part of the key: a tag condition must keep the decision out of the cache."""
    authz = Authorizer()
    policies = (pol(allow(Condition={"StringEquals": {"secretsmanager:ResourceTag/env": "prod"}})),)
    keys = Keys()
    assert allowed(authz, ALICE, policies, keys, secret=Secret(tags=[("env", "prod")]))
    assert not allowed(authz, ALICE, policies, keys, secret=Secret(tags=[("env", "dev")]))
    assert not allowed(authz, ALICE, policies, keys, secret=Secret(tags=None))
    assert allowed(authz, ALICE, policies, keys, secret=Secret(tags=[("env", "prod")]))
    assert keys.calls == 4


def test_policy_variable_in_resource_is_evaluated_every_time() -> None:
    authz = Authorizer()
    policies = (pol(allow(resource="arn:aws:secretsmanager:*:*:secret:${aws:username}-*")),)
    keys = Keys()
    mine = secret_arn("alice")
    assert allowed(authz, ALICE, policies, keys, resource=mine)
    assert allowed(authz, ALICE, policies, keys, resource=mine)
    assert keys.calls == 2
    assert not allowed(authz, BOB, policies, keys, resource=mine)
    assert allowed(authz, BOB, policies, keys, resource=secret_arn("bob"))
    assert keys.calls == 4


def test_a_resource_policy_with_a_condition_disables_caching() -> None:
    authz = Authorizer()
    secret = Secret(resource_policy=doc(grant({"AWS": ALICE.arn}, Condition=FROM_TEN)))
    keys = Keys(**{"aws:SourceIp": "10.0.0.1"})
    assert allowed(authz, ALICE, (), keys, secret=secret)
    keys.context["aws:SourceIp"] = "172.16.0.1"
    assert not allowed(authz, ALICE, (), keys, secret=secret)
    keys.context["aws:SourceIp"] = "10.0.0.2"
    assert allowed(authz, ALICE, (), keys, secret=secret)
    assert keys.calls == 3


def test_a_conditional_resource_deny_is_not_bypassed_by_a_context_free_identity_allow() -> None:
    authz = Authorizer()
    secret = Secret(resource_policy=doc({"Effect": "Deny", "Principal": "*", "Action": GET, "Resource": "*",
                                         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
    keys = Keys(**{"aws:SecureTransport": True})
    assert allowed(authz, ALICE, (ALLOW_GET,), keys, secret=secret)
    assert allowed(authz, ALICE, (ALLOW_GET,), keys, secret=secret)
    keys.context["aws:SecureTransport"] = False
    assert not allowed(authz, ALICE, (ALLOW_GET,), keys, secret=secret)
    assert keys.calls == 3


def test_one_conditional_identity_policy_among_several_disables_caching() -> None:
    authz = Authorizer()
    policies = (ALLOW_GET, pol(deny(DESCRIBE, Condition=FROM_TEN)))
    keys = Keys(**{"aws:SourceIp": "192.168.0.1"})
    assert allowed(authz, ALICE, policies, keys)
    assert allowed(authz, ALICE, policies, keys)
    assert keys.calls == 2


# --- denials ---------------------------------------------------------------------------------------
def test_an_implicit_denial_is_never_cached() -> None:
    authz = Authorizer()
    keys = Keys()
    for _ in range(2):
        with pytest.raises(AccessDeniedException, match="because no identity-based policy allows"):
            authz.check(ALICE, (), GET, DB, None, keys)
    assert keys.calls == 2
    authz.check(ALICE, (ALLOW_GET,), GET, DB, None, keys)  # the user was given a policy
    assert keys.calls == 3


def test_an_explicit_deny_is_never_cached_and_lifts_when_the_policies_change() -> None:
    authz = Authorizer()
    keys = Keys()
    policies = (ALLOW_GET, pol(deny()))
    for _ in range(2):
        with pytest.raises(AccessDeniedException, match="with an explicit deny in an identity-based policy"):
            authz.check(ALICE, policies, GET, DB, None, keys)
    assert keys.calls == 2
    authz.check(ALICE, (ALLOW_GET,), GET, DB, None, keys)
    assert keys.calls == 3


def test_a_resource_policy_deny_is_never_cached() -> None:
    authz = Authorizer()
    keys = Keys()
    denying = Secret(resource_policy=doc({"Effect": "Deny", "Principal": {"AWS": ALICE.arn}, "Action": GET,
                                          "Resource": "*"}))
    for _ in range(2):
        assert not allowed(authz, ALICE, (ALLOW_GET,), keys, secret=denying)
    assert allowed(authz, ALICE, (ALLOW_GET,), keys, secret=replace(denying, resource_policy=None))
    assert keys.calls == 3


def test_a_cached_allow_does_not_survive_an_added_deny() -> None:
    authz = Authorizer()
    keys = Keys()
    assert allowed(authz, ALICE, (ALLOW_GET,), keys)
    assert not allowed(authz, ALICE, (ALLOW_GET, pol(deny())), keys)
    assert not allowed(authz, ALICE, (pol(allow(), deny()),), keys)  # the same policy, edited
    assert allowed(authz, ALICE, (ALLOW_GET,), must_not_build_context)


# --- every part of the key ----------------------------------------------------------------------------
def test_a_changed_identity_policy_text_misses() -> None:
    authz = Authorizer()
    keys = Keys()
    assert allowed(authz, ALICE, (ALLOW_GET,), keys)
    assert not allowed(authz, ALICE, (pol(allow(DESCRIBE)),), keys)
    assert not allowed(authz, ALICE, (pol(allow(resource=APP)),), keys)
    assert not allowed(authz, ALICE, (), keys)  # all policies removed
    assert keys.calls == 4


def test_a_different_principal_misses() -> None:
    authz = Authorizer()
    keys = Keys()
    secret = Secret(resource_policy=doc(grant({"AWS": ALICE.arn})))
    assert allowed(authz, ALICE, (), keys, secret=secret)
    assert not allowed(authz, BOB, (), keys, secret=secret)
    assert keys.calls == 2


def test_a_different_action_misses() -> None:
    authz = Authorizer()
    keys = Keys()
    assert allowed(authz, ALICE, (ALLOW_GET,), keys)
    assert not allowed(authz, ALICE, (ALLOW_GET,), keys, action=DESCRIBE)
    assert keys.calls == 2


def test_a_different_resource_misses() -> None:
    authz = Authorizer()
    keys = Keys()
    policies = (pol(allow(resource=DB)),)
    assert allowed(authz, ALICE, policies, keys, resource=DB)
    assert not allowed(authz, ALICE, policies, keys, resource=APP)
    assert keys.calls == 2


def test_a_different_resource_policy_text_misses() -> None:
    authz = Authorizer()
    keys = Keys()
    secret = Secret(resource_policy=doc(grant({"AWS": ALICE.arn})))
    assert allowed(authz, ALICE, (), keys, secret=secret)
    assert not allowed(authz, ALICE, (), keys, secret=replace(secret, resource_policy=doc(grant({"AWS": BOB.arn}))))
    assert not allowed(authz, ALICE, (), keys, secret=replace(secret, resource_policy=None))
    assert not allowed(authz, ALICE, (), keys, secret=None)
    assert keys.calls == 4


def test_a_different_owner_account_misses() -> None:
    """The secret's account decides same- vs cross-account evaluation."""
    authz = Authorizer()
    keys = Keys()
    assert allowed(authz, ALICE, (ALLOW_GET,), keys, secret=Secret(account=A))
    assert not allowed(authz, ALICE, (ALLOW_GET,), keys, secret=Secret(account=B))
    assert keys.calls == 2


def test_a_cache_entry_is_not_shared_between_authorizers() -> None:
    keys = Keys()
    Authorizer().check(ALICE, (ALLOW_GET,), GET, DB, None, keys)
    Authorizer().check(ALICE, (ALLOW_GET,), GET, DB, None, keys)
    assert keys.calls == 2


# A resource policy may name a principal by its unique id (AIDA...); a user deleted and recreated
# with the same name has the same ARN but a new id, so the key holds the id too.
def test_a_recreated_user_with_the_same_arn_does_not_inherit_a_unique_id_grant() -> None:
    authz = Authorizer()
    old_alice = ALICE
    new_alice = replace(ALICE, userid="AIDANEWALICE0000000")
    secret = Secret(resource_policy=doc(grant({"AWS": old_alice.userid})))
    assert allowed(authz, old_alice, (), Keys(), secret=secret)
    # the engine itself denies the new user: the grant names the old user's id
    request = AuthzRequest(new_alice, GET, DB, A, {})
    assert not evaluate(request, (), parse_policy(secret.resource_policy or "")).allowed
    assert not allowed(authz, new_alice, (), Keys(), secret=secret)


# --- bounds ----------------------------------------------------------------------------------------
def test_the_decision_cache_is_bounded_and_drops_the_oldest_entry() -> None:
    authz = Authorizer(decision_cache_size=2)
    policies = (pol(allow("secretsmanager:*")),)
    actions = [f"secretsmanager:{name}" for name in ("GetSecretValue", "DescribeSecret", "ListSecretVersionIds")]
    keys = Keys()

    def check(action: str) -> None:
        authz.check(ALICE, policies, action, DB, None, keys)

    check(actions[0])
    check(actions[1])
    assert keys.calls == 2
    check(actions[0])
    check(actions[1])
    assert keys.calls == 2  # both remembered
    assert len(authz._allowed) == 2
    check(actions[2])  # full: the oldest (actions[0]) goes
    assert keys.calls == 3
    assert len(authz._allowed) == 2
    check(actions[1])
    check(actions[2])
    assert keys.calls == 3  # still remembered
    check(actions[0])  # was dropped
    assert keys.calls == 4
    assert len(authz._allowed) <= 2


def test_the_decision_cache_never_exceeds_its_size() -> None:
    authz = Authorizer(decision_cache_size=3)
    keys = Keys()
    for i in range(20):
        authz.check(ALICE, (ALLOW_GET,), GET, secret_arn(f"s{i}"), None, keys)
        assert len(authz._allowed) <= 3
    assert keys.calls == 20


def test_the_compiled_resource_policy_cache_stays_bounded() -> None:
    authz = Authorizer(cache_size=2, decision_cache_size=100)
    keys = Keys()
    for i in range(5):
        secret = Secret(resource_policy=doc(grant({"AWS": ALICE.arn}, Sid=f"s{i}")))
        assert allowed(authz, ALICE, (), keys, secret=secret)
        assert len(authz._policies) <= 2
    assert keys.calls == 5


def test_a_zero_sized_decision_cache_remembers_nothing() -> None:
    authz = Authorizer(decision_cache_size=0)
    keys = Keys()
    authz.check(ALICE, (ALLOW_GET,), GET, DB, None, keys)
    authz.check(ALICE, (ALLOW_GET,), GET, DB, None, keys)
    assert keys.calls == 2
    assert not authz._allowed
