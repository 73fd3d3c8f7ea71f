"""What a replica secret is, and what may not be done to one (docs/api.md, "Replication").

A replica is an ordinary secret row linked to its primary by ``primary_arn``. A cross-region
replica (another region of the primary's account; ``primary_region`` is the primary's region) is
read-only: every change is refused as AWS refuses it. A cross-account replica (another account,
same region) has its own policies, tags and key, but its versions and labels come from its
primary, and it is deleted only after StopReplicationToReplica made it a standalone secret.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from strongroom.errors import InvalidParameterException
from strongroom.secrets.arns import parse_secret_arn, resolve_secret_id
from strongroom.store.records import SecretRow

#: AWS's refusal of a change to a cross-region replica (moto's tests, and real answers quoted in
#: gruntwork-io/cloud-nuke#435 and lgallard/terraform-aws-secrets-manager#188).
REPLICA_WRITE = "Operation not permitted on a replica secret. Call must be made in primary secret's region."
#: Ours: AWS's wording for a cross-account replica is not public.
CROSS_ACCOUNT_VALUES = (
    "Operation not permitted on a cross-account replica secret: its versions come from its primary secret. "
    "Call StopReplicationToReplica to make it a standalone secret first."
)
#: Ours, after the DeleteSecret documentation ("you can't delete a cross-account replica secret
#: without first stopping replication").
CROSS_ACCOUNT_DELETE = (
    "You can't delete a cross-account replica secret without first stopping replication. "
    "Call StopReplicationToReplica first."
)

#: Statuses of a replication (the model's StatusType).
IN_SYNC, FAILED, IN_PROGRESS, PENDING, DETACHED = "InSync", "Failed", "InProgress", "Pending", "Detached"


def is_replica(secret: SecretRow) -> bool:
    return secret.primary_arn is not None


def is_cross_account_replica(secret: SecretRow) -> bool:
    """A replica whose primary belongs to another account."""
    if secret.primary_arn is None:
        return False
    parsed = parse_secret_arn(secret.primary_arn)
    return parsed is not None and parsed.account != secret.account


def links_to(replica: SecretRow, primary: SecretRow) -> bool:
    """Whether ``replica`` names ``primary`` as its primary: by full ARN, or by a partial ARN (no
    suffix) naming it in its account and region."""
    if replica.primary_arn is None or replica.primary_arn == primary.arn:
        return replica.primary_arn is not None
    named = resolve_secret_id(replica.primary_arn, primary.account, primary.region)
    return named.arn is None and named.account == primary.account and named.name == primary.name


def refuse_change(secret: SecretRow) -> None:
    """A change of a cross-region replica through the API is refused (the relay's are not)."""
    if is_replica(secret) and not is_cross_account_replica(secret):
        raise InvalidParameterException(REPLICA_WRITE)


def refuse_value_change(secret: SecretRow) -> None:
    """A new version or a moved label of a cross-account replica through the API is refused."""
    if is_cross_account_replica(secret):
        raise InvalidParameterException(CROSS_ACCOUNT_VALUES)


#: The resource policy Secrets Manager attaches to a cross-account replica so that its primary's
#: account may associate it (User Guide, "Permissions for cross-account replication").
MANAGED_POLICY = "cross-account-replication"
ACCEPT = "AcceptCrossAccountReplication"


def managed_policy(secret: SecretRow) -> str | None:
    """A linked cross-account replica's managed policy: the primary's account may accept replication."""
    if not is_cross_account_replica(secret):
        return None
    primary = parse_secret_arn(secret.primary_arn or "")
    assert primary is not None
    return orjson.dumps({"Version": "2012-10-17", "Statement": [_accept_statement(secret, primary.account)]}).decode()


def _accept_statement(secret: SecretRow, account: str) -> dict[str, Any]:
    return {
        "Sid": "CrossAccountReplication", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": f"secretsmanager:{ACCEPT}", "Resource": secret.arn,
    }


def with_managed_policy(secret: SecretRow) -> SecretRow:
    """``secret`` as authorization sees it with both its policies: its own (``default``) and the managed
    one, as one document (IAM evaluates several resource policies as the union of their statements)."""
    managed = managed_policy(secret)
    if managed is None:
        return secret
    statements = orjson.loads(managed)["Statement"]
    if secret.resource_policy:
        own = orjson.loads(secret.resource_policy).get("Statement", [])
        statements = (own if isinstance(own, list) else [own]) + statements
    combined = orjson.dumps({"Version": "2012-10-17", "Statement": statements}).decode()
    return replace(secret, resource_policy=combined)
