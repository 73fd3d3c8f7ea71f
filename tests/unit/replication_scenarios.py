"""Replication scenarios in one process, for any store: the operations' handlers and the relay's tick.

Each scenario takes an :data:`Opener` (a fresh, migrated, empty store) and drives Secrets Manager's
handlers directly (as the API would, authorization aside: tests/authz covers it) in several
regions and two accounts, running the relay by calling its tick, so nothing waits on a clock.
tests/unit/test_replication_scenarios.py runs them on SQLite, tests/pg/test_pg_replication.py on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest

from strongroom.crypto.envelope import key_id_of, version_aad
from strongroom.errors import (
    ApiError,
    InvalidParameterException,
    LimitExceededException,
    ResourceNotFoundException,
)
from strongroom.kms.errors import CannotDecrypt
from strongroom.kms.master_key import MasterKey
from strongroom.regions import AcceptedRegions
from strongroom.secrets.create import create_secret
from strongroom.secrets.deletion import delete_secret, restore_secret
from strongroom.secrets.describe import describe_secret, list_secret_version_ids
from strongroom.secrets.listing import list_secrets
from strongroom.secrets.replicas import CROSS_ACCOUNT_DELETE, CROSS_ACCOUNT_VALUES, REPLICA_WRITE
from strongroom.secrets.replication.accounts import (
    associate_cross_account_replica,
    disassociate_cross_account_replica,
)
from strongroom.secrets.replication.destination import PrimaryState
from strongroom.secrets.replication.local import LocalDestination
from strongroom.secrets.replication.regions import (
    remove_regions_from_replication,
    replicate_secret_to_regions,
    stop_replication_to_replica,
)
from strongroom.secrets.replication.relay import Relay, read_state
from strongroom.secrets.replication.targets import NAME_TAKEN
from strongroom.secrets.resource_policy import (
    delete_resource_policy,
    get_resource_policy,
    list_resource_policies,
    put_resource_policy,
)
from strongroom.secrets.tags import tag_resource, untag_resource
from strongroom.secrets.update import update_secret, update_secret_version_stage
from strongroom.secrets.values import get_secret_value, put_secret_value
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.base import Store

Opener = Callable[[], Awaitable[Store]]

A, B = "111111111111", "222222222222"  # the primary's account, a replica's account
EAST, WEST, EU = "us-east-1", "us-west-2", "eu-west-1"
MASTER = bytes(range(32))
POLICY = orjson.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                   "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
}).decode()  # fmt: skip
SERVED = AcceptedRegions([EAST, WEST, EU])


class World:
    """Services over one store, callers in any account and region, and the relay."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.relay = Relay(services)
        self.tokens = 0

    def ctx(self, action: str, region: str = EAST, account: str = A) -> RequestContext:
        return RequestContext(account, region, f"arn:aws:iam::{account}:root", time.time(), action=action)

    async def call(self, handler: Any, action: str, region: str = EAST, account: str = A, **params: Any) -> Any:
        return await handler(self.services, self.ctx(action, region, account), params)

    def token(self) -> str:
        self.tokens += 1
        return f"{self.tokens:032d}"

    async def create(self, name: str, value: str, region: str = EAST, **params: Any) -> dict[str, Any]:
        return dict(await self.call(create_secret, "CreateSecret", region, Name=name, SecretString=value,
                                    ClientRequestToken=self.token(), **params))

    async def put(self, secret_id: str, value: str, region: str = EAST, **params: Any) -> dict[str, Any]:
        return dict(await self.call(put_secret_value, "PutSecretValue", region, SecretId=secret_id,
                                    SecretString=value, ClientRequestToken=self.token(), **params))

    async def value(self, secret_id: str, region: str = EAST, account: str = A, **params: Any) -> str:
        got = await self.call(get_secret_value, "GetSecretValue", region, account, SecretId=secret_id, **params)
        return str(got["SecretString"])

    async def describe(self, secret_id: str, region: str = EAST, account: str = A) -> dict[str, Any]:
        return dict(await self.call(describe_secret, "DescribeSecret", region, account, SecretId=secret_id))

    async def replicate(self) -> int:
        """One relay tick, a second after now (so retries due within a second run too)."""
        return await self.relay.tick(time.time())

    async def settle(self) -> None:
        """Tick until nothing is due (a change is one delivery; bounded)."""
        for _ in range(5):
            if not await self.replicate():
                return
        raise AssertionError("the relay kept delivering")

    async def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        async with self.services.store.read() as tx:
            return [dict(r) for r in await tx.x.fetch(sql, *args)]  # type: ignore[attr-defined]


@asynccontextmanager
async def world(open_store: Opener) -> Any:
    store = await open_store()
    try:
        yield World(Services.build(store, MasterKey(MASTER), SERVED))
    finally:
        await store.close()


async def raises(error: type[ApiError], call: Awaitable[Any], message: str | None = None) -> ApiError:
    with pytest.raises(error) as caught:
        await call
    if message is not None:
        assert caught.value.message == message
    return caught.value


