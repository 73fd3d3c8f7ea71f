"""RotateSecret and CancelRotateSecret end to end: real servers, boto3's lambda and secretsmanager clients,
a rotation function written for AWS Lambda (boto3, SECRETS_MANAGER_ENDPOINT).

The servers here have their own settings (short retries, a one-second scheduler), so they are
started by this module: one on SQLite for most tests, two on one PostgreSQL database for the
scheduler's "each due rotation runs once". Time passing for a schedule is simulated by moving a
secret's ``rotation_due_at`` into the past in the database; nothing here asserts on timings.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import e2e_server
import pytest
from botocore.exceptions import ClientError
from e2e_helpers import expect_error
from functions_support import worker_python
from pg_servers import (
    Instance,
    create_database,
    database_url,
    drop_database,
    make_client,
    new_master_key,
    pg_run,
    require_postgres,
    running_instances,
    wait_for,
)

from strongroom.store.factory import SQLITE_FILE

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/rotation"
MAX_ATTEMPTS = 3
NOT_COMPLETE = "A previous rotation isn't complete. That rotation will be reattempted."
#: A rotation function as written for AWS Lambda. The secret named by the CONTROL variable steers it:
#: "ok" rotates, "raise" raises in every step, "fail-<step>" raises in that step, "once-<step>" raises
#: there once (and sets the control to "ok"), "hang" outlives the timeout, "exit" ends the worker process.
ROTATOR = """\
import os
import time

import boto3


def handler(event, context):
    client = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    mode = client.get_secret_value(SecretId=os.environ["CONTROL"])["SecretString"]
    if mode == "raise" or mode == "fail-" + step:
        raise RuntimeError("rotation broken on purpose")
    if mode == "once-" + step:
        client.put_secret_value(SecretId=os.environ["CONTROL"], SecretString="ok")
        raise RuntimeError("rotation broken once on purpose")
    if mode == "hang":
        time.sleep(600)
    if mode == "exit":
        os._exit(3)
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    if token not in stages:
        raise ValueError("no such version")
    if "AWSCURRENT" in stages[token]:
        return
    if step == "createSecret":
        try:
            client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        except client.exceptions.ResourceNotFoundException:
            value = client.get_random_password(ExcludePunctuation=True)["RandomPassword"]
            client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=value,
                                    VersionStages=["AWSPENDING"], RotationToken=event["RotationToken"])
    elif step == "finishSecret":
        current = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
        client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                           RemoveFromVersionId=current)
