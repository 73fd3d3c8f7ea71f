"""Cross-account replicas: CreateSecret's CrossAccountPrimaryARN, AssociateCrossAccountReplica and
DisassociateCrossAccountReplica (API reference of each; User Guide, "Replicate secrets across
accounts").

The replica's owner creates it with no value, under a customer managed key, naming its primary
(status Pending); it gets the managed policy ``cross-account-replication``, which lets the
primary's account accept the replication. The primary's owner then associates it: at most one
cross-account replica per primary, idempotent (associating the same replica again repairs the
replication), checked against every permission the API reference lists and the keys of both
sides, and changing nothing if any check fails. Disassociating stops the replication; the replica
stays, Detached, until its owner promotes it (StopReplicationToReplica).
"""

from __future__ import annotations

from typing import Any

from strongroom.errors import InvalidParameterException, LimitExceededException
from strongroom.kms.keyring import DEFAULT_ALIAS, Sealer
from strongroom.secrets.arns import parse_secret_arn
from strongroom.secrets.authorization import authorize_lookup, find_secret
from strongroom.secrets.changes import resolve_sealer, secret_change
from strongroom.secrets.lookup import lookup_secret_id
from strongroom.secrets.replicas import (
    ACCEPT,
    DETACHED,
    IN_PROGRESS,
    PENDING,
    REPLICA_WRITE,
    is_replica,
    links_to,
    with_managed_policy,
)
from strongroom.secrets.replication.relay import destination_for
from strongroom.secrets.replication.targets import ACCOUNT, new_target
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.base import Tx
from strongroom.store.records import ReplicationTarget, SecretRow

#: Members CreateSecret refuses with CrossAccountPrimaryARN (the model's documentation of it).
EXCLUDED = ("SecretString", "SecretBinary", "Description", "AddReplicaRegions", "Type")
#: Ours: AWS's wordings are not public (the rules are the model's documentation).
EXCLUDED_MEMBERS = (
    "You can't include SecretString, SecretBinary, Description, AddReplicaRegions or Type in a request "
    "with CrossAccountPrimaryARN."
)
CUSTOMER_KEY = (
    "A cross-account replica secret must be encrypted with a customer managed KMS key: set KmsKeyId to one."
)
OTHER_ACCOUNT = (
    "The primary and replica secrets must be in different accounts of the same Region and partition."
)
NOT_LINKED = "The replica secret {replica} was not created as a cross-account replica of {primary}."
ONE_REPLICA = "A primary secret can have at most one cross-account replica."
NOT_ASSOCIATED = "The secret {primary} has no cross-account replica {replica}."


def _check_pair(primary_arn: str, replica_arn: str) -> None:
    """Both ARNs are secret ARNs of one region and partition, in two accounts."""
    primary, replica = parse_secret_arn(primary_arn), parse_secret_arn(replica_arn)
    if (
        primary is None or replica is None or primary.partition != replica.partition
        or primary.region != replica.region or primary.account == replica.account
        or not (primary.account.isdigit() and len(primary.account) == 12)
    ):
        raise InvalidParameterException(OTHER_ACCOUNT)


# --- CreateSecret with CrossAccountPrimaryARN -------------------------------------------------------
def check_replica_request(params: dict[str, Any]) -> None:
    """What CreateSecret of a cross-account replica may not carry, checked before anything else."""
    if any(params.get(member) is not None for member in EXCLUDED):
        raise InvalidParameterException(EXCLUDED_MEMBERS)
    if not params.get("KmsKeyId"):
        raise InvalidParameterException(CUSTOMER_KEY)


def make_replica(ctx: RequestContext, secret: SecretRow, primary_arn: str, sealer: Sealer | None) -> None:
    """Turn the new ``secret`` into a Pending cross-account replica of ``primary_arn``.

    Needs PutResourcePolicy as well, for its managed policy (CreateSecret's required permissions).
    """
    if sealer is None or sealer.key.alias == DEFAULT_ALIAS:
        raise InvalidParameterException(CUSTOMER_KEY)
    _check_pair(primary_arn, secret.arn)
    ctx.authorize("PutResourcePolicy", secret.arn, secret)
    secret.primary_arn = primary_arn
    secret.replica_status = PENDING