def statuses(described: dict[str, Any]) -> dict[str, str]:
    return {entry["Region"]: entry["Status"] for entry in described.get("ReplicationStatus", [])}


# --- cross-region replicas -----------------------------------------------------------------------
async def create_with_replicas_reaches_in_sync(open_store: Opener) -> None:
    async with world(open_store) as w:
        created = await w.create("db", "v1", AddReplicaRegions=[{"Region": WEST}, {"Region": EU}])
        arn = created["ARN"]
        assert [(s["Region"], s["Status"], s["KmsKeyId"]) for s in created["ReplicationStatus"]] == [
            (WEST, "InProgress", "alias/aws/secretsmanager"), (EU, "InProgress", "alias/aws/secretsmanager"),
        ]
        await raises(ResourceNotFoundException, w.value("db", WEST))  # nothing delivered yet
        await w.settle()
        primary = await w.describe("db")
        assert statuses(primary) == {WEST: "InSync", EU: "InSync"}
        assert primary["PrimaryRegion"] == EAST
        for region in (WEST, EU):
            replica = await w.describe("db", region)
            assert replica["ARN"] == arn.replace(f":{EAST}:", f":{region}:")  # same suffix, its own region
            assert replica["Name"] == "db" and replica["PrimaryRegion"] == EAST
            assert "ReplicationStatus" not in replica and "CrossAccountPrimary" not in replica
            assert replica["VersionIdsToStages"] == primary["VersionIdsToStages"]
            assert await w.value(replica["ARN"], region) == "v1"
        listed = await w.call(list_secrets, "ListSecrets", WEST, Filters=[{"Key": "primary-region", "Values": [EAST]}])
        assert [s["Name"] for s in listed["SecretList"]] == ["db"]
        assert listed["SecretList"][0]["PrimaryRegion"] == EAST
        assert not (await w.call(list_secrets, "ListSecrets", WEST,
                                 Filters=[{"Key": "primary-region", "Values": [WEST]}]))["SecretList"]


async def replicate_later_and_every_change_propagates(open_store: Opener) -> None:
    async with world(open_store) as w:
        first = (await w.create("app", "v1", Description="d1", Tags=[{"Key": "team", "Value": "a"}]))["VersionId"]
        answer = await w.call(replicate_secret_to_regions, "ReplicateSecretToRegions", SecretId="app",
                              AddReplicaRegions=[{"Region": WEST}])
        assert [(s["Region"], s["Status"]) for s in answer["ReplicationStatus"]] == [(WEST, "InProgress")]
        await w.settle()
        second = (await w.put("app", "v2"))["VersionId"]
        assert statuses(await w.describe("app")) == {WEST: "InProgress"}  # a change waits for the relay
        await w.call(update_secret_version_stage, "UpdateSecretVersionStage", SecretId="app", VersionStage="blue",
                     MoveToVersionId=first)
        await w.call(update_secret, "UpdateSecret", SecretId="app", Description="d2")
        await w.call(tag_resource, "TagResource", SecretId="app", Tags=[{"Key": "env", "Value": "p"}])
        await w.call(untag_resource, "UntagResource", SecretId="app", TagKeys=["team"])
        await w.call(put_resource_policy, "PutResourcePolicy", SecretId="app", ResourcePolicy=POLICY)
        assert await w.replicate() == 1  # six changes, one delivery of the latest state
        primary, replica = await w.describe("app"), await w.describe("app", WEST)
        assert statuses(primary) == {WEST: "InSync"}
        assert replica["VersionIdsToStages"] == primary["VersionIdsToStages"] == {
            first: ["AWSPREVIOUS", "blue"], second: ["AWSCURRENT"],
        }
        assert (replica["Description"], replica["Tags"]) == ("d2", [{"Key": "env", "Value": "p"}])
        policy = await w.call(get_resource_policy, "GetResourcePolicy", WEST, SecretId="app")
        assert policy["ResourcePolicy"] == POLICY
        assert await w.value("app", WEST) == "v2"
        assert await w.value("app", WEST, VersionStage="AWSPREVIOUS") == "v1"
        await w.call(delete_resource_policy, "DeleteResourcePolicy", SecretId="app")
        await w.call(update_secret_version_stage, "UpdateSecretVersionStage", SecretId="app", VersionStage="blue",
                     RemoveFromVersionId=first)
        await w.settle()
        replica = await w.describe("app", WEST)
        assert replica["VersionIdsToStages"] == {first: ["AWSPREVIOUS"], second: ["AWSCURRENT"]}
        assert "ResourcePolicy" not in await w.call(get_resource_policy, "GetResourcePolicy", WEST, SecretId="app")
        assert await w.settle() is None and await w.replicate() == 0  # in sync: nothing more to deliver


