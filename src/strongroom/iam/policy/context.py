"""The authorization request: who calls, what action on which resource, and the context keys.

Context key names are case-insensitive (IAM: "Key names are case-insensitive. For example,
aws:CurrentTime is equivalent to AWS:currenttime"), so :class:`RequestContext` lower-cases them once
per request. Keys that describe the caller (``aws:username``, ``aws:userid``, ``aws:PrincipalArn``,
``aws:PrincipalAccount``, ``aws:PrincipalType``) are derived from the principal unless the caller
put them in the context itself; a role session's ``aws:PrincipalArn`` is its role's ARN (IAM User
Guide, "AWS global condition context keys").
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: A context value as the server supplies it. ``None`` (or an absent key) means "not present";
#: a list is a multivalued key (``aws:TagKeys``); an empty list is treated as not present.
ContextValue = str | bool | int | float | bytes | _dt.datetime | Sequence[str] | None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    arn: str  # arn:aws:iam::111122223333:user/alice, ...:root, arn:aws:sts::...:assumed-role/R/s
    account: str
    is_root: bool
    username: str | None  # friendly name of an IAM user; None for root and roles
    userid: str  # AIDA... for users, AROA...:session for role sessions, the account id for root
    #: a role session's role (arn:aws:iam::111122223333:role/R): its ``aws:PrincipalArn``
    role_arn: str | None = None


@dataclass(frozen=True)
class AuthzRequest:
    """One authorization question."""

    principal: Principal
    action: str  # "<service prefix>:<Operation>"
    resource: str  # a secret ARN, or "*" for actions without a resource (ListSecrets)
    resource_account: str | None = None  # owner of the resource; None: derived from the ARN
    context: Mapping[str, ContextValue] = field(default_factory=dict)


def principal_type(principal: Principal) -> str:
    """The value of ``aws:PrincipalType`` for a principal."""
    if principal.is_root:
        return "Account"
    arn = principal.arn
    if ":assumed-role/" in arn:
        return "AssumedRole"
    if ":federated-user/" in arn:
        return "FederatedUser"
    if ":user/" in arn:
        return "User"
    return "Unknown"


class RequestContext:
    """Case-insensitive view of the request's context keys, with principal-derived keys."""

    __slots__ = ("_values", "_principal")

    def __init__(self, values: Mapping[str, ContextValue], principal: Principal | None) -> None:
        self._values = {key.lower(): value for key, value in values.items()}
        self._principal = principal

    def get(self, key: str) -> ContextValue:
        """The value of a context key (``key`` already lower-cased), or None when not present."""
        values = self._values
        if key in values:
            return values[key]
        principal = self._principal
        if principal is None or not key.startswith("aws:"):
            return None
        if key == "aws:username":
            return principal.username
        if key == "aws:userid":
            return principal.userid
        if key == "aws:principalarn":
            return principal.role_arn or principal.arn
        if key == "aws:principalaccount":
            return principal.account
        if key == "aws:principaltype":
            return principal_type(principal)
        return None
