"""The relay: a periodic job, one holder per deployment (jobs.periodic), that delivers the primary
secrets' changes to their replicas.

Each tick reads the targets that are due (one statement): those not in sync whose next attempt has
come, and those whose primary has outbox events past the target's position, with that primary's
latest event id. For each, it reads the primary's state (at least as new as that event: the read
comes after) and hands it to the target's destination, which applies it idempotently and records
the position with the replica's change. Positions are per target, that is per primary secret,
whose outbox ids follow commit order, so an event that commits after a later-numbered event of
another secret is never skipped. A failure marks the target Failed with the reason and retries
it after an exponential backoff with jitter (:class:`strongroom.jobs.Backoff`). A peer deployment
that gives no answer fails its other due targets of the tick with the same reason, without a call
each (a peer that hangs costs one timeout per tick, not one per target). Every PROBE_INTERVAL a
tick tries one waiting target of each peer whose failed targets wait in backoff; if the peer
answers, its failed targets are all due at once: a peer back after a long outage catches up within
seconds, not at each target's next attempt.

Targets in this store are delivered one after the other; targets in peer deployments up to
PEER_CONCURRENCY at a time (a delivery there waits mostly for the peer).

Bursts coalesce: ten changes of a primary between two ticks make one delivery of the latest
state. Ticks may overlap at a lease handover (jobs.periodic); the destinations' position check
makes the second delivery of a state, or a stale one, change nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random

from strongroom.jobs import Backoff
from strongroom.secrets.arns import parse_secret_arn
from strongroom.secrets.replication.destination import PrimaryState, ReplicaDestination, ReplicationFailure
from strongroom.secrets.replication.local import LocalDestination
from strongroom.secrets.replication.remote import PeerUnreachable, RemoteDestination
from strongroom.service.dependencies import Services
from strongroom.store.records import ReplicationTarget

log = logging.getLogger("strongroom.replication")

#: The periodic job's name.
RELAY_JOB = "replication.relay"
#: Targets read per statement, and statements per tick at most (a busy deployment's tick ends).
BATCH = 100
ROUNDS = 10
#: Seconds between looks for peers whose failed targets all wait in backoff (a probe each).
PROBE_INTERVAL = 2.0
#: Deliveries to peer deployments in flight at once within a tick.
PEER_CONCURRENCY = 8
#: Retries of a failed target: 1 s, 2 s, 4 s ... up to 5 minutes (half fixed, half random).
RETRY = Backoff(base=1.0, cap=300.0)
#: The StatusMessage of a failure that is not the replica's own (the log has the details).
INTERNAL = "Replication failed because of an internal error; it will be retried."
PRIMARY_GONE = "The primary secret no longer exists."


def destination_for(services: Services, target: ReplicationTarget) -> ReplicaDestination:
    """The destination a target's replica lives in: this store unless the target names a peer."""
    if target.peer is not None:
        return RemoteDestination(services, target.peer)
    return LocalDestination(services)


async def read_state(services: Services, target: ReplicationTarget, position: int) -> PrimaryState | None:
    """The primary's row, then its versions with their labels: both read after ``position`` was."""
    arn = parse_secret_arn(target.primary_arn)
    if arn is None:
        return None
    async with services.store.read() as tx:
        primary = await tx.secrets.get_secret(arn.account, arn.region, arn=target.primary_arn)
        if primary is None or primary.id != target.primary_id:
            return None
        versions = await tx.secrets.list_versions(primary.id)
    return PrimaryState(primary, versions, position)


class Relay:
    """Delivers every due target once per tick (see the module docstring)."""

    def __init__(self, services: Services, *, backoff: Backoff = RETRY, rng: random.Random | None = None,
                 batch: int = BATCH) -> None:
        self.services = services
        self.backoff = backoff
        self.rng = rng or random.Random()
        self.batch = batch
        #: Peers found unreachable in this tick, with the reason: their other targets fail at once.
        self.unreachable: dict[str, str] = {}
        #: When to look next for peers whose targets all wait in backoff (:meth:`_probe_peers`).
        self.next_probe = 0.0

    async def tick(self, now: float) -> int:
        """Deliver what is due at ``now``; returns how many deliveries changed a replica's target."""
        delivered = 0
        self.unreachable.clear()
        if now >= self.next_probe:
            self.next_probe = now + PROBE_INTERVAL
            delivered += await self._probe_peers(now)
        for _ in range(ROUNDS):
            async with self.services.store.read() as tx:
                due = await tx.replication.due_targets(now, self.batch)
            for target, latest in due:
                if target.peer is None:
                    delivered += await self.deliver(target, latest, now)
            remote = [(target, latest) for target, latest in due if target.peer is not None]
            if remote:
                delivered += await self._deliver_to_peers(remote, now)
            if len(due) < self.batch:
                break
        return delivered

    async def _probe_peers(self, now: float) -> int:
        """Try one target per peer whose targets wait in backoff because it was unreachable; a peer
        that answers (it is back) has all those targets made due now, so it catches up in this tick
        rather than at each target's next attempt (up to 5 minutes away after a long outage).
        Targets that failed for another reason (a name conflict) keep their backoff."""
        async with self.services.store.read() as tx:
            waiting = await tx.replication.peers_in_backoff(now, self.batch)
        probes: dict[str, tuple[ReplicationTarget, int]] = {}
        for target, latest in waiting:
            assert target.peer is not None
            probes.setdefault(target.peer, (target, latest))
        delivered = 0
        for peer, (target, latest) in probes.items():
            delivered += await self.deliver(target, latest, now)
            if peer not in self.unreachable:
                async with self.services.store.write() as tx:
                    woken = await tx.replication.wake_peer_targets(peer, now)
                if woken:
                    log.info("peer %s answers again: %d waiting target(s) due now", peer, woken)
        return delivered

    async def _deliver_to_peers(self, due: list[tuple[ReplicationTarget, int]], now: float) -> int:
        """Targets in peer deployments, PEER_CONCURRENCY at a time (the time is mostly the peer's)."""
        slots = asyncio.Semaphore(PEER_CONCURRENCY)

        async def one(target: ReplicationTarget, latest: int) -> bool:
            async with slots:
                return await self.deliver(target, latest, now)

        return sum(await asyncio.gather(*(one(target, latest) for target, latest in due)))

    async def deliver(self, target: ReplicationTarget, position: int, now: float) -> bool:
        """One target: its primary's state to its destination; a failure is recorded, never raised."""
        try:
            if target.peer in self.unreachable:
                raise ReplicationFailure(self.unreachable[target.peer])
            destination = destination_for(self.services, target)
            state = await read_state(self.services, target, position)
            if state is None:
                raise ReplicationFailure(PRIMARY_GONE)
            return await destination.deliver(target, state, now)
        except ReplicationFailure as failure:
            message = failure.message
            if isinstance(failure, PeerUnreachable) and target.peer is not None:
                self.unreachable[target.peer] = message
            log.info("replication of %s to %s failed: %s", target.primary_arn, target.replica_arn, message)
        except Exception:  # noqa: BLE001 - one target must not stop the others
            message = INTERNAL
            log.exception("replication of %s to %s failed", target.primary_arn, target.replica_arn)
        retry_at = now + self.backoff.delay(target.attempts + 1, self.rng)
        try:
            await destination_for(self.services, target).failed(target, message, retry_at, now)
        except Exception:  # noqa: BLE001 - the target stays due; the next tick tries again
            log.exception("could not record the failed replication of %s", target.primary_arn)
        return False
