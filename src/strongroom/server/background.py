"""The server's background jobs: what every server process registers with its jobs runtime."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from strongroom.functions.events import EVENT_ATTEMPTS, EVENT_BACKOFF, EVENT_JOB, run_event
from strongroom.functions.invoker import Functions
from strongroom.jobs import Backoff, Clock, Job, JobRuntime, SystemClock, new_holder_id
from strongroom.secrets import outbox
from strongroom.secrets.deletion import purge_due
from strongroom.secrets.iam_vocabulary import PREFIX
from strongroom.secrets.replication.relay import RELAY_JOB, Relay
from strongroom.secrets.replication.remote import REMOVE_ATTEMPTS, REMOVE_BACKOFF, REMOVE_JOB, remove_at_peer
from strongroom.secrets.rotation.run import Rotations
from strongroom.secrets.rotation.scheduler import PRUNE_INTERVAL, PRUNE_JOB, SCHEDULER_JOB, prune_runs, start_due
from strongroom.secrets.rotation.start import ROTATION_JOB, SECRETS_MANAGER
from strongroom.server.config import Config
from strongroom.server.observers import Observer, RequestRecord
from strongroom.service.dependencies import Services
from strongroom.store.records import RotationRow

log = logging.getLogger("strongroom")

#: Deletes secrets past their recovery window, every ``purge_interval`` seconds, in one process.
PURGE_JOB = "purge"
#: The relay's lease (seconds): renewed every third of it, so its commits stay rare whatever the
#: interval; a dead holder's relay moves to another process within a lease and a third.
RELAY_LEASE = 60.0


#: The longest wait between two attempts of a rotation run.
ROTATION_RETRY_CAP = 3600.0


def background_jobs(services: Services, config: Config, clock: Clock | None = None,
                    functions: Functions | None = None, observers: Sequence[Observer] = ()) -> JobRuntime:
    """A jobs runtime for this process with the server's jobs registered (not started); with ``functions``,
    it runs Event invocations and rotations (whose ends are told to ``observers``: the audit trail)."""
    clock = clock or SystemClock()
    jobs = JobRuntime(services.store, new_holder_id(), clock)

    async def purge(now: float) -> None:
        purged = await purge_due(services, now)
        if purged:
            log.info("purged %d secret(s) past their recovery window", purged)

    async def prune_outbox(now: float) -> None:
        await outbox.prune_outbox(services.store, now)

    async def prune_rotation_runs(now: float) -> None:
        await prune_runs(services, now)

    jobs.register_periodic(PURGE_JOB, config.purge_interval, purge)
    jobs.register_periodic(outbox.PRUNE_JOB, outbox.PRUNE_INTERVAL, prune_outbox)
    jobs.register_periodic(PRUNE_JOB, PRUNE_INTERVAL, prune_rotation_runs)
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
        register_rotation(jobs, services, config, clock, observers)
    return jobs


def register_rotation(jobs: JobRuntime, services: Services, config: Config, clock: Clock,
                      observers: Sequence[Observer]) -> None:
    """The rotation runs (work items) and the scheduler (a periodic job) of this process."""

    def observe(run: RotationRow) -> None:
        record = RequestRecord(
            request_id=f"rotation-{run.id}", time=run.updated_at, service=PREFIX,
            action=f"Rotation{run.state.capitalize()}", principal=SECRETS_MANAGER,
            account=run.account, region=run.region, access_key_id=None, subject=run.secret_arn, source_ip=None,
            status=200 if run.state == "succeeded" else 500 if run.state == "failed" else 409,
            error=run.last_error if run.state == "failed" else None,
        )
        for observer in observers:
            observer(record)

    rotations = Rotations(services, clock, observe)
    retry = Backoff(base=config.rotation_retry_seconds, cap=max(config.rotation_retry_seconds, ROTATION_RETRY_CAP))
    jobs.register_handler(ROTATION_JOB, rotations.run, max_attempts=config.rotation_max_attempts, backoff=retry,
                          limit=config.rotation_concurrency)

    async def schedule(now: float) -> None:
        started = await start_due(services, jobs, now)
        if started:
            log.info("started %d scheduled rotation(s)", started)

    jobs.register_periodic(SCHEDULER_JOB, config.rotation_schedule_interval, schedule)
