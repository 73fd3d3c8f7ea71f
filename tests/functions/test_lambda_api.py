"""The Lambda API of the in-process app (dev mode, functions on), called as boto3 calls it.

One app for the module (tests use functions of their own names); its workers run as the workers'
user with an interpreter that user can run (conftest's ``python_for_workers``).
"""

from __future__ import annotations

import base64
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from functions_support import Runner, handler_zip, make_zip, until
from lambda_calls import ACCOUNT, REGION, ROLE, Reply, call, create_params
from test_app_protocol import Client, running_app, with_app

from strongroom.errors import AccessDeniedException
from strongroom.functions.events import EVENT_ATTEMPTS, EVENT_JOB, EventFailed, run_event
from strongroom.functions.invoker import Functions
from strongroom.functions.packages import seal_event, sealer_for
from strongroom.functions.runtime.code import NOT_A_ZIP, code_sha256
from strongroom.jobs import Job
from strongroom.store.records import FunctionEventRow, FunctionRow

ARN_PREFIX = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
KITCHEN = handler_zip("kitchen")


@pytest.fixture(scope="module")
def app_and_data(run: Runner, python_for_workers: str, tmp_path_factory: pytest.TempPathFactory,
                 ) -> Iterator[tuple[Client, Path]]:
    base = tmp_path_factory.mktemp("lambda-api")
    context = running_app(base, functions=True, functions_python=python_for_workers)
    client = run(context.__aenter__())
    yield client, base / "data"
    run(context.__aexit__(None, None, None))


@pytest.fixture
def app(app_and_data: tuple[Client, Path]) -> Client:
    return app_and_data[0]


def fresh() -> str:
    return f"fn-{uuid.uuid4().hex[:12]}"


def kitchen(run: Runner, app: Client, **overrides: Any) -> str:
    """A new function running tests/functions/handlers/kitchen.py; its name."""
    name = fresh()
    created = run(call(app, "CreateFunction", **create_params(name, KITCHEN, Handler="kitchen.handler", **overrides)))
    assert created.status == 201, created.body
    return name


def invoke(run: Runner, app: Client, name: str, event: Any = None, **params: Any) -> Reply:
    payload = {} if event is None else {"Payload": json.dumps(event).encode()}
    return run(call(app, "Invoke", FunctionName=name, **payload, **params))


# --- the lifecycle ---------------------------------------------------------------------------
def test_create_read_list_update_delete(run: Runner, app: Client) -> None:
    name = fresh()
    code = make_zip({"app.py": "def handler(event, context):\n    return {'version': 1, 'event': event}\n"})
    created = run(call(app, "CreateFunction", **create_params(
        name, code, Description="first", Timeout=5, MemorySize=256, Environment={"Variables": {"AA": "1"}})))
    assert created.status == 201, created.body
    configuration = {k: v for k, v in created.data.items() if k != "ResponseMetadata"}
    assert configuration["FunctionArn"] == ARN_PREFIX + name
    assert configuration["CodeSha256"] == code_sha256(code) and configuration["CodeSize"] == len(code)
    assert configuration["LastModified"].endswith("+0000") and len(configuration["LastModified"]) == 28
    assert {k: configuration[k] for k in ("FunctionName", "Runtime", "Role", "Handler", "Description", "Timeout",
                                          "MemorySize", "Version", "State", "LastUpdateStatus", "PackageType")} == {
        "FunctionName": name, "Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler",
        "Description": "first", "Timeout": 5, "MemorySize": 256, "Version": "$LATEST", "State": "Active",
        "LastUpdateStatus": "Successful", "PackageType": "Zip"}
    assert configuration["Environment"] == {"Variables": {"AA": "1"}}

    # the three ways to name it
    for function_name in (name, f"{ACCOUNT}:function:{name}", ARN_PREFIX + name, f"{name}:$LATEST"):
        got = run(call(app, "GetFunction", FunctionName=function_name))
        assert got.status == 200 and got.data["Configuration"] == configuration, function_name
        assert "Tags" not in got.data and "Code" not in got.data
    assert run(call(app, "GetFunctionConfiguration", FunctionName=name)).data["RevisionId"] == \
        configuration["RevisionId"]

    updated = run(call(app, "UpdateFunctionConfiguration", FunctionName=name, Timeout=7,
                       Environment={"Variables": {"BB": "2"}}))
    assert updated.status == 200, updated.body
    assert (updated.data["Timeout"], updated.data["Environment"], updated.data["Description"]) == (
        7, {"Variables": {"BB": "2"}}, "first")
    assert updated.data["RevisionId"] != configuration["RevisionId"]
    assert json.loads(invoke(run, app, name, {"k": "v"}).data["Payload"]) == {"version": 1, "event": {"k": "v"}}

    new_code = make_zip({"app.py": "def handler(event, context):\n    return {'version': 2}\n"})
    dry = run(call(app, "UpdateFunctionCode", FunctionName=name, ZipFile=new_code, DryRun=True))
    assert dry.status == 200 and dry.data["CodeSha256"] == code_sha256(new_code)
    assert json.loads(invoke(run, app, name).data["Payload"])["version"] == 1  # a dry run changes nothing
    changed = run(call(app, "UpdateFunctionCode", FunctionName=name, ZipFile=new_code, Publish=True))
    assert changed.status == 200 and changed.data["CodeSha256"] == code_sha256(new_code)
    assert changed.data["Version"] == "$LATEST"  # Publish is accepted; no numbered version is made
    assert json.loads(invoke(run, app, name).data["Payload"]) == {"version": 2}

    deleted = run(call(app, "DeleteFunction", FunctionName=name))
    assert (deleted.status, deleted.body) == (204, b"")
    for operation in ("GetFunction", "Invoke", "DeleteFunction"):
        missing = run(call(app, operation, FunctionName=name))
        assert (missing.status, missing.headers["x-amzn-errortype"]) == (404, "ResourceNotFoundException")
        assert missing.error == ("ResourceNotFoundException", f"Function not found: {ARN_PREFIX}{name}")


