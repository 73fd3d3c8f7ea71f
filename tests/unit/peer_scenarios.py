"""Replication between deployments in one process, for any store: two Services over two stores (the
primary's deployment serving us-east-1, the peer's serving eu-west-1), the sending side's HTTP call
replaced by a direct call of the peer's handlers (with the JSON round trip the wire makes).

tests/unit/test_peer_scenarios.py runs them on SQLite, tests/pg/test_pg_peer_replication.py on PostgreSQL;
tests/e2e/test_peer_replication.py runs two real servers.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from replication_scenarios import EAST, EU, MASTER, Opener, World, raises

from strongroom.errors import AccessDeniedException, ApiError
from strongroom.jobs import Backoff, Job, JobRuntime
from strongroom.kms.master_key import MasterKey
from strongroom.regions import AcceptedRegions
from strongroom.secrets.replication import receive, remote
from strongroom.secrets.replication.peer_client import PeerCallFailed
from strongroom.secrets.replication.peer_wire import APPLY, BAD_METADATA, NOT_OPENED, REMOVE
from strongroom.secrets.replication.regions import (
    remove_regions_from_replication,
    replicate_secret_to_regions,
    stop_replication_to_replica,
)
from strongroom.secrets.replication.relay import PEER_CONCURRENCY, PROBE_INTERVAL, Relay
from strongroom.secrets.replication.targets import NAME_TAKEN
from strongroom.service.dependencies import Services
from strongroom.service.peers import Peer
from strongroom.sigv4 import Credentials

A = "111111111111"
KEY = os.urandom(32)
HANDLERS = {APPLY: receive.apply_state, REMOVE: receive.remove_replica}


class Pair:
    """The primary's world (us-east-1) and the peer's (eu-west-1), and the calls between them."""

    def __init__(self, primary: World, peer: World) -> None:
        self.primary, self.peer = primary, peer
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.down: str | None = None

    async def call(self, peer: Peer, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """What peer_client.call does, through the peer's handlers (its JSON round trip included)."""
        wire = orjson.loads(orjson.dumps(params))
        self.sent.append((operation, wire))
        if self.down is not None:
            raise PeerCallFailed(f"peer {peer.region} unreachable: {self.down}")
        return await self.receive(operation, wire)

    async def receive(self, operation: str, wire: dict[str, Any]) -> dict[str, Any]:
        params = dict(wire)
        if "Versions" in params:
            params["Versions"] = [{**v, "SealedValue": base64.b64decode(v["SealedValue"])} for v in params["Versions"]]
        try:
            return await HANDLERS[operation](self.peer.services, self.peer.ctx(operation, EU, A), params)
        except ApiError as exc:
            raise PeerCallFailed(exc.message, exc.code) from None

    async def run_removals(self) -> None:
        """Run the queued RemoveReplica work items as the jobs runtime would."""
        rows = await self.primary.rows(
            "SELECT id, kind, dedupe_key AS key, payload FROM job_items WHERE state = 'pending'"
        )
        for row in rows:
            await remote.remove_at_peer(self.primary.services, Job(
                row["id"], row["kind"], row["key"], orjson.loads(row["payload"]), 1, remote.REMOVE_ATTEMPTS,
            ))


@asynccontextmanager
async def paired(open_primary: Opener, open_peer: Opener, monkeypatch: pytest.MonkeyPatch,
                 peer_key: bytes = KEY) -> Any:
    stores = [await open_primary(), await open_peer()]
    try:
        sending = Peer(EU, KEY, "http://peer.invalid", Credentials("AKIDPEER", "secret"))
        primary = Services.build(stores[0], MasterKey(MASTER), AcceptedRegions([EAST]), {EU: sending})
        primary.jobs = JobRuntime(stores[0], "test")
        primary.jobs.register_handler(remote.REMOVE_JOB, lambda job: remote.remove_at_peer(primary, job))
        peer = Services.build(stores[1], MasterKey(bytes(reversed(MASTER))), AcceptedRegions([EU]),
                              {EAST: Peer(EAST, peer_key)})
        pair = Pair(World(primary), World(peer))
        monkeypatch.setattr(remote, "call", pair.call)
        yield pair
    finally:
        for store in stores:
            await store.close()


Scenario = Callable[[Opener, Opener, pytest.MonkeyPatch], Awaitable[None]]


