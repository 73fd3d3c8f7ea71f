"""Who is calling, where, and when: the request facts every operation of every service receives."""

from __future__ import annotations

import enum
from typing import Any, NamedTuple, Protocol


class CallerKind(enum.Enum):
    """How a request's caller was established, and so how it is authorized.

    Code that must tell emulator mode apart (the resource-policy lock-out check) asks for DEV
    explicitly: an internal job is never mistaken for dev mode, and skips no check by accident.
    """

    #: SigV4-verified access key; identity and resource policies decide.
    API = "api"
    #: Emulator mode (``--dev``): any well-formed credentials act as the account root; all allowed.
    DEV = "dev"
    #: Strongroom's own work (rotation, replication jobs) on behalf of the deployment; all allowed.
    SYSTEM = "system"


class Authorize(Protocol):
    """``authorize(action, resource_arn, secret_or_None, named)`` raises AccessDeniedException on a denial.

    The decision is made on ``resource_arn`` (and the secret's tags and resource policy); the
    denial's message names ``named``, the resource as the caller gave it, when there is one, so a
    refusal never shows an ARN the caller did not send.
    """

    def __call__(self, action: str, resource: str, secret: Any, named: str | None = None) -> None: ...


def allow_all(action: str, resource: str, secret: Any, named: str | None = None) -> None:
    """The authorizer of DEV and SYSTEM callers: everything is allowed."""


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
    kind: CallerKind = CallerKind.API

    @property
    def today(self) -> float:
        """Midnight UTC of the request day: AWS reports LastAccessedDate at day granularity."""
        return float(int(self.now // 86400) * 86400)
