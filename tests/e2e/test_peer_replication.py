"""Replication between deployments: two ``strongroom serve`` processes with their own stores acting as
us-east-1 (the primary's, dev mode) and eu-west-1 (the peer, SigV4 with its admin's key), paired
through a recording proxy (peer_pair.py). Polls are bounded and never assert on timings.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_server import make_client, start_server, unique_name
from peer_pair import PEER_REGION, Pair, RecordingProxy, admin_credentials, primary_config, self_signed, start_pair
from pg_servers import wait_for

POLL_S = 60.0
REPLICA_WRITE = "Operation not permitted on a replica secret. Call must be made in primary secret's region."


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    pair = start_pair(tmp_path_factory.mktemp("peers"))
    try:
        yield pair
    finally:
        pair.stop()


@pytest.fixture(scope="module")
def primary(pair: Pair) -> Any:
    return pair.primary_client()


def peer(pair: Pair) -> Any:
    return pair.peer_client()  # a new client per use: the peer may have restarted on another port


def status(client: Any, name: str) -> dict[str, Any]:
    entries = client.describe_secret(SecretId=name).get("ReplicationStatus", [])
    return {e["Region"]: e for e in entries}


def in_sync(client: Any, name: str) -> None:
    wait_for(lambda: status(client, name).get(PEER_REGION, {}).get("Status") == "InSync", f"{name} in sync", POLL_S)


def error(call: Callable[[], Any]) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return dict(caught.value.response["Error"])


def state(client: Any, name: str) -> dict[str, Any]:
    """What replicates of a secret: versions with their values and labels, description, tags, policy."""
    described = client.describe_secret(SecretId=name)
    values = {
        vid: client.get_secret_value(SecretId=name, VersionId=vid).get("SecretString")
        for vid in described.get("VersionIdsToStages", {})
    }
    policy = client.get_resource_policy(SecretId=name).get("ResourcePolicy")
    return {
        "versions": {vid: sorted(stages) for vid, stages in described.get("VersionIdsToStages", {}).items()},
        "values": values, "description": described.get("Description"),
        "tags": sorted((t["Key"], t["Value"]) for t in described.get("Tags", [])), "policy": policy,
    }


def same_state(pair: Pair, primary: Any, name: str) -> None:
    def equal() -> bool:
        try:
            return state(peer(pair), name) == state(primary, name)
        except ClientError:
            return False

    wait_for(equal, f"{name} equal in the peer", POLL_S)
    in_sync(primary, name)


def test_create_replicates_values_stages_and_metadata_to_the_peer(pair: Pair, primary: Any) -> None:
    name = unique_name("peer")
    created = primary.create_secret(
        Name=name, SecretString="v1", Description="d1", Tags=[{"Key": "team", "Value": "blue"}],
        AddReplicaRegions=[{"Region": PEER_REGION}],
    )
    assert [(e["Region"], e["Status"]) for e in created["ReplicationStatus"]] == [(PEER_REGION, "InProgress")]
    in_sync(primary, name)
    replica = peer(pair).describe_secret(SecretId=name)
    assert replica["ARN"] == created["ARN"].replace("us-east-1", PEER_REGION)
    assert replica["PrimaryRegion"] == "us-east-1"
    assert peer(pair).get_secret_value(SecretId=name)["SecretString"] == "v1"
    second = primary.put_secret_value(SecretId=name, SecretString="v2")
    primary.put_secret_value(SecretId=name, SecretString="v3-pending", VersionStages=["PENDING"])
    primary.update_secret(SecretId=name, Description="d2")
    primary.tag_resource(SecretId=name, Tags=[{"Key": "env", "Value": "prod"}])
    primary.put_resource_policy(SecretId=name, ResourcePolicy=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},'
        '"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}'
    ))
    same_state(pair, primary, name)
    assert peer(pair).get_secret_value(SecretId=name)["VersionId"] == second["VersionId"]
    primary.untag_resource(SecretId=name, TagKeys=["team"])
    primary.delete_resource_policy(SecretId=name)
    same_state(pair, primary, name)


def test_each_deployment_refuses_requests_for_its_peers_region(pair: Pair) -> None:
    in_peer_region = make_client(pair.primary.endpoint, region=PEER_REGION)
    assert error(lambda: in_peer_region.list_secrets())["Code"] == "InvalidSignatureException"


def test_writes_to_the_peers_replica_are_refused(pair: Pair, primary: Any) -> None:
    name = unique_name("peer-ro")
    primary.create_secret(Name=name, SecretString="v1", AddReplicaRegions=[{"Region": PEER_REGION}])
    in_sync(primary, name)
    client = peer(pair)
    for call in (
        lambda: client.put_secret_value(SecretId=name, SecretString="mine"),
        lambda: client.update_secret(SecretId=name, Description="mine"),
        lambda: client.tag_resource(SecretId=name, Tags=[{"Key": "k", "Value": "v"}]),
    ):
        assert error(call) == {"Code": "InvalidParameterException", "Message": REPLICA_WRITE}


def test_remove_regions_deletes_the_peers_replica(pair: Pair, primary: Any) -> None:
    name = unique_name("peer-rm")
    primary.create_secret(Name=name, SecretString="v1", AddReplicaRegions=[{"Region": PEER_REGION}])
    in_sync(primary, name)
    removed = primary.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[PEER_REGION])
    assert removed["ReplicationStatus"] == []

    def gone() -> bool:
        try:
            peer(pair).describe_secret(SecretId=name)
        except ClientError as exc:
            return exc.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    wait_for(gone, "the replica deleted in the peer", POLL_S)
    primary.put_secret_value(SecretId=name, SecretString="after")  # no target: nothing goes to the peer
    primary.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": PEER_REGION}])
    same_state(pair, primary, name)  # replicated again: the removal's position does not hold it back


def test_a_name_taken_in_the_peer_fails_the_region_until_force_overwrite(pair: Pair, primary: Any) -> None:
    name = unique_name("peer-name")
    peer(pair).create_secret(Name=name, SecretString="theirs")
    primary.create_secret(Name=name, SecretString="ours", AddReplicaRegions=[{"Region": PEER_REGION}])
    wait_for(lambda: status(primary, name)[PEER_REGION]["Status"] == "Failed", "Failed", POLL_S)
    assert status(primary, name)[PEER_REGION]["StatusMessage"] == "Secret with this name already exists in this region"
    assert peer(pair).get_secret_value(SecretId=name)["SecretString"] == "theirs"
    primary.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": PEER_REGION}],
                                        ForceOverwriteReplicaSecret=True)
    same_state(pair, primary, name)
    assert peer(pair).describe_secret(SecretId=name)["PrimaryRegion"] == "us-east-1"


def test_promotion_in_the_peer_is_learnt_by_the_primary_on_its_next_delivery(pair: Pair, primary: Any) -> None:
    name = unique_name("peer-promote")
    primary.create_secret(Name=name, SecretString="v1", AddReplicaRegions=[{"Region": PEER_REGION}])
    in_sync(primary, name)
    peer(pair).stop_replication_to_replica(SecretId=name)
    assert "PrimaryRegion" not in peer(pair).describe_secret(SecretId=name)
    peer(pair).put_secret_value(SecretId=name, SecretString="standalone")  # writable now
    primary.put_secret_value(SecretId=name, SecretString="v2")
    wait_for(lambda: PEER_REGION not in status(primary, name), "the region forgotten by the primary", POLL_S)
    assert "PrimaryRegion" not in primary.describe_secret(SecretId=name)
    assert peer(pair).get_secret_value(SecretId=name)["SecretString"] == "standalone"


def test_the_wire_and_the_outbox_hold_no_plaintext(pair: Pair, primary: Any) -> None:
    name = unique_name("peer-wire")
    plaintext = "wire-canary-" + unique_name("v")
    primary.create_secret(Name=name, SecretString=plaintext, AddReplicaRegions=[{"Region": PEER_REGION}])
    same_state(pair, primary, name)
    sent = pair.proxy.recorded()
    assert b"ApplyReplicaState" in sent and name.encode() in sent  # the capture saw the deliveries
    for form in (plaintext.encode(), base64.b64encode(plaintext.encode())):
        assert form not in sent
    for data_dir in (pair.primary.data_dir, pair.peer.data_dir):
        with sqlite3.connect(data_dir / "strongroom.db") as db:
            rows = db.execute("SELECT kind, detail FROM outbox_events").fetchall()
            jobs = db.execute("SELECT payload FROM job_items").fetchall()
        assert rows and not any(plaintext in (detail or "") for _, detail in rows)
        assert not any(plaintext in str(payload) for (payload,) in jobs)


def test_wrong_peer_credentials_fail_the_region_with_the_reason(pair: Pair, tmp_path: Path) -> None:
    key_id, _ = admin_credentials(pair.peer.data_dir)
    config = primary_config(tmp_path, "wrong", f"http://127.0.0.1:{pair.proxy.port}", key_id,
                            "not-the-secret-key-of-that-access-key", pair.transfer_key)
    other = start_server(tmp_path / "data", tmp_path / "logs", extra_args=["--config", str(config)])
    try:
        wrong = make_client(other.endpoint)
        name = unique_name("peer-creds")
        wrong.create_secret(Name=name, SecretString="v1", AddReplicaRegions=[{"Region": PEER_REGION}])
        wait_for(lambda: status(wrong, name)[PEER_REGION]["Status"] == "Failed", "Failed", POLL_S)
        message = status(wrong, name)[PEER_REGION]["StatusMessage"]
        assert message.startswith(f"peer {PEER_REGION} refused the request: InvalidSignatureException: "), message
    finally:
        other.stop()


def peer_admin(pair: Pair, command: str, *args: str) -> dict[str, Any]:
    """``strongroom admin`` on the peer's data directory; its JSON answer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "admin", command, "--data-dir", str(pair.peer.data_dir), *args],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )
    return dict(json.loads(done.stdout or "{}"))


