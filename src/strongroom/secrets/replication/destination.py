"""Where a replica lives, as the relay and the operations see it: the :class:`ReplicaDestination` seam.

A destination receives a primary's state and makes its replica equal to it. The semantics are the
same for every destination (:mod:`.local`: this store; :mod:`.remote`: another Strongroom
deployment acting as a region):

- **deliver** is idempotent and never goes back: a state is applied only if it is newer than the
  position the target records (``delivered_id``), and the position is recorded together with the
  replica's change (in the same transaction, in the store that keeps the replica), so a state delivered twice, or a
  stale one delivered after a newer one (two relays after a lease handover), changes nothing;
- **failed** records why a delivery failed and when to try again (the primary's target shows
  Failed with the reason; a cross-account replica shows it too);
- **remove** and **detach** run inside the primary's own write transaction, so they happen exactly
  when the operation that asks for them commits (the remote destination enqueues its removal there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from strongroom.store.base import Tx
from strongroom.store.records import ReplicationTarget, SecretRow, VersionRow


@dataclass(frozen=True, slots=True)
class PrimaryState:
    """A primary secret as the relay read it: at least as new as outbox event ``position``.

    ``versions`` come from one statement (each with its labels), so they and their labels agree.
    Values are not here: a destination opens what it needs, under the primary's key.
    """

    secret: SecretRow
    versions: list[VersionRow]
    position: int


class ReplicationFailure(Exception):
    """A delivery that can't be made now; ``message`` becomes the target's StatusMessage (never a value)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ReplicaDestination(Protocol):
    """A place replicas live in."""

    async def deliver(self, target: ReplicationTarget, state: PrimaryState, now: float) -> bool:
        """Make the target's replica equal to ``state`` and record ``state.position``; False when the
        target is gone, detached or already as new. Raises :class:`ReplicationFailure`."""
        ...

    async def failed(self, target: ReplicationTarget, message: str, retry_at: float, now: float) -> None:
        """Record a failed delivery: status Failed with ``message``, next attempt at ``retry_at``."""
        ...

    async def remove(self, tx: Tx, target: ReplicationTarget, now: float) -> None:
        """Delete the replica and forget the target, in the primary's transaction ``tx``."""
        ...

    async def detach(self, tx: Tx, target: ReplicationTarget, now: float) -> None:
        """Stop replicating to a cross-account replica (it stays, Detached), in the primary's ``tx``."""
        ...
