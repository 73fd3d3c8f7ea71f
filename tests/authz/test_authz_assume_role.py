"""sts:AssumeRole on a server without --dev, driven by boto3 (query protocol) and raw JSON 1.0:
assuming roles, using their credentials against Secrets Manager, refusals, chaining, deletion.

Each test makes its own roles (prefixed), so none depends on another's; credentials meant to
stop working are never used before, so no server-side identity cache hides the change.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from authz_support import (
    ACCOUNT,
    AuthzServer,
    Creds,
    World,
    allow,
    make_role,
    policy,
    run_identities,
    secret_arn_pattern,
    trust,
)
from botocore.credentials import Credentials
from test_session_tokens import INVALID_TOKEN, error_of, session_client, signed_post

NOT_AUTHORIZED = "User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role}"


def unique(world: World, what: str) -> str:
    return f"{world.prefix}-{what}-{uuid.uuid4().hex[:6]}"


def assume(authz: AuthzServer, creds: Creds | dict[str, Any], **params: Any) -> dict[str, Any]:
    sts = authz.client(creds, "sts") if isinstance(creds, Creds) else session_client(authz, creds, "sts")
    params.setdefault("RoleSessionName", "e2e")
    answer: dict[str, Any] = sts.assume_role(**params)
    return answer


def test_assume_a_role_made_with_the_cli_and_use_it(authz: AuthzServer, world: World) -> None:
    nobody = world.principals["nobody"]  # no identity policy: the role's policies decide
    name = unique(world, "reader")
    role = authz.admin(
        "create-role", "--role-name", name, "--assume-role-policy-document", trust({"AWS": nobody.arn}),
        "--max-session-duration", "7200",
    )["Role"]
    authz.admin("put-role-policy", "--role-name", name, "--policy-name", "read", "--policy-document",
                policy(allow(["secretsmanager:GetSecretValue"], secret_arn_pattern(f"{world.prefix}/app/*"))))
    before = time.time()
    answer = assume(authz, nobody, RoleArn=role["Arn"], RoleSessionName="deploy-7", DurationSeconds=7200)
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/deploy-7"
    assert answer["AssumedRoleUser"] == {"AssumedRoleId": f"{role['RoleId']}:deploy-7", "Arn": session_arn}
    assert "PackedPolicySize" not in answer
    creds = answer["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert 7190 <= creds["Expiration"].timestamp() - before <= 7210

    sm = session_client(authz, creds)
    assert sm.get_secret_value(SecretId=world.secrets["app_db"])["SecretString"] == "value-of-app_db"
    denied = error_of(lambda: sm.get_secret_value(SecretId=f"{world.prefix}/other/x"))
    assert denied == {
        "Code": "AccessDeniedException",
        "Message": f"User: {session_arn} is not authorized to perform: secretsmanager:GetSecretValue on resource: "
        f"{world.prefix}/other/x because no identity-based policy allows the secretsmanager:GetSecretValue action",
    }
    assert error_of(lambda: session_client(authz, {**creds, "SessionToken": "x"}).list_secrets())["Code"] == (
        "UnrecognizedClientException"
    )
    identity = session_client(authz, creds, "sts").get_caller_identity()
    assert (identity["Arn"], identity["UserId"], identity["Account"]) == (
        session_arn, f"{role['RoleId']}:deploy-7", ACCOUNT,
    )  # fmt: skip
    # role sessions are temporary credentials: no GetSessionToken with them
    assert error_of(lambda: session_client(authz, creds, "sts").get_session_token())["Code"] == "AccessDenied"


def test_refusals_missing_roles_and_bad_input(authz: AuthzServer, world: World) -> None:
    nobody, reader = world.principals["nobody"], world.principals["reader"]
    role_arn = make_role(authz, unique(world, "only-reader"), trust({"AWS": reader.arn}))
    missing = f"arn:aws:iam::{ACCOUNT}:role/{unique(world, 'missing')}"
    for arn in (role_arn, missing):
        assert error_of(lambda arn=arn: assume(authz, nobody, RoleArn=arn)) == {
            "Code": "AccessDenied", "Message": NOT_AUTHORIZED.format(caller=nobody.arn, role=arn),
        }  # fmt: skip
    assume(authz, reader, RoleArn=role_arn)
    # the account's root may not assume roles at all
    other_root = world.principals["other_root"]
    assert error_of(lambda: assume(authz, other_root, RoleArn=role_arn)) == {
        "Code": "AccessDenied", "Message": "Roles may not be assumed by root accounts.",
    }  # fmt: skip
    assert error_of(lambda: assume(authz, reader, RoleArn="nothing-valid-in-here")) == {
        "Code": "ValidationError", "Message": "nothing-valid-in-here is invalid",
    }  # fmt: skip
    assert error_of(lambda: assume(authz, reader, RoleArn=role_arn, DurationSeconds=7200)) == {
        "Code": "ValidationError",
        "Message": "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    }
    assert error_of(lambda: assume(authz, reader, RoleArn=role_arn, Policy='{"Statement": ['))["Code"] == (
        "MalformedPolicyDocument"
    )
    assert error_of(lambda: assume(authz, reader, RoleArn=role_arn, Tags=[{"Key": "k", "Value": "v"}])) == {
        "Code": "ValidationError",
        "Message": "Strongroom does not support session tags: remove Tags and TransitiveTagKeys.",
    }


def test_json_protocol_assume_role(authz: AuthzServer, world: World) -> None:
    nobody = world.principals["nobody"]
    role_arn = make_role(authz, unique(world, "json"), trust({"AWS": nobody.arn}))
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AWSSecurityTokenServiceV20110615.AssumeRole",
    }
    caller = Credentials(nobody.access_key_id, nobody.secret_access_key)
    body = json.dumps({"RoleArn": role_arn, "RoleSessionName": "json-1"}).encode()
    status, payload = signed_post(authz, caller, body, headers)
    assert status == 200, payload
    answer = json.loads(payload)
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_arn.split('/')[-1]}/json-1"
    assert abs(answer["Credentials"]["Expiration"] - (time.time() + 3600)) < 10
    missing = f"arn:aws:iam::{ACCOUNT}:role/{unique(world, 'missing')}"
    status, payload = signed_post(authz, caller, json.dumps({"RoleArn": missing, "RoleSessionName": "j2"}).encode(),
                                  headers)
    assert status == 403, payload
    assert json.loads(payload) == {"__type": "AccessDenied", "message": NOT_AUTHORIZED.format(
        caller=nobody.arn, role=missing)}


def test_resource_policy_naming_the_role_and_session_policies(authz: AuthzServer, world: World, admin_sm: Any) -> None:
    nobody = world.principals["nobody"]
    name = unique(world, "rp")
    role_arn = make_role(authz, name, trust({"AWS": nobody.arn}))  # no role policy at all
    secret = admin_sm.create_secret(Name=f"{world.prefix}/rp-role/{name}", SecretString="for-the-role")["ARN"]
    admin_sm.put_resource_policy(SecretId=secret, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
    ]}))  # fmt: skip
    try:
        sm = session_client(authz, assume(authz, nobody, RoleArn=role_arn)["Credentials"])
        assert sm.get_secret_value(SecretId=secret)["SecretString"] == "for-the-role"
        # a session policy limits what naming the role grants
        narrow = policy(allow(["secretsmanager:DescribeSecret"], secret))
        limited = assume(authz, nobody, RoleArn=role_arn, Policy=narrow, RoleSessionName="narrow")
        assert 1 <= limited["PackedPolicySize"] <= 100
        denied = error_of(lambda: session_client(authz, limited["Credentials"]).get_secret_value(SecretId=secret))
        assert denied["Code"] == "AccessDeniedException"
        assert denied["Message"].endswith("because no session policy allows the secretsmanager:GetSecretValue action")
    finally:
        admin_sm.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)


def test_role_chaining_and_external_id(authz: AuthzServer, world: World) -> None:
    nobody = world.principals["nobody"]
    first_name = unique(world, "first")
    first = make_role(authz, first_name, trust({"AWS": nobody.arn}))
    second = make_role(
        authz, unique(world, "second"),
        trust({"AWS": first}, Condition={"StringEquals": {"sts:ExternalId": "Unique-1234"}}),
        max_session_duration=7200,
    )
    session = assume(authz, nobody, RoleArn=first, RoleSessionName="hop-1")["Credentials"]
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{first_name}/hop-1"
    for extra in ({}, {"ExternalId": "wrong-1234"}):
        assert error_of(lambda extra=extra: assume(authz, session, RoleArn=second, **extra)) == {
            "Code": "AccessDenied", "Message": NOT_AUTHORIZED.format(caller=session_arn, role=second),
        }  # fmt: skip
    assert error_of(lambda: assume(authz, session, RoleArn=second, ExternalId="Unique-1234", DurationSeconds=7200)) == {
        "Code": "ValidationError",
        "Message": "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    }
    chained = assume(authz, session, RoleArn=second, ExternalId="Unique-1234", RoleSessionName="hop-2")
    identity = session_client(authz, chained["Credentials"], "sts").get_caller_identity()
    assert identity["Arn"] == chained["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{second.split('/')[-1]}/hop-2"
    )


def test_deleting_a_role_ends_its_sessions(authz: AuthzServer, world: World) -> None:
    nobody = world.principals["nobody"]
    name = unique(world, "doomed")
    role_arn = make_role(authz, name, trust({"AWS": nobody.arn}), policy(allow(["secretsmanager:ListSecrets"])))
    creds = assume(authz, nobody, RoleArn=role_arn)["Credentials"]  # never used before the deletion

    async def delete(ids: Any) -> None:
        await ids.delete_policy(ACCOUNT, "role", name, "main")
        await ids.roles.delete_role(ACCOUNT, name)
        await ids.roles.create_role(ACCOUNT, name, trust({"AWS": nobody.arn}))  # the name again: a new role

    run_identities(authz, delete)
    assert error_of(lambda: session_client(authz, creds).list_secrets()) == {
        "Code": "UnrecognizedClientException", "Message": INVALID_TOKEN,
    }  # fmt: skip
    assert error_of(lambda: session_client(authz, creds, "sts").get_caller_identity())["Code"] == "InvalidClientTokenId"


def test_same_account_trust_and_identity_policies(authz: AuthzServer, world: World) -> None:
    """Naming the user in the trust policy suffices; naming the account needs an identity policy too."""
    reader, writer = world.principals["reader"], world.principals["writer"]  # neither may sts:AssumeRole
    by_user = make_role(authz, unique(world, "by-user"), trust({"AWS": reader.arn}))
    assume(authz, reader, RoleArn=by_user)
    by_account = make_role(authz, unique(world, "by-account"), trust({"AWS": ACCOUNT}))
    for creds in (reader, writer):
        assert error_of(lambda creds=creds: assume(authz, creds, RoleArn=by_account))["Code"] == "AccessDenied"
    user = unique(world, "assumer")

    async def assumer(ids: Any) -> Creds:
        await ids.create_user(ACCOUNT, user)
        await ids.put_policy(ACCOUNT, "user", user, "assume", policy(allow(["sts:AssumeRole"], by_account)))
        key = await ids.create_access_key(ACCOUNT, user)
        return Creds(key.access_key_id, key.secret_access_key, key.principal_arn)

    allowed = run_identities(authz, assumer)
    assert assume(authz, allowed, RoleArn=by_account)["AssumedRoleUser"]["Arn"].endswith("/e2e")
    assert error_of(lambda: assume(authz, allowed, RoleArn=by_user))["Code"] == "AccessDenied"