async def replica_has_its_own_key_and_ciphertext(open_store: Opener) -> None:
    async with world(open_store) as w:
        keyring = w.services.keyring
        west_key = await keyring.create_key(A, WEST, alias="alias/west")
        await w.create("k", "secret-value-123")
        answer = await w.call(replicate_secret_to_regions, "ReplicateSecretToRegions", SecretId="k",
                              AddReplicaRegions=[{"Region": WEST, "KmsKeyId": "alias/west"}])
        assert answer["ReplicationStatus"][0]["KmsKeyId"] == "alias/west"
        await w.settle()
        replica = await w.describe("k", WEST)
        assert replica["KmsKeyId"] == "alias/west"
        rows = await w.rows(
            "SELECT s.arn, s.region, v.version_id, v.ciphertext FROM versions v JOIN secrets s ON s.id = v.secret_id "
            "WHERE s.name = $1", "k",
        )
        blobs = {r["region"]: (r["arn"], r["version_id"], bytes(r["ciphertext"])) for r in rows}
        (p_arn, vid, p_blob), (r_arn, r_vid, r_blob) = blobs[EAST], blobs[WEST]
        assert vid == r_vid and p_blob != r_blob and b"secret-value-123" not in r_blob
        assert key_id_of(r_blob) == west_key.arn and key_id_of(p_blob) != west_key.arn
        assert await keyring.open(A, WEST, r_blob, version_aad(r_arn, vid)) == b"secret-value-123"
        with pytest.raises(CannotDecrypt):  # bound to the replica's ARN: the primary's opens nothing here
            await keyring.open(A, WEST, r_blob, version_aad(p_arn, vid))
        with pytest.raises(CannotDecrypt):  # and the replica's key lives in its own region
            await keyring.open(A, EAST, r_blob, version_aad(r_arn, vid))


async def replica_changes_its_own_key(open_store: Opener) -> None:
    """The one change a region replica takes: its key (and the primary's ReplicationStatus shows it)."""
    async with world(open_store) as w:
        await w.create("rk", "v1", AddReplicaRegions=[{"Region": WEST}])
        await w.settle()
        key = await w.services.keyring.create_key(A, WEST, alias="alias/mine")
        await w.call(update_secret, "UpdateSecret", WEST, SecretId="rk", KmsKeyId="alias/mine")
        assert (await w.describe("rk", WEST))["KmsKeyId"] == "alias/mine"
        assert (await w.describe("rk"))["ReplicationStatus"][0]["KmsKeyId"] == "alias/mine"
        await w.put("rk", "v2")
        await w.settle()
        assert await w.value("rk", WEST) == "v2"
        blobs = await w.rows("SELECT v.ciphertext FROM versions v JOIN secrets s ON s.id = v.secret_id "
                             "WHERE s.region = $1", WEST)
        assert {key_id_of(bytes(r["ciphertext"])) for r in blobs} == {key.arn}  # re-encrypted, then sealed so


async def missing_replica_key_fails_then_recovers(open_store: Opener) -> None:
    async with world(open_store) as w:
        await w.create("m", "v")
        await w.call(replicate_secret_to_regions, "ReplicateSecretToRegions", SecretId="m",
                     AddReplicaRegions=[{"Region": WEST, "KmsKeyId": "alias/later"}])
        assert await w.replicate() == 0
        entry = (await w.describe("m"))["ReplicationStatus"][0]
        assert entry["Status"] == "Failed"
        assert entry["StatusMessage"].startswith("The operation failed because of an invalid KMS key: Alias ")
        await w.services.keyring.create_key(A, WEST, alias="alias/later")
        assert await w.relay.tick(time.time() + 3) == 1  # after the first retry's backoff (1 s at most)
        assert statuses(await w.describe("m")) == {WEST: "InSync"}
        assert await w.value("m", WEST) == "v"


async def replica_refuses_writes(open_store: Opener) -> None:
    async with world(open_store) as w:
        await w.create("ro", "v", AddReplicaRegions=[{"Region": WEST}])
        await w.settle()
        version = (await w.describe("ro", WEST))["VersionIdsToStages"]
        writes: list[tuple[Any, str, dict[str, Any]]] = [
            (put_secret_value, "PutSecretValue", {"SecretString": "x", "ClientRequestToken": w.token()}),
            (update_secret, "UpdateSecret", {"Description": "x"}),
            (update_secret, "UpdateSecret", {"SecretString": "x", "ClientRequestToken": w.token()}),
            (update_secret_version_stage, "UpdateSecretVersionStage",
             {"VersionStage": "x", "MoveToVersionId": next(iter(version))}),
            (tag_resource, "TagResource", {"Tags": [{"Key": "k", "Value": "v"}]}),
            (untag_resource, "UntagResource", {"TagKeys": ["k"]}),
            (put_resource_policy, "PutResourcePolicy", {"ResourcePolicy": POLICY}),
            (delete_resource_policy, "DeleteResourcePolicy", {}),
            (delete_secret, "DeleteSecret", {}),
            (delete_secret, "DeleteSecret", {"ForceDeleteWithoutRecovery": True}),
            (restore_secret, "RestoreSecret", {}),
            (replicate_secret_to_regions, "ReplicateSecretToRegions", {"AddReplicaRegions": [{"Region": EU}]}),
            (remove_regions_from_replication, "RemoveRegionsFromReplication", {"RemoveReplicaRegions": [EU]}),
        ]  # fmt: skip
        for handler, action, params in writes:
            await raises(InvalidParameterException, w.call(handler, action, WEST, SecretId="ro", **params),
                         REPLICA_WRITE)
        assert await w.value("ro", WEST) == "v"  # reads are served
        assert (await w.call(list_secret_version_ids, "ListSecretVersionIds", WEST, SecretId="ro"))["Versions"]


