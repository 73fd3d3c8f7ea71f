"""The peer replication service's descriptor: JSON 1.1 with X-Amz-Target ``StrongroomReplication.<Operation>``,
SigV4 with the signing name ``strongroom-replication``, IAM actions ``strongroom-replication:<Operation>``
decided by the policy engine on the replica's ARN."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from strongroom.secrets.replication import receive
from strongroom.secrets.replication.peer_wire import APPLY, REMOVE, TARGET_PREFIX
from strongroom.secrets.replication.peer_wire import SERVICE as NAME
from strongroom.service.descriptor import Operation, ServiceDescriptor

#: The service's definition (botocore's service-2 format), kept beside this module.
MODEL = Path(__file__).with_name("strongroom-replication-2026-12-01.json")


def audit_subject(params: Mapping[str, Any]) -> str | None:
    """The replica a request names."""
    arn = params.get("ReplicaArn")
    return arn if isinstance(arn, str) else None


SERVICE = ServiceDescriptor(
    name=NAME,
    signing_name=NAME,
    model=MODEL,
    operations={
        APPLY: Operation(APPLY, receive.apply_state),
        REMOVE: Operation(REMOVE, receive.remove_replica),
    },
    json_target_prefix=TARGET_PREFIX,
    json_content_type=b"application/x-amz-json-1.1",
    audit_subject=audit_subject,
)