"""


def assert_rotated_labels(rig: Rig, secret: str) -> None:
    """After a rotation: AWSCURRENT on the new version (with AWSPENDING, which this function leaves, as AWS's
    database functions do), AWSPREVIOUS on the one before."""
    stages = rig.sm.describe_secret(SecretId=secret)["VersionIdsToStages"]
    assert sorted(sorted(labels) for labels in stages.values()) == [["AWSCURRENT", "AWSPENDING"], ["AWSPREVIOUS"]]


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("rotator.py", source)
    return buffer.getvalue()


def server_config() -> dict[str, Any]:
    python = worker_python()
    if python is None:
        pytest.skip("no Python interpreter that the function workers' user can run: functions are off")
    return {"functions": True, "functions_python": python, "rotation_max_attempts": MAX_ATTEMPTS,
            "rotation_retry_seconds": 0.2, "rotation_schedule_interval": 1.0}


class Rig:
    """One deployment under test: its servers, clients and a rotation function steered by a control secret."""

    def __init__(self, instances: list[Instance], root: Path) -> None:
        self.instances = instances
        self.root = root
        self.sm = instances[0].client()
        self.lam = make_client(instances[0].endpoint, service="lambda")

    def function(self, *, timeout: int = 30, permitted: bool = True) -> tuple[str, str]:
        """A new rotation function and its control secret (set to "ok"): (function ARN, control name)."""
        name = f"rot-{uuid.uuid4().hex[:10]}"
        control = f"control-{name}"
        self.sm.create_secret(Name=control, SecretString="ok")
        arn = self.lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="rotator.handler",
            Code={"ZipFile": package(ROTATOR)}, Timeout=timeout, Environment={"Variables": {"CONTROL": control}},
        )["FunctionArn"]
        if permitted:
            self.lam.add_permission(FunctionName=name, StatementId="sm", Action="lambda:InvokeFunction",
                                    Principal="secretsmanager.amazonaws.com")
        return arn, control

    def secret(self, value: str = "initial") -> tuple[str, str]:
        created = self.sm.create_secret(Name=f"rotated-{uuid.uuid4().hex[:10]}", SecretString=value)
        return created["ARN"], created["VersionId"]

    def current(self, secret: str) -> str:
        stages = self.sm.describe_secret(SecretId=secret)["VersionIdsToStages"]
        return next(v for v, labels in stages.items() if "AWSCURRENT" in labels)

    def wait_current(self, secret: str, version: str) -> None:
        wait_for(lambda: self.current(secret) == version, f"AWSCURRENT on {version}", timeout=60)

    def status(self, secret: str | None = None) -> list[dict[str, str]]:
        """``strongroom admin rotation-status`` of the first server's store, as dicts."""
        argv = [sys.executable, "-m", "strongroom", "admin", "rotation-status",
                "--data-dir", str(self.root / "sr0")]
        argv += ["--database-url", self.url] if getattr(self, "url", None) else []
        argv += ["--secret-id", secret] if secret else []
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60,  # noqa: S603
                             env=self.env).stdout
        header, *lines = [line.split("\t") for line in out.splitlines()]
        return [dict(zip(header, line, strict=True)) for line in lines]

    def wait_state(self, secret: str, state: str) -> dict[str, str]:
        found: list[dict[str, str]] = []

        def reached() -> bool:
            found[:] = self.status(secret)
            return bool(found) and found[0]["state"] == state

        wait_for(reached, f"rotation of {secret} {state}", timeout=90)
        return found[0]

    env: dict[str, str] = {}


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    root = tmp_path_factory.mktemp("rotation")
    key = new_master_key()
    for instances in running_instances(1, root, master_key=key, config=server_config()):
        rig = Rig(instances, root)
        rig.env = {"STRONGROOM_MASTER_KEY": key, "PATH": "/usr/bin:/bin"}
        yield rig


def test_a_rotation_runs_the_four_steps_and_describes_as_aws(rig: Rig) -> None:
    function, _ = rig.function()
    secret, first = rig.secret()
    answer = rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function,
                                  RotationRules={"AutomaticallyAfterDays": 30})
    assert (answer["ARN"], set(answer) >= {"Name", "VersionId"}) == (secret, True)
    rig.wait_current(secret, answer["VersionId"])
    described = rig.sm.describe_secret(SecretId=secret)
    assert (described["RotationEnabled"], described["RotationLambdaARN"], described["RotationRules"]) == (
        True, function, {"AutomaticallyAfterDays": 30})
    assert described["NextRotationDate"] > described["LastRotatedDate"]
    assert described["VersionIdsToStages"][first] == ["AWSPREVIOUS"]
    value = rig.sm.get_secret_value(SecretId=secret)["SecretString"]
    assert value != "initial" and len(value) == 32
    listed = rig.sm.list_secrets(Filters=[{"Key": "name", "Values": [described["Name"]]}])["SecretList"][0]
    assert (listed["RotationEnabled"], listed["RotationLambdaARN"], "LastRotatedDate" in listed,
            "NextRotationDate" in listed) == (True, function, True, True)
    run = rig.wait_state(secret, "succeeded")
    assert (run["step"], run["attempts"], run["mode"], run["error"]) == ("finishSecret", "1", "rotate", "-")


def test_ten_rotations_of_one_secret_in_a_row(rig: Rig) -> None:
    function, _ = rig.function()
    secret, _ = rig.secret()
    values = set()
    for i in range(10):
        arguments = {"RotationLambdaARN": function, "RotationRules": {"AutomaticallyAfterDays": 1}} if i == 0 else {}
        version = rig.sm.rotate_secret(SecretId=secret, **arguments)["VersionId"]
        rig.wait_current(secret, version)
        rig.wait_state(secret, "succeeded")
        values.add(rig.sm.get_secret_value(SecretId=secret)["SecretString"])
    assert len(values) == 10
    assert_rotated_labels(rig, secret)


