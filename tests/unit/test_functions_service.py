"""The functions service's parts that need no worker: the descriptor against the Lambda model, names and
ARNs, refusals, the IAM vocabulary, wire values, the configuration switch, the store part on SQLite."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from functions_store_scenario import function_row, functions_round_trip

from strongroom.errors import ResourceNotFoundException, ValidationException
from strongroom.functions.arns import FunctionRef, parse_function_name, require_latest
from strongroom.functions.errors import InvalidParameterValueException
from strongroom.functions.iam_vocabulary import (
    ACTION_OF_OPERATION,
    ACTIONS,
    ACTIONS_WITHOUT_OPERATION,
    request_context_keys,
    resource_context_keys,
)
from strongroom.functions.service import PATH_PREFIXES, SERVICE
from strongroom.functions.settings import check_runtime
from strongroom.functions.unsupported import refuse_unsupported
from strongroom.functions.wire import ARCHITECTURE, last_modified
from strongroom.protocol.java_regex import python_pattern
from strongroom.protocol.model import operation_model, operation_names
from strongroom.server.config import Config
from strongroom.store.sqlite import SqliteStore

ACCOUNT, REGION = "123456789012", "us-east-1"


# --- the descriptor and the model ---------------------------------------------------------------
def test_routes_are_the_models_request_uris() -> None:
    for name, operation in SERVICE.operations.items():
        http = operation_model("lambda", name).http
        assert operation.route == (http["method"], http["requestUri"]), name


def test_every_route_of_the_model_lies_under_a_lambda_prefix() -> None:
    prefixes = {operation_model("lambda", name).http["requestUri"][:12] for name in operation_names("lambda")}
    assert prefixes == set(PATH_PREFIXES)


def test_iam_actions_are_the_models_operations() -> None:
    from_model = {ACTION_OF_OPERATION.get(name, name) for name in operation_names("lambda")}
    assert set(ACTIONS) == from_model | set(ACTIONS_WITHOUT_OPERATION)
    assert list(ACTIONS) == sorted(ACTIONS)


# --- FunctionName --------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "qualifier", "expected"), [
    ("fn", None, FunctionRef(ACCOUNT, REGION, "fn", None)),
    ("fn:$LATEST", None, FunctionRef(ACCOUNT, REGION, "fn", "$LATEST")),
    ("fn", "prod", FunctionRef(ACCOUNT, REGION, "fn", "prod")),
    ("210987654321:function:fn", None, FunctionRef("210987654321", REGION, "fn", None)),
    ("arn:aws:lambda:eu-west-1:210987654321:function:fn:7", None, FunctionRef("210987654321", "eu-west-1", "fn", "7")),
    ("arn:aws:lambda:us-gov-west-1:210987654321:function:fn", "7",
     FunctionRef("210987654321", "us-gov-west-1", "fn", "7")),
])
def test_function_names(text: str, qualifier: str | None, expected: FunctionRef) -> None:
    assert parse_function_name(text, ACCOUNT, REGION, qualifier) == expected


def test_function_name_refusals() -> None:
    with pytest.raises(InvalidParameterValueException):
        parse_function_name("fn:1", ACCOUNT, REGION, "2")
    with pytest.raises(ValidationException, match="less than or equal to 64"):
        parse_function_name("f" * 65, ACCOUNT, REGION)
    assert require_latest(FunctionRef(ACCOUNT, REGION, "fn", "$LATEST"), REGION).qualifier is None
    for ref in (FunctionRef(ACCOUNT, REGION, "fn", "1"), FunctionRef(ACCOUNT, REGION, "f.n", None)):
        with pytest.raises(ResourceNotFoundException, match="^Function not found: arn:aws:lambda:"):
            require_latest(ref, REGION)
    with pytest.raises(ResourceNotFoundException) as caught:
        require_latest(FunctionRef(ACCOUNT, "eu-west-1", "fn", None), REGION)
    assert caught.value.message == "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"


# --- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("operation", "params", "refused"), [
    ("CreateFunction", {"VpcConfig": {"SubnetIds": [], "SecurityGroupIds": []}}, None),
    ("CreateFunction", {"VpcConfig": {"SubnetIds": ["subnet-1"]}}, "VpcConfig"),
    ("CreateFunction", {"TracingConfig": {"Mode": "Active"}}, "TracingConfig"),
    ("CreateFunction", {"EphemeralStorage": {"Size": 512}}, None),
    ("CreateFunction", {"EphemeralStorage": {"Size": 1024}}, "EphemeralStorage"),
    ("CreateFunction", {"Architectures": [ARCHITECTURE]}, None),
    ("CreateFunction", {"Architectures": ["arm64" if ARCHITECTURE == "x86_64" else "x86_64"]}, "Architectures"),
    ("CreateFunction", {"PackageType": "Image"}, "PackageType"),
    ("CreateFunction", {"Code": {"ImageUri": "x"}}, "Code.ImageUri"),
    ("CreateFunction", {"Layers": []}, None),
    ("CreateFunction", {"LoggingConfig": {"LogFormat": "JSON"}}, "LoggingConfig"),
    ("UpdateFunctionCode", {"S3Bucket": "bucket"}, "S3Bucket"),
    ("Invoke", {"ClientContext": "e30="}, "ClientContext"),
    ("AddPermission", {"FunctionUrlAuthType": "NONE"}, "FunctionUrlAuthType"),
    ("ListFunctions", {"MasterRegion": "ALL"}, "MasterRegion"),
    ("GetFunction", {"FunctionName": "fn"}, None),
])
def test_members_this_server_cannot_honour_are_refused(operation: str, params: dict[str, Any],
                                                        refused: str | None) -> None:
    if refused is None:
        refuse_unsupported(operation, params)
        return
    with pytest.raises(InvalidParameterValueException) as caught:
        refuse_unsupported(operation, params)
    assert caught.value.message == f"{refused} is not supported by this server: remove it from the request."


def test_runtimes() -> None:
    for runtime in ("python3.9", "python3.12", "python3.14"):
        check_runtime(runtime)
    for runtime, retired in (("python2.7", True), ("python3.8", True), ("python3.15", False), ("nodejs22.x", False)):
        with pytest.raises(InvalidParameterValueException) as caught:
            check_runtime(runtime)
        assert ("no longer supported" in caught.value.message) is retired, runtime


# --- wire values ---------------------------------------------------------------------------------
def test_last_modified_is_lambdas_format() -> None:
    assert last_modified(1_704_067_200.0) == "2024-01-01T00:00:00.000+0000"
    assert last_modified(1_704_067_200.5) == "2024-01-01T00:00:00.500+0000"


def test_java_unicode_classes() -> None:
    import re

    tag = re.compile(python_pattern(r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"), re.ASCII)
    for ok in ("team", "Équipe 7", "チーム", "٣", "a:b/c=d+e-f@g_h.i", "x y"):  # NBSP is a separator
        assert tag.fullmatch(ok), ok
    for bad in ("a;b", "a\tb", "a\nb", "a*b", "a!"):
        assert tag.fullmatch(bad) is None, bad
    upper = re.compile(python_pattern(r"\p{Lu}+"))
    assert upper.fullmatch("ÀB") and not upper.fullmatch("a")
    assert python_pattern("[a-z]+") == "[a-z]+"


# --- the switch ----------------------------------------------------------------------------------
def test_functions_are_on_by_default_in_dev_mode_and_as_root(tmp_path: Path) -> None:
    root = os.geteuid() == 0
    assert Config(data_dir=tmp_path).functions_enabled() is root
    assert Config(data_dir=tmp_path, dev=True).functions_enabled() is True
    assert Config(data_dir=tmp_path, dev=True, functions=False).functions_enabled() is False
    assert Config(data_dir=tmp_path, functions=True).functions_enabled() is True
    assert Config(data_dir=tmp_path, port=7777).endpoint_url() == "http://127.0.0.1:7777"
    assert Config(data_dir=tmp_path, host="0.0.0.0", port=1).endpoint_url() == "http://127.0.0.1:1"  # noqa: S104
    assert Config(data_dir=tmp_path, host="::", port=1).endpoint_url() == "http://[::1]:1"
    assert Config(data_dir=tmp_path, public_endpoint="https://sr.example").endpoint_url() == "https://sr.example"
    with pytest.raises(ValueError, match="functions_max_workers"):
        Config(data_dir=tmp_path, functions_max_workers=0)


# --- the store -----------------------------------------------------------------------------------
def test_the_functions_store_part_on_sqlite(tmp_path: Path) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "s.db")
        try:
            await store.migrate()
            await functions_round_trip(store)
        finally:
            await store.close()

    asyncio.run(main())


def test_condition_keys_of_requests_and_functions() -> None:
    assert request_context_keys({"Principal": "s3.amazonaws.com", "Tags": {"team": "blue"}}) == {
        "lambda:Principal": "s3.amazonaws.com", "aws:RequestTag/team": "blue", "aws:TagKeys": ["team"]}
    assert request_context_keys({"TagKeys": ["team"]}) == {"aws:TagKeys": ["team"]}
    assert resource_context_keys(function_row("fn", tags={"team": "blue"})) == {"aws:ResourceTag/team": "blue"}
    assert resource_context_keys(None) == {}


def test_the_serve_command_switches_functions() -> None:
    from strongroom.cli.main import _parser

    assert _parser().parse_args(["serve"]).functions is None  # the default: see Config.functions_enabled
    assert _parser().parse_args(["serve", "--functions"]).functions is True
    assert _parser().parse_args(["serve", "--no-functions"]).functions is False


@pytest.mark.skipif(os.geteuid() != 0, reason="workers run as the server's own user: every interpreter is theirs")
def test_functions_left_to_their_default_stay_off_where_workers_cannot_run(tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    from strongroom.functions.runtime import RuntimeConfig, interpreter_problem
    from strongroom.server.build import build_functions, build_services

    assert "not searchable" in (interpreter_problem(RuntimeConfig(python="/root/no/python")) or "")
    assert "must not run as root" in (interpreter_problem(RuntimeConfig(worker_user="root")) or "")
    unreachable = Config(data_dir=tmp_path, dev=True, functions_python="/root/no/python")
    services = build_services(unreachable)
    try:
        assert build_functions(services, unreachable) is None and services.functions is None
        assert "functions are off: /root is not searchable" in caplog.text
        explicit = Config(data_dir=tmp_path, dev=True, functions=True, functions_python="/root/no/python")
        assert build_functions(services, explicit) is not None  # and its runtime refuses to start (lifespan)
    finally:
        asyncio.run(services.store.close())


@pytest.mark.skipif(os.geteuid() != 0, reason="workers run as the server's own user: every interpreter is theirs")
def test_functions_switched_on_that_cannot_run_stop_the_start(tmp_path: Path) -> None:
    from strongroom.server.build import build_app

    async def start() -> dict[str, Any]:
        app = build_app(Config(data_dir=tmp_path, dev=True, functions=True, functions_python="/root/no/python"))
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        lifespan = asyncio.create_task(app({"type": "lifespan"}, inbox.get, outbox.put))
        await inbox.put({"type": "lifespan.startup"})
        answer = await outbox.get()
        await lifespan
        await app.api.services.store.close()
        return answer

    answer = asyncio.run(start())
    assert answer["type"] == "lifespan.startup.failed"
    assert answer["message"].startswith("function workers cannot start: /root is not searchable")