async def name_conflicts_with_and_without_overwrite(open_store: Opener) -> None:
    async with world(open_store) as w:
        taken = (await w.create("dup", "theirs", WEST))["ARN"]
        await w.create("dup", "ours")
        answer = await w.call(replicate_secret_to_regions, "ReplicateSecretToRegions", SecretId="dup",
                              AddReplicaRegions=[{"Region": WEST}])
        assert answer["ReplicationStatus"] == [{
            "Region": WEST, "KmsKeyId": "alias/aws/secretsmanager", "Status": "Failed", "StatusMessage": NAME_TAKEN,
        }]
        assert await w.relay.tick(time.time() + 3) == 0  # retried, failing the same way
        assert await w.value("dup", WEST) == "theirs"
        assert (await w.describe("dup", WEST))["ARN"] == taken
        again = await w.call(replicate_secret_to_regions, "ReplicateSecretToRegions", SecretId="dup",
                             AddReplicaRegions=[{"Region": WEST}], ForceOverwriteReplicaSecret=True)
        assert [(s["Status"], s.get("StatusMessage")) for s in again["ReplicationStatus"]] == [("InProgress", None)]
        await w.settle()
        replica = await w.describe("dup", WEST)
        assert replica["ARN"] != taken and replica["PrimaryRegion"] == EAST
        assert await w.value("dup", WEST) == "ours"
        await raises(ResourceNotFoundException, w.value(taken, WEST))
        # CreateSecret with AddReplicaRegions and ForceOverwriteReplicaSecret: the same rule.
        await w.create("dup2", "theirs", EU)
        created = await w.create("dup2", "ours", AddReplicaRegions=[{"Region": EU}], ForceOverwriteReplicaSecret=True)
        assert created["ReplicationStatus"][0]["Status"] == "InProgress"
        await w.settle()
        assert await w.value("dup2", EU) == "ours"


async def overwrite_never_takes_another_replica(open_store: Opener) -> None:
    async with world(open_store) as w:
        await w.create("shared", "from-west", WEST, AddReplicaRegions=[{"Region": EU}])
        await w.settle()
        created = await w.create("shared", "from-east", AddReplicaRegions=[{"Region": EU}],
                                 ForceOverwriteReplicaSecret=True)
        assert created["ReplicationStatus"][0]["Status"] == "Failed"
        assert await w.value("shared", EU) == "from-west"


async def regions_requests_are_checked(open_store: Opener) -> None:
    async with world(open_store) as w:
        for regions in ([{"Region": EAST}], [{"Region": "ap-south-1"}], [{"Region": "cn-north-1"}], [{}]):
            await raises(InvalidParameterException, w.create("bad", "v", AddReplicaRegions=regions),
                         "Invalid replica region.")
        await raises(InvalidParameterException, w.create("bad", "v", AddReplicaRegions=[{"Region": WEST}] * 2),
                     "The Region us-west-2 appears more than once in AddReplicaRegions.")
        many = [{"Region": f"xx-test-{n}"} for n in range(51)]
        w.services.regions = AcceptedRegions([EAST, *(r["Region"] for r in many)])
        await raises(InvalidParameterException, w.create("bad", "v", AddReplicaRegions=many),
                     "A secret can have at most 50 replica Regions.")
        w.services.regions = SERVED
        await raises(ResourceNotFoundException, w.value("bad"))  # nothing was created
        await w.create("ok", "v", AddReplicaRegions=[{"Region": WEST}])
        await w.settle()
        same = await w.call(replicate_secret_to_regions, "ReplicateSecretToRegions", SecretId="ok",
                            AddReplicaRegions=[{"Region": WEST}])  # again, same key: nothing to do
        assert [s["Region"] for s in same["ReplicationStatus"]] == [WEST]
        await raises(InvalidParameterException, w.call(
            replicate_secret_to_regions, "ReplicateSecretToRegions", SecretId="ok",
            AddReplicaRegions=[{"Region": WEST, "KmsKeyId": "alias/other"}]))


