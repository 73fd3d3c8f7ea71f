"""AWS Signature Version 4 (AWS4-HMAC-SHA256): sign requests and verify them.

A standalone package (standard library only, no server imports), so the server and the client
share one implementation and can never disagree on canonicalisation:

- a server calls :func:`parse_auth` on the raw request, looks up the access key it names, then
  calls :func:`verify` with the secret (:mod:`strongroom.sigv4.verifier`);
- a client calls :func:`sign_headers` (Authorization-header signing) or :func:`presign_url`
  (query-string signing) (:mod:`strongroom.sigv4.signer`).

Failures raise :class:`SigV4Error` subclasses carrying AWS's message; each service maps them to
its own error types. Reproduces every case of the official test vectors (awslabs/aws-c-auth,
``aws-signing-test-suite/v4``).
"""

from strongroom.sigv4.canonical import (
    ALGORITHM,
    EMPTY_SHA256,
    canonical_path,
    canonical_query,
    canonical_request,
    clear_signing_key_cache,
    signature,
    signing_key,
    string_to_sign,
)
from strongroom.sigv4.errors import IncompleteSignature, InvalidSignature, MissingAuthentication, SigV4Error
from strongroom.sigv4.layout import HeaderLayout, Headers, header_layout
from strongroom.sigv4.signer import Credentials, presign_url, sign_headers
from strongroom.sigv4.verifier import MAX_PRESIGN_EXPIRES, SignedRequestInfo, parse_auth, verify

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "MAX_PRESIGN_EXPIRES",
    "Credentials",
    "HeaderLayout",
    "Headers",
    "IncompleteSignature",
    "InvalidSignature",
    "MissingAuthentication",
    "SigV4Error",
    "SignedRequestInfo",
    "canonical_path",
    "canonical_query",
    "canonical_request",
    "clear_signing_key_cache",
    "header_layout",
    "parse_auth",
    "presign_url",
    "sign_headers",
    "signature",
    "signing_key",
    "string_to_sign",
    "verify",
]
