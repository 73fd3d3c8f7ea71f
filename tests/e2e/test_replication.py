"""Replication end to end: a real ``strongroom serve --dev`` (SQLite and PostgreSQL) driven by boto3
in several regions, its relay running as a job every 0.1 s (``replication_interval``).

Polls for InSync are bounded (POLL_S) and never assert on how long it took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_server import ACCOUNT_ID, POSTGRES, REGION, WEST, ServerProcess, make_client, start_server, unique_name
from pg_servers import create_database, database_url, drop_database, wait_for

EU = "eu-west-1"
REPLICA_WRITE = "Operation not permitted on a replica secret. Call must be made in primary secret's region."


@pytest.fixture(scope="module")
def repl_server(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own (on PostgreSQL, its own database): its relay is the only one delivering."""
    base = tmp_path_factory.mktemp(f"replication-{store}")
    config = base / "config.toml"
    config.write_text("replication_interval = 0.1\n")
    database = create_database("e2erepl") if store == "postgres" else None
    server = start_server(
        base / "data", base / "logs", store=store, extra_args=["--config", str(config)],
        database_url=database_url(database) if database else None,
    )
    try:
        yield server
    finally:
        server.stop()
        if database:
            drop_database(database)


@pytest.fixture(scope="module")
def clients(repl_server: ServerProcess) -> dict[str, Any]:
    return {region: make_client(repl_server.endpoint, region=region) for region in (REGION, WEST, EU)}


def statuses(client: Any, secret_id: str) -> dict[str, str]:
    described = client.describe_secret(SecretId=secret_id)
    return {entry["Region"]: entry["Status"] for entry in described.get("ReplicationStatus", [])}


def in_sync(client: Any, secret_id: str, *regions: str) -> None:
    wait_for(lambda: statuses(client, secret_id) == dict.fromkeys(regions, "InSync"), f"{secret_id} in sync")


def error(call: Callable[[], Any]) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return dict(caught.value.response["Error"])


def test_create_with_replicas_then_every_change_reaches_them(clients: dict[str, Any]) -> None:
    east, west, eu = clients[REGION], clients[WEST], clients[EU]
    name = unique_name("repl")
    created = east.create_secret(Name=name, SecretString="v1", Description="d",
                                 AddReplicaRegions=[{"Region": WEST}, {"Region": EU}])
    assert {s["Region"]: s["Status"] for s in created["ReplicationStatus"]} == {WEST: "InProgress", EU: "InProgress"}
    in_sync(east, name, WEST, EU)
    replica = west.describe_secret(SecretId=name)
    assert replica["ARN"] == created["ARN"].replace(REGION, WEST) and replica["PrimaryRegion"] == REGION
    assert "ReplicationStatus" not in replica
    assert west.get_secret_value(SecretId=replica["ARN"])["SecretString"] == "v1"
    put = east.put_secret_value(SecretId=name, SecretString="v2")
    east.tag_resource(SecretId=name, Tags=[{"Key": "team", "Value": "blue"}])
    east.update_secret(SecretId=name, Description="d2")
    wait_for(lambda: eu.get_secret_value(SecretId=name)["VersionId"] == put["VersionId"], "v2 in eu-west-1")
    in_sync(east, name, WEST, EU)
    for client in (west, eu):
        got = client.describe_secret(SecretId=name)
        assert (got["Description"], got["Tags"]) == ("d2", [{"Key": "team", "Value": "blue"}])
        assert got["VersionIdsToStages"] == east.describe_secret(SecretId=name)["VersionIdsToStages"]
        assert client.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "v1"
    filters = [{"Key": "primary-region", "Values": [REGION]}, {"Key": "name", "Values": [name]}]
    listed = west.list_secrets(Filters=filters)
    assert [s["Name"] for s in listed["SecretList"]] == [name]


def test_replicas_refuse_writes_and_a_primary_with_replicas_stays(clients: dict[str, Any]) -> None:
    east, west = clients[REGION], clients[WEST]
    name = unique_name("ro")
    arn = east.create_secret(Name=name, SecretString="v", AddReplicaRegions=[{"Region": WEST}])["ARN"]
    in_sync(east, name, WEST)
    for call in (
        lambda: west.put_secret_value(SecretId=name, SecretString="x"),
        lambda: west.update_secret(SecretId=name, Description="x"),
        lambda: west.tag_resource(SecretId=name, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: west.delete_secret(SecretId=name),
        lambda: west.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": EU}]),
    ):
        assert error(call) == {"Code": "InvalidParameterException", "Message": REPLICA_WRITE}
    assert error(lambda: east.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)) == {
        "Code": "InvalidParameterException",
        "Message": f"You can't delete secret {arn} that still has replica regions [{WEST}].",
    }
    assert error(lambda: east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": REGION}])) == {
        "Code": "InvalidParameterException", "Message": "Invalid replica region.",
    }


