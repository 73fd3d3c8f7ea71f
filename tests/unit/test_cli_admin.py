"""``python -m strongroom admin ...`` and ``serve`` option handling, run as real subprocesses."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from strongroom.store.schema import MIGRATIONS

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
}
OTHER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "secretsmanager:DeleteSecret", "Resource": "*"}],
}


class Result:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.code, self.out, self.err = proc.returncode, proc.stdout, proc.stderr

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


def strongroom(*args: str | Path, cwd: Path) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    proc = subprocess.run(
        [sys.executable, "-m", "strongroom", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=60, check=False,
    )
    return Result(proc)


def admin(data_dir: Path, command: str, *args: str | Path) -> Result:
    return strongroom("admin", command, "--data-dir", data_dir, *args, cwd=data_dir.parent)


def assert_clean_failure(result: Result, *fragments: str, code: int | None = None) -> None:
    """A failed command: non-zero exit, a message on stderr, no traceback, nothing on stdout."""
    assert result.code != 0, result.out
    if code is not None:
        assert result.code == code, (result.code, result.err)
    assert "Traceback" not in result.err, result.err
    assert result.err.strip(), "no message on stderr"
    assert result.out == ""
    for fragment in fragments:
        assert fragment in result.err, result.err


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_user_access_key_and_policy_lifecycle(data_dir: Path, tmp_path: Path) -> None:
    user = admin(data_dir, "create-user", "--user-name", "alice").json()
    assert user["UserName"] == "alice"
    assert user["Arn"] == "arn:aws:iam::123456789012:user/alice"
    assert user["UserId"].startswith("AIDA") and isinstance(user["CreateDate"], float)
    # the data dir, master key and database were created private
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for name in ("master.key", "strongroom.db"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600

    key = admin(data_dir, "create-access-key", "--user-name", "alice").json()
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
    assert key["Arn"] == user["Arn"]

    inline = json.dumps(POLICY)
    assert admin(data_dir, "put-user-policy", "--user-name", "alice", "--policy-name", "read",
                 "--policy-document", inline).json() == {}
    policy_file = tmp_path / "deny.json"
    policy_file.write_text(json.dumps(OTHER_POLICY))
    assert admin(data_dir, "put-user-policy", "--user-name", "alice", "--policy-name", "deny",
                 "--policy-document", f"file://{policy_file}").json() == {}
    assert admin(data_dir, "list-user-policies", "--user-name", "alice").json() == {
        "UserPolicies": [
            {"PolicyName": "deny", "PolicyDocument": OTHER_POLICY},
            {"PolicyName": "read", "PolicyDocument": POLICY},
        ]
    }

    assert admin(data_dir, "deactivate-access-key", "--access-key-id", key["AccessKeyId"]).json() == {}
    listed = admin(data_dir, "list-access-keys", "--user-name", "alice")
    assert key["SecretAccessKey"] not in listed.out  # a secret is shown once, at creation
    assert [(k["AccessKeyId"], k["UserName"], k["Status"]) for k in listed.json()["AccessKeys"]] == [
        (key["AccessKeyId"], "alice", "Inactive")
    ]

    assert admin(data_dir, "delete-access-key", "--access-key-id", key["AccessKeyId"]).json() == {}
    assert admin(data_dir, "delete-user", "--user-name", "alice").json() == {}
    assert admin(data_dir, "list-users").json() == {"Users": []}


def test_groups_root_keys_and_accounts(data_dir: Path) -> None:
    account = "210987654321"
    admin(data_dir, "create-user", "--user-name", "bob", "--account-id", account).json()
    assert admin(data_dir, "create-group", "--group-name", "readers", "--account-id", account).json() == {
        "GroupName": "readers"
    }
    admin(data_dir, "add-user-to-group", "--group-name", "readers", "--user-name", "bob",
          "--account-id", account).json()
    admin(data_dir, "put-group-policy", "--group-name", "readers", "--policy-name", "read",
          "--policy-document", json.dumps(POLICY), "--account-id", account).json()
    assert admin(data_dir, "list-group-policies", "--group-name", "readers", "--account-id", account).json() == {
        "GroupPolicies": [{"PolicyName": "read", "PolicyDocument": POLICY}]
    }
    assert admin(data_dir, "list-groups", "--account-id", account).json() == {"Groups": ["readers"]}
    users = admin(data_dir, "list-users", "--account-id", account).json()["Users"]
    assert [u["Arn"] for u in users] == [f"arn:aws:iam::{account}:user/bob"]
    assert admin(data_dir, "list-users").json() == {"Users": []}  # the default account is another one

    root = admin(data_dir, "create-access-key").json()  # no --user-name: the account root
    assert root["Arn"] == "arn:aws:iam::123456789012:root"
    keys = admin(data_dir, "list-access-keys").json()["AccessKeys"]
    assert [(k["AccessKeyId"], k["UserName"], k["Status"]) for k in keys] == [(root["AccessKeyId"], None, "Active")]


TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def test_role_lifecycle(data_dir: Path, tmp_path: Path) -> None:
    trust_file = tmp_path / "trust.json"
    trust_file.write_text(json.dumps(TRUST))
    made = admin(data_dir, "create-role", "--role-name", "rotator", "--assume-role-policy-document",
                 f"file://{trust_file}", "--max-session-duration", "7200", "--description", "rotates").json()
    role = made["Role"]
    assert role["Arn"] == "arn:aws:iam::123456789012:role/rotator" and role["RoleId"].startswith("AROA")
    assert (role["Path"], role["RoleName"], role["MaxSessionDuration"], role["Description"]) == (
        "/", "rotator", 7200, "rotates",
    )
    assert role["AssumeRolePolicyDocument"] == TRUST and isinstance(role["CreateDate"], float)
    assert admin(data_dir, "get-role", "--role-name", "rotator").json() == made
    assert admin(data_dir, "put-role-policy", "--role-name", "rotator", "--policy-name", "read",
                 "--policy-document", json.dumps(POLICY)).json() == {}
    assert admin(data_dir, "list-role-policies", "--role-name", "rotator").json() == {
        "RolePolicies": [{"PolicyName": "read", "PolicyDocument": POLICY}]
    }
    assert_clean_failure(
        admin(data_dir, "delete-role", "--role-name", "rotator"), "Cannot delete entity, must delete policies first.",
        code=1,
    )
    account_trust = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"AWS": "123456789012"}}]}
    assert admin(data_dir, "update-assume-role-policy", "--role-name", "rotator",
                 "--policy-document", json.dumps(account_trust)).json() == {}
    roles = admin(data_dir, "list-roles").json()["Roles"]
    assert [(r["RoleName"], r["AssumeRolePolicyDocument"]) for r in roles] == [("rotator", account_trust)]
    assert admin(data_dir, "delete-role-policy", "--role-name", "rotator", "--policy-name", "read").json() == {}
    assert admin(data_dir, "delete-role", "--role-name", "rotator").json() == {}
    assert_clean_failure(
        admin(data_dir, "get-role", "--role-name", "rotator"), "The role with name rotator cannot be found.", code=1
    )


def test_role_errors_exit_non_zero_with_iams_message(data_dir: Path) -> None:
    resource = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Resource": "*"}]}
    assert_clean_failure(
        admin(data_dir, "create-role", "--role-name", "r", "--assume-role-policy-document", json.dumps(resource)),
        "Has prohibited field Resource", code=1,
    )
    admin(data_dir, "create-role", "--role-name", "r", "--assume-role-policy-document", json.dumps(TRUST)).json()
    assert_clean_failure(
        admin(data_dir, "create-role", "--role-name", "R", "--assume-role-policy-document", json.dumps(TRUST)),
        "Role with name R already exists.", code=1,
    )
    assert_clean_failure(
        admin(data_dir, "create-role", "--role-name", "x", "--assume-role-policy-document", json.dumps(TRUST),
              "--max-session-duration", "60"),
        "Member must have value greater than or equal to 3600", code=1,
    )


def test_admin_migrate_reports_schema_version(data_dir: Path) -> None:
    result = strongroom("admin", "migrate", "--data-dir", data_dir, cwd=data_dir.parent)
    assert result.code == 0, result.err
    assert "schema of SQLite in" in result.out and f"version {len(MIGRATIONS)}" in result.out


def test_a_lost_key_file_is_refused_not_replaced(data_dir: Path) -> None:
    """A store with data whose master.key is gone: no new key is generated, the command refuses."""
    admin(data_dir, "create-access-key").json()
    (data_dir / "master.key").unlink()
    database = (data_dir / "strongroom.db").read_bytes()
    assert_clean_failure(
        admin(data_dir, "list-users"), "the master key does not match this store: ", "no master key was found",
        code=2,
    )
    assert sorted(p.name for p in data_dir.iterdir()) == ["strongroom.db"]
    assert (data_dir / "strongroom.db").read_bytes() == database


def test_errors_exit_non_zero_with_a_message_and_no_traceback(data_dir: Path) -> None:
    admin(data_dir, "create-user", "--user-name", "alice").json()
    assert_clean_failure(admin(data_dir, "create-user", "--user-name", "alice"), "already exists", code=1)
    assert_clean_failure(admin(data_dir, "create-user", "--user-name", "bad name"), "Invalid user name", code=1)
    assert_clean_failure(
        admin(data_dir, "put-user-policy", "--user-name", "alice", "--policy-name", "p",
              "--policy-document", '{"Statement": "nope"'),
        "syntax error", code=1,
    )
    assert_clean_failure(
        admin(data_dir, "put-user-policy", "--user-name", "nobody", "--policy-name", "p",
              "--policy-document", json.dumps(POLICY)),
        "nobody", code=1,
    )
    assert_clean_failure(
        admin(data_dir, "deactivate-access-key", "--access-key-id", "AKIAAAAAAAAAAAAAAAAA"), "not found", code=1
    )
    assert_clean_failure(admin(data_dir, "delete-group", "--group-name", "ghost"), "ghost", code=1)
    # argparse: a missing required option
    assert_clean_failure(admin(data_dir, "create-user"), "--user-name", code=2)


def test_missing_policy_file_is_a_clean_error(data_dir: Path, tmp_path: Path) -> None:
    admin(data_dir, "create-user", "--user-name", "alice").json()
    result = admin(data_dir, "put-user-policy", "--user-name", "alice", "--policy-name", "p",
                   "--policy-document", f"file://{tmp_path / 'missing.json'}")
    assert_clean_failure(result, "missing.json")


def test_admin_account_id_must_be_twelve_digits(data_dir: Path) -> None:
    result = admin(data_dir, "create-user", "--user-name", "x", "--account-id", "abc")
    assert_clean_failure(result, "12 digits")


def test_admin_config_file_is_used_and_validated(tmp_path: Path) -> None:
    data_dir = tmp_path / "from-config"
    config = tmp_path / "strongroom.toml"
    config.write_text(f'data_dir = "{data_dir}"\naccount_id = "111122223333"\n')
    result = strongroom("admin", "create-user", "--config", config, "--user-name", "carol", cwd=tmp_path)
    assert result.json()["Arn"] == "arn:aws:iam::111122223333:user/carol"
    assert (data_dir / "strongroom.db").exists()

    config.write_text(f'data_dir = "{data_dir}"\nbogus_setting = 1\n')
    result = strongroom("admin", "list-users", "--config", config, cwd=tmp_path)
    assert_clean_failure(result, "unknown settings", "bogus_setting", code=2)


# --- serve -----------------------------------------------------------------------------------
def test_serve_help(tmp_path: Path) -> None:
    result = strongroom("serve", "--help", cwd=tmp_path)
    assert result.code == 0, result.err
    for option in ("--host", "--port", "--data-dir", "--config", "--dev", "--database-url", "--workers"):
        assert option in result.out


@pytest.mark.parametrize(("text", "fragments"), [
    ('port = 7421\nbogus = true\nalso_bogus = "x"\n', ("unknown settings", "also_bogus, bogus")),
    ("port = [unterminated\n", ()),
    ('account_id = "123"\n', ("account id must be 12 digits",)),
])
def test_serve_with_a_bad_config_fails_clearly(tmp_path: Path, text: str, fragments: tuple[str, ...]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    data_dir = tmp_path / "data"
    result = strongroom("serve", "--config", config, "--data-dir", data_dir, "--port", "1", cwd=tmp_path)
    assert_clean_failure(result, "strongroom:", *fragments, code=2)
    assert not data_dir.exists()  # refused before touching anything


def test_serve_with_a_missing_config_file_fails_clearly(tmp_path: Path) -> None:
    result = strongroom("serve", "--config", tmp_path / "nope.toml", "--port", "1", cwd=tmp_path)
    assert_clean_failure(result, "nope.toml", code=2)


@pytest.mark.parametrize(
    "text", ["account_id = 123456789012\n", "data_dir = 5\n", 'workers = "two"\n', "workers = 0\n"]
)
def test_serve_with_a_config_value_of_the_wrong_type_fails_clearly(tmp_path: Path, text: str) -> None:
    config = tmp_path / "typed.toml"
    config.write_text(text)
    result = strongroom("serve", "--config", config, "--port", "1", cwd=tmp_path)
    assert_clean_failure(result, "strongroom:", code=2)
