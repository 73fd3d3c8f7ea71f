"""The server process's start and stop (ASGI lifespan): store, key check, audit, admin, functions, jobs.

Start: migrate the store, check the master key against it (before any write), open the audit
trail (an observer of the API endpoint), create the first administrator (authenticated mode),
start the function runtime (functions on), start the jobs runtime, settle the heap. Stop: the jobs
runtime, the function runtime, the audit flusher, the store. A failed start is reported to the
server, which exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from typing import Any

from strongroom.audit.log import AuditLog
from strongroom.functions.invoker import Functions
from strongroom.iam.bootstrap import bootstrap_admin, first_start_message
from strongroom.jobs import JobRuntime
from strongroom.kms.key_check import record_key_check
from strongroom.kms.master_key import MasterKey
from strongroom.server.background import background_jobs
from strongroom.server.config import Config
from strongroom.server.observers import Observer, audit_observer
from strongroom.service.dependencies import Services

log = logging.getLogger("strongroom")

#: Allocations (net of frees) between young-generation collections (CPython's default: 700).
GC_GEN0_THRESHOLD = 20_000


class Lifespan:
    """Runs the ASGI lifespan protocol for one server process."""

    def __init__(self, config: Config, services: Services, master: MasterKey, observers: list[Observer],
                 functions: Functions | None = None) -> None:
        self.config = config
        self.services = services
        self.master = master
        self.observers = observers
        self.functions = functions
        self.audit: AuditLog | None = None
        self.jobs: JobRuntime | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def __call__(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                settle_heap()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        config, store = self.config, self.services.store
        await store.migrate()
        await record_key_check(store, self.master, config)  # before any write
        if config.audit:
            self.audit = AuditLog(config.data_dir / "audit")
            self.observers.append(audit_observer(self.audit))
            self._tasks.append(asyncio.create_task(self.audit.run()))
        if not config.dev and self.services.identities is not None:
            path = await bootstrap_admin(self.services.identities, config.account_id, config.data_dir)
            if path is not None:
                print(first_start_message(path), flush=True)
        self.jobs = background_jobs(self.services, config, functions=self.functions, observers=self.observers)
        self.services.jobs = self.jobs  # domain code enqueues through it (rotation runs, replication to peers)
        if self.functions is not None:
            self.functions.start(self.jobs)  # refuses a runtime its workers could not run under
            if not config.dev and os.geteuid() != 0:
                log.warning("functions run as the server's own user: whoever may create or update a function "
                            "can read every secret (docs/security.md, \"Functions\")")
        await self.jobs.start()

    async def stop(self) -> None:
        if self.jobs is not None:
            await self.jobs.stop()
        if self.functions is not None:
            await self.functions.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.services.store.close()
        if self.audit is not None:
            self.audit.close()


def settle_heap() -> None:
    """After start-up: move what exists now out of the cyclic GC's sight and collect less often.

    Requests free almost everything they allocate by reference counting; what survives them lives
    long (caches, whose rows hold no reference cycles). Freezing the start-up heap, a larger
    first-generation threshold and rare full collections keep the collector from rescanning them
    (docs/benchmarks.md: GC was about 6% of a GetSecretValue's CPU time, and a full collection over
    10,000 cached reads takes about 20 ms).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 50, 100)
