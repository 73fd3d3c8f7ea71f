"""Replication with authentication on: cross-account replicas between two accounts of one server,
and every permission the API reference lists, checked by the policy engine.

A server of its own (its relay runs every 0.1 s), the administrator of account 123456789012, the
root of account 210987654321, and users with narrow identity policies in both.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from authz_support import (
    ACCOUNT,
    OTHER_ACCOUNT,
    REGION,
    AuthzServer,
    Creds,
    admin_creds,
    allow,
    make_principals,
    policy,
    running_server,
)
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pg"))  # the shared server helpers
from pg_servers import wait_for  # noqa: E402

WEST = "us-west-2"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthzServer]:
    base: Path = tmp_path_factory.mktemp("authz-replication")
    config = base / "config.toml"
    config.write_text("replication_interval = 0.1\n")
    yield from running_server(base, "--config", str(config))


@pytest.fixture(scope="module")
def people(server: AuthzServer) -> dict[str, Creds]:
    p = f"r{uuid.uuid4().hex[:6]}"
    everything_but = ["secretsmanager:CreateSecret", "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
                      "secretsmanager:TagResource", "secretsmanager:PutSecretValue"]  # fmt: skip
    specs = {
        "other_root": (OTHER_ACCOUNT, None, None),
        # account A: may create and read, but not replicate
        "no_replicate": (ACCOUNT, f"{p}-norepl", policy(allow(everything_but))),
        # account A: may associate and accept, but may not read the primary's value
        "no_get": (ACCOUNT, f"{p}-noget", policy(allow([
            "secretsmanager:AssociateCrossAccountReplica", "secretsmanager:AcceptCrossAccountReplication",
        ]))),
        # account A: may associate and read, but not accept on the replica
        "no_accept": (ACCOUNT, f"{p}-noaccept", policy(allow([
            "secretsmanager:AssociateCrossAccountReplica", "secretsmanager:GetSecretValue",
        ]))),
        # account B: may create secrets, but not put resource policies
        "b_no_policy": (OTHER_ACCOUNT, f"{p}-bnopolicy", policy(allow(["secretsmanager:CreateSecret"]))),
        # account B: may stop replication, but not delete resource policies
        "b_no_delete_policy": (OTHER_ACCOUNT, f"{p}-bstop", policy(allow(["secretsmanager:StopReplicationToReplica"]))),
        # account A: region replication only through its own region's secrets... and the rest
        "replicator": (ACCOUNT, f"{p}-repl", policy(allow(everything_but + [
            "secretsmanager:ReplicateSecretToRegions", "secretsmanager:RemoveRegionsFromReplication",
        ]))),
    }  # fmt: skip
    made = make_principals(server.data_dir, specs)
    made["admin"] = admin_creds(server)
    return made


def client(server: AuthzServer, creds: Creds, region: str = REGION) -> Any:
    return server.client(creds, region=region)


def code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def kms_key(server: AuthzServer, account: str, alias: str) -> None:
    server.admin("create-kms-key", "--account-id", account, "--alias", alias)


def test_cross_account_replica_lifecycle(server: AuthzServer, people: dict[str, Creds]) -> None:
    a, b = client(server, people["admin"]), client(server, people["other_root"])
    name = f"xa-{uuid.uuid4().hex[:8]}"
    primary_arn = a.create_secret(Name=name, SecretString="v1")["ARN"]
    kms_key(server, OTHER_ACCOUNT, f"alias/{name}")
    replica_arn = b.create_secret(Name=f"{name}-copy", KmsKeyId=f"alias/{name}", CrossAccountPrimaryARN=primary_arn)[
        "ARN"]
    assert b.describe_secret(SecretId=replica_arn)["CrossAccountPrimary"]["ReplicationStatus"] == "Pending"
    managed = json.loads(b.get_resource_policy(SecretId=replica_arn, PolicyName="cross-account-replication")[
        "ResourcePolicy"])
    assert managed["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    answer = a.associate_cross_account_replica(SecretId=name, CrossAccountReplicaARN=replica_arn)
    assert answer["ReplicationStatus"] == "InProgress"
    wait_for(lambda: a.describe_secret(SecretId=name)["CrossAccountReplicas"][0]["ReplicationStatus"] == "InSync",
             "the cross-account replica in sync")
    assert b.get_secret_value(SecretId=replica_arn)["SecretString"] == "v1"
    assert code(lambda: b.put_secret_value(SecretId=replica_arn, SecretString="x")) == "InvalidParameterException"
    # Account A's principals see nothing of B's secret beyond what its policies grant.
    assert code(lambda: a.get_secret_value(SecretId=replica_arn)) == "AccessDeniedException"
    a.disassociate_cross_account_replica(SecretId=name, CrossAccountReplicaARN=replica_arn)
    assert b.describe_secret(SecretId=replica_arn)["CrossAccountPrimary"]["ReplicationStatus"] == "Detached"
    b.stop_replication_to_replica(SecretId=replica_arn)
    assert "CrossAccountPrimary" not in b.describe_secret(SecretId=replica_arn)


def test_cross_account_permissions(server: AuthzServer, people: dict[str, Creds]) -> None:
    a, b = client(server, people["admin"]), client(server, people["other_root"])
    name = f"xp-{uuid.uuid4().hex[:8]}"
    primary_arn = a.create_secret(Name=name, SecretString="v1")["ARN"]
    kms_key(server, OTHER_ACCOUNT, f"alias/{name}")
    # CreateSecret of a cross-account replica needs PutResourcePolicy too.
    assert code(lambda: client(server, people["b_no_policy"]).create_secret(
        Name=f"{name}-x", KmsKeyId=f"alias/{name}", CrossAccountPrimaryARN=primary_arn)) == "AccessDeniedException"
    replica_arn = b.create_secret(Name=f"{name}-copy", KmsKeyId=f"alias/{name}", CrossAccountPrimaryARN=primary_arn)[
        "ARN"]
    # AssociateCrossAccountReplica needs GetSecretValue on the primary and AcceptCrossAccountReplication on the replica.
    for who in ("no_get", "no_accept"):
        assert code(lambda who=who: client(server, people[who]).associate_cross_account_replica(
            SecretId=name, CrossAccountReplicaARN=replica_arn)) == "AccessDeniedException"
    # The replica's owner can refuse, in its own policy, what the managed policy allows.
    deny = policy({"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                   "Action": "secretsmanager:AcceptCrossAccountReplication", "Resource": "*"})
    b.put_resource_policy(SecretId=replica_arn, ResourcePolicy=deny)
    assert code(lambda: a.associate_cross_account_replica(
        SecretId=name, CrossAccountReplicaARN=replica_arn)) == "AccessDeniedException"
    assert "CrossAccountReplicas" not in a.describe_secret(SecretId=name)  # nothing was changed
    b.delete_resource_policy(SecretId=replica_arn)
    a.associate_cross_account_replica(SecretId=name, CrossAccountReplicaARN=replica_arn)
    # StopReplicationToReplica on a cross-account replica needs DeleteResourcePolicy too.
    assert code(lambda: client(server, people["b_no_delete_policy"]).stop_replication_to_replica(
        SecretId=replica_arn)) == "AccessDeniedException"
    b.stop_replication_to_replica(SecretId=replica_arn)
    assert a.describe_secret(SecretId=name)["CrossAccountReplicas"][0]["ReplicationStatus"] == "Detached"


def test_region_replication_permissions(server: AuthzServer, people: dict[str, Creds]) -> None:
    limited = client(server, people["no_replicate"])
    name = f"rp-{uuid.uuid4().hex[:8]}"
    # CreateSecret with AddReplicaRegions needs ReplicateSecretToRegions too; nothing is created without it.
    assert code(lambda: limited.create_secret(Name=name, SecretString="v",
                                              AddReplicaRegions=[{"Region": WEST}])) == "AccessDeniedException"
    assert code(lambda: limited.describe_secret(SecretId=name)) == "ResourceNotFoundException"
    limited.create_secret(Name=name, SecretString="v")
    assert code(lambda: limited.replicate_secret_to_regions(
        SecretId=name, AddReplicaRegions=[{"Region": WEST}])) == "AccessDeniedException"
    replicator = client(server, people["replicator"])
    replicator.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": WEST}])
    west = client(server, people["replicator"], WEST)
    wait_for(lambda: _has_value(west, name), "the replica in us-west-2")
    assert code(lambda: limited.remove_regions_from_replication(
        SecretId=name, RemoveReplicaRegions=[WEST])) == "AccessDeniedException"
    assert code(lambda: client(server, people["replicator"], WEST).stop_replication_to_replica(
        SecretId=name)) == "AccessDeniedException"
    replicator.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[WEST])


def _has_value(sm: Any, name: str) -> bool:
    try:
        return bool(sm.get_secret_value(SecretId=name)["SecretString"])
    except ClientError:
        return False