def test_name_conflict_fails_the_region_unless_overwritten(clients: dict[str, Any]) -> None:
    east, west = clients[REGION], clients[WEST]
    name = unique_name("dup")
    west.create_secret(Name=name, SecretString="theirs")
    east.create_secret(Name=name, SecretString="ours")
    answer = east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST}])
    assert answer["ReplicationStatus"] == [{
        "Region": WEST, "KmsKeyId": "alias/aws/secretsmanager", "Status": "Failed",
        "StatusMessage": "Secret with this name already exists in this region",
    }]
    assert west.get_secret_value(SecretId=name)["SecretString"] == "theirs"
    east.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST}],
                                     ForceOverwriteReplicaSecret=True)
    in_sync(east, name, WEST)
    assert west.get_secret_value(SecretId=name)["SecretString"] == "ours"


def test_removal_and_promotion(clients: dict[str, Any]) -> None:
    east, west, eu = clients[REGION], clients[WEST], clients[EU]
    name = unique_name("life")
    arn = east.create_secret(Name=name, SecretString="v1", AddReplicaRegions=[{"Region": WEST}, {"Region": EU}])["ARN"]
    in_sync(east, name, WEST, EU)
    removed = east.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[EU])
    assert (removed["ARN"], [s["Region"] for s in removed["ReplicationStatus"]]) == (arn, [WEST])
    assert error(lambda: eu.describe_secret(SecretId=name))["Code"] == "ResourceNotFoundException"
    assert west.stop_replication_to_replica(SecretId=name)["ARN"] == arn.replace(REGION, WEST)
    west.put_secret_value(SecretId=name, SecretString="standalone")
    assert "ReplicationStatus" not in east.describe_secret(SecretId=name)
    east.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert west.get_secret_value(SecretId=name)["SecretString"] == "standalone"


def test_replica_under_its_own_key(clients: dict[str, Any], repl_server: ServerProcess) -> None:
    east, west = clients[REGION], clients[WEST]
    alias = f"alias/{unique_name('k')}"
    store_args = ["--database-url", _url(repl_server)] if repl_server.store == "postgres" else []
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "strongroom", "admin", "create-kms-key", "--data-dir", str(repl_server.data_dir),
         *store_args, "--account-id", ACCOUNT_ID, "--region", WEST, "--alias", alias],
        capture_output=True, text=True, timeout=60, env=_env(repl_server), check=True,
    )
    key = json.loads(done.stdout)
    name = unique_name("key")
    east.create_secret(Name=name, SecretString="v", AddReplicaRegions=[{"Region": WEST, "KmsKeyId": alias}])
    in_sync(east, name, WEST)
    assert west.describe_secret(SecretId=name)["KmsKeyId"] == alias
    assert east.describe_secret(SecretId=name)["ReplicationStatus"][0]["KmsKeyId"] == alias
    assert west.get_secret_value(SecretId=name)["SecretString"] == "v"
    assert key["Arn"].startswith(f"arn:aws:kms:{WEST}:{ACCOUNT_ID}:key/")


def _url(server: ServerProcess) -> str:
    return server.argv[server.argv.index("--database-url") + 1]


def _env(server: ServerProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRONGROOM_"))}
    if server.store == "postgres":
        env["STRONGROOM_MASTER_KEY"] = POSTGRES["master_key"]
    return env


def test_cross_account_operations_answer_in_one_account(clients: dict[str, Any]) -> None:
    """Dev mode is one account: a replica in another one can only be missing, and is reported so."""
    east = clients[REGION]
    name = unique_name("xa")
    east.create_secret(Name=name, SecretString="v")
    other = f"arn:aws:secretsmanager:{REGION}:210987654321:secret:{name}-AbCdEf"
    assert error(lambda: east.associate_cross_account_replica(SecretId=name, CrossAccountReplicaARN=other))[
        "Code"] == "ResourceNotFoundException"
    assert error(lambda: east.disassociate_cross_account_replica(SecretId=name, CrossAccountReplicaARN=other))[
        "Code"] == "InvalidParameterException"
    assert error(lambda: east.associate_cross_account_replica(
        SecretId=name, CrossAccountReplicaARN=other, ReplicationRoleARN="arn:aws:iam::123456789012:role/r",
    ))["Code"] == "InvalidRequestException"

