"""SigV4 canonicalisation, signing keys and signatures: what signing and verifying share.

Canonicalisation follows the specification and the official test vectors for non-S3 services: the
path, as sent on the wire, is normalised (empty and ``.`` segments dropped, ``..`` resolved) and
URI-encoded once more ("double encoding"); query parameters are decoded, re-encoded with the RFC 3986
unreserved set and sorted by key then value; header values are trimmed, runs of whitespace fold to
one space and repeated headers join with ``,``; the payload hash is the SHA-256 of the body.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import quote_from_bytes, unquote_to_bytes

from strongroom.crypto.digests import sha256_hex

try:  # OpenSSL's HMAC object: a keyed state is copied in one C call
    from _hashlib import hmac_new as _hmac_new
except ImportError:  # pragma: no cover - a CPython built without OpenSSL
    def _hmac_new(key: bytes, msg: bytes = b"", digestmod: str = "sha256") -> Any:  # type: ignore[misc]
        return hmac.new(key, msg, digestmod)

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _remove_dot_segments(path: bytes) -> bytes:
    """RFC 3986 section 5.2.4, plus AWS's removal of empty segments (as botocore does)."""
    out: list[bytes] = []
    for segment in path.split(b"/"):
        if not segment or segment == b".":
            continue
        if segment == b"..":
            if out:
                out.pop()
        else:
            out.append(segment)
    first = b"/" if path[:1] == b"/" else b""
    last = b"/" if path[-1:] == b"/" and out else b""
    return first + b"/".join(out) + last


def canonical_path(raw_path: bytes, normalize: bool = True) -> str:
    """The canonical URI of a path as sent on the wire (still percent-encoded).

    Non-S3 services normalise the path and URI-encode it once more, so ``/a%20b`` signs as
    ``/a%2520b``; ``normalize=False`` keeps the segments as they are (S3 style).
    """
    if raw_path == b"/" or not raw_path:
        return "/"
    if normalize:
        raw_path = _remove_dot_segments(raw_path) or b"/"
    return quote_from_bytes(raw_path, safe="/~")


def _uri_encode(raw: bytes) -> str:
    """Decode percent-escapes, then encode everything outside the RFC 3986 unreserved set."""
    if b"%" in raw:
        raw = unquote_to_bytes(raw)
    return quote_from_bytes(raw, safe="~")


def canonical_query(raw_query: bytes, *, exclude_signature: bool = False) -> str:
    """The canonical query string: every parameter re-encoded, sorted by key and then value.

    ``+`` is a literal plus (RFC 3986), as AWS SDKs encode a space as ``%20``. Empty ``&&``
    segments are skipped. ``exclude_signature`` drops ``X-Amz-Signature`` (query authentication).
    """
    if not raw_query:
        return ""
    pairs: list[tuple[str, str]] = []
    for part in raw_query.split(b"&"):
        if not part:
            continue
        key, _, value = part.partition(b"=")
        encoded_key = _uri_encode(key)
        if exclude_signature and encoded_key == "X-Amz-Signature":
            continue
        pairs.append((encoded_key, _uri_encode(value)))
    pairs.sort()
    return "&".join([f"{key}={value}" for key, value in pairs])


def _header_line(name: bytes, values: Sequence[bytes]) -> bytes:
    """One canonical header line: each value trimmed with every run of whitespace (line folds
    included) made one space; the values of a repeated header joined with ``,``."""
    return b"%s:%s\n" % (name, b",".join([b" ".join(value.split()) for value in values]))


def _assemble(method: str, path: str, query: str, header_block: bytes, signed_line: bytes, payload_hash: str) -> bytes:
    """The canonical request from its parts (``header_block``: the header lines, in signing order)."""
    return b"%s\n%s\n%s\n%s\n%s\n%s" % (
        method.encode(), path.encode(), query.encode(), header_block, signed_line, payload_hash.encode()
    )


