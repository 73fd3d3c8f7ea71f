"""How long the change outbox keeps events: the retention job (``outbox.prune``).

The outbox (:mod:`strongroom.secrets.changes`) keeps one event per committed change of a secret.
Nothing consumes events yet; replication will, each consumer keeping its own position, and then an
event may go once every consumer is past it. Until then events go by age: a periodic job deletes
those older than :data:`RETENTION`, a bounded batch per transaction, and commits nothing when none
is due (a commit empties the GetSecretValue read caches).
"""

from __future__ import annotations

from strongroom.store.base import Store

DAY = 86400.0
#: Events are kept this long (seconds).
RETENTION = 7 * DAY
#: The periodic job that prunes them, and how often it runs (seconds).
PRUNE_JOB = "outbox.prune"
PRUNE_INTERVAL = 3600.0
#: Events deleted per transaction.
PRUNE_BATCH = 1000


async def prune_outbox(store: Store, now: float, retention: float = RETENTION, batch: int = PRUNE_BATCH) -> int:
    """Delete events older than ``retention`` at ``now``; returns how many."""
    before = now - retention
    async with store.read() as tx:
        if not await tx.outbox.any_prunable(before):
            return 0
    pruned = 0
    while True:
        async with store.write() as tx:
            count = await tx.outbox.prune(before, batch)
        pruned += count
        if count < batch:
            return pruned
