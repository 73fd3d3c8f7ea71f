"""Secret and version rows written straight through a store's SqlTx (the read-cache tests of both stores)."""

from __future__ import annotations

from collections.abc import Sequence

from strongroom.store.records import SecretRow, VersionRow
from strongroom.store.sql import SqlTx

REGION = "us-east-1"
CURRENT = "AWSCURRENT"
#: The deletion mark the cache tests write: a 7-day recovery window from t=5000.
DELETED_AT = 5000.0
DELETION_DATE = DELETED_AT + 7 * 86400

#: What a GetSecretValue read returns: (secret, version or None), or None.
Found = tuple[SecretRow, VersionRow | None] | None


def arn_of(account: str, name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{account}:secret:{name}-AbCdEf"


async def create_secret(
    tx: SqlTx, account: str, name: str, versions: Sequence[tuple[str, Sequence[str]]] = (("v1", (CURRENT,)),)
) -> SecretRow:
    """Insert a secret and its versions (id, labels) through a write transaction's SqlTx."""
    row = SecretRow(
        id=0, account=account, region=REGION, name=name, arn=arn_of(account, name), created_at=1000.0,
        last_changed_at=1000.0,
    )
    await tx.secrets.insert_secret(row)
    for i, (version_id, labels) in enumerate(versions):
        await tx.secrets.insert_version(row.id, version_id, 1000.0 + i, "string", f"sealed-{version_id}".encode())
        for label in labels:
            await tx.secrets.move_stage(row.id, label, version_id)
    return row


def check_stage_gone(found: Found) -> None:
    """The secret is still found, the requested stage no longer is."""
    assert found is not None and found[1] is None


def check_deleted(found: Found) -> None:
    """The secret carries the deletion mark the tests write (DELETED_AT, DELETION_DATE)."""
    assert found is not None
    assert (found[0].deleted_at, found[0].deletion_date) == (DELETED_AT, DELETION_DATE)
