"""Functions on two ``strongroom serve`` processes sharing one PostgreSQL database.

The code lives in the store, so a function created through one instance runs on the other, and a
code change made through one is what the other runs next (its warm workers are of the old code's
configuration, so they are not reused). An Event accepted by one instance is run by whichever
claims its work item. What the database holds is sealed: no plaintext code, variable or event.
"""

from __future__ import annotations

import io
import json
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pg_servers import Instance, make_client, pg_run, start_instances

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))  # functions' configuration
from functions_support import worker_python  # noqa: E402

pytestmark = pytest.mark.postgres
ROLE = "arn:aws:iam::123456789012:role/function-role"


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def database(new_database: Callable[[str], str]) -> str:
    return new_database("functions")


@pytest.fixture(scope="module")
def pair(database: str, master_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Instance]]:
    python = worker_python()
    if python is None:
        pytest.skip("no Python interpreter that the function workers' user can run")
    instances = start_instances(2, tmp_path_factory.mktemp("functions-pair"), master_key=master_key,
                                database_url=database, config={"functions": True, "functions_python": python})
    try:
        yield instances
    finally:
        for instance in instances:
            instance.stop()


def test_a_function_made_on_one_instance_runs_on_the_other(pair: list[Instance], database: str) -> None:
    first, second = (make_client(instance.endpoint, "lambda") for instance in pair)
    name = f"pg-fn-{uuid.uuid4().hex[:8]}"
    marker = f"code-marker-{uuid.uuid4().hex}"
    variable = f"variable-{uuid.uuid4().hex}"
    code = package(f"def handler(event, context):\n    return {{'v': 1, 'm': {marker!r}}}\n")
    first.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                          Code={"ZipFile": code}, Environment={"Variables": {"PASSWORD": variable}})
    assert json.loads(second.invoke(FunctionName=name)["Payload"].read()) == {"v": 1, "m": marker}
    changed = package("def handler(event, context):\n    return {'v': 2}\n")
    first.update_function_code(FunctionName=name, ZipFile=changed)
    assert json.loads(second.invoke(FunctionName=name)["Payload"].read()) == {"v": 2}
    assert json.loads(first.invoke(FunctionName=name)["Payload"].read()) == {"v": 2}

    stored = pg_run(database, "SELECT * FROM functions WHERE name = $1", name)
    assert len(stored) == 1
    blob = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in stored[0].values())
    for plain in (marker, variable, "def handler"):
        assert plain.encode() not in blob, plain


def test_an_event_accepted_by_one_instance_is_run(pair: list[Instance]) -> None:
    first = make_client(pair[0].endpoint, "lambda")
    secrets = make_client(pair[1].endpoint)
    name = f"pg-fn-{uuid.uuid4().hex[:8]}"
    secret = f"pg-fn-event-{uuid.uuid4().hex[:8]}"
    source = ("import os\nimport boto3\n\ndef handler(event, context):\n"
              "    boto3.client('secretsmanager', endpoint_url=os.environ['SECRETS_MANAGER_ENDPOINT'])"
              ".create_secret(Name=event['Name'], SecretString='once')\n")
    first.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                          Code={"ZipFile": package(source)}, Timeout=30)
    assert first.invoke(FunctionName=name, InvocationType="Event",
                        Payload=json.dumps({"Name": secret}))["StatusCode"] == 202
    deadline = time.monotonic() + 60  # only keeps a broken run from hanging
    while True:
        try:
            value: Any = secrets.get_secret_value(SecretId=secret)
            break
        except ClientError as exc:
            if time.monotonic() > deadline:
                raise
            assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
        time.sleep(0.2)
    assert value["SecretString"] == "once"
