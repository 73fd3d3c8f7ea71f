"""``strongroom admin install-rotators`` on a fresh store (SQLite and PostgreSQL), seen through boto3.

The command runs as a subprocess on the store of a dev-mode server with functions on: the functions
it makes are in ListFunctions, run in the function runtime, and let Secrets Manager invoke them
(GetPolicy). Running it again changes nothing, and puts back what was changed by hand, keeping
the functions' environment variables.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_server import ACCOUNT_ID, REGION, ServerProcess, make_client, start_server
from functions_support import functions_args
from install_cli import StoreOf, install_rotators, installed
from pg_servers import create_database, database_url, drop_database, new_master_key

from strongroom.rotators.catalog import ROTATORS, rotator

NAMES = [rotator.name for rotator in ROTATORS]
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/strongroom-rotators"


@dataclass
class Installed:
    server: ServerProcess
    where: StoreOf
    report: dict[str, Any]
    lambda_client: Any


@pytest.fixture(scope="module")
def fresh(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """The rotators installed into a new store, then a server on it."""
    base = tmp_path_factory.mktemp(f"install-{store}")
    extra = functions_args(base)
    if not extra:
        pytest.skip("no Python interpreter that the function workers' user can run: functions are off")
    database = None
    where = StoreOf(base / "data")
    if store == "postgres":
        database = create_database("install")
        where = StoreOf(base / "data", database_url(database), new_master_key())
    try:
        report = installed(where)
        server = start_server(where.data_dir, base / "logs", store, extra, master_key=where.master_key,
                              database_url=where.database_url)
        try:
            yield Installed(server, where, report, make_client(server.endpoint, service="lambda"))
        finally:
            server.stop()
    finally:
        if database is not None:
            drop_database(database)


def arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def test_install_creates_every_rotator_and_the_role(fresh: Installed) -> None:
    report = fresh.report
    assert report["Role"] == {"Arn": ROLE, "Created": True}
    assert [(f["FunctionName"], f["FunctionArn"], f["Result"]) for f in report["Functions"]] == [
        (name, arn(name), "created") for name in NAMES]


def test_list_functions_shows_them(fresh: Installed) -> None:
    listed = {f["FunctionName"]: f for f in fresh.lambda_client.list_functions()["Functions"]}
    assert set(NAMES) <= set(listed)
    sha = {f["FunctionName"]: f["CodeSha256"] for f in fresh.report["Functions"]}
    for shipped in ROTATORS:
        shown = listed[shipped.name]
        assert (shown["FunctionArn"], shown["Runtime"], shown["Handler"], shown["Role"], shown["Timeout"],
                shown["MemorySize"], shown["Description"], shown["CodeSha256"]) == (
            arn(shipped.name), shipped.runtime, shipped.handler, ROLE, shipped.timeout, shipped.memory_size,
            shipped.description, sha[shipped.name])


def test_get_policy_lets_secrets_manager_invoke(fresh: Installed) -> None:
    for name in NAMES:
        policy = json.loads(fresh.lambda_client.get_policy(FunctionName=name)["Policy"])
        assert policy["Statement"] == [{
            "Sid": "SecretsManagerAccess", "Effect": "Allow", "Principal": {"Service": "secretsmanager.amazonaws.com"},
            "Action": "lambda:InvokeFunction", "Resource": arn(name),
            "Condition": {"StringEquals": {"AWS:SourceAccount": ACCOUNT_ID}},
        }]


def test_an_installed_rotator_runs(fresh: Installed) -> None:
    """The package runs in the function runtime: the handler imports, calls Secrets Manager through
    boto3 and fails as AWS's functions do for a secret that does not exist."""
    event = {"Step": "createSecret", "SecretId": "install-no-such-secret", "ClientRequestToken": "t" * 32}
    answer = fresh.lambda_client.invoke(FunctionName="strongroom-random-password", Payload=json.dumps(event))
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "ResourceNotFoundException"