async def a_replica_lives_in_the_peer_and_repeats_change_nothing(a: Opener, b: Opener, mp: pytest.MonkeyPatch) -> None:
    async with paired(a, b, mp) as p:
        created = await p.primary.create("db", "v1", Description="d", AddReplicaRegions=[{"Region": EU}])
        assert [(s["Region"], s["Status"]) for s in created["ReplicationStatus"]] == [(EU, "InProgress")]
        await p.primary.settle()
        assert [s["Status"] for s in (await p.primary.describe("db"))["ReplicationStatus"]] == ["InSync"]
        replica = await p.peer.describe("db", EU)
        assert replica["ARN"] == created["ARN"].replace(EAST, EU) and replica["PrimaryRegion"] == EAST
        assert replica["Description"] == "d" and await p.peer.value("db", EU) == "v1"
        await p.primary.put("db", "v2")
        await p.primary.settle()
        assert await p.peer.value("db", EU) == "v2"
        events = await p.peer.rows("SELECT id FROM outbox_events")
        last = p.sent[-1][1]
        assert await p.receive(APPLY, last) == {"Applied": False}  # the same delivery again
        first = next(params for op, params in p.sent if op == APPLY)
        assert await p.receive(APPLY, first) == {"Applied": False}  # a stale one
        assert await p.peer.rows("SELECT id FROM outbox_events") == events
        assert await p.peer.value("db", EU) == "v2"
        # The values went sealed: neither the request nor the peer's store holds the primary's ciphertext.
        assert b"v2" not in orjson.dumps(last)


async def an_unreachable_peer_fails_the_region_until_it_answers(a: Opener, b: Opener, mp: pytest.MonkeyPatch) -> None:
    async with paired(a, b, mp) as p:
        await p.primary.create("app", "v1", AddReplicaRegions=[{"Region": EU}])
        p.down = "connection refused"
        await p.primary.replicate()
        entry = (await p.primary.describe("app"))["ReplicationStatus"][0]
        assert (entry["Status"], entry["StatusMessage"]) == ("Failed", f"peer {EU} unreachable: connection refused")
        p.down = None
        await p.primary.relay.tick(time.time() + 3600)  # past the backoff
        assert [s["Status"] for s in (await p.primary.describe("app"))["ReplicationStatus"]] == ["InSync"]
        assert await p.peer.value("app", EU) == "v1"


async def a_peer_back_after_an_outage_catches_up_without_waiting_for_backoff(
    a: Opener, b: Opener, mp: pytest.MonkeyPatch
) -> None:
    async with paired(a, b, mp) as p:
        p.primary.relay = Relay(p.primary.services, backoff=Backoff(base=1000.0, cap=1000.0))  # long waits
        names = [f"s{i}" for i in range(PEER_CONCURRENCY + 2)]
        for name in names:
            await p.primary.create(name, "v1", AddReplicaRegions=[{"Region": EU}])
        now = time.time()
        p.down = "connection refused"
        await p.primary.relay.tick(now)
        calls = len(p.sent)
        assert calls <= PEER_CONCURRENCY < len(names)  # once unreachable, the others fail without a call
        assert {(await p.primary.describe(n))["ReplicationStatus"][0]["Status"] for n in names} == {"Failed"}
        await p.primary.relay.tick(now + 1 + PROBE_INTERVAL)  # still down: one probe, one call
        assert len(p.sent) == calls + 1
        p.down = None
        await p.primary.relay.tick(now + 2 + 2 * PROBE_INTERVAL)  # long before any target's next attempt
        for name in names:
            assert [s["Status"] for s in (await p.primary.describe(name))["ReplicationStatus"]] == ["InSync"]
            assert await p.peer.value(name, EU) == "v1"
        # A target failed for another reason than the peer's silence keeps its backoff.
        await p.peer.create("taken", "theirs", EU)
        await p.primary.create("taken", "ours", AddReplicaRegions=[{"Region": EU}])
        await p.primary.relay.tick(now + 3 + 2 * PROBE_INTERVAL)
        entry = (await p.primary.describe("taken"))["ReplicationStatus"][0]
        assert (entry["Status"], entry["StatusMessage"]) == ("Failed", NAME_TAKEN)
        calls = len(p.sent)
        await p.primary.relay.tick(now + 4 + 3 * PROBE_INTERVAL)  # a probe finds nothing to try
        assert len(p.sent) == calls


