"""Request members of the current model that Strongroom cannot honour yet: refused, never ignored.

Ignoring one would answer 200 for something that did not happen: a replication role that is not
assumed, a partner's rotation of a managed external secret that never runs. Each is
InvalidRequestException with a message naming the member; the server checks every request's
parameters here before its operation runs. docs/api.md lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.errors import InvalidRequestException

REPLICATION_ROLE = (
    "Strongroom replicates as its own service, not by assuming a role: remove ReplicationRoleARN."
)
EXTERNAL_ROTATION = (
    "Strongroom does not rotate managed external secrets: remove ExternalSecretRotationMetadata and "
    "ExternalSecretRotationRoleArn."
)

#: operation -> {member: why it is refused}
UNSUPPORTED: dict[str, dict[str, str]] = {
    "AssociateCrossAccountReplica": {"ReplicationRoleARN": REPLICATION_ROLE},
    "RotateSecret": {
        "ExternalSecretRotationMetadata": EXTERNAL_ROTATION,
        "ExternalSecretRotationRoleArn": EXTERNAL_ROTATION,
    },
}


def refuse_unsupported(operation: str, params: Mapping[str, Any]) -> None:
    """InvalidRequestException when ``params`` hold a member Strongroom cannot honour for ``operation``."""
    members = UNSUPPORTED.get(operation)
    if members:
        for member, message in members.items():
            if params.get(member) is not None:
                raise InvalidRequestException(message)
