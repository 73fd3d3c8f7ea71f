"""Who is calling, where, and when: the request facts every operation of every service receives."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from strongroom.iam.caller import Caller, CallerKind

__all__ = ["Authorize", "Caller", "CallerKind", "RequestContext", "allow_all"]


class Authorize(Protocol):
    """``authorize(action, resource_arn, secret_or_None, named)`` raises AccessDeniedException on a denial.

    ``action`` is the operation name; the service's name is its IAM prefix (an action of another
    service comes qualified: ``lambda:InvokeFunction``). The decision is made on
    ``resource_arn`` (and the secret's tags and resource policy); the denial's message names
    ``named``, the resource as the caller gave it, when there is one, so a refusal never shows an
    ARN the caller did not send.
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
    #: The operation being performed (its IAM action is ``<service>:<action>``).
    action: str = ""
    authorize: Authorize = allow_all
    #: Who sent the request (None in contexts built by tests that need no caller: an API caller).
    caller: Caller | None = None

    @property
    def kind(self) -> CallerKind:
        """The caller's kind: DEV and SYSTEM callers are allowed everything, API callers are evaluated."""
        return self.caller.kind if self.caller is not None else CallerKind.API

    @property
    def today(self) -> float:
        """Midnight UTC of the request day: AWS reports LastAccessedDate at day granularity."""
        return float(int(self.now // 86400) * 86400)

    @classmethod
    def of(
        cls, caller: Caller, now: float, request_id: str = "", action: str = "", authorize: Authorize = allow_all
    ) -> RequestContext:
        """The context of a request from ``caller`` (its account and region are the namespace)."""
        principal = caller.principal
        return cls(principal.account, caller.region, principal.arn, now, request_id, action, authorize, caller)
