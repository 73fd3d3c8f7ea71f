"""The server side of SigV4: read a request's authentication, then verify its signature.

A server calls :func:`parse_auth` on the raw request (it learns the access key id, the credential
scope and the session token before it knows the secret), looks the key up, then calls
:func:`verify` with the secret. Errors carry AWS's own messages and are checked in AWS's order
(request shape, date format, clock skew, ``host`` signed, algorithm, credential shape, credential
scope, then the signature). No error ever contains the expected signature, the canonical request
or the string to sign.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from strongroom.integers import decimal_integer
from strongroom.sigv4.canonical import (
    ALGORITHM,
    AMZ_DATE_FORMAT,
    TERMINATOR,
    _assemble,
    _canonical_bytes,
    _header_line,
    _scope_and_key,
    _signature_of,
    _string_to_sign,
    body_sha256,
    canonical_path,
    canonical_query,
    format_time,
)
from strongroom.sigv4.errors import IncompleteSignature, InvalidSignature, MissingAuthentication
from strongroom.sigv4.layout import MAX_CACHED_HEADERS, HeaderLayout, header_layout

#: Longest validity of a presigned URL: seven days, as for every AWS SigV4 presigned URL.
MAX_PRESIGN_EXPIRES = 604800
#: Longest Credential / SignedHeaders text the parse and plan caches remember: longer text is
#: worked out on every request, so no client can make a cache entry larger than this (an access
#: key id is 16-128 characters, IAM's AccessKeyId shape; 64 header names fit in 1024).
MAX_CACHED_CREDENTIAL = 256
MAX_CACHED_SIGNED_HEADERS = 1024

# --- AWS messages --------------------------------------------------------------------------------
# Missing token: AWS Secrets Manager's own text (aws/aws-sdk-cpp#2466), HTTP 403.
MSG_MISSING_AUTHENTICATION_TOKEN = "Missing Authentication Token"  # noqa: S105 (a message)
MSG_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
MSG_FOUND_BOTH = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
MSG_HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
_MSG_HEADER_REQUIRES = "Authorization header requires '{}' parameter. "
_MSG_HEADER_REQUIRES_DATE = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
_MSG_QUERY_REQUIRES = "AWS query-string parameters must include '{}'. "
_MSG_REEXAMINE_QUERY = "Re-examine the query-string parameters."
_MSG_NOT_KEY_VALUE = "'{}' not a valid key=value pair (missing equal-sign) in Authorization header: '{}'."
_MSG_BAD_DATE = "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601"
_MSG_UNSUPPORTED_ALGORITHM = "Unsupported AWS 'algorithm': '{}' (only AWS4-HMAC-SHA256 for now). "
_MSG_CREDENTIAL_PARTS = (
    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'"
)
_MSG_SCOPE_REGION = "Credential should be scoped to a valid region, not '{}'. "
_MSG_SCOPE_SERVICE = "Credential should be scoped to correct service: '{}'. "
_MSG_SCOPE_TERMINATOR = "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. "
_MSG_SCOPE_DATE = (
    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
    "'{}' != '{}', from '{}'. "
)
_MSG_EXPIRED = "Signature expired: {} is now earlier than {} ({} - {}.)"
_MSG_NOT_YET_CURRENT = "Signature not yet current: {} is still later than {} ({} + {}.)"
_MSG_UNSIGNED_HEADER = "'{}' must be a 'SignedHeader' in the AWS Authorization."
# X-Amz-Expires checks: S3's texts (AWS publishes no other service's), raised as IncompleteSignature.
_MSG_EXPIRES_NOT_NUMBER = "X-Amz-Expires should be a number"
_MSG_EXPIRES_NEGATIVE = "X-Amz-Expires must be non-negative"
_MSG_EXPIRES_TOO_LONG = (
    "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
    "must be less than 604800 seconds"
)

# Headers a signer leaves out: hop-by-hop headers and ones that proxies and HTTP clients rewrite
_QUERY_AUTH_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)


@dataclass(slots=True)  # not frozen: built on every request, and frozen slots init costs 2 us
class SignedRequestInfo:
    """What the server learns from a signed request before it knows the secret."""

    access_key_id: str
    date: str  # YYYYMMDD from the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # request time, ISO-8601 basic (X-Amz-Date, or the Date header converted)
    session_token: str | None
    presigned: bool  # query-string (presigned URL) authentication
    expires: int | None = None  # X-Amz-Expires of a presigned URL, in seconds



# --- Time ----------------------------------------------------------------------------------------
def _parse_amz_date(value: str) -> int | None:
    """Seconds since the epoch of an ISO-8601 basic UTC time (20150830T123600Z), or None."""
    return _parse_amz_date16(value) if len(value) == 16 else None


@lru_cache(maxsize=256)  # only 16-character keys reach it, so the cache stays small
def _parse_amz_date16(value: str) -> int | None:
    if value[8] != "T" or value[15] != "Z" or not value.isascii():
        return None
    digits = value[:8] + value[9:15]
    if not digits.isdigit():
        return None
    try:
        moment = datetime(
            int(digits[0:4]), int(digits[4:6]), int(digits[6:8]),
            int(digits[8:10]), int(digits[10:12]), int(digits[12:14]), tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None
    return int(moment.timestamp())



def _format_duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60} min" if whole % 60 == 0 else f"{whole} sec"


def _check_time(amz_date: str, expires: int | None, now: float, max_skew: float) -> None:
    """Refuse a request signed too long ago (or too far ahead) with AWS's messages."""
    moment = _parse_amz_date(amz_date)
    if moment is None:
        raise IncompleteSignature(_MSG_BAD_DATE.format(amz_date))
    window = max_skew if expires is None else expires
    if moment < now - window:
        raise InvalidSignature(
            _MSG_EXPIRED.format(amz_date, format_time(now - window), format_time(now), _format_duration(window))
        )
    if moment > now + max_skew:
        raise InvalidSignature(
            _MSG_NOT_YET_CURRENT.format(
                amz_date, format_time(now + max_skew), format_time(now), _format_duration(max_skew)
            )
        )


