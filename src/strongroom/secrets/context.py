"""Who is calling, where, and when: the request facts every operation receives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

#: authorize(action, resource_arn, secret_or_None) raises AccessDeniedException on a denial.
Authorize = Callable[[str, str, Any], None]


def allow_all(action: str, resource: str, secret: Any) -> None:
    """The authorizer of dev mode and of internal work: everything is allowed."""


class RequestContext(NamedTuple):
    """The caller's account and region (its namespace), identity and the request's clock.

    Immutable; a NamedTuple rather than a frozen dataclass because one is built per request and a
    frozen dataclass's ``__init__`` costs about three times as much.
    """

    account: str
    region: str
    principal_arn: str
    #: Request time: seconds since the epoch, to the millisecond (:func:`strongroom.clock.now`)
    now: float
    request_id: str = ""
    #: The operation being performed (its IAM action is ``secretsmanager:<action>``).
    action: str = ""
    authorize: Authorize = allow_all

    @property
    def today(self) -> float:
        """Midnight UTC of the request day: AWS reports LastAccessedDate at day granularity."""
        return float(int(self.now // 86400) * 86400)
