"""Who is calling: turns a request's SigV4 credentials into a caller (principal, account, region)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from strongroom.auth.identities import Identities, root_principal
from strongroom.auth.policy import Policy, Principal
from strongroom.auth.sigv4 import parse_auth, verify
from strongroom.errors import UnrecognizedClientException

INVALID_TOKEN = "The security token included in the request is invalid."


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    policies: tuple[Policy, ...]
    region: str
    access_key_id: str
    #: dev mode: no signature check, no policy evaluation (the caller is the account root)
    unrestricted: bool = False

    @property
    def account(self) -> str:
        return self.principal.account


class Authenticator(Protocol):
    async def authenticate(
        self, method: str, raw_path: bytes, raw_query: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
        service: str,
    ) -> Caller: ...


class DevAuthenticator:
    """Emulator mode: any well-formed SigV4 credentials act as the account's root.

    The signature is parsed but not verified; region and access key come from the credential
    scope, so regions stay separate namespaces exactly as on AWS.
    """

    def __init__(self, account_id: str) -> None:
        self.principal = root_principal(account_id)

    async def authenticate(
        self, method: str, raw_path: bytes, raw_query: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
        service: str,
    ) -> Caller:
        info = parse_auth(method, raw_path, raw_query, headers, service=service)
        return Caller(self.principal, (), info.region, info.access_key_id, unrestricted=True)


class SigV4Authenticator:
    """Full authentication: the access key must exist and be active, the signature must verify."""

    def __init__(self, identities: Identities, max_skew: float = 900.0) -> None:
        self.identities = identities
        self.max_skew = max_skew

    async def authenticate(
        self, method: str, raw_path: bytes, raw_query: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
        service: str,
    ) -> Caller:
        now = time.time()
        info = parse_auth(method, raw_path, raw_query, headers, now=now, max_skew=self.max_skew, service=service)
        identity = await self.identities.resolve(info.access_key_id)
        # Temporary credentials are not issued here, so a session token can't be valid.
        if identity is None or not identity.active or info.session_token:
            raise UnrecognizedClientException(INVALID_TOKEN)
        verify(info, identity.secret_access_key, method, raw_path, raw_query, headers, body, now, self.max_skew)
        return Caller(identity.principal, identity.policies, info.region, info.access_key_id)