def test_running_again_changes_nothing(fresh: Installed) -> None:
    client = fresh.lambda_client
    revisions = {name: client.get_function_configuration(FunctionName=name)["RevisionId"] for name in NAMES}
    again = installed(fresh.where)
    assert again["Role"] == {"Arn": ROLE, "Created": False}
    assert [(f["FunctionName"], f["Result"]) for f in again["Functions"]] == [(name, "unchanged") for name in NAMES]
    assert "Changed" not in json.dumps(again)
    assert {name: client.get_function_configuration(FunctionName=name)["RevisionId"] for name in NAMES} == revisions


def test_running_again_puts_back_settings_and_permission_and_keeps_variables(fresh: Installed) -> None:
    client, name = fresh.lambda_client, "strongroom-mysql-single-user"
    client.update_function_configuration(FunctionName=name, Timeout=5, Description="changed by hand",
                                         Environment={"Variables": {"PASSWORD_LENGTH": "40"}})
    client.remove_permission(FunctionName=name, StatementId="SecretsManagerAccess")
    client.add_permission(FunctionName=name, StatementId="SecretsManagerAccess", Action="lambda:InvokeFunction",
                          Principal="secretsmanager.amazonaws.com")  # without SourceAccount
    client.add_permission(FunctionName=name, StatementId="users-own", Action="lambda:GetFunction",
                          Principal=ACCOUNT_ID)
    again = installed(fresh.where, "--only", name)
    assert [(f["FunctionName"], f["Result"], f["Changed"]) for f in again["Functions"]] == [
        (name, "updated", ["configuration", "permission"])]
    shown = client.get_function_configuration(FunctionName=name)
    assert (shown["Timeout"], shown["Description"]) == (30, rotator(name).description)
    assert shown["Environment"]["Variables"] == {"PASSWORD_LENGTH": "40"}
    policy = json.loads(client.get_policy(FunctionName=name)["Policy"])
    assert {s["Sid"]: s.get("Condition") for s in policy["Statement"]} == {
        "users-own": None, "SecretsManagerAccess": {"StringEquals": {"AWS:SourceAccount": ACCOUNT_ID}}}
    client.remove_permission(FunctionName=name, StatementId="SecretsManagerAccess")
    assert installed(fresh.where, "--only", name)["Functions"][0]["Changed"] == ["permission"]


def test_running_again_puts_back_code_changed_by_hand(fresh: Installed) -> None:
    client, name = fresh.lambda_client, "strongroom-postgres-multi-user"
    shipped = next(f["CodeSha256"] for f in fresh.report["Functions"] if f["FunctionName"] == name)
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:  # another package with the same handler
        archive.writestr("strongroom_rotators/postgres_multi_user.py", "def lambda_handler(e, c):\n    return 1\n")
    assert client.update_function_code(FunctionName=name, ZipFile=other.getvalue())["CodeSha256"] != shipped
    again = installed(fresh.where, "--only", name)
    assert [(f["Result"], f["Changed"], f["CodeSha256"]) for f in again["Functions"]] == [
        ("updated", ["code"], shipped)]
    assert client.get_function_configuration(FunctionName=name)["CodeSha256"] == shipped


def test_refusals_are_clean(fresh: Installed) -> None:
    for args, words in ((("--only", "no-such-rotator"), "no rotator 'no-such-rotator'"),
                        (("--role-arn", f"arn:aws:iam::{ACCOUNT_ID}:role/missing"), "cannot be assumed by Lambda"),
                        (("--region", "Not-A-Region"), "is not a region")):
        done = install_rotators(fresh.where, *args)
        assert done.returncode == 1 and done.stdout == "" and "Traceback" not in done.stderr, done.stderr
        assert words in done.stderr


def test_another_account_and_region(fresh: Installed) -> None:
    other = "210987654321"
    report = installed(fresh.where, "--account-id", other, "--region", "eu-west-1", "--only",
                       "strongroom-random-password")
    assert (report["Account"], report["Region"]) == (other, "eu-west-1")
    assert report["Role"] == {"Arn": f"arn:aws:iam::{other}:role/strongroom-rotators", "Created": True}
    assert [(f["FunctionArn"], f["Result"]) for f in report["Functions"]] == [
        (f"arn:aws:lambda:eu-west-1:{other}:function:strongroom-random-password", "created")]
    names = {f["FunctionName"] for f in fresh.lambda_client.list_functions()["Functions"]}
    assert "strongroom-random-password" in names  # this account's own, untouched
