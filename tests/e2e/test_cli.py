"""The AWS CLI (v1, ``python -m awscli``) against the server: only an endpoint URL changes."""

from __future__ import annotations

import base64
import json
import re

from e2e_helpers import NOT_FOUND, assert_arn


def run_json(aws_cli, *args: str) -> dict:
    proc = aws_cli(*args)
    assert proc.returncode == 0, f"aws {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_create_get_list_delete(aws_cli, name):
    created = run_json(aws_cli, "create-secret", "--name", name, "--secret-string", "cli-value",
                       "--description", "from the cli")  # fmt: skip
    assert set(created) == {"ARN", "Name", "VersionId"}
    assert created["Name"] == name
    assert_arn(created["ARN"], name)

    got = run_json(aws_cli, "get-secret-value", "--secret-id", name)
    assert got["SecretString"] == "cli-value"
    assert got["VersionId"] == created["VersionId"]
    assert got["VersionStages"] == ["AWSCURRENT"]

    listed = run_json(aws_cli, "list-secrets", "--filters", f"Key=name,Values={name}")
    assert [s["Name"] for s in listed["SecretList"]] == [name]
    assert listed["SecretList"][0]["Description"] == "from the cli"

    described = run_json(aws_cli, "describe-secret", "--secret-id", created["ARN"])
    assert described["Name"] == name and "CreatedDate" in described

    deleted = run_json(aws_cli, "delete-secret", "--secret-id", name, "--force-delete-without-recovery")
    assert deleted["Name"] == name and deleted["ARN"] == created["ARN"] and "DeletionDate" in deleted

    proc = aws_cli("get-secret-value", "--secret-id", name)
    assert proc.returncode != 0
    assert "ResourceNotFoundException" in proc.stderr
    assert NOT_FOUND in proc.stderr


def test_binary_secret(aws_cli, name, tmp_path):
    data = b"\x00\x01\x02\xff"
    path = tmp_path / "secret.bin"
    path.write_bytes(data)
    run_json(aws_cli, "create-secret", "--name", name, "--secret-binary", f"fileb://{path}")
    got = run_json(aws_cli, "get-secret-value", "--secret-id", name)
    assert base64.b64decode(got["SecretBinary"]) == data
    assert "SecretString" not in got


def test_put_value_and_versions(aws_cli, name):
    first = run_json(aws_cli, "create-secret", "--name", name, "--secret-string", "one")
    second = run_json(aws_cli, "put-secret-value", "--secret-id", name, "--secret-string", "two")
    assert second["VersionStages"] == ["AWSCURRENT"]
    versions = run_json(aws_cli, "list-secret-version-ids", "--secret-id", name)
    stages = {v["VersionId"]: v["VersionStages"] for v in versions["Versions"]}
    assert stages == {first["VersionId"]: ["AWSPREVIOUS"], second["VersionId"]: ["AWSCURRENT"]}
    prev = run_json(aws_cli, "get-secret-value", "--secret-id", name, "--version-stage", "AWSPREVIOUS")
    assert prev["SecretString"] == "one"


def test_scheduled_delete_and_restore(aws_cli, name):
    run_json(aws_cli, "create-secret", "--name", name, "--secret-string", "v")
    deleted = run_json(aws_cli, "delete-secret", "--secret-id", name, "--recovery-window-in-days", "7")
    assert re.match(r"^\d{4}-\d{2}-\d{2}T", str(deleted["DeletionDate"])) or isinstance(
        deleted["DeletionDate"], (int, float)
    )
    proc = aws_cli("get-secret-value", "--secret-id", name)
    assert proc.returncode != 0 and "InvalidRequestException" in proc.stderr
    run_json(aws_cli, "restore-secret", "--secret-id", name)
    assert run_json(aws_cli, "get-secret-value", "--secret-id", name)["SecretString"] == "v"


def test_get_random_password(aws_cli):
    out = run_json(aws_cli, "get-random-password", "--password-length", "20", "--exclude-punctuation")
    assert len(out["RandomPassword"]) == 20
    assert out["RandomPassword"].isalnum()


def test_cli_validation_error(aws_cli):
    proc = aws_cli("create-secret", "--name", "Inv Name", "--secret-string", "x")
    assert proc.returncode != 0
    assert "ValidationException" in proc.stderr