# --- AssociateCrossAccountReplica ---------------------------------------------------------------
async def _find_replica(tx: Tx, ctx: RequestContext, replica_arn: str, *, for_update: bool = False) -> SecretRow:
    """The replica the request names, authorized for AcceptCrossAccountReplication (its managed
    policy lets the primary's account in)."""
    lookup = lookup_secret_id(ctx, replica_arn)
    found = await tx.secrets.get_secret(
        lookup.account, lookup.region, name=lookup.name, arn=lookup.arn, for_update=for_update
    )
    authorize_lookup(ctx, (ACCEPT,), replica_arn, lookup, with_managed_policy(found) if found else None)
    assert found is not None
    return found


def _check_link(primary: SecretRow, replica: SecretRow) -> None:
    if is_replica(primary):
        raise InvalidParameterException(REPLICA_WRITE)
    _check_pair(primary.arn, replica.arn)
    if not links_to(replica, primary):
        raise InvalidParameterException(NOT_LINKED.format(replica=replica.arn, primary=primary.arn))


async def associate_cross_account_replica(
    services: Services, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    replica_arn = params["CrossAccountReplicaARN"]
    also = ("GetSecretValue",)
    async with services.store.read() as tx:
        primary = await find_secret(tx, ctx, params["SecretId"], also=also)
        replica = await _find_replica(tx, ctx, replica_arn)
    _check_link(primary, replica)
    # The dry run of both keys (User Guide, "Associate the replica with a primary secret"): the
    # primary's must open its values, the replica's must seal; a failure changes nothing.
    await resolve_sealer(services, primary.account, primary.region, primary.kms_key_id)
    await resolve_sealer(services, replica.account, replica.region, replica.kms_key_id)
    async with secret_change(services, ctx, params["SecretId"], also=also) as change:
        primary, tx = change.secret, change.tx
        replica = await _find_replica(tx, ctx, replica_arn, for_update=True)
        _check_link(primary, replica)
        await _link(tx, primary, replica, ctx.now)
        await tx.secrets.update_secret(
            replica.id, primary_arn=primary.arn, replica_status=IN_PROGRESS, replica_message=None
        )
        change.touch()
    return {"ARN": primary.arn, "CrossAccountReplicaARN": replica.arn, "ReplicationStatus": IN_PROGRESS}


async def _link(tx: Tx, primary: SecretRow, replica: SecretRow, now: float) -> None:
    """The primary's one cross-account target, to ``replica``: new, or repaired from scratch."""
    mine: ReplicationTarget | None = None
    for view in await tx.replication.targets_of(primary.id):
        target = view.target
        if target.kind != ACCOUNT:
            continue
        if target.replica_arn == replica.arn:
            mine = target
        elif target.status == DETACHED:
            await tx.replication.delete_target(target.id)  # its replica left; a new one takes its place
        else:
            raise LimitExceededException(ONE_REPLICA)
    if mine is None:
        await tx.replication.add_target(new_target(primary, ACCOUNT, replica.account, replica.region, replica.arn, now))
    else:
        await tx.replication.update_target(
            mine.id, status=IN_PROGRESS, status_message=None, attempts=0, delivered_id=0, next_attempt_at=now,
            updated_at=now,
        )


# --- DisassociateCrossAccountReplica ------------------------------------------------------------
async def disassociate_cross_account_replica(
    services: Services, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    replica_arn = params["CrossAccountReplicaARN"]
    async with secret_change(services, ctx, params["SecretId"]) as change:
        primary, tx = change.secret, change.tx
        target = next(
            (v.target for v in await tx.replication.targets_of(primary.id)
             if v.target.kind == ACCOUNT and v.target.replica_arn == replica_arn),
            None,
        )
        if target is None:
            raise InvalidParameterException(NOT_ASSOCIATED.format(primary=primary.arn, replica=replica_arn))
        await destination_for(services, target).detach(tx, target, ctx.now)
        change.touch()
    return {"ARN": primary.arn, "CrossAccountReplicaARN": replica_arn}
