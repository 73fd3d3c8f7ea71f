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
each (a peer that hangs costs one timeout per tick, not one per target).

Bursts coalesce: ten changes of a primary between two ticks make one delivery of the latest
state. Ticks may overlap at a lease handover (jobs.periodic); the destinations' position check
makes the second delivery of a state, or a stale one, change nothing.
"""

from __future__ import annotations

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

    async def tick(self, now: float) -> int:
        """Deliver what is due at ``now``; returns how many deliveries changed a replica's target."""
        delivered = 0
        self.unreachable.clear()
        for _ in range(ROUNDS):
            async with self.services.store.read() as tx:
                due = await tx.replication.due_targets(now, self.batch)
            for target, latest in due:
                delivered += await self.deliver(target, latest, now)
            if len(due) < self.batch:
                break
        return delivered

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