def test_errors_as_aws_answers_them(rig: Rig) -> None:
    secret, first = rig.secret()
    with expect_error("InvalidRequestException", "No Lambda rotation function ARN is associated with this secret."):
        rig.sm.rotate_secret(SecretId=secret)
    denied = ("Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants "
              "access to the principal secretsmanager.amazonaws.com.")
    with expect_error("AccessDeniedException", denied):
        rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:none")
    unpermitted, _ = rig.function(permitted=False)
    with expect_error("AccessDeniedException", denied):
        rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=unpermitted)
    with expect_error("InvalidParameterException"):
        rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=unpermitted,
                             RotationRules={"AutomaticallyAfterDays": 2, "ScheduleExpression": "rate(4 hours)"})
    with expect_error("InvalidParameterException"):
        rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=unpermitted,
                             RotationRules={"ScheduleExpression": "rate(1 hours)"})
    assert "RotationEnabled" not in rig.sm.describe_secret(SecretId=secret)  # nothing was stored

    function, _ = rig.function()
    other = rig.sm.put_secret_value(SecretId=secret, SecretString="second", VersionStages=["AWSPENDING"])
    with expect_error("InvalidRequestException", NOT_COMPLETE):
        rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function)
    rig.sm.update_secret_version_stage(SecretId=secret, VersionStage="AWSPENDING",
                                       RemoveFromVersionId=other["VersionId"])
    token = str(uuid.uuid4())
    started = rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function, ClientRequestToken=token)
    again = rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function, ClientRequestToken=token)
    assert started["VersionId"] == again["VersionId"] == token  # a retried request starts nothing more
    rig.wait_current(secret, token)
    with expect_error("ResourceExistsException"):  # a version's id is no new rotation's token
        rig.sm.rotate_secret(SecretId=secret, ClientRequestToken=first)

    rig.sm.delete_secret(SecretId=secret, RecoveryWindowInDays=7)
    with expect_error("InvalidRequestException"):
        rig.sm.rotate_secret(SecretId=secret)


@pytest.mark.parametrize(("mode", "error"), [
    ("raise", "createSecret: RuntimeError"),
    ("hang", "createSecret: Sandbox.Timedout: "),
    ("exit", "createSecret: Runtime.ExitError: "),
])
def test_a_failing_function_is_retried_then_given_up_as_aws_leaves_it(rig: Rig, mode: str, error: str) -> None:
    function, control = rig.function(timeout=2)
    rig.sm.put_secret_value(SecretId=control, SecretString=mode)
    secret, first = rig.secret()
    version = rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function)["VersionId"]
    run = rig.wait_state(secret, "failed")
    assert (run["attempts"], run["step"]) == (str(MAX_ATTEMPTS), "createSecret")
    assert run["error"].startswith(error)
    def audited() -> bool:
        lines = [line for p in (rig.root / "sr0" / "audit").glob("*.jsonl") for line in p.read_text().splitlines()]
        return any('"action":"secretsmanager:RotationFailed"' in line and secret in line and error in line
                   for line in lines)

    wait_for(audited, "the failure's audit record")
    stages = rig.sm.describe_secret(SecretId=secret)["VersionIdsToStages"]
    assert (stages[first], stages[version]) == (["AWSCURRENT"], ["AWSPENDING"])  # as AWS leaves it
    with expect_error("ResourceNotFoundException"):  # the pending version never got a value
        rig.sm.get_secret_value(SecretId=secret, VersionStage="AWSPENDING")
    with expect_error("InvalidRequestException", NOT_COMPLETE):
        rig.sm.rotate_secret(SecretId=secret)
    # AWS's way out (Troubleshoot rotation): take AWSPENDING off the failed version, rotate again.
    rig.sm.update_secret_version_stage(SecretId=secret, VersionStage="AWSPENDING", RemoveFromVersionId=version)
    rig.sm.put_secret_value(SecretId=control, SecretString="ok")
    rig.wait_current(secret, rig.sm.rotate_secret(SecretId=secret)["VersionId"])


def test_a_step_that_fails_is_retried_until_it_works(rig: Rig) -> None:
    function, control = rig.function()
    rig.sm.put_secret_value(SecretId=control, SecretString="once-setSecret")
    secret, _ = rig.secret()
    version = rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function)["VersionId"]
    rig.wait_current(secret, version)
    run = rig.wait_state(secret, "succeeded")
    assert (run["attempts"], run["step"], run["error"]) == ("2", "finishSecret", "-")
    assert rig.sm.get_secret_value(SecretId=control)["SecretString"] == "ok"  # the first attempt failed


