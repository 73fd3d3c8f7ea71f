"""The Lambda API with authentication on: every operation authorized as ``lambda:<action>`` on the function,
the function's policy for other accounts and for principals it names, and the stricter rule for code.

A server of its own (functions on), identities made through the Identities API as the admin CLI does.
"""

from __future__ import annotations

import io
import json
import sys
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from authz_support import (
    ACCOUNT,
    OTHER_ACCOUNT,
    REGION,
    AuthzServer,
    Creds,
    admin_creds,
    allow,
    make_principals,
    make_role,
    policy,
    running_server,
    trust,
)
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))  # functions' configuration
from functions_support import functions_args  # noqa: E402

ROLE = f"arn:aws:iam::{ACCOUNT}:role/function-role"
FUNCTIONS = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
CODE_BUFFER = io.BytesIO()
with zipfile.ZipFile(CODE_BUFFER, "w") as _archive:
    _archive.writestr("app.py", "def handler(event, context):\n    return {'ok': True}\n")
CODE = CODE_BUFFER.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthzServer]:
    base = tmp_path_factory.mktemp("authz-functions")
    args = functions_args(base)
    if not args:
        pytest.skip("no Python interpreter that the function workers' user can run: functions are off")
    yield from running_server(base, *args)


@pytest.fixture(scope="module")
def function_role(server: AuthzServer) -> str:
    """The role every function here runs with: trusted by Lambda, allowed to read secrets named fn-readable-*."""
    return make_role(server, "function-role", trust({"Service": "lambda.amazonaws.com"}),
                     policy(allow(["secretsmanager:GetSecretValue"],
                                  f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:fn-readable-*")))


@pytest.fixture(scope="module")
def principals(function_role: str, server: AuthzServer) -> dict[str, Creds]:
    tag = uuid.uuid4().hex[:8]
    specs = {
        "deployer": (ACCOUNT, f"fn-deployer-{tag}", policy(allow(["lambda:*"]))),
        "invoker": (ACCOUNT, f"fn-invoker-{tag}", policy(
            allow(["lambda:InvokeFunction", "lambda:GetFunction", "lambda:UpdateFunctionCode"], FUNCTIONS + "*"))),
        "nobody": (ACCOUNT, f"fn-nobody-{tag}", None),
        "named": (ACCOUNT, f"fn-named-{tag}", None),
        "root": (ACCOUNT, None, None),
        "other_root": (OTHER_ACCOUNT, None, None),
    }
    return make_principals(server.data_dir, specs)


@pytest.fixture(scope="module")
def clients(server: AuthzServer, principals: dict[str, Creds]) -> dict[str, Any]:
    made = {name: server.client(creds, "lambda") for name, creds in principals.items()}
    made["admin"] = server.client(admin_creds(server), "lambda")
    return made


def refusal(call: Callable[[], Any]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def create(client: Any, name: str) -> dict[str, Any]:
    answer: dict[str, Any] = client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                                                    Handler="app.handler", Code={"ZipFile": CODE})
    return answer


def test_creating_and_changing_code_needs_an_identity_policy(clients: dict[str, Any],
                                                              principals: dict[str, Creds]) -> None:
    name = f"authz-fn-{uuid.uuid4().hex[:8]}"
    arn = FUNCTIONS + name
    root_arn = f"arn:aws:iam::{ACCOUNT}:root"
    assert refusal(lambda: create(clients["root"], name)) == (
        403, "AccessDeniedException", f"User: {root_arn} is not authorized to perform: lambda:CreateFunction on "
        f"resource: {arn} because no identity-based policy allows the lambda:CreateFunction action")
    assert refusal(lambda: create(clients["nobody"], name))[:2] == (403, "AccessDeniedException")
    assert create(clients["admin"], name)["FunctionArn"] == arn  # the first administrator: allow-all
    assert refusal(lambda: clients["root"].update_function_code(FunctionName=name, ZipFile=CODE))[:2] == (
        403, "AccessDeniedException")
    assert clients["root"].get_function(FunctionName=name)["Configuration"]["FunctionArn"] == arn  # root reads
    assert clients["invoker"].update_function_code(FunctionName=name, ZipFile=CODE)["FunctionArn"] == arn
    # a function policy naming a user lets it invoke, never change code
    clients["deployer"].add_permission(FunctionName=name, StatementId="named", Action="lambda:*",
                                       Principal=principals["named"].arn)
    assert clients["named"].invoke(FunctionName=name)["StatusCode"] == 200
    assert refusal(lambda: clients["named"].update_function_code(FunctionName=name, ZipFile=CODE))[:2] == (
        403, "AccessDeniedException")


def test_every_operation_is_authorized_on_the_function(clients: dict[str, Any]) -> None:
    name = f"authz-fn-{uuid.uuid4().hex[:8]}"
    create(clients["deployer"], name)
    for call in (lambda: clients["nobody"].get_function(FunctionName=name),
                 lambda: clients["nobody"].invoke(FunctionName=name),
                 lambda: clients["nobody"].list_functions(),
                 lambda: clients["nobody"].get_policy(FunctionName=name),
                 lambda: clients["nobody"].delete_function(FunctionName=name)):
        status, code, message = refusal(call)
        assert (status, code) == (403, "AccessDeniedException") and "because no identity-based policy" in message
    # a missing function is refused the same way: existence shows only to callers allowed on the ARN
    missing = refusal(lambda: clients["nobody"].get_function(FunctionName=name + "-missing"))
    present = refusal(lambda: clients["nobody"].get_function(FunctionName=name))
    assert missing[2] == present[2].replace(name, name + "-missing")
    assert clients["invoker"].invoke(FunctionName=name)["StatusCode"] == 200
    assert refusal(lambda: clients["invoker"].delete_function(FunctionName=name))[:2] == (403, "AccessDeniedException")
    # GetFunction shows tags only to callers that may ListTags
    clients["deployer"].tag_resource(Resource=FUNCTIONS + name, Tags={"team": "blue"})
    assert clients["deployer"].get_function(FunctionName=name)["Tags"] == {"team": "blue"}
    without = clients["invoker"].get_function(FunctionName=name)
    assert "Tags" not in without and without["TagsError"]["ErrorCode"] == "AccessDeniedException"
    assert "lambda:ListTags" in without["TagsError"]["Message"]
    assert refusal(lambda: clients["deployer"].get_function(FunctionName=name + "-missing"))[:2] == (
        404, "ResourceNotFoundException")


def test_another_account_invokes_only_what_the_function_policy_grants_it(clients: dict[str, Any]) -> None:
    name = f"authz-fn-{uuid.uuid4().hex[:8]}"
    arn = FUNCTIONS + name
    create(clients["deployer"], name)
    status, code, message = refusal(lambda: clients["other_root"].invoke(FunctionName=arn))
    assert (status, code) == (403, "AccessDeniedException")
    assert message.endswith("because no resource-based policy allows the lambda:InvokeFunction action")
    clients["deployer"].add_permission(FunctionName=name, StatementId="partner", Action="lambda:InvokeFunction",
                                       Principal=OTHER_ACCOUNT)
    assert json.loads(clients["other_root"].invoke(FunctionName=arn)["Payload"].read()) == {"ok": True}
    assert refusal(lambda: clients["other_root"].get_function(FunctionName=arn))[:2] == (403, "AccessDeniedException")
    clients["deployer"].remove_permission(FunctionName=name, StatementId="partner")
    assert refusal(lambda: clients["other_root"].invoke(FunctionName=arn))[:2] == (403, "AccessDeniedException")



READER = io.BytesIO()
with zipfile.ZipFile(READER, "w") as _archive:
    _archive.writestr("reader.py", (
        "import boto3\n"
        "def handler(event, context):\n"
        "    who = boto3.client('sts').get_caller_identity()['Arn']\n"
        "    sm = boto3.client('secretsmanager')\n"
        "    try:\n"
        "        value = sm.get_secret_value(SecretId=event['secret'])['SecretString']\n"
        "    except sm.exceptions.ClientError as e:\n"
        "        value = e.response['Error']['Code']\n"
        "    return {'who': who, 'value': value}\n"
    ))


def test_a_function_runs_with_its_roles_credentials(server: AuthzServer, clients: dict[str, Any]) -> None:
    """The function's SDK signs with the role's session: the role's policy decides what it may read."""
    tag = uuid.uuid4().hex[:8]
    secrets = server.client(admin_creds(server), "secretsmanager")
    secrets.create_secret(Name=f"fn-readable-{tag}", SecretString="open")
    secrets.create_secret(Name=f"fn-private-{tag}", SecretString="closed")
    name = f"authz-fn-reader-{tag}"
    clients["deployer"].create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Timeout=30,
                                        Handler="reader.handler", Code={"ZipFile": READER.getvalue()})
    def run(secret: str) -> dict[str, Any]:
        answer = clients["deployer"].invoke(FunctionName=name, Payload=json.dumps({"secret": secret}))
        assert "FunctionError" not in answer, answer["Payload"].read()
        result: dict[str, Any] = json.loads(answer["Payload"].read())
        return result

    readable = run(f"fn-readable-{tag}")
    assert readable == {"who": f"arn:aws:sts::{ACCOUNT}:assumed-role/function-role/{name}", "value": "open"}
    assert run(f"fn-private-{tag}")["value"] == "AccessDeniedException"


def test_a_role_lambda_may_not_assume_is_refused(server: AuthzServer, clients: dict[str, Any]) -> None:
    untrusting = make_role(server, f"not-for-lambda-{uuid.uuid4().hex[:6]}", trust({"Service": "ec2.amazonaws.com"}))
    missing = f"arn:aws:iam::{ACCOUNT}:role/no-such-role-{uuid.uuid4().hex[:6]}"
    for role in (untrusting, missing):
        with pytest.raises(ClientError) as caught:
            clients["deployer"].create_function(FunctionName=f"authz-fn-{uuid.uuid4().hex[:8]}", Runtime="python3.12",
                                                Role=role, Handler="app.handler", Code={"ZipFile": CODE})
        error = caught.value.response["Error"]
        assert (error["Code"], error["Message"]) == (
            "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")
