"""sts:AssumeRole: who may assume a role (the trust evaluation matrix), what its session may do
(role policies limited by a session policy), durations and chaining, the handler's answers and
refusals, and a role's credentials for a service principal."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from policy_docs import GET, allow, deny, doc, pol

from strongroom.crypto.sealing import SealingBox
from strongroom.errors import AccessDeniedException, MalformedPolicyDocumentException, ValidationException
from strongroom.iam.authorizer import Authorizer, RoleTrust, request_context_keys
from strongroom.iam.caller import Caller, CallerKind, root_principal
from strongroom.iam.identities import Identities
from strongroom.iam.policy import AuthzRequest, Policy, Principal, evaluate, parse_policy
from strongroom.iam.role_sessions import SERVICE_MIN_REMAINING_SECONDS
from strongroom.service.context import RequestContext, allow_all
from strongroom.service.dependencies import Services
from strongroom.store.sqlite import SqliteStore
from strongroom.sts import handlers
from strongroom.sts.service import SERVICE as STS

A, B = "111111111111", "222222222222"
ROLE_ARN = f"arn:aws:iam::{A}:role/Deployer"
ASSUME = "sts:AssumeRole"
ALICE = Principal(f"arn:aws:iam::{A}:user/alice", A, False, "alice", "AIDAALICE0000000000")
CAROL = Principal(f"arn:aws:iam::{A}:user/carol", A, False, "carol", "AIDACAROL0000000000")
BOB = Principal(f"arn:aws:iam::{B}:user/bob", B, False, "bob", "AIDABOB00000000000")
ROOT_B = Principal(f"arn:aws:iam::{B}:root", B, True, None, B)
BUILDER_SESSION = Principal(
    f"arn:aws:sts::{A}:assumed-role/Builder/ci", A, False, None, "AROABUILDER00000000:ci",
    role_arn=f"arn:aws:iam::{A}:role/Builder",
)
LAMBDA = Principal("lambda.amazonaws.com", A, False, None, "lambda.amazonaws.com")
MAY_ASSUME = pol(allow(ASSUME, ROLE_ARN))
MAY_ASSUME_ANY = pol(allow(ASSUME, "*"))
DENY_ASSUME = pol(deny(ASSUME, "*"))


def trust_doc(principal: Any, effect: str = "Allow", **extra: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Principal": principal, "Action": ASSUME, **extra},
    ]})  # fmt: skip


def trust(principal: Any, **extra: Any) -> Policy:
    return parse_policy(trust_doc(principal, **extra), kind="trust")


def may_assume(principal: Principal, identity: list[Policy], trust_policy: Policy, **context: Any) -> bool:
    request = AuthzRequest(principal, ASSUME, ROLE_ARN, A, {k.replace("_", ":", 1): v for k, v in context.items()})
    return evaluate(request, identity, trust_policy, resource_policy_required=True).allowed


# --- who may assume a role ---------------------------------------------------------------------------
TRUST_MATRIX: list[tuple[str, Principal, list[Policy], Policy, bool]] = [
    ("same account: trust names the user", ALICE, [], trust({"AWS": ALICE.arn}), True),
    ("same account: trust names another user", CAROL, [MAY_ASSUME], trust({"AWS": ALICE.arn}), False),
    ("same account: trust names the account, no identity policy", ALICE, [], trust({"AWS": A}), False),
    ("same account: trust names the account root, identity allows", ALICE, [MAY_ASSUME],
     trust({"AWS": f"arn:aws:iam::{A}:root"}), True),
    ("same account: identity allows, trust only lambda", ALICE, [MAY_ASSUME_ANY],
     trust({"Service": "lambda.amazonaws.com"}), False),
    ("same account: identity denies", ALICE, [MAY_ASSUME, DENY_ASSUME], trust({"AWS": ALICE.arn}), False),
    ("same account: trust denies", ALICE, [MAY_ASSUME], parse_policy(json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": A}, "Action": ASSUME},
        {"Effect": "Deny", "Principal": {"AWS": ALICE.arn}, "Action": ASSUME},
    ]}), kind="trust"), False),
    ("same account: identity allows another role only", ALICE, [pol(allow(ASSUME, f"arn:aws:iam::{A}:role/X"))],
     trust({"AWS": A}), False),
    ("cross-account: trust names the account and identity allows", BOB, [MAY_ASSUME], trust({"AWS": B}), True),
    ("cross-account: trust names the user and identity allows", BOB, [MAY_ASSUME], trust({"AWS": BOB.arn}), True),
    ("cross-account: trust names the user, no identity policy", BOB, [], trust({"AWS": BOB.arn}), False),
    ("cross-account: the other account's root", ROOT_B, [], trust({"AWS": B}), True),
    ("cross-account: trust names only the role's account", BOB, [MAY_ASSUME], trust({"AWS": A}), False),
    ("chaining: trust names the caller's role", BUILDER_SESSION, [],
     trust({"AWS": f"arn:aws:iam::{A}:role/Builder"}), True),
    ("chaining: trust names the caller's session", BUILDER_SESSION, [], trust({"AWS": BUILDER_SESSION.arn}), True),
    ("chaining: trust names another session of the role", BUILDER_SESSION, [],
     trust({"AWS": f"arn:aws:sts::{A}:assumed-role/Builder/other"}), False),
    ("chaining: trust names the account, role policy allows", BUILDER_SESSION, [MAY_ASSUME], trust({"AWS": A}), True),
    ("service: trust names lambda", LAMBDA, [], trust({"Service": "lambda.amazonaws.com"}), True),
    ("service: trust names ec2", LAMBDA, [], trust({"Service": "ec2.amazonaws.com"}), False),
    ("service: trust names the account", LAMBDA, [], trust({"AWS": A}), False),
    ("service principal never matches a user's trust", ALICE, [MAY_ASSUME_ANY],
     trust({"Service": "lambda.amazonaws.com"}), False),
]


@pytest.mark.parametrize(
    ("principal", "identity", "trust_policy", "expected"),
    [case[1:] for case in TRUST_MATRIX], ids=[case[0] for case in TRUST_MATRIX],
)
def test_trust_evaluation_matrix(
    principal: Principal, identity: list[Policy], trust_policy: Policy, expected: bool
) -> None:
    assert may_assume(principal, identity, trust_policy) is expected


def test_the_trust_policy_is_required_where_a_resource_policy_is_not() -> None:
    request = AuthzRequest(ALICE, ASSUME, ROLE_ARN, A, {})
    other = trust({"AWS": CAROL.arn})
    assert evaluate(request, [MAY_ASSUME], other).allowed  # a secret's policy: identity suffices
    decision = evaluate(request, [MAY_ASSUME], other, resource_policy_required=True)
    assert not decision.allowed and decision.basis == "deny:implicit:resource-based-policy"


def test_external_id_condition() -> None:
    policy = trust({"AWS": B}, Condition={"StringEquals": {"sts:ExternalId": "Unique-1234"}})
    assert may_assume(BOB, [MAY_ASSUME], policy, sts_ExternalId="Unique-1234")
    assert not may_assume(BOB, [MAY_ASSUME], policy, sts_ExternalId="unique-1234")
    assert not may_assume(BOB, [MAY_ASSUME], policy)  # missing
    # an ExternalId the trust policy does not ask for changes nothing
    assert may_assume(BOB, [MAY_ASSUME], trust({"AWS": B}), sts_ExternalId="anything")


def test_principal_and_request_conditions() -> None:
    by_arn = trust({"AWS": A}, Condition={"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/Builder"}})
    assert may_assume(BUILDER_SESSION, [MAY_ASSUME], by_arn)  # a session's aws:PrincipalArn is its role
    assert not may_assume(ALICE, [MAY_ASSUME], by_arn)
    named = trust({"AWS": ALICE.arn}, Condition={"StringEquals": {"sts:RoleSessionName": "${aws:username}"}})
    assert may_assume(ALICE, [], named, sts_RoleSessionName="alice")
    assert not may_assume(ALICE, [], named, sts_RoleSessionName="mallory")
    network = trust({"AWS": ALICE.arn}, Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    assert may_assume(ALICE, [], network, aws_SourceIp="10.1.2.3")
    assert not may_assume(ALICE, [], network, aws_SourceIp="192.0.2.1")
    session_type = trust({"AWS": A}, Condition={"StringEquals": {"aws:PrincipalType": "AssumedRole"}})
    assert may_assume(BUILDER_SESSION, [MAY_ASSUME], session_type)
    assert not may_assume(ALICE, [MAY_ASSUME], session_type)
    userid = trust({"AWS": A}, Condition={"StringLike": {"aws:userid": "AROABUILDER00000000:*"}})
    assert may_assume(BUILDER_SESSION, [MAY_ASSUME], userid)


# --- what a session may do: the role's policies limited by its session policy -----------------------------
SECRET = f"arn:aws:secretsmanager:us-east-1:{A}:secret:prod/db-AbCdEf"
SESSION = Principal(
    f"arn:aws:sts::{A}:assumed-role/Reader/s1", A, False, None, "AROAREADER000000000:s1",
    role_arn=f"arn:aws:iam::{A}:role/Reader",
)


def session_policy(*statements: dict[str, Any]) -> Policy:
    return parse_policy(doc(*statements), kind="session")


def rp(principal: Any) -> Policy:
    return pol({"Effect": "Allow", "Principal": principal, "Action": GET, "Resource": "*"})


SESSION_MATRIX: list[tuple[str, list[Policy], Policy | None, bool, str]] = [
    ("role allows, no session policy", [pol(allow())], None, True, "allow:identity-based-policy"),
    ("role and session policy allow", [pol(allow()), session_policy(allow())], None, True,
     "allow:identity-based-policy"),
    ("session policy alone grants nothing", [session_policy(allow())], None, False,
     "deny:implicit:identity-based-policy"),
    ("session policy allows something else", [pol(allow()), session_policy(allow("secretsmanager:ListSecrets"))],
     None, False, "deny:implicit:session-policy"),
    ("session policy denies", [pol(allow()), session_policy(allow(), deny())], None, False,
     "deny:explicit:session-policy"),
    ("resource policy names the role: limited by the session policy",
     [session_policy(allow("secretsmanager:ListSecrets"))], rp({"AWS": f"arn:aws:iam::{A}:role/Reader"}), False,
     "deny:implicit:session-policy"),
    ("resource policy names the role, session policy allows", [session_policy(allow())],
     rp({"AWS": f"arn:aws:iam::{A}:role/Reader"}), True, "allow:resource-based-policy"),
    ("resource policy names the session: not limited", [session_policy(allow("secretsmanager:ListSecrets"))],
     rp({"AWS": SESSION.arn}), True, "allow:resource-based-policy"),
    ("resource policy names another session", [], rp({"AWS": f"arn:aws:sts::{A}:assumed-role/Reader/s2"}), False,
     "deny:implicit:identity-based-policy"),
]


@pytest.mark.parametrize(
    ("identity", "resource_policy", "expected", "basis"),
    [case[1:] for case in SESSION_MATRIX], ids=[case[0] for case in SESSION_MATRIX],
)
def test_session_policies_limit_a_session(
    identity: list[Policy], resource_policy: Policy | None, expected: bool, basis: str
) -> None:
    decision = evaluate(AuthzRequest(SESSION, GET, SECRET, A, {}), identity, resource_policy)
    assert (decision.allowed, decision.basis) == (expected, basis)


def test_session_policies_in_the_trust_and_identity_grammar() -> None:
    with pytest.raises(MalformedPolicyDocumentException) as principal:
        parse_policy(doc({**allow(), "Principal": "*"}), kind="session")
    assert principal.value.message == "Policy document should not specify a principal."
    with pytest.raises(MalformedPolicyDocumentException) as syntax:
        parse_policy("{not json", kind="session")
    assert syntax.value.message == "This policy contains invalid Json"
    with pytest.raises(MalformedPolicyDocumentException) as grammar:
        parse_policy(doc(allow(action="not-an-action")), kind="session")
    assert grammar.value.message.startswith("Syntax errors in policy. Statement 0: Action")
    assert parse_policy(doc(allow()), kind="session").session
    assert not parse_policy(doc(allow())).session


def test_the_decision_cache_never_serves_a_session_policy_caller() -> None:
    """A session whose session policy has the text of an identity policy another session of the
    same name was allowed by is evaluated, not answered from the cache."""
    authorizer = Authorizer()
    allow_all_text = pol(allow())
    authorizer.check(SESSION, (allow_all_text,), GET, SECRET, None, dict)  # cached: allowed
    as_session_policy = parse_policy(allow_all_text.text, kind="session")
    with pytest.raises(AccessDeniedException):
        authorizer.check(SESSION, (as_session_policy,), GET, SECRET, None, dict)


def test_the_authorizer_requires_a_roles_trust_policy() -> None:
    role = RoleTrust(A, trust_doc({"AWS": CAROL.arn}))
    with pytest.raises(AccessDeniedException):
        Authorizer().check(ALICE, (MAY_ASSUME,), ASSUME, ROLE_ARN, role, dict)
    Authorizer().check(CAROL, (), ASSUME, ROLE_ARN, role, dict)
    Authorizer().check(ALICE, (MAY_ASSUME,), ASSUME, ROLE_ARN, RoleTrust(A, trust_doc({"AWS": A})), dict)


# --- the handler, over a store ------------------------------------------------------------------------
BOX = SealingBox(bytes(range(32)), "test/access-keys", legacy=True)
T = TypeVar("T")
READ_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def with_services(tmp_path: Path, body: Callable[[Services], Awaitable[T]]) -> T:
    async def main() -> T:
        store = SqliteStore(tmp_path / "data" / "strongroom.db")
        await store.migrate()
        try:
            ids = Identities(store, BOX, cache_ttl=0.0)
            return await body(Services(store, None, None, BOX, ids))  # type: ignore[arg-type]
        finally:
            await store.close()

    return asyncio.run(main())


async def caller_of(services: Services, access_key_id: str) -> Caller:
    identity = await services.identities.resolve(access_key_id)
    assert identity is not None
    return Caller(identity.principal, identity.policies, "us-east-1", access_key_id, temporary=identity.temporary)


def api_context(services: Services, caller: Caller, params: dict[str, Any], source_ip: str = "10.0.0.1") -> Any:
    """A request context authorizing as the API endpoint does (request keys, STS's keys)."""

    def keys() -> dict[str, Any]:
        found = request_context_keys(source_ip, False)
        found.update(STS.context_keys(params))
        return found

    def authorize(action: str, resource: str, secret: Any, named: str | None = None) -> None:
        services.authorizer.check(
            caller.principal, caller.policies, f"sts:{action}", resource, secret, keys, named, STS.resource_keys
        )

    return RequestContext.of(caller, time.time(), "req-1", "AssumeRole", authorize)


async def assume(services: Services, caller: Caller, **params: Any) -> dict[str, Any]:
    params.setdefault("RoleSessionName", "s1")
    ctx = api_context(services, caller, params)
    STS.check_input("AssumeRole", params)  # type: ignore[misc]
    return await handlers.assume_role(services, ctx, params)


async def setup(services: Services, trust_principal: Any = None, **trust_extra: Any) -> tuple[Caller, Any]:
    """User alice with a key, role Deployer trusting her (or ``trust_principal``) with full access."""
    ids = services.identities
    alice = await ids.create_user(A, "alice")
    key = await ids.create_access_key(A, "alice")
    role = await ids.roles.create_role(
        A, "Deployer", trust_doc(trust_principal or {"AWS": alice.arn}, **trust_extra), max_session_duration=7200
    )
    await ids.put_policy(A, "role", "Deployer", "all", READ_ALL)
    return await caller_of(services, key.access_key_id), role


def test_assume_role_answers_and_the_session_resolves(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        alice, role = await setup(services)
        answer = await assume(services, alice, RoleArn=ROLE_ARN, RoleSessionName="deploy-42")
        assert set(answer) == {"Credentials", "AssumedRoleUser"}  # no PackedPolicySize without a Policy
        assert answer["AssumedRoleUser"] == {
            "AssumedRoleId": f"{role.role_id}:deploy-42", "Arn": f"arn:aws:sts::{A}:assumed-role/Deployer/deploy-42",
        }  # fmt: skip
        creds = answer["Credentials"]
        assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
        assert creds["Expiration"] == pytest.approx(time.time() + 3600, abs=5)
        session = await caller_of(services, creds["AccessKeyId"])
        assert session.temporary
        assert session.principal == Principal(
            f"arn:aws:sts::{A}:assumed-role/Deployer/deploy-42", A, False, None, f"{role.role_id}:deploy-42",
            role_arn=ROLE_ARN,
        )
        assert [p.text for p in session.policies] == [READ_ALL]
        identity = await services.identities.resolve(creds["AccessKeyId"])
        assert identity is not None and identity.secret_access_key == creds["SecretAccessKey"]
        ctx = RequestContext.of(session, time.time())
        assert await handlers.get_caller_identity(services, ctx, {}) == {
            "Arn": f"arn:aws:sts::{A}:assumed-role/Deployer/deploy-42", "UserId": f"{role.role_id}:deploy-42",
            "Account": A,
        }  # fmt: skip

    with_services(tmp_path, body)


def test_refusals_say_the_same_whether_the_role_exists_or_not(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        alice, _ = await setup(services, {"AWS": CAROL.arn.replace("carol", "alice")})
        await services.identities.create_user(A, "carol")
        carol_key = await services.identities.create_access_key(A, "carol")
        carol = await caller_of(services, carol_key.access_key_id)
        for arn in (ROLE_ARN, f"arn:aws:iam::{A}:role/Missing", f"arn:aws:iam::{B}:role/Deployer",
                    f"arn:aws:iam::{A}:user/alice", f"arn:aws:iam::{A}:role/path/Deployer"):
            with pytest.raises(AccessDeniedException) as refused:
                await assume(services, carol, RoleArn=arn)
            assert refused.value.message == (
                f"User: arn:aws:iam::{A}:user/carol is not authorized to perform: sts:AssumeRole on resource: {arn}"
            )
        await assume(services, alice, RoleArn=ROLE_ARN)
        for malformed in ("nothing-valid-in-here", "arn:a:::something/test-role", "arn:a:a::aaaaaaaaaa:"):
            with pytest.raises(ValidationException) as invalid:
                await assume(services, alice, RoleArn=malformed)
            assert invalid.value.message == f"{malformed} is invalid"
        root_key = await services.identities.create_access_key(A, None)
        root = await caller_of(services, root_key.access_key_id)
        with pytest.raises(AccessDeniedException) as by_root:
            await assume(services, root, RoleArn=ROLE_ARN)
        assert by_root.value.message == "Roles may not be assumed by root accounts."
        with pytest.raises(AccessDeniedException) as mfa:
            await assume(services, alice, RoleArn=ROLE_ARN, SerialNumber="arn:aws:iam::1:mfa/a", TokenCode="123456")
        assert mfa.value.message.startswith("MultiFactorAuthentication failed")

    with_services(tmp_path, body)


def test_external_id_and_session_name_conditions_through_the_handler(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        alice, _ = await setup(services, {"AWS": f"arn:aws:iam::{A}:user/alice"}, Condition={
            "StringEquals": {"sts:ExternalId": "Unique-1234", "sts:RoleSessionName": "${aws:username}"},
        })  # fmt: skip
        await assume(services, alice, RoleArn=ROLE_ARN, RoleSessionName="alice", ExternalId="Unique-1234")
        for params in (
            {"RoleSessionName": "alice", "ExternalId": "wrong-1234"},
            {"RoleSessionName": "alice"},
            {"RoleSessionName": "bob", "ExternalId": "Unique-1234"},
        ):
            with pytest.raises(AccessDeniedException):
                await assume(services, alice, RoleArn=ROLE_ARN, **params)

    with_services(tmp_path, body)


def test_durations_and_chaining(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        alice, role = await setup(services)
        two_hours = await assume(services, alice, RoleArn=ROLE_ARN, DurationSeconds=7200)
        assert two_hours["Credentials"]["Expiration"] == pytest.approx(time.time() + 7200, abs=5)
        with pytest.raises(ValidationException) as too_long:
            await assume(services, alice, RoleArn=ROLE_ARN, DurationSeconds=7201)
        assert too_long.value.message == (
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
        # a role session assuming a role (here its own: its trust policy names the role) is chaining
        await services.identities.roles.update_trust_policy(A, "Deployer", trust_doc({"AWS": [ROLE_ARN]}))
        session = await caller_of(services, two_hours["Credentials"]["AccessKeyId"])
        with pytest.raises(ValidationException) as chained:
            await assume(services, session, RoleArn=ROLE_ARN, DurationSeconds=3601)
        assert chained.value.message == (
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        )
        again = await assume(services, session, RoleArn=ROLE_ARN, RoleSessionName="chained")
        assert again["Credentials"]["Expiration"] == pytest.approx(time.time() + 3600, abs=5)
        assert again["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{A}:assumed-role/Deployer/chained"
        # GetSessionToken's credentials are temporary too: the same one-hour limit
        token = await services.identities.create_session(A, "alice", 900, parent_key_id=alice.access_key_id)
        await services.identities.roles.update_trust_policy(A, "Deployer", trust_doc({"AWS": alice.principal.arn}))
        with_token = await caller_of(services, token.access_key_id)
        with pytest.raises(ValidationException):
            await assume(services, with_token, RoleArn=ROLE_ARN, DurationSeconds=7200)
        await assume(services, with_token, RoleArn=ROLE_ARN, DurationSeconds=3600)

    with_services(tmp_path, body)


def test_session_policy_through_the_handler(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        alice, _ = await setup(services)
        narrow = doc(allow("secretsmanager:ListSecrets"))
        answer = await assume(services, alice, RoleArn=ROLE_ARN, Policy=narrow)
        assert answer["PackedPolicySize"] == 6  # 112 characters without whitespace, of 2048
        session = await caller_of(services, answer["Credentials"]["AccessKeyId"])
        assert [(p.text, p.session) for p in session.policies] == [(READ_ALL, False), (narrow, True)]
        with pytest.raises(AccessDeniedException) as denied:
            services.authorizer.check(session.principal, session.policies, GET, SECRET, None, dict)
        assert "because no session policy allows the secretsmanager:GetSecretValue action" in denied.value.message
        services.authorizer.check(session.principal, session.policies, "secretsmanager:ListSecrets", "*", None, dict)
        with pytest.raises(MalformedPolicyDocumentException) as malformed:
            await assume(services, alice, RoleArn=ROLE_ARN, Policy='{"Statement": [')
        assert malformed.value.message == "This policy contains invalid Json"
        with pytest.raises(ValidationException) as too_long:
            await assume(services, alice, RoleArn=ROLE_ARN, Policy=doc(allow(resource="arn:" + "x" * 2048)))
        assert too_long.value.message == (
            "1 validation error detected: Value at 'policy' failed to satisfy constraint: "
            "Member must have length less than or equal to 2048"
        )

    with_services(tmp_path, body)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("PolicyArns", [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]),
        ("Tags", [{"Key": "team", "Value": "blue"}]),
        ("TransitiveTagKeys", ["team"]),
        ("SourceIdentity", "alice"),
        ("ProvidedContexts", [{"ProviderArn": "arn:aws:iam::aws:contextProvider/IdentityCenter"}]),
    ],
)
def test_unsupported_members_are_refused(member: str, value: Any) -> None:
    with pytest.raises(ValidationException) as refused:
        STS.check_input("AssumeRole", {"RoleArn": ROLE_ARN, "RoleSessionName": "s", member: value})  # type: ignore[misc]
    assert member in refused.value.message
    STS.check_input("AssumeRole", {"RoleArn": ROLE_ARN, "RoleSessionName": "s", "Tags": []})  # type: ignore[misc]


def test_sts_condition_keys_and_audit_subject() -> None:
    params = {"RoleArn": ROLE_ARN, "RoleSessionName": "s1", "ExternalId": "x-1"}
    assert STS.context_keys(params) == {"sts:RoleSessionName": "s1", "sts:ExternalId": "x-1"}
    assert STS.context_keys({}) == {}
    assert STS.audit_subject(params) == ROLE_ARN
    assert STS.audit_subject({}) is None


def test_minimum_session_token_size_and_purge_of_expired_sessions(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        alice, role = await setup(services)
        big = await assume(services, alice, RoleArn=ROLE_ARN, MinimumSessionTokenSize=4096)
        assert len(big["Credentials"]["SessionToken"]) >= 4096
        assert await services.identities.resolve(big["Credentials"]["AccessKeyId"]) is not None
        expired = await services.identities.role_sessions.issue(role, "old", 900, now=time.time() - 10_000)
        assert expired is not None
        await assume(services, alice, RoleArn=ROLE_ARN)
        async with services.store.read() as tx:
            row = await tx.x.fetchrow(  # type: ignore[attr-defined]
                "SELECT COUNT(*) AS n FROM iam_role_sessions WHERE access_key_id = $1",
                expired.credentials.access_key_id,
            )
        assert row is not None and row["n"] == 0

    with_services(tmp_path, body)


def test_changed_trust_keeps_sessions_deleted_role_ends_them(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        alice, _ = await setup(services)
        key = (await assume(services, alice, RoleArn=ROLE_ARN))["Credentials"]["AccessKeyId"]
        ids = services.identities
        await ids.roles.update_trust_policy(A, "Deployer", trust_doc({"Service": "lambda.amazonaws.com"}))
        assert await ids.resolve(key) is not None
        with pytest.raises(AccessDeniedException):
            await assume(services, alice, RoleArn=ROLE_ARN)
        await ids.delete_policy(A, "role", "Deployer", "all")
        assert (await ids.resolve(key)).policies == ()  # type: ignore[union-attr]  # role policies apply at once
        await ids.roles.delete_role(A, "Deployer")
        assert await ids.resolve(key) is None

    with_services(tmp_path, body)


def test_dev_mode_assumes_any_existing_role(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        await services.identities.roles.create_role(A, "Deployer", trust_doc({"Service": "lambda.amazonaws.com"}))
        dev = Caller(root_principal(A), (), "us-east-1", "AKIADEV", kind=CallerKind.DEV)
        ctx = RequestContext.of(dev, time.time(), authorize=allow_all)
        params = {"RoleArn": ROLE_ARN, "RoleSessionName": "dev"}
        assert (await handlers.assume_role(services, ctx, params))["AssumedRoleUser"]["Arn"].endswith("/Deployer/dev")
        with pytest.raises(AccessDeniedException):
            await handlers.assume_role(services, ctx, {**params, "RoleArn": f"arn:aws:iam::{A}:role/Missing"})

    with_services(tmp_path, body)


# --- a role's credentials for a service principal ------------------------------------------------------
def test_credentials_for_a_service_principal(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        ids = services.identities
        sessions = ids.role_sessions
        role = await ids.roles.create_role(A, "Fn", trust_doc({"Service": "lambda.amazonaws.com"}))
        await ids.put_policy(A, "role", "Fn", "all", READ_ALL)
        fn_arn = f"arn:aws:iam::{A}:role/Fn"
        assert await sessions.trusted_by(A, fn_arn) == role
        first = await sessions.assume_role_for_service(A, fn_arn, session_name="rotate-db")
        assert first.arn == f"arn:aws:sts::{A}:assumed-role/Fn/rotate-db"
        identity = await ids.resolve(first.credentials.access_key_id)
        assert identity is not None and [p.text for p in identity.policies] == [READ_ALL]

        async def stored() -> int:
            async with services.store.read() as tx:
                row = await tx.x.fetchrow("SELECT COUNT(*) AS n FROM iam_role_sessions")  # type: ignore[attr-defined]
            assert row is not None
            return int(row["n"])

        # warm: the same credentials, nothing written
        assert await sessions.assume_role_for_service(A, fn_arn, session_name="rotate-db") == first
        assert await stored() == 1
        other = await sessions.assume_role_for_service(A, fn_arn, session_name="other-fn")
        assert other.credentials.access_key_id != first.credentials.access_key_id
        # near expiry: new credentials
        late = first.credentials.expiration - SERVICE_MIN_REMAINING_SECONDS + 1
        renewed = await sessions.assume_role_for_service(A, fn_arn, session_name="rotate-db", now=late)
        assert renewed.credentials.access_key_id != first.credentials.access_key_id
        # the trust policy is evaluated on every call
        await ids.roles.update_trust_policy(A, "Fn", trust_doc({"Service": "ec2.amazonaws.com"}))
        with pytest.raises(AccessDeniedException) as refused:
            await sessions.assume_role_for_service(A, fn_arn, session_name="rotate-db")
        assert refused.value.message == (
            f"User: lambda.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: {fn_arn}"
        )
        with pytest.raises(AccessDeniedException):
            await sessions.trusted_by(A, fn_arn)
        with pytest.raises(AccessDeniedException):
            await sessions.trusted_by(B, fn_arn)  # a role of another account
        for missing in (f"arn:aws:iam::{A}:role/Missing", "not-an-arn-at-all"):
            with pytest.raises(AccessDeniedException):
                await sessions.trusted_by(A, missing)
        with pytest.raises(ValidationException):
            await sessions.assume_role_for_service(A, fn_arn, session_name="bad name")

    with_services(tmp_path, body)


def test_service_credentials_of_a_role_created_again_are_new(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        ids = services.identities
        lambda_trust = trust_doc({"Service": "lambda.amazonaws.com"})
        await ids.roles.create_role(A, "Fn", lambda_trust)
        fn_arn = f"arn:aws:iam::{A}:role/Fn"
        first = await ids.role_sessions.assume_role_for_service(A, fn_arn, session_name="f")
        await ids.roles.delete_role(A, "Fn")
        with pytest.raises(AccessDeniedException):
            await ids.role_sessions.assume_role_for_service(A, fn_arn, session_name="f")
        await ids.roles.create_role(A, "Fn", lambda_trust)
        second = await ids.role_sessions.assume_role_for_service(A, fn_arn, session_name="f")
        assert second.credentials.access_key_id != first.credentials.access_key_id
        assert await ids.resolve(first.credentials.access_key_id) is None
        assert await ids.resolve(second.credentials.access_key_id) is not None

    with_services(tmp_path, body)