# --- Server side: parse ---------------------------------------------------------------------------
# The header is decoded from latin-1 bytes, and within U+0000-U+00FF these are exactly the
# characters str.isspace() and a str regex's \s match: an explicit class is tested against a bitmap,
# where \s asks Unicode's tables for every character (1.1 instead of 1.9 us per header).
_VALUE = "([^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0,]+)"
_STANDARD_AUTHORIZATION = re.compile(
    f"AWS4-HMAC-SHA256 Credential={_VALUE}, ?SignedHeaders={_VALUE}, ?Signature={_VALUE}"
)


def _standard_authorization(header: str) -> tuple[str, str, str] | None:
    """(Credential, SignedHeaders, Signature) of the Authorization header as every AWS SDK writes it.

    That form is ``AWS4-HMAC-SHA256 Credential=C, ?SignedHeaders=H, ?Signature=S``, each value
    without whitespace or comma; anything else is None and takes the general parser. ``header``
    is latin-1 text (as parse_auth decodes it).
    """
    match = _STANDARD_AUTHORIZATION.fullmatch(header)
    return match.groups() if match is not None else None  # type: ignore[return-value]


def _query_auth_params(raw_query: bytes) -> dict[str, str]:
    """The first value of every ``X-Amz-*`` query parameter, decoded."""
    found: dict[str, str] = {}
    if not raw_query or (b"X-Amz-" not in raw_query and b"%" not in raw_query):
        return found
    for part in raw_query.split(b"&"):
        key, _, value = part.partition(b"=")
        name = unquote_to_bytes(key).decode("utf-8", "replace")
        if name.startswith("X-Amz-") and name not in found:
            found[name] = unquote_to_bytes(value).decode("utf-8", "replace")
    return found


def _parse_expires(raw: str | None) -> int | None:
    """X-Amz-Expires in seconds; text that is no integer of at most 19 digits is "not a number"."""
    if raw is None:
        return None
    expires = decimal_integer(raw)
    if expires is None:
        raise IncompleteSignature(_MSG_EXPIRES_NOT_NUMBER)
    if expires < 0:
        raise IncompleteSignature(_MSG_EXPIRES_NEGATIVE)
    if expires > MAX_PRESIGN_EXPIRES:
        raise IncompleteSignature(_MSG_EXPIRES_TOO_LONG)
    return expires