async def removal_deletes_replicas_at_once(open_store: Opener) -> None:
    async with world(open_store) as w:
        arn = (await w.create("rm", "v", AddReplicaRegions=[{"Region": WEST}, {"Region": EU}]))["ARN"]
        await w.settle()
        answer = await w.call(remove_regions_from_replication, "RemoveRegionsFromReplication", SecretId="rm",
                              RemoveReplicaRegions=[WEST])
        assert answer == {"ARN": arn, "ReplicationStatus": [
            {"Region": EU, "KmsKeyId": "alias/aws/secretsmanager", "Status": "InSync"}]}
        await raises(ResourceNotFoundException, w.describe("rm", WEST))
        assert await w.value("rm", EU) == "v"
        again = await w.call(remove_regions_from_replication, "RemoveRegionsFromReplication", SecretId="rm",
                             RemoveReplicaRegions=[WEST])  # idempotent
        assert [s["Region"] for s in again["ReplicationStatus"]] == [EU]
        await w.call(remove_regions_from_replication, "RemoveRegionsFromReplication", SecretId="rm",
                     RemoveReplicaRegions=[EU])
        primary = await w.describe("rm")
        assert "ReplicationStatus" not in primary and "PrimaryRegion" not in primary
        await w.put("rm", "v2")
        assert await w.replicate() == 0


async def deleting_a_primary_needs_its_replicas_gone(open_store: Opener) -> None:
    async with world(open_store) as w:
        arn = (await w.create("del", "v", AddReplicaRegions=[{"Region": WEST}, {"Region": EU}]))["ARN"]
        for params in ({}, {"ForceDeleteWithoutRecovery": True}):
            await raises(InvalidParameterException,
                         w.call(delete_secret, "DeleteSecret", SecretId="del", **params),
                         f"You can't delete secret {arn} that still has replica regions [{EU}, {WEST}].")
        await w.call(remove_regions_from_replication, "RemoveRegionsFromReplication", SecretId="del",
                     RemoveReplicaRegions=[WEST, EU])
        await w.call(delete_secret, "DeleteSecret", SecretId="del", ForceDeleteWithoutRecovery=True)
        await raises(ResourceNotFoundException, w.describe("del"))
        assert not await w.rows("SELECT id FROM replication_targets")


async def promotion_makes_a_standalone_secret(open_store: Opener) -> None:
    async with world(open_store) as w:
        arn = (await w.create("pro", "v1", Description="d", Tags=[{"Key": "k", "Value": "v"}],
                              AddReplicaRegions=[{"Region": WEST}, {"Region": EU}]))["ARN"]
        await w.settle()
        west_arn = arn.replace(EAST, WEST)
        assert await w.call(stop_replication_to_replica, "StopReplicationToReplica", WEST, SecretId="pro") == {
            "ARN": west_arn}
        promoted = await w.describe("pro", WEST)
        assert "PrimaryRegion" not in promoted and "ReplicationStatus" not in promoted
        assert (promoted["Description"], promoted["Tags"]) == ("d", [{"Key": "k", "Value": "v"}])
        await w.put("pro", "v2", WEST)  # writable now, on its own
        await w.put("pro", "p2")
        await w.settle()
        assert (await w.value("pro", WEST), await w.value("pro"), await w.value("pro", EU)) == ("v2", "p2", "p2")
        assert statuses(await w.describe("pro")) == {EU: "InSync"}
        for region, secret_id in ((EAST, "pro"), (WEST, "pro")):  # a primary, a standalone secret
            await raises(InvalidParameterException,
                         w.call(stop_replication_to_replica, "StopReplicationToReplica", region, SecretId=secret_id))
        await w.call(stop_replication_to_replica, "StopReplicationToReplica", EU, SecretId="pro")
        primary = await w.describe("pro")
        assert "ReplicationStatus" not in primary and "PrimaryRegion" not in primary  # no replica left
        await w.call(delete_secret, "DeleteSecret", SecretId="pro", ForceDeleteWithoutRecovery=True)
        assert await w.value("pro", WEST) == "v2"


async def stale_delivery_changes_nothing(open_store: Opener) -> None:
    """Two relays after a lease handover: an older state delivered after a newer one is ignored."""
    async with world(open_store) as w:
        await w.create("st", "v1", AddReplicaRegions=[{"Region": WEST}])
        await w.settle()
        (target,) = [v.target for v in await _targets(w, "st")]
        async with w.services.store.read() as tx:
            events = await tx.outbox.events_after(0, 1000)
        old_position = max(e.id for e in events if e.secret_arn == target.primary_arn)
        old = await read_state(w.services, target, old_position)
        assert old is not None
        await w.put("st", "v2")
        await w.settle()
        (target,) = [v.target for v in await _targets(w, "st")]
        stale = PrimaryState(old.secret, old.versions, old_position)
        assert await LocalDestination(w.services).deliver(target, stale, time.time()) is False
        assert await w.value("st", WEST) == "v2"
        again = await read_state(w.services, target, target.delivered_id)
        assert again is not None and await LocalDestination(w.services).deliver(target, again, time.time()) is False


