"""Event (asynchronous) invocations: kept durably, run by any server process, retried as Lambda retries.

Invoke with ``InvocationType: Event`` seals the event into ``function_events`` and enqueues a work
item (jobs/queue.py) naming it, in one transaction, then answers 202: an accepted event is never
lost, also when the process dies (another one claims the item once its lease expires). The item
runs the function's current configuration; a function error (or an invocation that could not run)
fails the attempt, and the item is retried twice more, after about one and then two minutes, as
Lambda retries asynchronous invocations. After the last attempt, or once the function is gone, the
event is deleted; a final failure is logged with its errorType (never the payload or message,
which may hold secrets). Item payloads name the event's row, never its content.
"""

from __future__ import annotations

import logging

import orjson

from strongroom.errors import RequestEntityTooLargeException
from strongroom.functions.arns import parse_function_name
from strongroom.functions.errors import ServiceException, event_too_large
from strongroom.functions.invoker import SERVICE_ERROR, Functions
from strongroom.functions.packages import open_event, seal_event, sealer_for
from strongroom.jobs import Backoff, Job
from strongroom.store.records import FunctionEventRow, FunctionRow

log = logging.getLogger("strongroom.functions")

#: The work items' kind.
EVENT_JOB = "functions.event"
#: The invocation and Lambda's two retries.
EVENT_ATTEMPTS = 3
#: Waits after the first and second failures: 60-120 s, then 120-240 s (Lambda: one, then two minutes).
EVENT_BACKOFF = Backoff(base=120.0, cap=240.0)
#: Lambda's limit on an asynchronous invocation's payload.
MAX_EVENT_BYTES = 262_144


class EventFailed(Exception):
    """An attempt whose function failed; the message is the errorType alone (it is stored and logged)."""


async def enqueue_event(functions: Functions, function: FunctionRow, event: bytes, request_id: str,
                        now: float) -> None:
    """Keep ``event`` for an Event invocation of ``function`` and queue its run (one transaction)."""
    if len(event) > MAX_EVENT_BYTES:
        raise RequestEntityTooLargeException(event_too_large(len(event), MAX_EVENT_BYTES))
    jobs = functions.jobs
    if jobs is None:
        raise ServiceException(SERVICE_ERROR)
    services = functions.services
    sealer = await sealer_for(services, function.account, function.region)
    row = FunctionEventRow(function.account, function.region, function.arn, request_id,
                           seal_event(sealer, function.arn, request_id, event), now)
    async with services.store.write() as tx:
        event_id = await tx.functions.insert_event(row)
        await jobs.enqueue(tx, EVENT_JOB, request_id, {"event": event_id})
    jobs.notify()


async def run_event(functions: Functions, job: Job) -> None:
    """One attempt of the Event invocation ``job`` names (see the module docstring)."""
    store = functions.services.store
    async with store.read() as tx:
        row = await tx.functions.get_event(int(job.payload["event"]))
    if row is None:  # done by an earlier attempt whose completion was not recorded
        return
    last = job.attempt >= job.max_attempts
    try:
        error = await _attempt(functions, row)
    except Exception:
        if not last:
            raise
        log.exception("Event invocation %s of %s could not run", row.request_id, row.function_arn)
        error = "the invocation could not run"
    if error is not None and not last:
        raise EventFailed(error)
    if error is not None:
        log.warning("Event invocation %s of %s failed %d times (%s); it is dropped", row.request_id,
                    row.function_arn, job.attempt, error)
    async with store.write() as tx:
        await tx.functions.delete_event(row.id)


async def _attempt(functions: Functions, row: FunctionEventRow) -> str | None:
    """Run the event once: None on success (or when the function is gone), else the error's type."""
    ref = parse_function_name(row.function_arn, row.account, row.region)
    async with functions.services.store.read() as tx:
        function = await tx.functions.get(ref.account, ref.region, ref.name)
    if function is None:
        return None
    event = await open_event(functions.services, row.account, row.region, row.function_arn, row.request_id,
                             row.payload)
    result = await functions.invoke(function, event, request_id=row.request_id)
    if result.function_error is None:
        return None
    try:
        error_type = orjson.loads(result.payload).get("errorType")
    except (orjson.JSONDecodeError, AttributeError):
        error_type = None
    return str(error_type or result.function_error)