def _amz_date_of(raw: str, http_date: bool) -> str:
    """The ISO-8601 basic form of X-Amz-Date (or of an RFC 7231 Date header)."""
    if _parse_amz_date(raw) is not None:
        return raw
    if http_date:
        try:
            moment = parsedate_to_datetime(raw)
            # "-0000" (as botocore writes it) parses without a zone: it is UTC
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except (TypeError, ValueError, IndexError, OverflowError):  # a year past C's int: OverflowError
            moment = None
        if moment is not None and moment.year >= 1000:  # four-digit years only, as ISO 8601 basic has
            return moment.strftime(AMZ_DATE_FORMAT)
    raise IncompleteSignature(_MSG_BAD_DATE.format(raw))


def parse_auth(
    method: str,
    raw_path: bytes,
    raw_query: bytes,
    headers: Sequence[tuple[bytes, bytes]],
    *,
    now: float | None = None,
    max_skew: float = 900.0,
    service: str | None = None,
    regions: Container[str] | None = None,
    layout: HeaderLayout | None = None,
) -> SignedRequestInfo:
    """Read the SigV4 authentication of a request (``Authorization`` header or query string).

    Checks, in AWS's order, everything that needs no secret: the pieces are present and well
    formed, the date parses, (when ``now`` is given) the clock skew, ``host`` is signed, the
    algorithm, the credential's five elements and its scope - terminator and date always, the
    region and service when ``regions`` / ``service`` are given. The access key is not looked up.
    ``layout`` is :func:`~strongroom.sigv4.layout.header_layout` of ``headers`` if the caller
    has it already. The first of repeated Authorization, date and token headers counts.
    """
    del method, raw_path  # part of the request, not of its authentication
    if layout is None:
        layout = header_layout(list(headers))
    first = layout.first
    at = first.get(b"authorization")
    auth_header = headers[at][1].decode("latin-1") if at is not None else ""
    query = _query_auth_params(raw_query) if raw_query else {}
    query_auth = "X-Amz-Algorithm" in query

    if auth_header and query_auth:
        raise InvalidSignature(MSG_FOUND_BOTH)
    if not query_auth and not auth_header.strip().startswith("AWS4-"):
        raise MissingAuthentication(MSG_MISSING_AUTHENTICATION_TOKEN)

    expires: int | None = None
    if query_auth:
        missing = [_MSG_QUERY_REQUIRES.format(name) for name in _QUERY_AUTH_REQUIRED if not query.get(name)]
        if missing:
            raise IncompleteSignature("".join(missing) + _MSG_REEXAMINE_QUERY)
        algorithm = query["X-Amz-Algorithm"]
        credential = query["X-Amz-Credential"]
        provided_signature = query["X-Amz-Signature"]
        signed_headers_text = query["X-Amz-SignedHeaders"]
        amz_date = _amz_date_of(query["X-Amz-Date"], http_date=False)
        session_token = query.get("X-Amz-Security-Token")
        expires = _parse_expires(query.get("X-Amz-Expires"))
    else:
        standard = _standard_authorization(auth_header)
        if standard is not None:  # what _parse_authorization makes of it, in one step
            algorithm = ALGORITHM
            credential, signed_headers_text, provided_signature = standard
        else:
            algorithm, params = _parse_authorization(auth_header)
            credential, provided_signature = params.get("Credential", ""), params.get("Signature", "")
            signed_headers_text = params.get("SignedHeaders")  # type: ignore[assignment]
        at = first.get(b"x-amz-date")
        x_amz_date = headers[at][1].decode("latin-1") if at is not None else ""
        at = first.get(b"date")
        http_date = headers[at][1].decode("latin-1") if at is not None else ""
        if not (credential and provided_signature and signed_headers_text is not None) or not (
            x_amz_date or http_date
        ):
            missing = [
                _MSG_HEADER_REQUIRES.format(name)
                for name, value in (("Credential", credential), ("Signature", provided_signature)) if not value
            ]  # fmt: skip
            if signed_headers_text is None:
                missing.append(_MSG_HEADER_REQUIRES.format("SignedHeaders"))
            if not x_amz_date and not http_date:
                missing.append(_MSG_HEADER_REQUIRES_DATE)
            raise IncompleteSignature("".join(missing) + "Authorization=" + auth_header)
        amz_date = _amz_date_of(x_amz_date, http_date=False) if x_amz_date else _amz_date_of(http_date, True)
        at = first.get(b"x-amz-security-token")
        session_token = headers[at][1].decode("latin-1") if at is not None else None

    if now is not None:
        _check_time(amz_date, expires, now, max_skew)
    signed_headers = _signed_header_names(signed_headers_text)
    if "host" not in signed_headers:
        raise InvalidSignature(MSG_HOST_NOT_SIGNED)
    if algorithm != ALGORITHM:
        raise IncompleteSignature(_MSG_UNSUPPORTED_ALGORITHM.format(algorithm))
    access_key_id, scope_date, scope_region, scope_service, terminator = _credential_parts(credential)
    problems: list[str] = []
    if regions is not None and scope_region not in regions:
        problems.append(_MSG_SCOPE_REGION.format(scope_region))
    if service is not None and scope_service != service:
        problems.append(_MSG_SCOPE_SERVICE.format(service))
    if terminator != TERMINATOR:
        problems.append(_MSG_SCOPE_TERMINATOR.format(terminator))
    if scope_date != amz_date[:8]:
        problems.append(_MSG_SCOPE_DATE.format(scope_date, amz_date[:8], amz_date))
    if problems:
        raise InvalidSignature("".join(problems))
    return SignedRequestInfo(  # positional: one per request, in the field order
        access_key_id, scope_date, scope_region, scope_service, signed_headers, provided_signature, amz_date,
        session_token, query_auth, expires,
    )


