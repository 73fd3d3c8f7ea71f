"""The scheduler: a periodic singleton job that starts the rotations whose window has opened.

A tick reads whether anything is due (one read on the partial index ``secrets_rotation_due``);
only then it claims due secrets in a write transaction, clearing their ``rotation_due_at``
(PostgreSQL skips rows another transaction holds), and starts each one's run in its own unit of
work, giving the event loop's other work (requests) a turn between two starts: the embedded
store's transactions never wait, so a thousand starts in a row would hold the loop for seconds.
The runs are then claimed from the queue as ``rotation_concurrency`` allows. A secret is claimed
by one transaction only, so with several workers or instances, and
also at a lease handover when two ticks overlap, each due rotation starts once.
"""

from __future__ import annotations

import asyncio
import logging

from strongroom.errors import ApiError
from strongroom.iam.caller import system_caller
from strongroom.jobs import JobRuntime
from strongroom.secrets.rotation.start import start_scheduled
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services

log = logging.getLogger("strongroom.rotation")

SCHEDULER_JOB = "rotation.scheduler"
#: Secrets claimed per transaction.
BATCH = 100
#: The periodic job deleting old runs: hourly, runs that ended over 30 days ago, never a secret's latest.
PRUNE_JOB = "rotation.prune"
PRUNE_INTERVAL = 3600.0
RUN_RETENTION = 30 * 86400.0
PRUNE_BATCH = 1000


async def start_due(services: Services, jobs: JobRuntime, now: float) -> int:
    """Start every due rotation; returns how many started."""
    started = 0
    while True:
        async with services.store.read() as tx:
            if not await tx.rotations.any_due(now):
                break
        async with services.store.write() as tx:
            due = await tx.rotations.claim_due(now, BATCH)
        for item in due:
            caller = system_caller(item.account, item.region)
            ctx = RequestContext.of(caller, now, f"rotation-schedule-{item.secret_id}", "RotateSecret")
            try:
                why_not = await start_scheduled(services, jobs, ctx, item.arn)
            except ApiError as exc:
                why_not = f"{exc.code}: {exc.message}"
            if why_not is None:
                started += 1
            else:
                log.warning("scheduled rotation of %s not started: %s", item.arn, why_not)
            await asyncio.sleep(0)
        if started:
            jobs.notify()
        if len(due) < BATCH:
            break
    return started


async def prune_runs(services: Services, now: float, retention: float = RUN_RETENTION) -> int:
    """Delete the runs that ended ``retention`` seconds ago or earlier, keeping each secret's latest
    (``admin rotation-status`` shows it); returns how many, in batches of one transaction each."""
    pruned = 0
    while True:
        async with services.store.write() as tx:
            deleted = await tx.rotations.prune_ended(now - retention, PRUNE_BATCH)
        pruned += deleted
        if deleted < PRUNE_BATCH:
            return pruned
