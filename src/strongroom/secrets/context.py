"""Who is calling, where, and when: the request facts every operation receives."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: authorize(action, resource_arn, secret_or_None) raises AccessDeniedException on a denial.
Authorize = Callable[[str, str, Any], None]


def allow_all(action: str, resource: str, secret: Any) -> None:
    """The authorizer of dev mode and of internal work: everything is allowed."""


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The caller's account and region (its namespace), identity and the request's clock."""

    account: str
    region: str
    principal_arn: str
    request_id: str = ""
    now: float = field(default_factory=lambda: round(time.time(), 3))
    #: The operation being performed (its IAM action is ``secretsmanager:<action>``).
    action: str = ""
    authorize: Authorize = allow_all

    @property
    def today(self) -> float:
        """Midnight UTC of the request day: AWS reports LastAccessedDate at day granularity."""
        return float(int(self.now // 86400) * 86400)