def test_the_peer_authorizes_deliveries_with_its_policies(pair: Pair, tmp_path: Path) -> None:
    peer_admin(pair, "create-user", "--user-name", "replicator")
    key = peer_admin(pair, "create-access-key", "--user-name", "replicator")
    config = primary_config(tmp_path, "replicator", f"http://127.0.0.1:{pair.proxy.port}", key["AccessKeyId"],
                            key["SecretAccessKey"], pair.transfer_key)
    other = start_server(tmp_path / "data", tmp_path / "logs", extra_args=["--config", str(config)])
    try:
        client = make_client(other.endpoint)
        name = unique_name("peer-authz")
        client.create_secret(Name=name, SecretString="v1", AddReplicaRegions=[{"Region": PEER_REGION}])
        wait_for(lambda: status(client, name)[PEER_REGION]["Status"] == "Failed", "Failed", POLL_S)
        message = status(client, name)[PEER_REGION]["StatusMessage"]
        assert message.startswith(f"peer {PEER_REGION} refused the request: AccessDeniedException: "), message
        assert "strongroom-replication:ApplyReplicaState" in message
        peer_admin(pair, "put-user-policy", "--user-name", "replicator", "--policy-name", "replication",
                   "--policy-document", json.dumps({"Version": "2012-10-17", "Statement": [{
                       "Effect": "Allow", "Action": "strongroom-replication:*",
                       "Resource": f"arn:aws:secretsmanager:{PEER_REGION}:123456789012:secret:*",
                   }]}))

        def retried_in_sync() -> bool:  # naming a Failed region again retries it at once
            client.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": PEER_REGION}])
            return status(client, name)[PEER_REGION]["Status"] == "InSync" or bool(
                wait_for_quietly(lambda: status(client, name)[PEER_REGION]["Status"] == "InSync")
            )

        wait_for(retried_in_sync, "InSync once allowed", POLL_S)
        assert peer(pair).get_secret_value(SecretId=name)["SecretString"] == "v1"
    finally:
        other.stop()


