"""strongroom.functions.runtime: a function's configuration (Lambda's limits), payload wording, environment."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from strongroom.functions.runtime import Credentials, FunctionSpec, InvalidSpecError, payloads
from strongroom.functions.runtime.environment import worker_environment

SHA = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
ARN = "arn:aws:lambda:us-east-1:123456789012:function:rotate"


def spec(**changes: Any) -> FunctionSpec:
    fields: dict[str, Any] = {"name": "rotate", "arn": ARN, "handler": "app.handler", "code_sha256": SHA,
                              "region": "us-east-1", "account": "123456789012"}
    fields.update(changes)
    return FunctionSpec(**fields)


def test_a_valid_spec_has_lambdas_defaults_and_log_group() -> None:
    made = spec(environment={"STAGE": "prod"})
    assert (made.version, made.runtime, made.timeout, made.memory_size) == ("$LATEST", "python3.12", 3, 128)
    assert made.log_group_name == "/aws/lambda/rotate"
    with pytest.raises(TypeError):
        made.environment["STAGE"] = "dev"  # type: ignore[index]


def test_the_config_key_changes_with_anything_a_worker_was_started_with() -> None:
    base = spec()
    assert spec().config_key == base.config_key
    for change in ({"timeout": 4}, {"memory_size": 256}, {"environment": {"A1": "x"}}, {"version": "2"},
                   {"handler": "app.other"}, {"runtime": "python3.13"},
                   {"code_sha256": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}):
        assert spec(**change).config_key != base.config_key, change


def test_reserved_variables_are_refused_with_lambdas_message() -> None:
    with pytest.raises(InvalidSpecError) as refused:
        spec(environment={"AWS_SECRET_ACCESS_KEY": "x", "AWS_ACCESS_KEY_ID": "y", "OK_NAME": "z"})
    assert str(refused.value) == (
        "Lambda was unable to configure your environment variables because the environment variables you have "
        "provided contains reserved keys that are currently not supported for modification. Reserved keys used "
        "in this request: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY")


def test_variables_over_4_kb_are_refused_without_quoting_their_values() -> None:
    with pytest.raises(InvalidSpecError) as refused:
        spec(environment={"PASSWORD": "hunter2" * 600})
    assert str(refused.value).startswith("Lambda was unable to configure your environment variables because the "
                                         "environment variables you have provided exceeded the 4KB limit.")
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize("changes", [
    {"timeout": 0}, {"timeout": 901}, {"memory_size": 127}, {"memory_size": 10241}, {"timeout": True},
    {"runtime": "python2.7"}, {"runtime": "nodejs20.x"}, {"handler": "has space.handler"}, {"handler": "x" * 129},
    {"name": "no/slash"}, {"arn": "arn:aws:lambda:us-east-1:123456789012:function:other"}, {"version": "latest"},
    {"code_sha256": "not base64!"}, {"account": "12"}, {"region": "moon"}, {"environment": {"1BAD": "x"}},
    {"environment": {"A": "single-letter keys are refused"}},
])
def test_configurations_lambda_refuses_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidSpecError):
        spec(**changes)


def test_lambdas_ranges_are_accepted_at_their_ends() -> None:
    for changes in ({"timeout": 1}, {"timeout": 900}, {"memory_size": 128}, {"memory_size": 10240},
                    {"runtime": "python3.9"}, {"runtime": "python3.14"}, {"version": "12"}):
        spec(**changes)


@pytest.mark.parametrize(("returncode", "reason"), [
    (0, "Runtime exited without providing a reason"),
    (1, "Runtime exited with error: exit status 1"),
    (-signal.SIGKILL, "Runtime exited with error: signal: killed"),
    (-signal.SIGSEGV, "Runtime exited with error: signal: segmentation fault"),
    (-signal.SIGTERM, "Runtime exited with error: signal: terminated"),
])
def test_exit_payloads_say_what_lambdas_supervisor_says(returncode: int, reason: str) -> None:
    assert json.loads(payloads.exited("r-1", returncode)) == {"errorMessage": f"RequestId: r-1 Error: {reason}",
                                                              "errorType": "Runtime.ExitError"}


def test_the_timeout_payload_is_lambdas() -> None:
    assert payloads.timed_out("r-2", 3.004) == \
        b'{"errorMessage": "RequestId: r-2 Error: Task timed out after 3.00 seconds", "errorType": "Sandbox.Timedout"}'


def test_the_environment_keeps_lambdas_variables_over_the_functions_defaults(tmp_path: Path) -> None:
    made = spec(environment={"PATH": "/opt/bin", "TMPDIR": "/var/tmp/mine", "SECRETS_MANAGER_ENDPOINT": "http://sm"})
    environment = worker_environment(made, task_root=tmp_path / "task", runtime_dir=tmp_path / "runtime",
                                     tmp_dir=tmp_path / "tmp", log_stream="2024/01/01/[$LATEST]0", endpoint_url="http://me",
                                     credentials=Credentials("AKID", "secret", "token", 0.0))
    assert environment["PATH"] == "/opt/bin" and environment["TMPDIR"] == "/var/tmp/mine"  # unreserved: theirs
    assert environment["SECRETS_MANAGER_ENDPOINT"] == "http://sm" and environment["AWS_ENDPOINT_URL"] == "http://me"
    assert environment["LAMBDA_TASK_ROOT"] == str(tmp_path / "task") and environment["AWS_SESSION_TOKEN"] == "token"


def test_a_worker_imports_neither_asyncio_nor_the_parents_modules() -> None:
    """Its cold start pays only for what it uses (the package's names are imported on first use)."""
    script = ("import sys, strongroom.functions.runtime.worker\n"
              "print('\\n'.join(sorted(sys.modules)))\n")
    modules = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    loaded = set(modules.split())
    parent_side = {"asyncio", "subprocess", "zipfile", "strongroom.functions.runtime.runtime",
                   "strongroom.functions.runtime.process", "strongroom.functions.runtime.code",
                   "strongroom.functions.runtime.spec", "dataclasses"}
    assert not parent_side & loaded
