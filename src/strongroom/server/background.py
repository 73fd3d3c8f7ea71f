"""The server's background jobs: what every server process registers with its jobs runtime."""

from __future__ import annotations

import logging

from strongroom.functions.events import EVENT_ATTEMPTS, EVENT_BACKOFF, EVENT_JOB, run_event
from strongroom.functions.invoker import Functions
from strongroom.jobs import Clock, Job, JobRuntime, new_holder_id
from strongroom.secrets import outbox
from strongroom.secrets.deletion import purge_due
from strongroom.secrets.replication.relay import RELAY_JOB, Relay
from strongroom.secrets.replication.remote import REMOVE_ATTEMPTS, REMOVE_BACKOFF, REMOVE_JOB, remove_at_peer
from strongroom.server.config import Config
from strongroom.service.dependencies import Services

log = logging.getLogger("strongroom")

#: Deletes secrets past their recovery window, every ``purge_interval`` seconds, in one process.
PURGE_JOB = "purge"
#: The relay's lease (seconds): renewed every third of it, so its commits stay rare whatever the
#: interval; a dead holder's relay moves to another process within a lease and a third.
RELAY_LEASE = 60.0


def background_jobs(services: Services, config: Config, clock: Clock | None = None,
                    functions: Functions | None = None) -> JobRuntime:
    """A jobs runtime for this process with the server's jobs registered (not started); with ``functions``,
    it runs Event invocations."""
    jobs = JobRuntime(services.store, new_holder_id(), clock)

    async def purge(now: float) -> None:
        purged = await purge_due(services, now)
        if purged:
            log.info("purged %d secret(s) past their recovery window", purged)

    async def prune_outbox(now: float) -> None:
        await outbox.prune_outbox(services.store, now)

    jobs.register_periodic(PURGE_JOB, config.purge_interval, purge)
    jobs.register_periodic(outbox.PRUNE_JOB, outbox.PRUNE_INTERVAL, prune_outbox)
    relay = Relay(services)

    async def replicate(now: float) -> None:
        await relay.tick(now)

    jobs.register_periodic(
        RELAY_JOB, config.replication_interval, replicate, lease=max(RELAY_LEASE, 3 * config.replication_interval)
    )

    async def remove_peer_replica(job: Job) -> None:
        await remove_at_peer(services, job)

    jobs.register_handler(REMOVE_JOB, remove_peer_replica, max_attempts=REMOVE_ATTEMPTS, backoff=REMOVE_BACKOFF)
    if functions is not None:

        async def run_function_event(job: Job) -> None:
            await run_event(functions, job)

        jobs.register_handler(EVENT_JOB, run_function_event, max_attempts=EVENT_ATTEMPTS, backoff=EVENT_BACKOFF)
    return jobs
