"""The Lambda API of a real ``strongroom serve --dev`` (functions on), driven by boto3 and the AWS CLI.

The details of each operation are tested in-process (tests/functions/test_lambda_api.py); here the
real clients meet the real server: the CLI's ``fileb://`` upload, boto3's waiter, a function as it
would be written for AWS Lambda (boto3 and SECRETS_MANAGER_ENDPOINT), errors as boto3 reads them.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_server import ACCOUNT_ID, REGION

ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/rotation"
#: A function as it is written for AWS Lambda: boto3, the endpoint from the environment, the role's credentials.
SECRETS_READER = """\
import os

import boto3


def handler(event, context):
    client = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    value = client.get_secret_value(SecretId=event["SecretId"])["SecretString"]
    print("read", event["SecretId"])
    return {"value": value, "function": context.function_name}
"""


def package(source: str, module: str = "app") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{module}.py", source)
    return buffer.getvalue()


def function_name() -> str:
    return f"e2e-fn-{uuid.uuid4().hex[:12]}"


def test_the_cli_creates_gets_and_invokes(aws: Callable[..., subprocess.CompletedProcess[str]], lambda_client: Any,
                                          tmp_path: Path) -> None:
    name = function_name()
    zip_path = tmp_path / "f.zip"
    zip_path.write_bytes(package("def handler(event, context):\n    return {'hello': event.get('who')}\n"))
    created = aws("lambda", "create-function", "--function-name", name, "--runtime", "python3.12",
                  "--role", ROLE, "--handler", "app.handler", "--zip-file", f"fileb://{zip_path}", check=True)
    assert json.loads(created.stdout)["FunctionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
    got = json.loads(aws("lambda", "get-function", "--function-name", name, check=True).stdout)
    assert got["Configuration"]["State"] == "Active"
    out = tmp_path / "out.json"
    invoked = aws("lambda", "invoke", "--function-name", name, "--payload", '{"who": "cli"}', str(out), check=True)
    assert json.loads(invoked.stdout) == {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
    assert json.loads(out.read_text()) == {"hello": "cli"}
    missing = aws("lambda", "get-function", "--function-name", f"{name}-missing")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
    aws("lambda", "delete-function", "--function-name", name, check=True)


def test_a_lambda_function_reads_a_secret_through_boto3(lambda_client: Any, sm: Any) -> None:
    secret = f"e2e-fn-secret-{uuid.uuid4().hex[:8]}"
    sm.create_secret(Name=secret, SecretString="the value")
    name = function_name()
    lambda_client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                  Code={"ZipFile": package(SECRETS_READER)}, Timeout=30)
    lambda_client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    result = lambda_client.invoke(FunctionName=name, Payload=json.dumps({"SecretId": secret}), LogType="Tail")
    assert (result["StatusCode"], result["ExecutedVersion"], "FunctionError" in result) == (200, "$LATEST", False)
    assert json.loads(result["Payload"].read()) == {"value": "the value", "function": name}
    assert f"read {secret}" in base64.b64decode(result["LogResult"]).decode()

    failed = lambda_client.invoke(FunctionName=name, Payload=json.dumps({"fail": True}))
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "asked to fail")
    assert lambda_client.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    lambda_client.delete_function(FunctionName=name)


def test_errors_as_boto3_reads_them(lambda_client: Any) -> None:
    name = function_name()
    code = package("def handler(event, context):\n    return event\n")
    lambda_client.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                                  Code={"ZipFile": code})

    def refused(call: Callable[[], Any]) -> tuple[int, str, str, str]:
        with pytest.raises(ClientError) as caught:
            call()
        response = caught.value.response
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        return (response["ResponseMetadata"]["HTTPStatusCode"], headers["x-amzn-errortype"],
                response["Error"]["Code"], response["Error"]["Message"])

    assert refused(lambda: lambda_client.get_function(FunctionName=f"{name}-x")) == (
        404, "ResourceNotFoundException", "ResourceNotFoundException",
        f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}-x")
    assert refused(lambda: lambda_client.create_function(
        FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": code}))[:3] == (
        409, "ResourceConflictException", "ResourceConflictException")
    not_a_zip = refused(lambda: lambda_client.create_function(
        FunctionName=function_name(), Runtime="python3.11", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": b"not a zip"}))
    assert not_a_zip[:3] == (400, "InvalidParameterValueException", "InvalidParameterValueException")
    assert refused(lambda: lambda_client.list_versions_by_function(FunctionName=name)) == (
        403, "AccessDeniedException", "AccessDeniedException",
        "Unable to determine service/operation name to be authorized")

    # the function by ARN (its colons travel percent-encoded in the path), and its policy
    arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert json.loads(lambda_client.invoke(FunctionName=arn, Payload=b'{"a": 1}')["Payload"].read()) == {"a": 1}
    lambda_client.add_permission(FunctionName=arn, StatementId="sm", Action="lambda:InvokeFunction",
                                 Principal="secretsmanager.amazonaws.com")
    policy = json.loads(lambda_client.get_policy(FunctionName=name)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["sm"]
    lambda_client.remove_permission(FunctionName=name, StatementId="sm")
    assert refused(lambda: lambda_client.get_policy(FunctionName=name))[:2] == (404, "ResourceNotFoundException")
    lambda_client.delete_function(FunctionName=name)


def test_an_event_invocation_runs_later(lambda_client: Any, sm: Any) -> None:
    """The function creates a secret: the test sees it appear (Event answers before the function runs)."""
    secret = f"e2e-fn-event-{uuid.uuid4().hex[:8]}"
    name = function_name()
    source = ("import os\nimport boto3\n\ndef handler(event, context):\n"
              "    boto3.client('secretsmanager', endpoint_url=os.environ['SECRETS_MANAGER_ENDPOINT'])"
              ".create_secret(Name=event['Name'], SecretString='from an event')\n")
    lambda_client.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                  Code={"ZipFile": package(source)}, Timeout=30)
    accepted = lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"Name": secret}))
    assert accepted["StatusCode"] == 202
    deadline = time.monotonic() + 60  # only keeps a broken run from hanging
    while True:
        try:
            assert sm.get_secret_value(SecretId=secret)["SecretString"] == "from an event"
            break
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException" or time.monotonic() > deadline:
                raise
        time.sleep(0.2)
    lambda_client.delete_function(FunctionName=name)
