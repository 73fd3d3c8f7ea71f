"""Background jobs: singleton periodic jobs and a durable work queue, shared by every server process.

See :mod:`strongroom.jobs.runtime` for the interface and docs/architecture.md ("Background jobs").
"""

from strongroom.jobs.backoff import Backoff
from strongroom.jobs.clock import Clock, ManualClock, SystemClock
from strongroom.jobs.queue import Job
from strongroom.jobs.runtime import JobRuntime, new_holder_id

__all__ = ["Backoff", "Clock", "Job", "JobRuntime", "ManualClock", "SystemClock", "new_holder_id"]
