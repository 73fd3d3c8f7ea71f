"""The client side of SigV4: sign a request's headers, or presign a URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, quote_from_bytes, urlsplit, urlunsplit

from strongroom.sigv4.canonical import (
    ALGORITHM,
    TERMINATOR,
    _cached_signing_key,
    _canonical_bytes,
    _signature_of,
    _string_to_sign,
    body_sha256,
    canonical_path,
    canonical_query,
    format_time,
)
from strongroom.sigv4.verifier import MAX_PRESIGN_EXPIRES

# Headers a signer leaves out: hop-by-hop headers and ones that proxies and HTTP clients rewrite
# (botocore's SIGNED_HEADERS_BLACKLIST plus the AWS SDK for JavaScript's unsignable headers).
_UNSIGNABLE_HEADERS = frozenset(
    {
        "authorization", "baggage", "connection", "expect", "from", "keep-alive", "max-forwards",
        "pragma", "proxy-authenticate", "proxy-authorization", "referer", "te", "traceparent",
        "tracestate", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    }
)  # fmt: skip
# Headers the signer sets itself; a caller's copies are replaced, never signed twice.
_SIGNER_HEADERS = frozenset({"x-amz-date", "x-amz-security-token", "x-amz-content-sha256"})


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key pair, with the session token of temporary credentials."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # never print the secret or the token
        return f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key='***')"


def _host_of(parts: SplitResult) -> str:
    """The Host header an HTTP client sends for a URL: lowercase, default port dropped."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{port}"
    return host


def _headers_to_sign(headers: Mapping[str, str] | None, parts: SplitResult) -> dict[str, list[bytes]]:
    selected: dict[str, list[bytes]] = {}
    for name, value in (headers or {}).items():
        lname = name.strip().lower()
        if lname in _UNSIGNABLE_HEADERS or lname in _SIGNER_HEADERS:
            continue
        selected.setdefault(lname, []).append(value.encode("utf-8"))
    if "host" not in selected:
        selected["host"] = [_host_of(parts).encode()]
    return selected


def _sign(
    method: str,
    parts: SplitResult,
    query: str,
    selected: dict[str, list[bytes]],
    payload_hash: str,
    secret: str,
    amz_date: str,
    region: str,
    service: str,
    normalize_path: bool,
    presigned: bool,
) -> str:
    names = sorted(selected)
    canonical = _canonical_bytes(
        method.upper(),
        canonical_path(parts.path.encode("utf-8"), normalize_path),
        canonical_query(query.encode("utf-8"), exclude_signature=presigned),
        [(name.encode("latin-1"), selected[name]) for name in names],
        payload_hash,
    )
    scope = f"{amz_date[:8]}/{region}/{service}/{TERMINATOR}"
    key = _cached_signing_key(secret, amz_date[:8], region, service)
    return _signature_of(key, _string_to_sign(amz_date, scope, canonical))


def sign_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    creds: Credentials,
    region: str,
    service: str,
    now: float,
    *,
    add_content_sha256: bool = False,
    normalize_path: bool = True,
) -> dict[str, str]:
    """Sign a request; return the headers to add: X-Amz-Date, X-Amz-Security-Token (temporary
    credentials), X-Amz-Content-Sha256 (only if ``add_content_sha256``) and Authorization.

    ``url`` is the request URL with its path and query already percent-encoded, as sent. Every
    header in ``headers`` is signed except hop-by-hop ones and User-Agent; ``host`` is signed as
    the HTTP client will send it (from the URL, default port dropped) unless given in ``headers``.
    """
    parts = urlsplit(url)
    amz_date = format_time(now)
    added = {"X-Amz-Date": amz_date}
    if creds.session_token:
        added["X-Amz-Security-Token"] = creds.session_token
    payload_hash = body_sha256(body)
    if add_content_sha256:
        added["X-Amz-Content-Sha256"] = payload_hash
    selected = _headers_to_sign(headers, parts)
    for name, value in added.items():
        selected[name.lower()] = [value.encode()]
    sig = _sign(
        method, parts, parts.query, selected, payload_hash, creds.secret_access_key, amz_date,
        region, service, normalize_path, presigned=False,
    )  # fmt: skip
    credential = f"{creds.access_key_id}/{amz_date[:8]}/{region}/{service}/{TERMINATOR}"
    added["Authorization"] = (
        f"{ALGORITHM} Credential={credential}, SignedHeaders={';'.join(sorted(selected))}, Signature={sig}"
    )
    return added


def presign_url(
    method: str,
    url: str,
    creds: Credentials,
    region: str,
    service: str,
    now: float,
    expires: int = 900,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    normalize_path: bool = True,
) -> str:
    """A presigned URL (query-string authentication) valid for ``expires`` seconds (1 to 7 days).

    The URL's own query is kept and the authentication parameters are appended; ``host`` (and
    any ``headers`` given, which the caller must then send) are signed, and the payload hash is
    the SHA-256 of ``body`` (empty by default).
    """
    if not 1 <= expires <= MAX_PRESIGN_EXPIRES:
        raise ValueError(f"expires must be between 1 and {MAX_PRESIGN_EXPIRES} seconds, not {expires}")
    parts = urlsplit(url)
    amz_date = format_time(now)
    selected = _headers_to_sign(headers, parts)
    auth = {
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": f"{creds.access_key_id}/{amz_date[:8]}/{region}/{service}/{TERMINATOR}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": ";".join(sorted(selected)),
    }
    if creds.session_token:
        auth["X-Amz-Security-Token"] = creds.session_token
    encoded = "&".join(f"{key}={quote_from_bytes(value.encode(), safe='~')}" for key, value in auth.items())
    query = f"{parts.query}&{encoded}" if parts.query else encoded
    payload_hash = body_sha256(body)
    sig = _sign(
        method, parts, query, selected, payload_hash, creds.secret_access_key, amz_date,
        region, service, normalize_path, presigned=True,
    )  # fmt: skip
    return urlunsplit((parts.scheme, parts.netloc, parts.path, f"{query}&X-Amz-Signature={sig}", parts.fragment))