async def _targets(w: World, name: str) -> Any:
    async with w.services.store.read() as tx:
        secret = await tx.secrets.get_secret(A, EAST, name=name)
        assert secret is not None
        return await tx.replication.targets_of(secret.id)


async def outbox_keeps_what_replicas_still_need(open_store: Opener) -> None:
    from strongroom.secrets.outbox import prune_outbox

    async with world(open_store) as w:
        await w.create("keep", "v", AddReplicaRegions=[{"Region": WEST}])
        await w.create("alone", "v")
        later = time.time() + 30 * 86400
        assert await prune_outbox(w.services.store, later) == 1  # "alone"'s event; "keep"'s is still needed
        await w.settle()
        assert await prune_outbox(w.services.store, later) >= 1  # delivered: it may go now


# --- cross-account replicas -----------------------------------------------------------------------
async def cross_account_lifecycle(open_store: Opener) -> None:
    async with world(open_store) as w:
        primary_arn = (await w.create("shared", "v1"))["ARN"]
        await w.services.keyring.create_key(B, EAST, alias="alias/replicas")
        create_replica = w.call(create_secret, "CreateSecret", EAST, B, Name="mirror", KmsKeyId="alias/replicas",
                                CrossAccountPrimaryARN=primary_arn)
        replica_arn = (await create_replica)["ARN"]
        replica = await w.describe("mirror", EAST, B)
        assert replica["CrossAccountPrimary"] == {"PrimarySecretARN": primary_arn, "ReplicationStatus": "Pending"}
        assert "PrimaryRegion" not in replica and "VersionIdsToStages" not in replica
        policies = await w.call(list_resource_policies, "ListResourcePolicies", EAST, B, SecretId="mirror")
        assert policies["ResourcePolicies"] == [{"PolicyName": "cross-account-replication"}]
        await raises(ResourceNotFoundException, w.value("mirror", EAST, B))  # no value until associated
        associated = await w.call(associate_cross_account_replica, "AssociateCrossAccountReplica",
                                  SecretId="shared", CrossAccountReplicaARN=replica_arn)
        assert associated == {"ARN": primary_arn, "CrossAccountReplicaARN": replica_arn,
                              "ReplicationStatus": "InProgress"}
        await w.settle()
        assert await w.value("mirror", EAST, B) == "v1"
        primary = await w.describe("shared")
        assert primary["CrossAccountReplicas"] == [{"ReplicaSecretARN": replica_arn, "ReplicationStatus": "InSync"}]
        assert "ReplicationStatus" not in primary
        assert (await w.describe("mirror", EAST, B))["CrossAccountPrimary"]["ReplicationStatus"] == "InSync"
        # Its own metadata stays its own; its versions come from the primary only.
        await w.call(update_secret, "UpdateSecret", EAST, B, SecretId="mirror", Description="mine")
        await w.call(update_secret, "UpdateSecret", SecretId="shared", Description="theirs")
        await w.put("shared", "v2")
        await w.settle()
        replica = await w.describe("mirror", EAST, B)
        assert (replica["Description"], await w.value("mirror", EAST, B)) == ("mine", "v2")
        await raises(InvalidParameterException, w.put("mirror", "x", EAST, account=B), CROSS_ACCOUNT_VALUES)
        await raises(InvalidParameterException, w.call(delete_secret, "DeleteSecret", EAST, B, SecretId="mirror"),
                     CROSS_ACCOUNT_DELETE)
        await raises(InvalidParameterException, w.call(delete_secret, "DeleteSecret", SecretId="shared"))
        # Repair: associating again starts over and is idempotent.
        again = await w.call(associate_cross_account_replica, "AssociateCrossAccountReplica",
                             SecretId="shared", CrossAccountReplicaARN=replica_arn)
        assert again["ReplicationStatus"] == "InProgress"
        await w.settle()
        assert (await w.describe("shared"))["CrossAccountReplicas"][0]["ReplicationStatus"] == "InSync"
        # One cross-account replica per primary.
        other = (await w.call(create_secret, "CreateSecret", EAST, B, Name="mirror2", KmsKeyId="alias/replicas",
                              CrossAccountPrimaryARN=primary_arn))["ARN"]
        await raises(LimitExceededException, w.call(associate_cross_account_replica, "AssociateCrossAccountReplica",
                                                    SecretId="shared", CrossAccountReplicaARN=other))
        # Disassociation: the replica stays, Detached, and receives nothing more.
        gone = await w.call(disassociate_cross_account_replica, "DisassociateCrossAccountReplica",
                            SecretId="shared", CrossAccountReplicaARN=replica_arn)
        assert gone == {"ARN": primary_arn, "CrossAccountReplicaARN": replica_arn}
        assert "CrossAccountReplicas" not in await w.describe("shared")
        assert (await w.describe("mirror", EAST, B))["CrossAccountPrimary"] == {
            "PrimarySecretARN": primary_arn, "ReplicationStatus": "Detached"}
        await w.put("shared", "v3")
        assert await w.replicate() == 0
        assert await w.value("mirror", EAST, B) == "v2"
        await raises(InvalidParameterException, w.call(disassociate_cross_account_replica,
                                                       "DisassociateCrossAccountReplica", SecretId="shared",
                                                       CrossAccountReplicaARN=replica_arn))
        # Promotion by its owner: a standalone secret that can be changed and deleted.
        assert (await w.call(stop_replication_to_replica, "StopReplicationToReplica", EAST, B,
                             SecretId="mirror"))["ARN"] == replica_arn
        assert "CrossAccountPrimary" not in await w.describe("mirror", EAST, B)
        await w.put("mirror", "own", EAST, account=B)
        await w.call(delete_secret, "DeleteSecret", EAST, B, SecretId="mirror", ForceDeleteWithoutRecovery=True)
        await w.call(delete_secret, "DeleteSecret", SecretId="shared", ForceDeleteWithoutRecovery=True)


