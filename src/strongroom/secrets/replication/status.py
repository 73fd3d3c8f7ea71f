"""How replication shows in answers: ReplicationStatus, CrossAccountReplicas, CrossAccountPrimary.

A target stored InSync that has outbox events past its position shows InProgress: the relay has
changes of the primary to deliver. The KmsKeyId of a replica under the default key reads
``alias/aws/secretsmanager``, as the AWS CLI's example answer of replicate-secret-to-regions shows.
"""

from __future__ import annotations

from typing import Any

from strongroom.kms.keyring import DEFAULT_ALIAS
from strongroom.secrets.replicas import IN_PROGRESS, IN_SYNC, is_cross_account_replica
from strongroom.secrets.replication.targets import ACCOUNT, REGION
from strongroom.store.records import SecretRow, TargetView


def shown_status(view: TargetView) -> str:
    status = view.target.status
    return IN_PROGRESS if status == IN_SYNC and view.pending else status


def region_entry(view: TargetView) -> dict[str, Any]:
    """One ReplicationStatus entry (ReplicationStatusType)."""
    target = view.target
    out: dict[str, Any] = {
        "Region": target.region, "KmsKeyId": target.kms_key_id or DEFAULT_ALIAS, "Status": shown_status(view),
    }
    if target.status_message:
        out["StatusMessage"] = target.status_message
    if view.replica_last_accessed_at is not None:
        out["LastAccessedDate"] = view.replica_last_accessed_at
    return out


def account_entry(view: TargetView) -> dict[str, Any]:
    """One CrossAccountReplicas entry (CrossAccountReplicaEntry)."""
    target = view.target
    out: dict[str, Any] = {"ReplicaSecretARN": target.replica_arn, "ReplicationStatus": shown_status(view)}
    if target.role_arn:
        out["ReplicationRoleARN"] = target.role_arn
    if target.status_message:
        out["StatusMessage"] = target.status_message
    return out


def region_statuses(views: list[TargetView]) -> list[dict[str, Any]]:
    return [region_entry(v) for v in views if v.target.kind == REGION]


def replication_fields(secret: SecretRow, views: list[TargetView]) -> dict[str, Any]:
    """DescribeSecret's replication members of ``secret``, those that apply (AWS omits the others)."""
    out: dict[str, Any] = {}
    regions = region_statuses(views)
    if regions:
        out["ReplicationStatus"] = regions
    accounts = [account_entry(v) for v in views if v.target.kind == ACCOUNT]
    if accounts:
        out["CrossAccountReplicas"] = accounts
    if is_cross_account_replica(secret):
        primary: dict[str, Any] = {"PrimarySecretARN": secret.primary_arn}
        if secret.replica_status:
            primary["ReplicationStatus"] = secret.replica_status
        if secret.replica_message:
            primary["StatusMessage"] = secret.replica_message
        out["CrossAccountPrimary"] = primary
    return out
