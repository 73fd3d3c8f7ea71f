"""RotateSecret with authentication on: the caller also needs lambda:InvokeFunction on the function, the
function's policy must let Secrets Manager invoke it, and the function runs with its role's credentials.

A server of its own (functions on), identities made through the Identities API as the admin CLI does.
"""

from __future__ import annotations

import io
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from authz_support import (
    ACCOUNT,
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

FUNCTIONS = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
SECRETS = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
#: A random-password rotation function as written for AWS Lambda.
ROTATOR = """\
import os

import boto3


def handler(event, context):
    client = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    if "AWSCURRENT" in stages[token]:
        return
    if step == "createSecret":
        value = client.get_random_password(ExcludePunctuation=True)["RandomPassword"]
        client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=value,
                                VersionStages=["AWSPENDING"], RotationToken=event["RotationToken"])
    elif step == "finishSecret":
        current = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
        client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                           RemoveFromVersionId=current)
"""


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("rotator.py", ROTATOR)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthzServer]:
    base = tmp_path_factory.mktemp("authz-rotation")
    args = functions_args(base)
    if not args:
        pytest.skip("no Python interpreter that the function workers' user can run: functions are off")
    yield from running_server(base, *args)


@pytest.fixture(scope="module")
def clients(server: AuthzServer) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    specs = {
        "rotator": (ACCOUNT, f"rot-rotator-{tag}", policy(allow(["secretsmanager:*"]),
                                                          allow(["lambda:InvokeFunction"], FUNCTIONS + "rot-*"))),
        "no_invoke": (ACCOUNT, f"rot-no-invoke-{tag}", policy(allow(["secretsmanager:*"]))),
    }
    principals: dict[str, Creds] = make_principals(server.data_dir, specs)
    made = {name: server.client(creds) for name, creds in principals.items()}
    made["admin"] = server.client(admin_creds(server))
    made["lambda"] = server.client(admin_creds(server), "lambda")
    return made


def refusal(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_rotation_needs_invoke_permission_and_runs_with_the_function_role(server: AuthzServer,
                                                                          clients: dict[str, Any]) -> None:
    tag = uuid.uuid4().hex[:8]
    role = make_role(server, f"rotation-role-{tag}", trust({"Service": "lambda.amazonaws.com"}), policy(allow([
        "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage"], SECRETS + "rot-*"), allow(["secretsmanager:GetRandomPassword"])))
    name = f"rot-{tag}"
    function = clients["lambda"].create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                                 Handler="rotator.handler", Code={"ZipFile": package()})["FunctionArn"]
    secret = clients["admin"].create_secret(Name=f"rot-secret-{tag}", SecretString="initial")["ARN"]

    code, message = refusal(lambda: clients["no_invoke"].rotate_secret(SecretId=secret, RotationLambdaARN=function))
    assert code == "AccessDeniedException" and "lambda:InvokeFunction" in message and function in message
    assert refusal(lambda: clients["rotator"].rotate_secret(SecretId=secret, RotationLambdaARN=function)) == (
        "AccessDeniedException", "Secrets Manager cannot invoke the specified Lambda function. Ensure that the "
        "function policy grants access to the principal secretsmanager.amazonaws.com.")
    assert "RotationLambdaARN" not in clients["admin"].describe_secret(SecretId=secret)

    clients["lambda"].add_permission(FunctionName=name, StatementId="sm", Action="lambda:InvokeFunction",
                                     Principal="secretsmanager.amazonaws.com", SourceAccount=ACCOUNT)
    version = clients["rotator"].rotate_secret(SecretId=secret, RotationLambdaARN=function)["VersionId"]
    deadline = time.monotonic() + 60  # bounds a broken run; nothing is asserted on the time
    while clients["admin"].describe_secret(SecretId=secret)["VersionIdsToStages"].get(version) != ["AWSCURRENT",
                                                                                                   "AWSPENDING"]:
        assert time.monotonic() < deadline, clients["admin"].describe_secret(SecretId=secret)
        time.sleep(0.1)
    value = clients["admin"].get_secret_value(SecretId=secret)["SecretString"]
    assert value != "initial" and len(value) == 32
