"""AssumeRole members Strongroom cannot honour: refused with ValidationError naming them, never
ignored (answering 200 while dropping a session tag or a managed policy would hand out
credentials other than the ones asked for). docs/api.md, "STS", lists them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.errors import ValidationException

MANAGED_POLICIES = (
    "Strongroom has no managed policies, so PolicyArns can't name any: pass the session policy inline "
    "(Policy) and remove PolicyArns."
)
SESSION_TAGS = "Strongroom does not support session tags: remove Tags and TransitiveTagKeys."
SOURCE_IDENTITY = "Strongroom does not support a source identity: remove SourceIdentity."
PROVIDED_CONTEXTS = "Strongroom does not support trusted context assertions: remove ProvidedContexts."

#: operation -> {member: why it is refused}
UNSUPPORTED: dict[str, dict[str, str]] = {
    "AssumeRole": {
        "PolicyArns": MANAGED_POLICIES,
        "Tags": SESSION_TAGS,
        "TransitiveTagKeys": SESSION_TAGS,
        "SourceIdentity": SOURCE_IDENTITY,
        "ProvidedContexts": PROVIDED_CONTEXTS,
    },
}


def refuse_unsupported(operation: str, params: Mapping[str, Any]) -> None:
    """ValidationError when ``params`` hold a member (not empty) Strongroom cannot honour for ``operation``."""
    for member, message in UNSUPPORTED.get(operation, {}).items():
        if params.get(member):
            raise ValidationException(message)