async def replica_promotion_detaches_the_primarys_entry(open_store: Opener) -> None:
    async with world(open_store) as w:
        primary_arn = (await w.create("p", "v1"))["ARN"]
        await w.services.keyring.create_key(B, EAST, alias="alias/r")
        replica_arn = (await w.call(create_secret, "CreateSecret", EAST, B, Name="r", KmsKeyId="alias/r",
                                    CrossAccountPrimaryARN=primary_arn))["ARN"]
        await w.call(associate_cross_account_replica, "AssociateCrossAccountReplica", SecretId="p",
                     CrossAccountReplicaARN=replica_arn)
        await w.settle()
        await w.call(stop_replication_to_replica, "StopReplicationToReplica", EAST, B, SecretId="r")
        assert (await w.describe("p"))["CrossAccountReplicas"] == [
            {"ReplicaSecretARN": replica_arn, "ReplicationStatus": "Detached"}]
        await w.put("p", "v2")
        assert await w.replicate() == 0 and await w.value("r", EAST, B) == "v1"
        await w.call(delete_secret, "DeleteSecret", SecretId="p", RecoveryWindowInDays=7)  # Detached: no blocker


async def cross_account_requests_are_checked(open_store: Opener) -> None:
    async with world(open_store) as w:
        primary_arn = (await w.create("p", "v"))["ARN"]
        await w.services.keyring.create_key(B, EAST, alias="alias/r")

        def replica(**params: Any) -> Any:
            params = {"Name": "r", "KmsKeyId": "alias/r", "CrossAccountPrimaryARN": primary_arn, **params}
            return w.call(create_secret, "CreateSecret", EAST, B, **params)

        refused: list[dict[str, Any]] = [
            {"SecretString": "x", "ClientRequestToken": w.token()}, {"Description": "d"}, {"Type": "t"},
            {"AddReplicaRegions": [{"Region": WEST}]}, {"KmsKeyId": None}, {"KmsKeyId": "alias/aws/secretsmanager"},
            {"CrossAccountPrimaryARN": primary_arn.replace(A, B)},  # its own account
            {"CrossAccountPrimaryARN": primary_arn.replace(EAST, WEST)},  # another region
        ]  # fmt: skip
        for extra in refused:
            await raises(InvalidParameterException, replica(**extra))
        await raises(ResourceNotFoundException, w.describe("r", EAST, B))  # nothing was created
        stray = (await w.call(create_secret, "CreateSecret", EAST, B, Name="stray", KmsKeyId="alias/r",
                              CrossAccountPrimaryARN=primary_arn.replace("p-", "q-")))["ARN"]
        await raises(InvalidParameterException, w.call(
            associate_cross_account_replica, "AssociateCrossAccountReplica", SecretId="p",
            CrossAccountReplicaARN=stray))
        missing = stray.replace("stray", "nope")
        await raises(ResourceNotFoundException, w.call(
            associate_cross_account_replica, "AssociateCrossAccountReplica", SecretId="p",
            CrossAccountReplicaARN=missing))
        assert "CrossAccountReplicas" not in await w.describe("p")  # a failed association changes nothing
        # A partial primary ARN (no suffix) links too.
        partial = primary_arn.rsplit("-", 1)[0]
        linked = (await replica(Name="r2", CrossAccountPrimaryARN=partial))["ARN"]
        await w.call(associate_cross_account_replica, "AssociateCrossAccountReplica", SecretId="p",
                     CrossAccountReplicaARN=linked)
        await w.settle()
        assert await w.value("r2", EAST, B) == "v"