def test_rotate_immediately_false_runs_only_test_secret(rig: Rig) -> None:
    function, control = rig.function()
    rig.sm.put_secret_value(SecretId=control, SecretString="fail-createSecret")  # any other step would fail
    secret, first = rig.secret()
    version = rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function, RotateImmediately=False,
                                   RotationRules={"ScheduleExpression": "cron(0 3 ? * MON *)", "Duration": "2h"})[
        "VersionId"]
    run = rig.wait_state(secret, "succeeded")
    assert (run["mode"], run["step"], run["version"]) == ("test", "testSecret", version)
    described = rig.sm.describe_secret(SecretId=secret)
    assert described["VersionIdsToStages"] == {first: ["AWSCURRENT"]}  # the test's version is gone again
    assert described["RotationEnabled"] is True and "LastRotatedDate" not in described
    next_date = described["NextRotationDate"].astimezone(dt.UTC)
    assert (next_date.weekday(), next_date.hour, next_date.minute, next_date.second) == (0, 4, 59, 59)


def test_a_due_schedule_fires(rig: Rig) -> None:
    function, _ = rig.function()
    secret, first = rig.secret()
    rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function, RotateImmediately=False,
                         RotationRules={"ScheduleExpression": "rate(10 days)"})
    rig.wait_state(secret, "succeeded")
    with sqlite3.connect(rig.root / "sr0" / SQLITE_FILE) as db:  # the window opens (time passes)
        assert db.execute("UPDATE secrets SET rotation_due_at = 1 WHERE arn = ?", (secret,)).rowcount == 1
    wait_for(lambda: rig.current(secret) != first, "the scheduled rotation", timeout=60)
    run = rig.wait_state(secret, "succeeded")
    assert run["mode"] == "rotate" and run["version"] == rig.current(secret)


def test_a_schedule_skipped_while_deleted_resumes_on_restore(rig: Rig) -> None:
    function, _ = rig.function()
    secret, first = rig.secret()
    rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function, RotateImmediately=False,
                         RotationRules={"ScheduleExpression": "rate(10 days)"})
    rig.wait_state(secret, "succeeded")
    rig.sm.delete_secret(SecretId=secret, RecoveryWindowInDays=7)
    db_path = rig.root / "sr0" / SQLITE_FILE
    with sqlite3.connect(db_path) as db:  # the window opens while the secret is scheduled for deletion
        assert db.execute("UPDATE secrets SET rotation_due_at = 1 WHERE arn = ?", (secret,)).rowcount == 1

    def due_at() -> float | None:
        with sqlite3.connect(db_path) as db:
            return db.execute("SELECT rotation_due_at FROM secrets WHERE arn = ?", (secret,)).fetchone()[0]

    wait_for(lambda: due_at() is None, "the scheduler passing over the deleted secret", timeout=60)
    assert rig.current(secret) == first  # a secret scheduled for deletion is not rotated
    rig.sm.restore_secret(SecretId=secret)
    assert (due_at() or 0) > time.time() + 9 * 86400  # the next window of rate(10 days)
    assert rig.sm.describe_secret(SecretId=secret)["NextRotationDate"].timestamp() > time.time() + 9 * 86400


def test_cancel_rotate_secret_keeps_the_function_and_stops_rotating(rig: Rig) -> None:
    function, control = rig.function()
    rig.sm.put_secret_value(SecretId=control, SecretString="fail-setSecret")
    secret, _ = rig.secret()
    version = rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function)["VersionId"]
    cancelled = rig.sm.cancel_rotate_secret(SecretId=secret)
    assert (cancelled["ARN"], cancelled["VersionId"]) == (secret, version)
    described = rig.sm.describe_secret(SecretId=secret)
    assert (described["RotationEnabled"], described["RotationLambdaARN"]) == (False, function)
    assert "NextRotationDate" not in described
    assert rig.wait_state(secret, "cancelled")["version"] == version
    assert described["VersionIdsToStages"][version] == ["AWSPENDING"]  # AWS leaves the labels as they are