async def a_removal_holds_back_a_late_delivery(a: Opener, b: Opener, mp: pytest.MonkeyPatch) -> None:
    async with paired(a, b, mp) as p:
        await p.primary.create("gone", "v1", AddReplicaRegions=[{"Region": EU}])
        await p.primary.settle()
        late = p.sent[-1][1]
        answer = await p.primary.call(remove_regions_from_replication, "RemoveRegionsFromReplication",
                                      SecretId="gone", RemoveReplicaRegions=[EU])
        assert answer["ReplicationStatus"] == []
        await p.peer.describe("gone", EU)  # deleted when the work item runs
        await p.run_removals()
        assert not await p.peer.rows("SELECT id FROM secrets WHERE name = 'gone'")
        assert await p.receive(APPLY, late) == {"Applied": False}  # on its way before the removal
        assert not await p.peer.rows("SELECT id FROM secrets WHERE name = 'gone'")


async def a_transfer_key_that_differs_fails_the_region(a: Opener, b: Opener, mp: pytest.MonkeyPatch) -> None:
    async with paired(a, b, mp, peer_key=os.urandom(32)) as p:
        await p.primary.create("k", "v1", AddReplicaRegions=[{"Region": EU}])
        await p.primary.replicate()
        entry = (await p.primary.describe("k"))["ReplicationStatus"][0]
        assert (entry["Status"], entry["StatusMessage"]) == ("Failed", NOT_OPENED.format(region=EAST))
        assert not await p.peer.rows("SELECT id FROM secrets")


async def promotion_in_the_peer_stops_replication_at_the_next_delivery(
    a: Opener, b: Opener, mp: pytest.MonkeyPatch
) -> None:
    async with paired(a, b, mp) as p:
        await p.primary.create("p", "v1", AddReplicaRegions=[{"Region": EU}])
        await p.primary.settle()
        await p.peer.call(stop_replication_to_replica, "StopReplicationToReplica", EU, SecretId="p")
        await p.primary.put("p", "v2")
        await p.primary.settle()
        described = await p.primary.describe("p")
        assert "ReplicationStatus" not in described and "PrimaryRegion" not in described
        assert await p.peer.value("p", EU) == "v1"
        # Replicating to the region again: the promoted secret holds the name like any standalone one.
        await p.primary.call(replicate_secret_to_regions, "ReplicateSecretToRegions", SecretId="p",
                             AddReplicaRegions=[{"Region": EU}])
        await p.primary.replicate()
        entry = (await p.primary.describe("p"))["ReplicationStatus"][0]
        assert (entry["Status"], entry.get("StatusMessage")) == ("Failed", NAME_TAKEN)
        await p.primary.call(replicate_secret_to_regions, "ReplicateSecretToRegions", SecretId="p",
                             AddReplicaRegions=[{"Region": EU}], ForceOverwriteReplicaSecret=True)
        await p.primary.settle()
        assert [s["Status"] for s in (await p.primary.describe("p"))["ReplicationStatus"]] == ["InSync"]
        assert await p.peer.value("p", EU) == "v2"
        assert (await p.peer.describe("p", EU))["PrimaryRegion"] == EAST


async def only_configured_peers_may_send_well_formed_states(a: Opener, b: Opener, mp: pytest.MonkeyPatch) -> None:
    async with paired(a, b, mp) as p:
        await p.primary.create("x", "v1", AddReplicaRegions=[{"Region": EU}])
        await p.primary.settle()
        forged = dict(p.sent[-1][1])
        forged["PrimaryArn"] = forged["PrimaryArn"].replace(EAST, "ap-south-1")
        forged["Position"] += 1
        with pytest.raises(PeerCallFailed) as caught:
            await p.receive(APPLY, forged)
        assert caught.value.code == AccessDeniedException.__name__
        await raises(AccessDeniedException, receive.apply_state(p.peer.services, p.peer.ctx(APPLY, EU, A), {
            **forged, "Versions": [],
        }))
        honest = dict(p.sent[-1][1])
        for metadata in ('{"tags": "x"}', '{"colour": "red"}', '{"rotation_enabled": "yes"}', "[1]", "{"):
            with pytest.raises(PeerCallFailed) as caught:
                await p.receive(APPLY, {**honest, "Metadata": metadata, "Position": honest["Position"] + 1})
            assert (caught.value.code, caught.value.message) == ("ReplicationFailedException", BAD_METADATA)


SCENARIOS: list[Scenario] = [
    a_replica_lives_in_the_peer_and_repeats_change_nothing,
    an_unreachable_peer_fails_the_region_until_it_answers,
    a_removal_holds_back_a_late_delivery,
    a_peer_back_after_an_outage_catches_up_without_waiting_for_backoff,
    a_transfer_key_that_differs_fails_the_region,
    promotion_in_the_peer_stops_replication_at_the_next_delivery,
    only_configured_peers_may_send_well_formed_states,
]
__all__ = ["SCENARIOS", "Scenario"]
