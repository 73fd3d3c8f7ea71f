"""Who is calling: turns a request's SigV4 credentials into a caller (account, region, principal)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from strongroom.auth.sigv4 import parse_auth
from strongroom.errors import InvalidSignatureException


@dataclass(frozen=True, slots=True)
class Caller:
    account: str
    region: str
    principal_arn: str
    access_key_id: str


class Authenticator(Protocol):
    def authenticate(
        self, method: str, raw_path: bytes, raw_query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Caller: ...


class DevAuthenticator:
    """Emulator mode: any well-formed SigV4 credentials act as the account's root.

    The signature is parsed but not verified; region and access key come from the credential
    scope, so regions stay separate namespaces exactly as on AWS.
    """

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.principal_arn = f"arn:aws:iam::{account_id}:root"

    def authenticate(
        self, method: str, raw_path: bytes, raw_query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Caller:
        info = parse_auth(method, raw_path, raw_query, headers)
        if info.service not in ("secretsmanager", "sts"):
            raise InvalidSignatureException(
                f"Credential should be scoped to correct service: 'secretsmanager'. "
            )
        return Caller(self.account_id, info.region, self.principal_arn, info.access_key_id)