def test_no_secret_value_in_the_rotations_table_logs_or_audit(rig: Rig) -> None:
    function, _ = rig.function()
    secret, _ = rig.secret("the-initial-value-xyzzy")
    version = rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function)["VersionId"]
    rig.wait_current(secret, version)
    rig.wait_state(secret, "succeeded")
    values = [rig.sm.get_secret_value(SecretId=secret, VersionStage=s)["SecretString"]
              for s in ("AWSCURRENT", "AWSPREVIOUS")]
    with sqlite3.connect(rig.root / "sr0" / SQLITE_FILE) as db:
        rows = [repr(row) for row in db.execute("SELECT * FROM rotations")]
        rows += [repr(row) for row in db.execute("SELECT * FROM job_items")]
    texts = ["\n".join(rows), rig.instances[0].log()]
    texts += [path.read_text() for path in (rig.root / "sr0" / "audit").glob("*.jsonl")]
    audit = [json.loads(line) for text in texts[2:] for line in text.splitlines()]
    ends = [r for r in audit if r.get("secret_id") == secret and r["action"].startswith("secretsmanager:Rotation")]
    assert [(r["action"], r["principal"], r["status"]) for r in ends] == [
        ("secretsmanager:RotationSucceeded", "secretsmanager.amazonaws.com", 200)]
    for text in texts:
        for value in values:
            assert value not in text


# --- two servers on one PostgreSQL database ----------------------------------------------------------
@pytest.fixture(scope="module")
def pg_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    require_postgres()
    name = create_database("rotation")
    url = database_url(name)
    key = new_master_key()
    try:
        root = tmp_path_factory.mktemp("rotation-pg")
        for instances in running_instances(2, root, master_key=key, database_url=url, config=server_config()):
            rig = Rig(instances, root)
            rig.url = url  # type: ignore[attr-defined]
            rig.env = {"STRONGROOM_MASTER_KEY": key, "PATH": "/usr/bin:/bin"}
            yield rig
    finally:
        drop_database(name)


def test_two_servers_run_each_due_rotation_once(pg_rig: Rig) -> None:
    rig = pg_rig
    function, _ = rig.function()
    secrets = [rig.secret()[0] for _ in range(12)]
    for secret in secrets:
        rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function, RotateImmediately=False,
                             RotationRules={"AutomaticallyAfterDays": 5})
    url = rig.url  # type: ignore[attr-defined]
    wait_for(lambda: pg_run(url, "SELECT COUNT(*) AS n FROM rotations WHERE state = 'running'")[0]["n"] == 0,
             "the tests of the function")
    pg_run(url, "UPDATE secrets SET rotation_due_at = 1 WHERE rotation_due_at IS NOT NULL")
    counted: Callable[[], list[dict[str, Any]]] = lambda: pg_run(  # noqa: E731
        url, "SELECT secret_arn, COUNT(*) AS n, MIN(state) AS state FROM rotations WHERE mode = 'rotate' "
        "GROUP BY secret_arn")
    wait_for(lambda: len(counted()) == len(secrets) and all(r["state"] == "succeeded" for r in counted()),
             "every scheduled rotation", timeout=120)
    assert sorted((r["secret_arn"], r["n"]) for r in counted()) == sorted((s, 1) for s in secrets)
    for secret in secrets:
        assert_rotated_labels(rig, secret)
    assert any("started" in instance.log() and "scheduled rotation" in instance.log() for instance in rig.instances)


def test_client_error_is_typed(rig: Rig) -> None:
    """A sanity check of the boto3 surface: CancelRotateSecret of a missing secret."""
    with pytest.raises(ClientError) as caught:
        rig.sm.cancel_rotate_secret(SecretId=f"missing-{uuid.uuid4().hex}")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    json.dumps(caught.value.response["Error"])


def test_a_rotated_primary_reaches_its_replica(rig: Rig) -> None:
    """Rotation runs on the primary; the relay delivers the new value (the empty AWSPENDING version it may
    meet meanwhile only delays the delivery)."""
    function, _ = rig.function()
    name = f"rotated-{uuid.uuid4().hex[:10]}"
    secret = rig.sm.create_secret(Name=name, SecretString="initial", AddReplicaRegions=[{"Region": "us-west-2"}])[
        "ARN"]
    version = rig.sm.rotate_secret(SecretId=secret, RotationLambdaARN=function)["VersionId"]
    rig.wait_current(secret, version)
    replica = e2e_server.make_client(rig.instances[0].endpoint, region="us-west-2")

    def delivered() -> bool:
        try:
            return replica.get_secret_value(SecretId=name)["VersionId"] == version
        except ClientError:
            return False

    wait_for(delivered, "the rotated value on the replica", timeout=60)
    assert replica.get_secret_value(SecretId=name)["SecretString"] == rig.sm.get_secret_value(SecretId=secret)[
        "SecretString"]
