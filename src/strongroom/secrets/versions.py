"""Writing versions and moving staging labels: the one implementation every operation uses.

Rules (AWS Secrets Manager user guide, "Secret versions"): a label is on at most one version
(the schema enforces it); when AWSCURRENT moves, AWSPREVIOUS moves to the version it left;
versions without labels are deprecated and, past 100 versions, the oldest deprecated versions
older than 24 hours are removed.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from strongroom.crypto.envelope import version_aad
from strongroom.errors import LimitExceededException, ResourceExistsException, ResourceNotFoundException
from strongroom.kms.errors import KmsError
from strongroom.kms.keyring import Sealer
from strongroom.secrets.kms_errors import opening_error
from strongroom.secrets.value import SecretValue
from strongroom.service.dependencies import Services
from strongroom.store.base import Tx
from strongroom.store.records import SecretRow, VersionRow

AWSCURRENT = "AWSCURRENT"
AWSPREVIOUS = "AWSPREVIOUS"
AWSPENDING = "AWSPENDING"

MAX_VERSIONS = 100
MAX_LABELS = 20
DEPRECATED_MIN_AGE = 86400.0
#: A ClientRequestToken reused with another value (moto's AWS-verified tests; docs/api.md).
TOKEN_IN_USE = (
    "You can't use ClientRequestToken {token} because that value is already in use for a version of secret {arn}."
)


def seal_value(sealer: Sealer, secret: SecretRow, version_id: str, value: SecretValue) -> bytes:
    """Encrypt a value for one version of one secret, bound to its ARN and version id (no I/O)."""
    return sealer.seal(value.data, version_aad(secret.arn, version_id))


async def open_value(services: Services, secret: SecretRow, version: VersionRow) -> SecretValue:
    """The version's value; ResourceNotFoundException for a version without one (a rotation's AWSPENDING
    before createSecret put it)."""
    if version.ciphertext is None:
        raise ResourceNotFoundException(
            f"Secrets Manager can't find the specified secret value for VersionId: {version.version_id}"
        )
    try:
        data = await services.keyring.open(
            secret.account, secret.region, version.ciphertext, version_aad(secret.arn, version.version_id)
        )
    except KmsError as exc:
        raise opening_error(exc) from None
    return SecretValue(version.kind, data)


async def existing_version(
    services: Services, tx: Tx, secret: SecretRow, version_id: str, value: SecretValue | None
) -> VersionRow | None:
    """The version a retried request already created, if any (same token, same value).

    The same ClientRequestToken with a different value is ResourceExistsException, naming the
    token and the secret (never the value).
    """
    version = await tx.secrets.get_version(secret.id, version_id=version_id)
    if version is None:
        return None
    if version.ciphertext is None:  # a rotation's AWSPENDING, made without a value: anything may fill it
        return version
    if value is not None:
        stored = await open_value(services, secret, version)
        if stored.kind != value.kind or not hmac.compare_digest(stored.data, value.data):
            raise ResourceExistsException(TOKEN_IN_USE.format(token=version_id, arn=secret.arn))
    return version


async def add_version(
    tx: Tx, now: float, secret: SecretRow, version_id: str, kind: str, ciphertext: bytes, stages: Sequence[str],
) -> list[str]:
    """Insert a version, attach its labels, prune deprecated versions past the quota.

    Returns the labels the version got: the first version of a secret always gets AWSCURRENT
    (PutSecretValue documentation: "If this operation creates the first version for the secret,
    then Secrets Manager automatically attaches the staging label AWSCURRENT to it").
    """
    await tx.secrets.insert_version(secret.id, version_id, now, kind, ciphertext)
    labels = await attach_labels(tx, secret.id, version_id, stages, new_version=True)
    await prune_deprecated(tx, secret.id, now)
    return labels


async def attach_labels(
    tx: Tx, secret_id: int, version_id: str, stages: Sequence[str], *, new_version: bool = False
) -> list[str]:
    """Move each label to ``version_id``; moving AWSCURRENT drags AWSPREVIOUS behind it.

    When a new version becomes AWSCURRENT, the version it replaces also loses AWSPENDING (a
    finished rotation): recorded scenario test_update_secret_version_stages_current_pending.
    A new version of a secret that has no AWSCURRENT yet gets it. Returns the labels attached.
    """
    current: dict[str, list[str]] = await tx.secrets.stage_map(secret_id)
    holder = {stage: vid for vid, attached in current.items() for stage in attached}
    labels = list(dict.fromkeys(stages))
    if new_version and AWSCURRENT not in holder and AWSCURRENT not in labels:
        labels.append(AWSCURRENT)
    for stage in labels:
        if stage == AWSCURRENT:
            previous = holder.get(AWSCURRENT)
            if previous is not None and previous != version_id:
                await tx.secrets.move_stage(secret_id, AWSPREVIOUS, previous)
                holder[AWSPREVIOUS] = previous
                if new_version and holder.get(AWSPENDING) == previous and AWSPENDING not in stages:
                    await tx.secrets.remove_stage(secret_id, AWSPENDING)
                    del holder[AWSPENDING]
        await tx.secrets.move_stage(secret_id, stage, version_id)
        holder[stage] = version_id
    if len(holder) > MAX_LABELS:  # quota: staging labels attached across all versions of a secret
        raise LimitExceededException(
            f"You can't attach more than {MAX_LABELS} staging labels to the versions of a secret."
        )
    return labels


async def prune_deprecated(tx: Tx, secret_id: int, now: float) -> None:
    """Keep at most MAX_VERSIONS versions, never removing labelled or young versions."""
    if await tx.secrets.count_versions(secret_id) <= MAX_VERSIONS:
        return
    versions = await tx.secrets.list_versions(secret_id)
    excess = len(versions) - MAX_VERSIONS
    doomed = [
        v.version_id for v in versions if not v.stages and now - v.created_at >= DEPRECATED_MIN_AGE
    ][:excess]
    if len(doomed) < excess:
        raise LimitExceededException(
            f"You can't create more than {MAX_VERSIONS} versions of a secret within 24 hours; "
            "versions without staging labels are removed once they are 24 hours old."
        )
    await tx.secrets.delete_versions(secret_id, doomed)

