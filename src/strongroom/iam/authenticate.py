"""Who is calling: turns a request's SigV4 credentials into a :class:`Caller` (API, or DEV in emulator mode)."""

from __future__ import annotations

import hmac
import time
from typing import Protocol

from strongroom.errors import (
    ApiError,
    ExpiredTokenException,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from strongroom.iam.caller import Caller, CallerKind, root_principal
from strongroom.iam.identities import INVALID_TOKEN, Identities, token_digest
from strongroom.regions import AcceptedRegions
from strongroom.sigv4 import HeaderLayout, SigV4Error, parse_auth, verify
from strongroom.sigv4.errors import IncompleteSignature, InvalidSignature, MissingAuthentication

#: AWS's text for expired temporary credentials, no final period (docs/api.md, "STS").
EXPIRED_TOKEN = "The security token included in the request is expired"


_AWS_ERRORS: dict[type[SigV4Error], type[ApiError]] = {
    MissingAuthentication: MissingAuthenticationTokenException,
    IncompleteSignature: IncompleteSignatureException,
    InvalidSignature: InvalidSignatureException,
}


def aws_error(error: SigV4Error) -> ApiError:
    """The AWS JSON-protocol error of a SigV4 failure (same message)."""
    return _AWS_ERRORS[type(error)](error.message)


class Authenticator(Protocol):
    async def authenticate(
        self, method: str, raw_path: bytes, raw_query: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
        service: str, layout: HeaderLayout | None = None,
    ) -> Caller:
        """The caller of a request; ``layout`` is the header layout of ``headers``, if known."""
        ...


class DevAuthenticator:
    """Emulator mode: any well-formed SigV4 credentials act as the account's root.

    The signature is parsed but not verified; region and access key come from the credential
    scope, so regions stay separate namespaces exactly as on AWS. The scope's region must be one
    of ``regions`` (by default any well-formed region name), as with authentication on.
    """

    def __init__(self, account_id: str, regions: AcceptedRegions | None = None) -> None:
        self.principal = root_principal(account_id)
        self.regions = regions if regions is not None else AcceptedRegions()

    async def authenticate(
        self, method: str, raw_path: bytes, raw_query: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
        service: str, layout: HeaderLayout | None = None,
    ) -> Caller:
        try:
            info = parse_auth(
                method, raw_path, raw_query, headers, service=service, regions=self.regions, layout=layout
            )
        except SigV4Error as exc:
            raise aws_error(exc) from None
        return Caller(
            self.principal, (), info.region, info.access_key_id, temporary=bool(info.session_token),
            kind=CallerKind.DEV,
        )


class SigV4Authenticator:
    """Full authentication: the access key must exist and be active, the signature must verify.

    A long-term key must come without a session token. A temporary key (``ASIA...``) must come
    with its own token (SHA-256 digests compared in constant time) and before its expiration;
    the token is checked first, so only a holder of the token learns that it has expired. The
    scope's region must be one of ``regions`` (by default any well-formed region name).
    """

    def __init__(
        self, identities: Identities, max_skew: float = 900.0, regions: AcceptedRegions | None = None
    ) -> None:
        self.identities = identities
        self.max_skew = max_skew
        self.regions = regions if regions is not None else AcceptedRegions()

    async def authenticate(
        self, method: str, raw_path: bytes, raw_query: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
        service: str, layout: HeaderLayout | None = None,
    ) -> Caller:
        now = time.time()
        try:
            info = parse_auth(
                method, raw_path, raw_query, headers, now=now, max_skew=self.max_skew, service=service,
                regions=self.regions, layout=layout,
            )
        except SigV4Error as exc:
            raise aws_error(exc) from None
        identity = await self.identities.resolve(info.access_key_id)
        if identity is None or not identity.active:
            raise UnrecognizedClientException(INVALID_TOKEN)
        if identity.token_hash is None:
            if info.session_token:  # a long-term key never has a token
                raise UnrecognizedClientException(INVALID_TOKEN)
        else:
            if not info.session_token or not hmac.compare_digest(
                token_digest(info.session_token), identity.token_hash
            ):
                raise UnrecognizedClientException(INVALID_TOKEN)
            if identity.expires_at is None or now >= identity.expires_at:
                raise ExpiredTokenException(EXPIRED_TOKEN)
        try:
            verify(
                info, identity.secret_access_key, method, raw_path, raw_query, headers, body, now, self.max_skew,
                time_checked=True, layout=layout,
            )
        except SigV4Error as exc:
            raise aws_error(exc) from None
        return Caller(
            identity.principal, identity.policies, info.region, info.access_key_id, temporary=identity.temporary
        )
