"""Who sent a request and how that was established: the caller kind decides how it is authorized."""

from __future__ import annotations

import enum
from typing import NamedTuple

from strongroom.iam.policy import Policy, Principal


class CallerKind(enum.Enum):
    """How a caller was established, and so how its requests are authorized.

    Code that must tell emulator mode apart (the resource-policy lock-out check) asks for DEV
    explicitly: an internal job is never mistaken for dev mode, and skips no check by accident.
    """

    #: SigV4-verified access key; identity and resource policies decide.
    API = "api"
    #: Emulator mode (``--dev``): any well-formed credentials act as the account root; all allowed.
    DEV = "dev"
    #: Strongroom's own work (rotation, replication jobs) on behalf of the deployment; all allowed.
    SYSTEM = "system"


class Caller(NamedTuple):
    """Who sent a request (a NamedTuple: one is built per request, cheaper than a frozen dataclass)."""

    principal: Principal
    #: identity policies (evaluated for API callers only)
    policies: tuple[Policy, ...]
    #: the region of the credential scope: the caller's namespace
    region: str
    access_key_id: str
    #: signed with temporary credentials (a session token from GetSessionToken)
    temporary: bool = False
    kind: CallerKind = CallerKind.API

    @property
    def account(self) -> str:
        return self.principal.account


def root_principal(account: str) -> Principal:
    """The root user of an account (its ``aws:userid`` is the account id)."""
    return Principal(arn=f"arn:aws:iam::{account}:root", account=account, is_root=True, username=None, userid=account)


def system_caller(account: str, region: str) -> Caller:
    """The caller of Strongroom's own jobs in an account and region: the account root, all allowed."""
    return Caller(root_principal(account), (), region, "", kind=CallerKind.SYSTEM)