def _canonical_bytes(
    method: str,
    path: str,
    query: str,
    header_values: Iterable[tuple[bytes, Sequence[bytes]]],
    payload_hash: str,
) -> bytes:
    """The canonical request; header names are lowercase bytes, in signing order.

    A signed header absent from the request (no values) adds no line but is still signed.
    """
    names: list[bytes] = []
    lines: list[bytes] = []
    for name, values in header_values:
        names.append(name)
        if values:
            lines.append(_header_line(name, values))
    return _assemble(method, path, query, b"".join(lines), b";".join(names), payload_hash)


def canonical_request(
    method: str,
    raw_path: bytes,
    raw_query: bytes,
    headers: Sequence[tuple[bytes, bytes]],
    signed_headers: Sequence[str],
    payload_hash: str,
    *,
    normalize_path: bool = True,
    presigned: bool = False,
) -> str:
    """The canonical request of a raw request, for the given signed header names (lowercase)."""
    values: dict[str, list[bytes]] = {name: [] for name in signed_headers}
    for name, value in headers:
        bucket = values.get(name.decode("latin-1").lower())
        if bucket is not None:
            bucket.append(value)
    return _canonical_bytes(
        method,
        canonical_path(raw_path, normalize_path),
        canonical_query(raw_query, exclude_signature=presigned),
        [(name.encode("latin-1"), values[name]) for name in signed_headers],
        payload_hash,
    ).decode("utf-8", "replace")


def _string_to_sign(amz_date: str, scope: str, canonical: bytes) -> bytes:
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{sha256_hex(canonical)}".encode()


@lru_cache(maxsize=4096)
def _scope_and_key(secret_access_key: str, date: str, region: str, service: str) -> tuple[str, bytes]:
    """(credential scope, signing key) of a secret and a scope: one cache lookup per request."""
    return f"{date}/{region}/{service}/{TERMINATOR}", _cached_signing_key(secret_access_key, date, region, service)


def string_to_sign(amz_date: str, date: str, region: str, service: str, canonical: str | bytes) -> str:
    """The string to sign for a canonical request."""
    data = canonical.encode("utf-8") if isinstance(canonical, str) else canonical
    return _string_to_sign(amz_date, f"{date}/{region}/{service}/{TERMINATOR}", data).decode()


@lru_cache(maxsize=4096)
def _cached_signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    key = hmac.digest(f"AWS4{secret_access_key}".encode(), date.encode(), "sha256")
    key = hmac.digest(key, region.encode(), "sha256")
    key = hmac.digest(key, service.encode(), "sha256")
    return hmac.digest(key, b"aws4_request", "sha256")


def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning for a secret and a credential scope, from a bounded LRU cache (4096 entries)."""
    return _cached_signing_key(secret_access_key, date, region, service)


def clear_signing_key_cache() -> None:
    """Forget every cached signing key (call it when access keys are deleted or rotated)."""
    _cached_signing_key.cache_clear()
    _scope_and_key.cache_clear()
    _keyed_hmac.cache_clear()


@lru_cache(maxsize=4096)
def _keyed_hmac(key: bytes) -> Any:
    """An HMAC-SHA256 state already keyed with ``key`` (copied per use, never updated itself)."""
    return _hmac_new(key, digestmod="sha256")


def _signature_of(key: bytes, string_to_sign: bytes) -> str:
    """hex(HMAC-SHA256(key, string_to_sign)), from a keyed state: half the cost of hmac.digest."""
    mac = _keyed_hmac(key).copy()
    mac.update(string_to_sign)
    return str(mac.hexdigest())


def signature(secret_access_key: str, date: str, region: str, service: str, string_to_sign: str) -> str:
    """The hex signature of a string to sign."""
    return _signature_of(signing_key(secret_access_key, date, region, service), string_to_sign.encode())



def format_time(epoch: float) -> str:
    """An epoch time in ISO-8601 basic format (X-Amz-Date)."""
    return time.strftime(AMZ_DATE_FORMAT, time.gmtime(epoch))


def body_sha256(body: bytes) -> str:
    """The SHA-256 of a request body, hex (the empty body's is a constant)."""
    return sha256_hex(body) if body else EMPTY_SHA256