def _credential_parts(credential: str) -> tuple[str, str, str, str, str]:
    """(access key id, date, region, service, terminator) of a Credential (a trailing / ignored)."""
    if len(credential) > MAX_CACHED_CREDENTIAL:
        return _split_credential(credential)
    return _cached_credential_parts(credential)


def _split_credential(credential: str) -> tuple[str, str, str, str, str]:
    parts = credential.rstrip("/").split("/")
    if len(parts) != 5:
        raise IncompleteSignature(_MSG_CREDENTIAL_PARTS.format(credential))
    return parts[0], parts[1], parts[2], parts[3], parts[4]


_cached_credential_parts = lru_cache(maxsize=4096)(_split_credential)  # a client sends one Credential all day


def _parse_authorization(auth_header: str) -> tuple[str, dict[str, str]]:
    """(algorithm, parameters) of an Authorization header: ``ALGORITHM k=v, k=v, ...``.

    Parameters are separated by commas and/or whitespace; the last of a repeated one wins, as at AWS.
    """
    pieces = auth_header.split(None, 1)
    algorithm, rest = pieces[0], (pieces[1] if len(pieces) > 1 else "")
    params: dict[str, str] = {}
    for token in rest.replace(",", " ").split():
        key, equals, param = token.partition("=")
        if not equals:
            raise IncompleteSignature(_MSG_NOT_KEY_VALUE.format(token, auth_header))
        params[key] = param
    return algorithm, params


def _signed_header_names(text: str) -> tuple[str, ...]:
    """SignedHeaders as a tuple of lowercase names (clients send a handful of distinct lists)."""
    if len(text) > MAX_CACHED_SIGNED_HEADERS:
        return _split_signed_headers(text)
    return _cached_signed_headers(text)


def _split_signed_headers(text: str) -> tuple[str, ...]:
    return tuple(name for name in text.lower().split(";") if name)


_cached_signed_headers = lru_cache(maxsize=256)(_split_signed_headers)