def wait_for_quietly(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    try:
        wait_for(check, "", timeout)
    except AssertionError:
        return False
    return True


def test_a_replica_key_the_peer_lacks_fails_the_region_with_the_reason(pair: Pair, primary: Any) -> None:
    name = unique_name("peer-kms")
    primary.create_secret(Name=name, SecretString="v1",
                          AddReplicaRegions=[{"Region": PEER_REGION, "KmsKeyId": "alias/not-in-the-peer"}])
    wait_for(lambda: status(primary, name)[PEER_REGION]["Status"] == "Failed", "Failed", POLL_S)
    entry = status(primary, name)[PEER_REGION]
    assert entry["KmsKeyId"] == "alias/not-in-the-peer" and "alias/not-in-the-peer" in entry["StatusMessage"]


def test_an_https_peer_is_checked_against_its_ca_file(pair: Pair, tmp_path: Path) -> None:
    ca_file, context = self_signed(tmp_path)
    tls = RecordingProxy(pair.peer.port, tls=context)
    key_id, secret = admin_credentials(pair.peer.data_dir)
    trusting = primary_config(tmp_path, "trusting", f"https://127.0.0.1:{tls.port}", key_id, secret,
                              pair.transfer_key, ca_file=ca_file)
    system = primary_config(tmp_path, "system", f"https://127.0.0.1:{tls.port}", key_id, secret, pair.transfer_key)
    servers = [
        start_server(tmp_path / f"data-{n}", tmp_path / f"logs-{n}", extra_args=["--config", str(c)])
        for n, c in (("trusting", trusting), ("system", system))
    ]
    try:
        good, bad = (make_client(server.endpoint) for server in servers)
        plaintext = "tls-canary-" + unique_name("v")
        name = unique_name("peer-tls")
        good.create_secret(Name=name, SecretString=plaintext, AddReplicaRegions=[{"Region": PEER_REGION}])
        in_sync(good, name)
        assert peer(pair).get_secret_value(SecretId=name)["SecretString"] == plaintext
        assert b"ApplyReplicaState" in tls.recorded() and plaintext.encode() not in tls.recorded()
        other = unique_name("peer-tls")
        bad.create_secret(Name=other, SecretString="v1", AddReplicaRegions=[{"Region": PEER_REGION}])
        wait_for(lambda: status(bad, other)[PEER_REGION]["Status"] == "Failed", "Failed", POLL_S)
        message = status(bad, other)[PEER_REGION]["StatusMessage"]
        assert message.startswith(f"peer {PEER_REGION} unreachable: ") and "CERTIFICATE_VERIFY_FAILED" in message
    finally:
        for server in servers:
            server.stop()
        tls.close()


def _stream(primary: Any, names: list[str], count: int, stop_at: int, action: Callable[[], None]) -> None:
    """``count`` PutSecretValue calls round-robin over ``names``; ``action`` runs once after ``stop_at``."""
    for i in range(count):
        primary.put_secret_value(SecretId=names[i % len(names)], SecretString=f"value-{i}")
        if i == stop_at:
            action()


def test_peer_stopped_and_restarted_during_changes_catches_up(pair: Pair, primary: Any) -> None:
    names = [unique_name("peer-down") for _ in range(3)]
    for name in names:
        primary.create_secret(Name=name, SecretString="v0", AddReplicaRegions=[{"Region": PEER_REGION}])
    for name in names:
        in_sync(primary, name)

    def stop_peer() -> None:
        pair.peer.stop()

    _stream(primary, names, 30, 10, stop_peer)
    wait_for(lambda: status(primary, names[0])[PEER_REGION]["Status"] == "Failed", "Failed while down", POLL_S)
    message = status(primary, names[0])[PEER_REGION]["StatusMessage"]
    assert message.startswith(f"peer {PEER_REGION} unreachable: "), message
    pair.start_peer()
    for name in names:
        same_state(pair, primary, name)


def test_peer_killed_mid_delivery_ends_equal_with_nothing_applied_twice(pair: Pair, primary: Any) -> None:
    names = [unique_name("peer-kill") for _ in range(4)]
    for name in names:
        primary.create_secret(Name=name, SecretString="v0", AddReplicaRegions=[{"Region": PEER_REGION}])
    killed = threading.Event()

    def kill_peer() -> None:
        pair.peer.kill()
        killed.set()

    _stream(primary, names, 40, 15, kill_peer)
    assert killed.is_set()
    pair.start_peer()
    for name in names:
        same_state(pair, primary, name)
    # Each version once, under the labels the primary gives it (same_state compared them), and the
    # peer's positions never ahead of the primary's outbox.
    with sqlite3.connect(pair.peer.data_dir / "strongroom.db") as db:
        positions = dict(db.execute("SELECT replica_arn, position FROM peer_replica_positions").fetchall())
    with sqlite3.connect(pair.primary.data_dir / "strongroom.db") as db:
        latest = db.execute("SELECT MAX(id) FROM outbox_events").fetchone()[0]
    assert positions and max(positions.values()) <= latest