def test_list_functions_pages_with_markers(run: Runner, app: Client) -> None:
    names = {kitchen(run, app) for _ in range(3)}
    seen: list[str] = []
    marker: dict[str, str] = {}
    pages = 0
    while True:
        page = run(call(app, "ListFunctions", MaxItems=2, **marker))
        assert page.status == 200, page.body
        assert len(page.data["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page.data["Functions"]]
        pages += 1
        if "NextMarker" not in page.data:
            break
        marker = {"Marker": page.data["NextMarker"]}
    assert names <= set(seen) and seen == sorted(seen) and len(seen) == len(set(seen)) and pages >= 2
    forged = run(call(app, "ListFunctions", Marker="not-a-marker"))
    assert (forged.status, forged.error[0]) == (400, "InvalidParameterValueException")


def test_create_refusals_are_lambdas(run: Runner, app: Client) -> None:
    name = kitchen(run, app)
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        (create_params(name, KITCHEN), 409, "ResourceConflictException", f"Function already exist: {name}"),
        (create_params(fresh(), b"not a zip"), 400, "InvalidParameterValueException", NOT_A_ZIP),
        (create_params(fresh(), KITCHEN, Runtime="nodejs20.x"), 400, "InvalidParameterValueException",
         "The runtime parameter of nodejs20.x is not supported by this server, which runs python3.9 to python3.14. "
         "We recommend you use a supported runtime while creating or updating functions."),
        (create_params(fresh(), KITCHEN, Runtime="python3.8"), 400, "InvalidParameterValueException",
         "The runtime parameter of python3.8 is no longer supported for creating or updating AWS Lambda functions. "
         "We recommend you use a supported runtime while creating or updating functions."),
        ({k: v for k, v in create_params(fresh(), KITCHEN).items() if k != "Handler"}, 400,
         "InvalidParameterValueException",
         "Runtime and Handler are mandatory parameters for functions created with deployment packages."),
        (create_params(fresh(), KITCHEN, Role="arn:aws:iam::210987654321:role/elsewhere"), 400,
         "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda."),
        (create_params(fresh(), KITCHEN, Environment={"Variables": {"AWS_REGION": "x"}}), 400,
         "InvalidParameterValueException",
         "Lambda was unable to configure your environment variables because the environment variables you have "
         "provided contains reserved keys that are currently not supported for modification. Reserved keys used "
         "in this request: AWS_REGION"),
        (create_params(fresh(), KITCHEN, Timeout=901), 400, "InvalidParameterValueException",
         "Value '901' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900"),
        (create_params(fresh(), KITCHEN, VpcConfig={"SubnetIds": ["subnet-1"]}), 400,
         "InvalidParameterValueException",
         "VpcConfig is not supported by this server: remove it from the request."),
        (create_params(fresh(), KITCHEN, Code={"S3Bucket": "bucket", "S3Key": "key"}), 400,
         "InvalidParameterValueException",
         "Code.S3Bucket is not supported by this server: remove it from the request."),
        (create_params("x" * 65, KITCHEN), 400, "ValidationException",
         "1 validation error detected: Value '" + "x" * 65 + "' at 'functionName' failed to satisfy constraint: "
         "Member must have length less than or equal to 64"),
    ]
    for params, status, code, message in cases:
        reply = run(call(app, "CreateFunction", **params))
        assert (reply.status, reply.headers["x-amzn-errortype"], reply.error) == (status, code, (code, message)), \
            params["FunctionName"]
        assert json.loads(reply.body)["Type"] == "User"
    harmless = create_params(fresh(), KITCHEN, Handler="kitchen.handler", VpcConfig={"SubnetIds": []},
                             TracingConfig={"Mode": "PassThrough"}, PackageType="Zip")
    assert run(call(app, "CreateFunction", **harmless)).status == 201


def test_revision_ids_and_qualifiers(run: Runner, app: Client) -> None:
    name = kitchen(run, app)
    revision = run(call(app, "GetFunction", FunctionName=name)).data["Configuration"]["RevisionId"]
    stale = run(call(app, "UpdateFunctionConfiguration", FunctionName=name, Description="x", RevisionId="nope"))
    assert (stale.status, stale.error) == (412, (
        "PreconditionFailedException",
        "The RevisionId provided does not match the latest RevisionId for the Lambda function or alias."))
    fresh_update = run(call(app, "UpdateFunctionConfiguration", FunctionName=name, Description="x",
                            RevisionId=revision))
    assert fresh_update.status == 200
    numbered = run(call(app, "GetFunction", FunctionName=name, Qualifier="1"))
    assert numbered.error == ("ResourceNotFoundException", f"Function not found: {ARN_PREFIX}{name}:1")
    both = run(call(app, "GetFunction", FunctionName=f"{name}:1", Qualifier="2"))
    assert both.error == ("InvalidParameterValueException",
                          "The derived qualifier from the function name does not match the specified qualifier.")
    latest = run(call(app, "DeleteFunction", FunctionName=name, Qualifier="$LATEST"))
    assert latest.error == ("InvalidParameterValueException",
                            "$LATEST version cannot be deleted without deleting the function.")
    other_region = run(call(app, "GetFunction", FunctionName=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{name}"))
    assert other_region.status == 404


# --- Invoke ------------------------------------------------------------------------------------
def test_invoke_answers_payloads_errors_and_log_tails(run: Runner, app: Client) -> None:
    name = kitchen(run, app, Timeout=1)
    ok = invoke(run, app, name, {"do": "echo", "k": 1})
    assert (ok.status, ok.headers["x-amz-executed-version"]) == (200, "$LATEST")
    assert "x-amz-function-error" not in ok.headers
    assert json.loads(ok.data["Payload"])["event"] == {"do": "echo", "k": 1}
    empty = invoke(run, app, name)  # no payload: the function gets {}
    assert json.loads(empty.data["Payload"])["event"] == {}

    failed = invoke(run, app, name, {"do": "fail", "message": "no way"}, LogType="Tail")
    assert (failed.status, failed.headers["x-amz-function-error"]) == (200, "Unhandled")
    error = json.loads(failed.data["Payload"])
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "no way")
    tail = base64.b64decode(failed.headers["x-amz-log-result"])
    assert tail.startswith(b"START RequestId: ") or b"\nSTART RequestId: " in tail
    assert b"END RequestId: " in tail and b"REPORT RequestId: " in tail and len(tail) <= 4096

    timed_out = invoke(run, app, name, {"do": "hang"})
    assert timed_out.headers["x-amz-function-error"] == "Unhandled"
    assert json.loads(timed_out.data["Payload"])["errorType"] == "Sandbox.Timedout"
    exited = invoke(run, app, name, {"do": "exit", "status": 3})
    assert json.loads(exited.data["Payload"])["errorType"] == "Runtime.ExitError"
    assert "x-amz-log-result" not in exited.headers  # only with LogType: Tail


def test_dry_run_and_event_invocations(run: Runner, app: Client, open_dir: Path) -> None:
    name = kitchen(run, app)
    dry = invoke(run, app, name, {"do": "write", "path": str(open_dir / "dry")}, InvocationType="DryRun")
    assert (dry.status, dry.body) == (204, b"")
    target = open_dir / "event"
    event = invoke(run, app, name, {"do": "write", "path": str(target)}, InvocationType="Event")
    assert (event.status, event.body) == (202, b"")
    run(until(target.exists, limit=30))  # run later by the jobs runtime
    assert not (open_dir / "dry").exists()
    too_big = run(call(app, "Invoke", FunctionName=name, InvocationType="Event", Payload=b'"' + b"x" * 262_144 + b'"'))
    assert (too_big.status, too_big.error) == (413, (
        "RequestEntityTooLargeException",
        "262146 byte payload is too large for the Event invocation type (limit 262144 bytes)"))


def test_body_limits_are_lambdas(run: Runner, app: Client) -> None:
    name = kitchen(run, app)
    too_big = run(call(app, "Invoke", FunctionName=name, Payload=b"x" * 6_291_457))
    assert (too_big.status, too_big.headers["x-amzn-errortype"]) == (413, "RequestEntityTooLargeException")
    assert too_big.error == ("RequestEntityTooLargeException",
                             "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
    # a body over the server's own 1 MB limit is fine where the operation's limit is larger
    big_event = invoke(run, app, name, {"do": "echo", "pad": "y" * 2_000_000})
    assert big_event.status == 200 and len(json.loads(big_event.data["Payload"])["event"]["pad"]) == 2_000_000
    for operation, path, method in (("CreateFunction", "/2015-03-31/functions", "POST"),
                                    ("UpdateFunctionCode", f"/2015-03-31/functions/{name}/code", "PUT")):
        declared = [(b"host", b"localhost"), (b"content-length", b"69905068")]
        refused = run(app.raw(method, path, declared, [b"{}"]))
        assert (refused.status, refused.json()) == (413, {
            "Type": "User", "Message": f"Request must be smaller than 69905067 bytes for the {operation} operation"})


def test_unknown_routes_and_unserved_operations(run: Runner, app: Client) -> None:
    denied = {"Type": "User", "Message": "Unable to determine service/operation name to be authorized"}
    name = kitchen(run, app)
    for method, path in (("GET", f"/2015-03-31/functions/{name}/versions"),  # ListVersionsByFunction
                         ("POST", f"/2015-03-31/functions/{name}/aliases"),  # CreateAlias
                         ("GET", "/2016-08-19/account-settings"),  # GetAccountSettings
                         ("GET", "/2015-03-31/nothing-here")):
        reply = run(app.raw(method, path, [(b"host", b"localhost")], []))
        assert (reply.status, reply.headers["x-amzn-errortype"], reply.json()) == (403, "AccessDeniedException",
                                                                                 denied), path


# --- the function's policy -------------------------------------------------------------------
def test_add_get_remove_permission(run: Runner, app: Client) -> None:
    name = kitchen(run, app)
    arn = ARN_PREFIX + name
    no_policy = run(call(app, "GetPolicy", FunctionName=name))
    assert (no_policy.status, no_policy.error) == (404, ("ResourceNotFoundException",
                                                         "The resource you requested does not exist."))
    added = run(call(app, "AddPermission", FunctionName=name, StatementId="rotation", Action="lambda:InvokeFunction",
                     Principal="secretsmanager.amazonaws.com", SourceAccount=ACCOUNT,
                     SourceArn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-*"))
    assert added.status == 201, added.body
    statement = {"Sid": "rotation", "Effect": "Allow", "Principal": {"Service": "secretsmanager.amazonaws.com"},
                 "Action": "lambda:InvokeFunction", "Resource": arn, "Condition": {
                     "StringEquals": {"AWS:SourceAccount": ACCOUNT},
                     "ArnLike": {"AWS:SourceArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-*"}}}
    assert added.data["Statement"] == json.dumps(statement, separators=(",", ":"))
    account = run(call(app, "AddPermission", FunctionName=name, StatementId="other-account",
                       Action="lambda:InvokeFunction", Principal="210987654321"))
    assert json.loads(account.data["Statement"])["Principal"] == {"AWS": "arn:aws:iam::210987654321:root"}
    duplicate = run(call(app, "AddPermission", FunctionName=name, StatementId="rotation", Action="lambda:*",
                         Principal="*"))
    assert (duplicate.status, duplicate.error) == (409, (
        "ResourceConflictException", "The statement id (rotation) provided already exists. Please provide a new "
        "statement id, or remove the existing statement."))
    not_lambda = run(call(app, "AddPermission", FunctionName=name, StatementId="s3", Action="lambda:Nope",
                          Principal="*"))
    assert not_lambda.error[0] == "InvalidParameterValueException"

    policy = run(call(app, "GetPolicy", FunctionName=name))
    document = json.loads(policy.data["Policy"])
    assert (document["Version"], document["Id"], document["Statement"][0]) == ("2012-10-17", "default", statement)
    assert policy.data["RevisionId"] == run(call(app, "GetFunction", FunctionName=name)).data["Configuration"][
        "RevisionId"]
    stale = run(call(app, "RemovePermission", FunctionName=name, StatementId="rotation", RevisionId="old"))
    assert stale.status == 412
    missing = run(call(app, "RemovePermission", FunctionName=name, StatementId="nope"))
    assert (missing.status, missing.error) == (404, ("ResourceNotFoundException",
                                                     "Statement nope is not found in resource policy."))
    for sid in ("rotation", "other-account"):
        removed = run(call(app, "RemovePermission", FunctionName=name, StatementId=sid))
        assert (removed.status, removed.body) == (204, b"")
    assert run(call(app, "GetPolicy", FunctionName=name)).status == 404  # the last statement takes the policy


def test_tags(run: Runner, app: Client) -> None:
    name = kitchen(run, app, Tags={"team": "blue"})
    arn = ARN_PREFIX + name
    assert run(call(app, "GetFunction", FunctionName=name)).data["Tags"] == {"team": "blue"}
    assert run(call(app, "TagResource", Resource=arn, Tags={"env": "dev"})).status == 204
    assert run(call(app, "ListTags", Resource=arn)).data["Tags"] == {"team": "blue", "env": "dev"}
    assert run(call(app, "UntagResource", Resource=arn, TagKeys=["team"])).status == 204
    assert run(call(app, "ListTags", Resource=arn)).data["Tags"] == {"env": "dev"}
    qualified = run(call(app, "ListTags", Resource=f"{arn}:$LATEST"))
    assert qualified.error == (
        "InvalidParameterValueException",
        "Tags on function aliases and versions are not supported. Please specify a function ARN.")
    too_many = run(call(app, "TagResource", Resource=arn, Tags={f"k{i}": "v" for i in range(50)}))
    assert too_many.error[0] == "InvalidParameterValueException"


# --- at rest -------------------------------------------------------------------------------------
def test_code_variables_and_events_are_stored_sealed(run: Runner, app_and_data: tuple[Client, Path],
                                                     open_dir: Path) -> None:
    app, data = app_and_data
    marker = f"marker-{uuid.uuid4().hex}"
    source = f"SECRET = {marker!r}\n" + (Path(__file__).parent / "handlers" / "kitchen.py").read_text()
    code = make_zip({"kitchen.py": source})
    name = fresh()
    variable = f"variable-{uuid.uuid4().hex}"
    created = run(call(app, "CreateFunction", **create_params(name, code, Handler="kitchen.handler", Timeout=3,
                                                              Environment={"Variables": {"PASSWORD": variable}})))
    assert created.status == 201
    event_marker = f"event-{uuid.uuid4().hex}"
    # an event kept until its invocation has run (which hangs for its whole Timeout)
    waiting = invoke(run, app, name, {"do": "hang", "m": event_marker}, InvocationType="Event")
    assert waiting.status == 202
    connection = sqlite3.connect(data / "strongroom.db")
    try:
        stored = b"".join(
            bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
            for table in ("functions", "function_events", "job_items")
            for row in connection.execute(f"SELECT * FROM {table}")  # noqa: S608
            for value in row if value is not None)
    finally:
        connection.close()
    for plain in (marker, variable, event_marker, "def handler"):
        assert plain.encode() not in stored, plain
    assert code not in stored


# --- for other services (rotation) ------------------------------------------------------------
def test_a_service_invokes_only_what_the_function_policy_allows_it(run: Runner, app: Client) -> None:
    functions = app.app.api.services.functions
    assert functions is not None
    name = kitchen(run, app)
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"
    denial = ("Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants "
              "access to the principal secretsmanager.amazonaws.com.")

    def refused(function: str, source_arn: str | None = secret) -> str:
        with pytest.raises(AccessDeniedException) as caught:
            run(functions.invoke_for_service(ACCOUNT, REGION, function, {"do": "echo"},
                                             service_principal="secretsmanager.amazonaws.com", source_arn=source_arn))
        return caught.value.message

    assert refused(name) == denial  # no policy
    assert refused("no-such-function") == denial
    assert refused("not a name") == denial
    granted = run(call(app, "AddPermission", FunctionName=name, StatementId="sm", Action="lambda:InvokeFunction",
                       Principal="secretsmanager.amazonaws.com",
                       SourceArn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-*"))
    assert granted.status == 201
    result = run(functions.invoke_for_service(ACCOUNT, REGION, ARN_PREFIX + name, {"do": "echo", "Step": "testSecret"},
                                              service_principal="secretsmanager.amazonaws.com", source_arn=secret))
    assert result.function_error is None
    assert json.loads(result.payload)["event"] == {"do": "echo", "Step": "testSecret"}
    assert refused(name, f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:other-AbCdEf") == denial  # SourceArn
    checked = run(functions.check_service_may_invoke(
        ACCOUNT, REGION, name, service_principal="secretsmanager.amazonaws.com", source_arn=secret))
    assert checked == ARN_PREFIX + name
    failing = run(functions.invoke_for_service(ACCOUNT, REGION, name, {"do": "fail"},
                                               service_principal="secretsmanager.amazonaws.com", source_arn=secret))
    assert failing.function_error == "Unhandled" and json.loads(failing.payload)["errorType"] == "ValueError"
    with pytest.raises(AccessDeniedException):  # another service principal is not secretsmanager
        run(functions.check_service_may_invoke(ACCOUNT, REGION, name, service_principal="events.amazonaws.com"))


# --- Event retries -------------------------------------------------------------------------------
def test_an_event_is_tried_three_times_then_dropped(run: Runner, app: Client, open_dir: Path) -> None:
    """run_event as the jobs runtime runs an item: a failed attempt raises (the item is retried), the last
    one records nothing more and drops the event; a success drops it at once."""
    functions = app.app.api.services.functions
    assert isinstance(functions, Functions)
    name = kitchen(run, app)
    function = run(read_row(functions, name))

    async def queued(event: dict[str, Any]) -> int:
        request_id = str(uuid.uuid4())
        sealer = await sealer_for(functions.services, ACCOUNT, REGION)
        row = FunctionEventRow(ACCOUNT, REGION, function.arn, request_id,
                               seal_event(sealer, function.arn, request_id, json.dumps(event).encode()), 0.0)
        async with functions.services.store.write() as tx:
            return await tx.functions.insert_event(row)

    async def exists(event_id: int) -> bool:
        async with functions.services.store.read() as tx:
            return await tx.functions.get_event(event_id) is not None

    def job(event_id: int, attempt: int) -> Job:
        return Job(event_id, EVENT_JOB, "key", {"event": event_id}, attempt, EVENT_ATTEMPTS)

    failing = run(queued({"do": "fail"}))
    for attempt in (1, 2):
        with pytest.raises(EventFailed, match="^ValueError$"):
            run(run_event(functions, job(failing, attempt)))
        assert run(exists(failing))
    run(run_event(functions, job(failing, 3)))  # the last attempt: dropped, nothing raised
    assert not run(exists(failing))
    target = open_dir / "ran"
    succeeding = run(queued({"do": "write", "path": str(target)}))
    run(run_event(functions, job(succeeding, 1)))
    assert target.exists() and not run(exists(succeeding))
    run(run_event(functions, job(succeeding, 2)))  # an item run again after its event went: nothing happens


async def read_row(functions: Functions, name: str) -> FunctionRow:
    async with functions.services.store.read() as tx:
        row = await tx.functions.get(ACCOUNT, REGION, name)
    assert row is not None
    return row


# --- the switch ---------------------------------------------------------------------------------
def test_switched_off_the_lambda_api_is_an_unknown_service(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        assert client.app.api.services.functions is None
        reply = await call(client, "ListFunctions")
        assert (reply.status, json.loads(reply.body)) == (400, {"__type": "UnknownOperationException", "Message": ""})
        invoked = await call(client, "Invoke", FunctionName="any", Payload=b"{}")
        assert invoked.status == 400 and json.loads(invoked.body)["__type"] == "UnknownOperationException"

    with_app(tmp_path, body, functions=False)


def test_a_policy_is_at_most_20_kb(run: Runner, app: Client) -> None:
    name = kitchen(run, app)
    source = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/" + "r" * 300
    for number in range(200):
        added = run(call(app, "AddPermission", FunctionName=name, StatementId=f"s{number}",
                         Action="lambda:InvokeFunction", Principal="events.amazonaws.com", SourceArn=source))
        if added.status != 201:
            break
    assert added.status == 400 and added.error[0] == "PolicyLengthExceededException"
    assert added.error[1].startswith("The final policy size (") and added.error[1].endswith(
        ") is bigger than the limit (20480).")
    assert len(run(call(app, "GetPolicy", FunctionName=name)).data["Policy"]) <= 20_480
