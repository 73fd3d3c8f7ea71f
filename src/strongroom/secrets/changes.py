"""The one way to change a secret: a unit of work per secret, ending in one outbox event.

Every mutation of a secret (CreateSecret, PutSecretValue, UpdateSecret, UpdateSecretVersionStage,
TagResource, UntagResource, Put/DeleteResourcePolicy, DeleteSecret, RestoreSecret, the purge) runs
as::

    async with secret_change(services, ctx, secret_id, sealing=True) as change:
        await change.add_version(token, value, stages)

which does, in this order:

1. if the change seals values: find and authorize the secret in a read, and resolve its KMS key
   (or the new key an UpdateSecret names) to a :class:`~strongroom.kms.keyring.Sealer`. Resolving
   may create the account's default key, itself a write: it happens before the write transaction
   (on SQLite a write inside a write would wait for itself).
2. open the write transaction and lock the secret (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
   writers serialize on the database), authorizing again on the row now locked. If the secret's
   key changed since step 1, start over (bounded).
3. the body applies the change through the :class:`SecretChange` (values are sealed by the
   Sealer, with no store I/O inside the transaction).
4. when something changed: the secret's LastChangedDate and changed columns are written, and one
   :class:`~strongroom.store.records.OutboxEvent` is appended; then the transaction commits.

So an UpdateSecret with KmsKeyId changes the key and re-encrypts the labelled versions in one
transaction: all of it, or (a crash, an error) none of it.

The outbox event names the secret (account, region, id, ARN), the operation (``kind``: the API
action, or ``PurgeSecret`` for :mod:`strongroom.secrets.deletion`'s purge job), the version it
created and, as JSON ``detail``, the names of the columns it set, the versions it added or
re-encrypted, the labels it moved: never a value, a tag, a description or a policy. Reads do not
emit events, nor does recording LastAccessedDate (:func:`strongroom.secrets.values.record_access`):
a replica needs neither.

Replicas (:mod:`strongroom.secrets.replicas`): a change of a cross-region replica through the API
is refused once the secret is found, unless the caller allows it (StopReplicationToReplica, a new
KmsKeyId alone); a cross-account replica refuses new versions and moved labels. The relay changes
replicas with its own :class:`SecretChange` (``copy_version``, ``drop_versions``, ``set_labels``),
outside these rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Unpack

import orjson

from strongroom.errors import InvalidRequestException
from strongroom.kms.errors import KmsError
from strongroom.kms.keyring import Sealer
from strongroom.secrets.authorization import find_secret, require_active
from strongroom.secrets.kms_errors import sealing_error
from strongroom.secrets.messages import CHANGED_MEANWHILE
from strongroom.secrets.replicas import refuse_change, refuse_value_change
from strongroom.secrets.value import SecretValue
from strongroom.secrets.versions import (
    add_version,
    attach_labels,
    existing_version,
    open_value,
    prune_deprecated,
    seal_value,
)
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.base import Tx
from strongroom.store.records import OutboxEvent, SecretFields, SecretRow, VersionRow

#: Times a change starts over because the secret's KMS key changed between resolving and locking.
MAX_ATTEMPTS = 3


async def resolve_sealer(services: Services, account: str, region: str, kms_key_ref: str | None) -> Sealer:
    """The Sealer of the key ``kms_key_ref`` names (None: the default key); AWS's errors if it can't seal.

    Call outside write transactions: resolving may create the default key.
    """
    try:
        return await services.keyring.sealer(account, region, kms_key_ref)
    except KmsError as exc:
        raise sealing_error(exc) from None


class SecretChange:
    """One change of one locked secret inside its write transaction; see the module docstring."""

    __slots__ = ("services", "tx", "secret", "now", "kind", "sealer", "guard_values", "_fields", "_versions",
                 "_resealed", "_removed", "_labels", "_changed", "_inserted", "_purged")

    def __init__(
        self, services: Services, tx: Tx, secret: SecretRow, now: float, kind: str, sealer: Sealer | None = None,
        *, guard_values: bool = False,
    ) -> None:
        self.services = services
        self.tx = tx
        #: The secret as locked (for CreateSecret: the row to insert).
        self.secret = secret
        self.now = now
        self.kind = kind
        #: Seals new values (and re-encrypts labelled ones) under the key resolved for this change.
        self.sealer = sealer
        #: A change made through the API: a cross-account replica's versions and labels are its primary's.
        self.guard_values = guard_values
        self._fields: SecretFields = {}
        self._versions: list[str] = []
        self._resealed: list[str] = []
        self._removed: list[str] = []
        self._labels: list[str] = []
        self._changed = self._inserted = self._purged = False

    # --- what a change can do ------------------------------------------------------------------
    def set(self, **fields: Unpack[SecretFields]) -> None:
        """Set columns of the secret (written once, with LastChangedDate, when the change ends)."""
        self._fields.update(fields)
        self._changed = True

    def touch(self) -> None:
        """Count the change as made although no column changed (LastChangedDate moves, an event is kept)."""
        self._changed = True

    async def insert(self) -> None:
        """Insert :attr:`secret` (CreateSecret); Conflict if its name was taken meanwhile."""
        await self.tx.secrets.insert_secret(self.secret)
        self._inserted = self._changed = True

    async def existing_version(self, version_id: str, value: SecretValue | None) -> VersionRow | None:
        """The version a retried request already created (ResourceExistsException if its value differs)."""
        return await existing_version(self.services, self.tx, self.secret, version_id, value)

    def _check_values(self) -> None:
        if self.guard_values:
            refuse_value_change(self.secret)

    async def add_version(self, version_id: str, value: SecretValue, stages: Sequence[str]) -> list[str]:
        """Seal ``value`` as a new version and attach ``stages`` to it; returns the labels it got."""
        assert self.sealer is not None, "the change was opened without a sealer"
        self._check_values()
        sealed = seal_value(self.sealer, self.secret, version_id, value)
        labels = await add_version(self.tx, self.now, self.secret, version_id, value.kind, sealed, stages)
        self._versions.append(version_id)
        self._labels.extend(labels)
        self._changed = True
        return labels

    async def add_empty_version(self, version_id: str, stages: Sequence[str]) -> list[str]:
        """A version without a value carrying ``stages`` (a rotation's AWSPENDING, before createSecret)."""
        self._check_values()
        await self.tx.secrets.insert_version(self.secret.id, version_id, self.now, "string", None)
        labels = await attach_labels(self.tx, self.secret.id, version_id, stages)
        await prune_deprecated(self.tx, self.secret.id, self.now)
        self._versions.append(version_id)
        self._labels.extend(labels)
        self._changed = True
        return labels

    async def fill_version(self, version: VersionRow, value: SecretValue, stages: Sequence[str]) -> list[str]:
        """Seal ``value`` into ``version``, made without one, and attach ``stages`` (createSecret's put)."""
        assert self.sealer is not None, "the change was opened without a sealer"
        self._check_values()
        sealed = seal_value(self.sealer, self.secret, version.version_id, value)
        await self.tx.secrets.fill_version(self.secret.id, version.version_id, value.kind, sealed)
        labels = await attach_labels(self.tx, self.secret.id, version.version_id, stages)
        self._versions.append(version.version_id)
        self._labels.extend(labels)
        self._changed = True
        return sorted(set(version.stages) | set(labels))

    async def attach_labels(self, version_id: str, stages: Sequence[str]) -> list[str]:
        """Move labels to an existing version (AWSPREVIOUS follows AWSCURRENT)."""
        self._check_values()
        labels = await attach_labels(self.tx, self.secret.id, version_id, stages)
        self._labels.extend(labels)
        self._changed = True
        return labels

    async def remove_label(self, stage: str) -> None:
        self._check_values()
        await self.tx.secrets.remove_stage(self.secret.id, stage)
        self._labels.append(stage)
        self._changed = True

    async def reseal_labelled(self) -> None:
        """Re-encrypt every labelled version not added by this change under :attr:`sealer`'s key."""
        assert self.sealer is not None, "the change was opened without a sealer"
        secrets = self.tx.secrets
        for version_id in await secrets.stage_map(self.secret.id):
            if version_id in self._versions:
                continue
            version = await secrets.get_version(self.secret.id, version_id=version_id)
            if version is None or version.ciphertext is None:  # no value yet (a rotation's AWSPENDING)
                continue
            value = await open_value(self.services, self.secret, version)
            await secrets.update_version_ciphertext(
                self.secret.id, version_id, seal_value(self.sealer, self.secret, version_id, value)
            )
            self._resealed.append(version_id)
        self._changed = True

    # --- what a replica receives from its primary (strongroom.secrets.replication) ----------------
    async def copy_version(self, version_id: str, created_at: float, value: SecretValue) -> None:
        """Seal a primary's version for this secret (its own key, its own ARN) with no labels."""
        assert self.sealer is not None, "the change was opened without a sealer"
        await self.tx.secrets.insert_version(
            self.secret.id, version_id, created_at, value.kind, seal_value(self.sealer, self.secret, version_id, value)
        )
        self._versions.append(version_id)
        self._changed = True

    async def drop_versions(self, version_ids: Sequence[str]) -> None:
        """Remove versions (with their labels) that the primary no longer has."""
        if version_ids:
            await self.tx.secrets.delete_versions(self.secret.id, version_ids)
            self._removed.extend(version_ids)
            self._changed = True

    async def set_labels(self, holders: dict[str, str]) -> None:
        """Make the labels exactly ``holders`` (label -> version id), as the primary has them."""
        secrets = self.tx.secrets
        current = {stage: vid for vid, stages in (await secrets.stage_map(self.secret.id)).items() for stage in stages}
        for stage in current.keys() - holders.keys():
            await secrets.remove_stage(self.secret.id, stage)
            self._labels.append(stage)
        for stage, version_id in holders.items():
            if current.get(stage) != version_id:
                await secrets.move_stage(self.secret.id, stage, version_id)
                self._labels.append(stage)
        if self._labels:
            self._changed = True

    async def purge(self) -> None:
        """Remove the secret with its versions and labels, for good."""
        await self.tx.secrets.delete_secret(self.secret.id)
        self._purged = self._changed = True

    # --- the end of every change -----------------------------------------------------------------
    async def finish(self) -> None:
        """Write what changed, with LastChangedDate, and append the change's outbox event."""
        if not self._changed:
            return
        secret = self.secret
        detail = self._detail()
        if not self._purged and (self._fields or not self._inserted):
            self._fields["last_changed_at"] = self.now
            await self.tx.secrets.update_secret(secret.id, **self._fields)
        await self.tx.outbox.append(
            OutboxEvent(
                account=secret.account, region=secret.region, secret_id=secret.id, secret_arn=secret.arn,
                kind=self.kind, version_id=self._versions[0] if self._versions else None, created_at=self.now,
                detail=detail,
            )
        )

    def _detail(self) -> str:
        """What changed, by name only: never a value, tag, description or policy."""
        detail: dict[str, Any] = {}
        for key, names in (
            ("fields", sorted(self._fields)), ("versions", self._versions), ("resealed", self._resealed),
            ("removed", self._removed), ("labels", sorted(set(self._labels))),
        ):
            if names:
                detail[key] = names
        if self._purged:
            detail["purged"] = True
        return orjson.dumps(detail).decode()


@asynccontextmanager
async def secret_change(
    services: Services, ctx: RequestContext, secret_id: str, *, active: bool = True, sealing: bool = False,
    new_key: str | None = None, also: tuple[str, ...] = (), replica: bool = False,
) -> AsyncIterator[SecretChange]:
    """Change the secret ``secret_id`` names: one write transaction, one outbox event (module docstring).

    ``active``: a secret scheduled for deletion is refused (InvalidRequestException). ``sealing``:
    the change seals values, under the secret's key or, given ``new_key``, under that key. ``also``:
    actions authorized on the secret besides the request's own. A cross-region replica refuses the
    change unless ``replica`` (StopReplicationToReplica), a cross-account replica refuses new
    versions and moved labels (:mod:`strongroom.secrets.replicas`).
    """
    for _ in range(MAX_ATTEMPTS):
        sealer: Sealer | None = None
        expected_key: str | None = None
        if sealing or new_key is not None:
            async with services.store.read() as tx:
                seen = await find_secret(tx, ctx, secret_id, also=also)
            if active:
                require_active(seen)
            if not replica:
                refuse_change(seen)
            expected_key = seen.kms_key_id
            ref = new_key if new_key is not None else expected_key
            sealer = await resolve_sealer(services, seen.account, seen.region, ref)
        async with services.store.write() as tx:
            secret = await find_secret(tx, ctx, secret_id, for_update=True, also=also)
            if active:
                require_active(secret)
            if not replica:
                refuse_change(secret)
            if sealer is not None and new_key is None and secret.kms_key_id != expected_key:
                continue  # its key changed meanwhile: resolve again (nothing was written)
            change = SecretChange(services, tx, secret, ctx.now, ctx.action, sealer, guard_values=not replica)
            yield change
            await change.finish()
            return
    raise InvalidRequestException(CHANGED_MEANWHILE)


@asynccontextmanager
async def secret_creation(
    services: Services, ctx: RequestContext, secret: SecretRow, sealer: Sealer | None
) -> AsyncIterator[tuple[SecretChange, SecretRow | None]]:
    """CreateSecret's change: the name locked (or the secret already holding it, second), then insert."""
    async with services.store.write() as tx:
        existing = await tx.secrets.get_secret(secret.account, secret.region, name=secret.name, for_update=True)
        change = SecretChange(services, tx, existing or secret, ctx.now, ctx.action, sealer)
        yield change, existing
        await change.finish()