# --- Server side: verify --------------------------------------------------------------------------
class _VerifyPlan:
    """What verifying needs from one header layout and one SignedHeaders list (worked out once)."""

    __slots__ = ("content_sha256_at", "signed", "signed_line", "single_at", "template", "unsigned")

    def __init__(self, layout: HeaderLayout, signed_headers: tuple[str, ...]) -> None:
        encoded = tuple(name.encode("latin-1") for name in signed_headers)
        wanted = frozenset(encoded)
        #: (name, positions of its values) in signing order; absent names have no positions
        self.signed = tuple((name, layout.positions.get(name, ())) for name in encoded)
        #: the first x-amz-* header left unsigned (the session token header may be), if any
        self.unsigned = next(
            (
                name.decode("latin-1") for name in layout.names
                if name[:6] == b"x-amz-" and name not in wanted and name != b"x-amz-security-token"
            ),
            None,
        )  # fmt: skip
        self.content_sha256_at = layout.first.get(b"x-amz-content-sha256")
        self.signed_line = b";".join(encoded)
        present = [(name, at) for name, at in self.signed if at]
        if all(len(at) == 1 for _, at in present):  # no signed header repeated: the usual request
            #: the header lines with a %s for each value, and where each value is
            self.template: bytes | None = b"".join(
                [_header_line(name.replace(b"%", b"%%"), [b"%s"]) for name, _ in present]
            )
            self.single_at = tuple(at[0] for _, at in present)
        else:
            self.template, self.single_at = None, ()

    def canonical(self, headers: Sequence[tuple[bytes, bytes]], method: str, path: str, query: str,
                  payload_hash: str) -> bytes:
        """The canonical request of a request with this plan's layout."""
        if self.template is not None:  # each value folded as _header_line folds it
            values = tuple([b" ".join(headers[at][1].split()) for at in self.single_at])
            return _assemble(method, path, query, self.template % values, self.signed_line, payload_hash)
        header_values = [(name, [headers[at][1] for at in positions]) for name, positions in self.signed]
        return _canonical_bytes(method, path, query, header_values, payload_hash)


@lru_cache(maxsize=1024)
def _cached_plan(names: tuple[bytes, ...], signed_headers: tuple[str, ...]) -> _VerifyPlan:
    return _VerifyPlan(HeaderLayout(names), signed_headers)


def verify(
    info: SignedRequestInfo,
    secret_access_key: str,
    method: str,
    raw_path: bytes,
    raw_query: bytes,
    headers: Sequence[tuple[bytes, bytes]],
    body: bytes,
    now: float,
    max_skew: float = 900.0,
    *,
    normalize_path: bool = True,
    time_checked: bool = False,
    layout: HeaderLayout | None = None,
) -> None:
    """Check the signature of a request parsed by :func:`parse_auth`; raise on any mismatch.

    Besides the signature (compared in constant time) it refuses: a request outside the clock-skew
    window (or past a presigned URL's X-Amz-Expires), ``host`` unsigned, any ``x-amz-*`` header
    left unsigned (``x-amz-target`` picks the operation, so it must be covered; the session token
    header is exempt, as AWS lets it be added after signing), and an ``x-amz-content-sha256``
    that is not the body's SHA-256 (``UNSIGNED-PAYLOAD`` included: the body is always signed).
    ``time_checked``: the caller ran :func:`parse_auth` with the same ``now`` and ``max_skew``.
    ``layout``: :func:`~strongroom.sigv4.layout.header_layout` of ``headers``, if known.
    """
    if not time_checked:  # parse_auth(now=...) already did
        _check_time(info.amz_date, info.expires, now, max_skew)
    if "host" not in info.signed_headers:
        raise InvalidSignature(MSG_HOST_NOT_SIGNED)

    if layout is None:
        layout = header_layout(list(headers))
    # Plans are remembered per header-name list and SignedHeaders, except for very long ones.
    if len(layout.names) <= MAX_CACHED_HEADERS and sum(map(len, info.signed_headers)) <= MAX_CACHED_SIGNED_HEADERS:
        plan = _cached_plan(layout.names, info.signed_headers)
    else:
        plan = _VerifyPlan(layout, info.signed_headers)
    if plan.unsigned is not None:
        raise InvalidSignature(_MSG_UNSIGNED_HEADER.format(plan.unsigned))

    body_hash = body_sha256(body)
    if plan.content_sha256_at is not None and headers[plan.content_sha256_at][1].strip() != body_hash.encode():
        raise InvalidSignature(MSG_SIGNATURE_MISMATCH)

    canonical = plan.canonical(
        headers, method, canonical_path(raw_path, normalize_path),
        canonical_query(raw_query, exclude_signature=info.presigned) if raw_query else "", body_hash,
    )
    scope, key = _scope_and_key(secret_access_key, info.date, info.region, info.service)
    expected = _signature_of(key, _string_to_sign(info.amz_date, scope, canonical))
    provided = info.signature
    if not provided.isascii() or not hmac.compare_digest(expected, provided):
        raise InvalidSignature(MSG_SIGNATURE_MISMATCH)