async def no_plaintext_in_outbox_or_targets(open_store: Opener) -> None:
    async with world(open_store) as w:
        plaintext = "plain-text-never-stored-5b1e"
        await w.create("pt", plaintext, Description="description-visible", AddReplicaRegions=[{"Region": WEST}])
        await w.put("pt", plaintext + "-2")
        await w.settle()
        assert await w.value("pt", WEST) == plaintext + "-2"
        for table in ("outbox_events", "replication_targets", "secrets", "versions", "stages"):
            for row in await w.rows(f"SELECT * FROM {table}"):  # noqa: S608 - a fixed table name
                blobs = b"".join(bytes(v) for v in row.values() if isinstance(v, bytes | memoryview))
                assert plaintext.encode() not in repr(row).encode() + blobs, table
        details = [orjson.loads(r["detail"]) for r in await w.rows("SELECT detail FROM outbox_events")]
        assert any(d.get("versions") for d in details)  # names of versions, never their values


async def a_version_without_a_value_waits_for_its_value(open_store: Opener) -> None:
    """A rotation's AWSPENDING before createSecret (no value) is not delivered and fails nothing; the
    version reaches the replica once PutSecretValue fills it."""
    from strongroom.secrets.changes import SecretChange

    async with world(open_store) as w:
        await w.create("rot", "v1", AddReplicaRegions=[{"Region": WEST}])
        await w.settle()
        pending = "f" * 32
        async with w.services.store.write() as tx:
            secret = await tx.secrets.get_secret(A, EAST, name="rot", for_update=True)
            assert secret is not None
            change = SecretChange(w.services, tx, secret, time.time(), "RotateSecret")
            await change.add_empty_version(pending, ["AWSPENDING"])
            await change.finish()
        await w.settle()
        assert statuses(await w.describe("rot")) == {WEST: "InSync"}
        assert pending not in (await w.describe("rot", WEST))["VersionIdsToStages"]
        await w.call(put_secret_value, "PutSecretValue", SecretId="rot", SecretString="v2",
                     ClientRequestToken=pending, VersionStages=["AWSPENDING"])
        await w.settle()
        replica = await w.describe("rot", WEST)
        assert statuses(await w.describe("rot")) == {WEST: "InSync"}
        assert replica["VersionIdsToStages"][pending] == ["AWSPENDING"]
        assert await w.value("rot", WEST, VersionStage="AWSPENDING") == "v2"


async def late_commit_of_another_secret_is_not_skipped(open_store: Opener) -> None:
    """A change that commits after a later-numbered change of another secret still reaches its replica."""
    import asyncio

    from strongroom.secrets.changes import SecretChange

    async with world(open_store) as w:
        await w.create("slow", "s1", AddReplicaRegions=[{"Region": WEST}])
        await w.create("fast", "f1", AddReplicaRegions=[{"Region": WEST}])
        await w.settle()
        holding, release = asyncio.Event(), asyncio.Event()

        async def slow_change() -> None:
            async with w.services.store.write() as tx:
                secret = await tx.secrets.get_secret(A, EAST, name="slow", for_update=True)
                assert secret is not None
                change = SecretChange(w.services, tx, secret, time.time(), "UpdateSecret")
                change.set(description="late")
                await change.finish()  # its event gets its id now; the commit comes later
                holding.set()
                await release.wait()

        task = asyncio.create_task(slow_change())
        await holding.wait()
        await w.put("fast", "f2")  # a higher outbox id, committed first
        assert await w.replicate() == 1
        assert await w.value("fast", WEST) == "f2"
        release.set()
        await task
        async with w.services.store.read() as tx:
            events = await tx.outbox.events_after(0, 1000)
        late = next(e.id for e in events if e.kind == "UpdateSecret")
        assert late < next(e.id for e in events if e.kind == "PutSecretValue")  # committed out of id order
        assert await w.replicate() == 1
        assert (await w.describe("slow", WEST)).get("Description") == "late"


SCENARIOS: list[Callable[[Opener], Awaitable[None]]] = [
    create_with_replicas_reaches_in_sync,
    replicate_later_and_every_change_propagates,
    replica_has_its_own_key_and_ciphertext,
    replica_changes_its_own_key,
    missing_replica_key_fails_then_recovers,
    replica_refuses_writes,
    name_conflicts_with_and_without_overwrite,
    overwrite_never_takes_another_replica,
    regions_requests_are_checked,
    removal_deletes_replicas_at_once,
    deleting_a_primary_needs_its_replicas_gone,
    promotion_makes_a_standalone_secret,
    stale_delivery_changes_nothing,
    outbox_keeps_what_replicas_still_need,
    cross_account_lifecycle,
    replica_promotion_detaches_the_primarys_entry,
    cross_account_requests_are_checked,
    no_plaintext_in_outbox_or_targets,
    a_version_without_a_value_waits_for_its_value,
]
#: Needs two transactions open at once: PostgreSQL only (SQLite writers serialize).
CONCURRENT_SCENARIOS: list[Callable[[Opener], Awaitable[None]]] = [late_commit_of_another_secret_is_not_skipped]
__all__ = ["CONCURRENT_SCENARIOS", "SCENARIOS", "Opener"]
