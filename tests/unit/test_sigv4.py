"""SigV4 signing and verification: the official AWS test vectors, botocore round trips, AWS's errors."""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom import sigv4
from strongroom.iam.authenticate import aws_error
from strongroom.sigv4 import (
    Credentials,
    SignedRequestInfo,
    canonical,
    parse_auth,
    presign_url,
    sign_headers,
    verifier,
    verify,
)
from strongroom.sigv4.errors import IncompleteSignature, InvalidSignature, MissingAuthentication, SigV4Error

SUITE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "sigv4-test-suite"
if not SUITE.is_dir():  # the checkout may live elsewhere; the reference data sits beside it
    SUITE = Path("/work/shared/reference/sigv4-test-suite")

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEBYaDH+token/with=specials"
ENDPOINT = "https://secretsmanager.us-east-1.amazonaws.com/"
HOST = "secretsmanager.us-east-1.amazonaws.com"
T0 = 1369353600.0  # 2013-05-24T00:00:00Z


# --- Helpers ---------------------------------------------------------------------------------------
Request = tuple[str, bytes, bytes, list[tuple[bytes, bytes]], bytes]


def parse_http(data: bytes) -> Request:
    """A raw HTTP/1.1 request from the suite: method, raw path, raw query, ASGI headers, body."""
    head, _, body = data.partition(b"\n\n")
    lines = head.split(b"\n")
    words = lines[0].split(b" ")
    target = b" ".join(words[1:-1])  # paths may contain spaces ("GET /example space/ HTTP/1.1")
    path, _, query = target.partition(b"?")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, value + b"\n" + line)
            continue
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    return words[0].decode(), path, query, headers, body


def header(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    return next(value for key, value in headers if key == name).decode()


def epoch(text: str) -> float:
    moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def vector_cases() -> list[tuple[str, str]]:
    cases = []
    for folder in sorted(SUITE.iterdir()):
        for variant in ("header", "query"):
            if (folder / f"{variant}-signed-request.txt").exists():
                cases.append((folder.name, variant))
    return cases


def load(name: str, variant: str) -> tuple[dict, Request, Request, dict[str, str]]:
    folder = SUITE / name
    context = json.loads((folder / "context.json").read_text())
    plain = parse_http((folder / "request.txt").read_bytes())
    signed = parse_http((folder / f"{variant}-signed-request.txt").read_bytes())
    expected = {
        kind: (folder / f"{variant}-{kind}.txt").read_text()
        for kind in ("canonical-request", "string-to-sign", "signature")
    }
    return context, plain, signed, expected


def as_mapping(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers as a Mapping; repeated headers join with ',' exactly as SigV4 joins them."""
    mapping: dict[str, str] = {}
    for name, value in headers:
        key = name.decode()
        mapping[key] = f"{mapping[key]},{value.decode()}" if key in mapping else value.decode()
    return mapping


def url_of(request: Request) -> str:
    _, path, query, headers, _ = request
    url = f"https://{header(headers, b'host')}{path.decode()}"
    return f"{url}?{query.decode()}" if query else url


def to_asgi(prepared_url: str, headers, host: str | None = None) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
    """What an ASGI server hands over for a request botocore prepared (the client adds Host)."""
    parts = urlsplit(prepared_url)
    raw_headers = [(name.lower().encode(), _bytes(value)) for name, value in headers.items()]
    if not any(name == b"host" for name, _ in raw_headers):
        raw_headers.insert(0, (b"host", (host or parts.netloc).encode()))
    return (parts.path or "/").encode(), parts.query.encode(), raw_headers


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def boto_signed(
    body: bytes = b'{"SecretId":"prod/db/password"}',
    token: str | None = None,
    url: str = ENDPOINT,
    extra: dict[str, str] | None = None,
) -> Request:
    """A GetSecretValue request signed by botocore's SigV4Auth, as the server receives it."""
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "X-Amz-Target": "secretsmanager.GetSecretValue",
            "Content-Type": "application/x-amz-json-1.1",
            **(extra or {}),
        },
    )
    SigV4Auth(BotoCredentials(AKID, SECRET, token), "secretsmanager", "us-east-1").add_auth(request)
    prepared = request.prepare()
    path, query, headers = to_asgi(prepared.url, prepared.headers)
    return "POST", path, query, headers, prepared.body or b""


def replace_header(headers: list[tuple[bytes, bytes]], name: bytes, value: bytes) -> list[tuple[bytes, bytes]]:
    return [(key, value if key == name else old) for key, old in headers]


def check(request: Request, secret: str = SECRET, now: float | None = None) -> SignedRequestInfo:
    method, path, query, headers, body = request
    moment = time.time() if now is None else now
    info = parse_auth(method, path, query, headers, now=moment)
    verify(info, secret, method, path, query, headers, body, moment)
    return info


def plain_request(headers: list[tuple[bytes, bytes]], query: bytes = b"") -> Request:
    return "POST", b"/", query, [(b"host", HOST.encode()), *headers], b"{}"


# --- The official AWS SigV4 test suite ------------------------------------------------------------
CASES = vector_cases()


def test_the_whole_suite_is_present() -> None:
    assert len({name for name, _ in CASES}) == 38
    assert len(CASES) == 76


@pytest.mark.parametrize(("name", "variant"), CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_vector_canonical_request_string_to_sign_and_signature(name: str, variant: str) -> None:
    context, _, signed, expected = load(name, variant)
    method, path, query, headers, body = signed
    presigned = variant == "query"
    if presigned and context.get("omit_session_token"):
        # The token was appended after signing, so it is no part of the canonical query.
        query = b"&".join(part for part in query.split(b"&") if not part.startswith(b"X-Amz-Security-Token="))
    info = parse_auth(method, path, query, headers)
    payload_hash = hashlib.sha256(body).hexdigest()
    canonical = sigv4.canonical_request(
        method,
        path,
        query,
        headers,
        info.signed_headers,
        payload_hash,
        normalize_path=context["normalize"],
        presigned=presigned,
    )
    assert canonical == expected["canonical-request"]
    to_sign = sigv4.string_to_sign(info.amz_date, info.date, info.region, info.service, canonical)
    assert to_sign == expected["string-to-sign"]
    secret = context["credentials"]["secret_access_key"]
    assert sigv4.signature(secret, info.date, info.region, info.service, to_sign) == expected["signature"]
    assert info.signature == expected["signature"]


@pytest.mark.parametrize(("name", "variant"), CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_vector_signed_request_verifies(name: str, variant: str) -> None:
    context, _, signed, _ = load(name, variant)
    method, path, query, headers, body = signed
    now = epoch(context["timestamp"])
    info = parse_auth(method, path, query, headers, now=now, service="service", regions={"us-east-1"})
    assert info.presigned is (variant == "query")
    assert (info.access_key_id, info.region, info.service) == ("AKIDEXAMPLE", "us-east-1", "service")
    secret = context["credentials"]["secret_access_key"]
    if variant == "query" and context.get("omit_session_token"):
        # A token added to the URL after signing is refused: every query parameter is signed.
        with pytest.raises(InvalidSignature) as caught:
            verify(info, secret, method, path, query, headers, body, now, normalize_path=context["normalize"])
        assert caught.value.message == MISMATCH
        return
    verify(info, secret, method, path, query, headers, body, now, normalize_path=context["normalize"])
    if context["credentials"].get("token"):
        assert info.session_token == context["credentials"]["token"]


@pytest.mark.parametrize(("name", "variant"), CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_vector_reproduced_by_our_signer(name: str, variant: str) -> None:
    context, plain, signed, expected = load(name, variant)
    method, _, _, headers, body = plain
    cred = context["credentials"]
    token = None if context.get("omit_session_token") else cred.get("token")
    creds = Credentials(cred["access_key_id"], cred["secret_access_key"], token)
    now = epoch(context["timestamp"])
    if variant == "header":
        added = sign_headers(
            method,
            url_of(plain),
            as_mapping(headers),
            body,
            creds,
            context["region"],
            context["service"],
            now,
            add_content_sha256=context["sign_body"],
            normalize_path=context["normalize"],
        )
        assert added["Authorization"] == header(signed[3], b"authorization")
        assert added["X-Amz-Date"] == header(signed[3], b"x-amz-date")
        assert added.get("X-Amz-Security-Token") == token
    else:
        url = presign_url(
            method,
            url_of(plain),
            creds,
            context["region"],
            context["service"],
            now,
            context["expiration_in_seconds"],
            headers={key: value for key, value in as_mapping(headers).items() if key != "host"},
            body=body,
            normalize_path=context["normalize"],
        )
        ours = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        theirs = dict(parse_qsl(signed[2].decode(), keep_blank_values=True))
        if context.get("omit_session_token"):
            theirs.pop("X-Amz-Security-Token")
        assert ours == theirs
        assert ours["X-Amz-Signature"] == expected["signature"]


# --- Canonicalisation details ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "normalized", "unnormalized"),
    [
        (b"", "/", "/"),
        (b"/", "/", "/"),
        (b"/a%20b", "/a%2520b", "/a%2520b"),  # double encoding of the wire path
        (b"/a%2Fb/./c/../d//", "/a%252Fb/d/", "/a%252Fb/./c/../d//"),
        (b"/../..", "/", "/../.."),
        (b"/-._~az09", "/-._~az09", "/-._~az09"),
        (b"/\xe1\x88\xb4", "/%E1%88%B4", "/%E1%88%B4"),
    ],
)
def test_canonical_path(raw: bytes, normalized: str, unnormalized: str) -> None:
    assert sigv4.canonical_path(raw) == normalized
    assert sigv4.canonical_path(raw, normalize=False) == unnormalized


def test_canonical_query_sorts_and_reencodes() -> None:
    raw = b"b=2&a=z&a=y&c&%7e=%7E&d=a+b&e=a%20b&&f=/%2f&X-Amz-Signature=abc"
    expected = "X-Amz-Signature=abc&a=y&a=z&b=2&c=&d=a%2Bb&e=a%20b&f=%2F%2F&~=~"
    assert sigv4.canonical_query(raw) == expected
    assert "X-Amz-Signature" not in sigv4.canonical_query(raw, exclude_signature=True)


def test_header_values_are_trimmed_folded_and_joined() -> None:
    headers = [(b"host", b"h"), (b"my", b"  a \t  b  "), (b"other", b"x"), (b"my", b"c")]
    canonical = sigv4.canonical_request("GET", b"/", b"", headers, ("host", "my"), sigv4.EMPTY_SHA256)
    assert "\nhost:h\nmy:a b,c\n\nhost;my\n" in canonical


# --- Round trips with botocore --------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, TOKEN])
def test_botocore_header_signed_request_verifies(token: str | None) -> None:
    info = check(boto_signed(token=token))
    assert info.access_key_id == AKID
    assert (info.region, info.service, info.presigned) == ("us-east-1", "secretsmanager", False)
    assert info.session_token == token
    assert "x-amz-target" in info.signed_headers and "host" in info.signed_headers


def test_botocore_request_with_awkward_path_query_and_port_verifies() -> None:
    url = "https://127.0.0.1:4566/some%20dir/./a%2Fb//c?b=2&a=1&a=0&s=%2F%2B%20x&empty="
    check(boto_signed(url=url, extra={"X-Amz-Meta": "  spaced   value  "}))


def test_botocore_request_dated_with_the_date_header_verifies() -> None:
    # botocore signs with an RFC 7231 Date header instead of X-Amz-Date when the request has one.
    method, path, query, headers, body = boto_signed(extra={"Date": "placeholder"})
    assert not any(name == b"x-amz-date" for name, _ in headers)
    info = check((method, path, query, headers, body))
    assert "date" in info.signed_headers and len(info.amz_date) == 16


@pytest.mark.parametrize("token", [None, TOKEN])
def test_botocore_presigned_url_verifies(token: str | None) -> None:
    request = AWSRequest(method="GET", url=f"{ENDPOINT}?Action=GetSecretValue&SecretId=prod%2Fdb")
    SigV4QueryAuth(BotoCredentials(AKID, SECRET, token), "secretsmanager", "us-east-1", expires=300).add_auth(request)
    path, query, headers = to_asgi(request.prepare().url, {})
    info = check(("GET", path, query, headers, b""))
    assert info.presigned and info.expires == 300 and info.session_token == token


def test_our_signer_matches_botocore_byte_for_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime.datetime(2024, 2, 29, 23, 59, 58, tzinfo=datetime.UTC)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: moment.replace(tzinfo=None))
    url = "https://secretsmanager.eu-west-1.amazonaws.com:8443/x%20y?b=1&a=2"
    body = b'{"SecretId":"s"}'
    headers = {"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    SigV4Auth(BotoCredentials(AKID, SECRET, TOKEN), "secretsmanager", "eu-west-1").add_auth(request)
    ours = sign_headers(
        "POST",
        url,
        headers,
        body,
        Credentials(AKID, SECRET, TOKEN),
        "eu-west-1",
        "secretsmanager",
        moment.timestamp(),
    )
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["X-Amz-Date"] == request.headers["X-Amz-Date"]
    assert ours["X-Amz-Security-Token"] == TOKEN


@pytest.mark.parametrize("token", [None, TOKEN])
def test_our_signer_round_trips(token: str | None) -> None:
    now = time.time()
    url = "http://localhost:4566/"
    body = b'{"SecretId":"a"}'
    headers = {"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}
    added = sign_headers(
        "POST", url, headers, body, Credentials(AKID, SECRET, token), "us-east-1", "secretsmanager", now
    )
    raw = [
        (b"host", b"localhost:4566"),
        *((k.lower().encode(), v.encode()) for k, v in {**headers, **added}.items()),
    ]
    info = check(("POST", b"/", b"", raw, body), now=now)
    assert info.session_token == token

    presigned = presign_url(
        "GET",
        f"{url}?Action=ListSecrets",
        Credentials(AKID, SECRET, token),
        "us-east-1",
        "secretsmanager",
        now,
        expires=60,
    )
    path, query, raw = to_asgi(presigned, {})
    assert check(("GET", path, query, raw, b""), now=now + 59).presigned


def test_presign_refuses_expiry_beyond_a_week() -> None:
    with pytest.raises(ValueError):
        presign_url("GET", ENDPOINT, Credentials(AKID, SECRET), "us-east-1", "secretsmanager", T0, 604801)


# --- Tampering ------------------------------------------------------------------------------------
def _tamper_body(r: Request) -> Request:
    return (r[0], r[1], r[2], r[3], r[4].replace(b"prod", b"test"))


def _tamper_target(r: Request) -> Request:
    return (r[0], r[1], r[2], replace_header(r[3], b"x-amz-target", b"secretsmanager.DeleteSecret"), r[4])


def _tamper_path(r: Request) -> Request:
    return (r[0], b"/other", r[2], r[3], r[4])


def _tamper_query(r: Request) -> Request:
    return (r[0], r[1], b"a=1", r[3], r[4])


def _tamper_method(r: Request) -> Request:
    return ("PUT", r[1], r[2], r[3], r[4])


def _tamper_host(r: Request) -> Request:
    return (r[0], r[1], r[2], replace_header(r[3], b"host", b"evil.example"), r[4])


def _tamper_duplicate_header(r: Request) -> Request:
    return (r[0], r[1], r[2], [*r[3], (b"content-type", b"text/plain")], r[4])


@pytest.mark.parametrize(
    "tamper",
    [
        _tamper_body,
        _tamper_target,
        _tamper_path,
        _tamper_query,
        _tamper_method,
        _tamper_host,
        _tamper_duplicate_header,
    ],
)
def test_tampered_request_is_refused(tamper) -> None:
    method, path, query, headers, body = tamper(boto_signed())
    now = time.time()
    info = parse_auth(method, path, query, headers, now=now)
    with pytest.raises(InvalidSignature) as caught:
        verify(info, SECRET, method, path, query, headers, body, now)
    assert caught.value.message == MISMATCH


def test_tampered_date_is_refused() -> None:
    method, path, query, headers, body = boto_signed()
    stamp = header(headers, b"x-amz-date")
    earlier = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(verifier._parse_amz_date(stamp) - 1))
    headers = replace_header(headers, b"x-amz-date", earlier.encode())
    if earlier[:8] != stamp[:8]:  # a second before midnight: the scope check refuses it instead
        pytest.skip("ran across midnight")
    with pytest.raises(InvalidSignature) as caught:
        check((method, path, query, headers, body))
    assert caught.value.message == MISMATCH


def test_wrong_secret_and_wrong_signature_are_refused_without_revealing_anything() -> None:
    request = boto_signed()
    method, path, query, headers, body = request
    now = time.time()
    info = parse_auth(method, path, query, headers, now=now)
    expected = info.signature
    for secret, signature in [("not-the-secret", info.signature), (SECRET, "0" * 64), (SECRET, "é" * 64)]:
        forged = SignedRequestInfo(**{**_fields(info), "signature": signature})
        with pytest.raises(InvalidSignature) as caught:
            verify(forged, secret, method, path, query, headers, body, now)
        assert caught.value.message == MISMATCH
    # the right signature for a tampered body must not show up in the error either
    with pytest.raises(InvalidSignature) as caught:
        verify(info, SECRET, method, path, query, headers, body + b" ", now)
    assert expected not in caught.value.message and "POST" not in caught.value.message


def _fields(info: SignedRequestInfo) -> dict:
    return {name: getattr(info, name) for name in SignedRequestInfo.__slots__}


def test_content_sha256_must_match_the_body() -> None:
    good = boto_signed(extra={"X-Amz-Content-Sha256": hashlib.sha256(b'{"SecretId":"prod/db/password"}').hexdigest()})
    check(good)
    for declared in ("UNSIGNED-PAYLOAD", hashlib.sha256(b"other").hexdigest()):
        with pytest.raises(InvalidSignature) as caught:
            check(boto_signed(extra={"X-Amz-Content-Sha256": declared}))
        assert caught.value.message == MISMATCH


def test_unsigned_x_amz_header_is_refused() -> None:
    method, path, query, headers, body = boto_signed()
    headers = [*headers, (b"x-amz-extra", b"1")]
    with pytest.raises(InvalidSignature) as caught:
        check((method, path, query, headers, body))
    assert caught.value.message == "'x-amz-extra' must be a 'SignedHeader' in the AWS Authorization."


# --- Clock skew and expiry ------------------------------------------------------------------------
def _signed_at(now: float) -> Request:
    added = sign_headers("POST", ENDPOINT, {}, b"{}", Credentials(AKID, SECRET), "us-east-1", "secretsmanager", now)
    headers = [(b"host", HOST.encode()), *((k.lower().encode(), v.encode()) for k, v in added.items())]
    return "POST", b"/", b"", headers, b"{}"


def test_clock_skew_of_fifteen_minutes_is_accepted() -> None:
    check(_signed_at(T0), now=T0 + 900)
    check(_signed_at(T0), now=T0 - 900)


def test_signature_expired() -> None:
    with pytest.raises(InvalidSignature) as caught:
        check(_signed_at(T0), now=T0 + 1800)
    assert caught.value.message == (
        "Signature expired: 20130524T000000Z is now earlier than 20130524T001500Z (20130524T003000Z - 15 min.)"
    )
    # verify() checks on its own too, for callers that parse without a clock
    method, path, query, headers, body = _signed_at(T0)
    info = parse_auth(method, path, query, headers)
    with pytest.raises(InvalidSignature, match="^Signature expired: "):
        verify(info, SECRET, method, path, query, headers, body, T0 + 901)


def test_signature_not_yet_current() -> None:
    with pytest.raises(InvalidSignature) as caught:
        check(_signed_at(T0), now=T0 - 1800)
    assert caught.value.message == (
        "Signature not yet current: 20130524T000000Z is still later than 20130523T234500Z (20130523T233000Z + 15 min.)"
    )


def test_custom_skew_window_is_reported_in_minutes() -> None:
    method, path, query, headers, body = _signed_at(T0)
    info = parse_auth(method, path, query, headers)
    with pytest.raises(InvalidSignature) as caught:
        verify(info, SECRET, method, path, query, headers, body, T0 + 301, max_skew=300)
    assert caught.value.message.endswith("(20130524T000501Z - 5 min.)")


def _presigned(expires: int, now: float = T0) -> Request:
    url = presign_url(
        "GET",
        f"{ENDPOINT}?Action=ListSecrets",
        Credentials(AKID, SECRET),
        "us-east-1",
        "secretsmanager",
        now,
        expires,
    )
    path, query, headers = to_asgi(url, {})
    return "GET", path, query, headers, b""


def test_presigned_url_lives_for_x_amz_expires() -> None:
    check(_presigned(604800), now=T0 + 604800)
    check(_presigned(60), now=T0 + 60)
    with pytest.raises(InvalidSignature) as caught:
        check(_presigned(60), now=T0 + 61)
    assert caught.value.message == (
        "Signature expired: 20130524T000000Z is now earlier than 20130524T000001Z (20130524T000101Z - 1 min.)"
    )
    with pytest.raises(InvalidSignature, match="^Signature not yet current: "):
        check(_presigned(60), now=T0 - 901)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            b"604801",
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
            "must be less than 604800 seconds",
        ),
        (b"soon", "X-Amz-Expires should be a number"),
        (b"--5", "X-Amz-Expires should be a number"),
        (b"", "X-Amz-Expires should be a number"),
        (b"-1", "X-Amz-Expires must be non-negative"),
        # more digits than int() converts (4,300) or than a long holds: not a number, never a 500
        (b"9" * 5000, "X-Amz-Expires should be a number"),
        (b"-" + b"9" * 5000, "X-Amz-Expires should be a number"),
        (b"1" * 20, "X-Amz-Expires should be a number"),
        (b"%C2%B2", "X-Amz-Expires should be a number"),  # a superscript 2: a digit to str.isdigit()
    ],
)
def test_bad_x_amz_expires(value: bytes, message: str) -> None:
    method, path, query, headers, body = _presigned(60)
    query = query.replace(b"X-Amz-Expires=60", b"X-Amz-Expires=" + value)
    with pytest.raises(IncompleteSignature) as caught:
        parse_auth(method, path, query, headers)
    assert caught.value.message == message


# --- Missing and malformed authentication ---------------------------------------------------------
def test_no_authentication_at_all() -> None:
    for headers in (
        [],
        [(b"authorization", b"Bearer abc")],
        [(b"authorization", b"AWS4")],
        [(b"authorization", b"")],
    ):
        with pytest.raises(MissingAuthentication) as caught:
            parse_auth(*plain_request(headers)[:4])
        assert caught.value.message == "Missing Authentication Token"
        mapped = aws_error(caught.value)  # what the server answers
        assert (mapped.code, mapped.status, mapped.message) == (
            "MissingAuthenticationTokenException", 403, "Missing Authentication Token"
        )
    # query parameters without X-Amz-Algorithm are no authentication either
    with pytest.raises(MissingAuthentication):
        parse_auth(*plain_request([], b"X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=c&X-Amz-Date=d")[:4])


@pytest.mark.parametrize(
    ("authorization", "extra", "message"),
    [
        (
            "AWS4-",
            [],
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'Signature' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. Authorization header requires "
            "existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-",
        ),
        (
            "AWS4- Signature=b Credential=a",
            [(b"date", b"a")],
            "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b Credential=a",
        ),
        (
            "AWS4- Signature=b,Credential=a",
            [(b"date", b"a")],
            "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b,Credential=a",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=",
            [(b"x-amz-date", b"20130524T000000Z")],
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
            "parameter. Authorization=AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=",
        ),
        (
            "AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders",
            [],
            "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: "
            "'AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders'.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKID /20130524/us-east-1/sm/aws4_request, SignedHeaders=host, Signature=abc",
            [],
            "'/20130524/us-east-1/sm/aws4_request' not a valid key=value pair (missing equal-sign) in "
            "Authorization header: 'AWS4-HMAC-SHA256 Credential=AKID /20130524/us-east-1/sm/aws4_request, "
            "SignedHeaders=host, Signature=abc'.",
        ),
    ],
)
def test_incomplete_authorization_header(authorization: str, extra: list, message: str) -> None:
    with pytest.raises(IncompleteSignature) as caught:
        parse_auth(*plain_request([(b"authorization", authorization.encode()), *extra])[:4])
    assert caught.value.message == message


def test_incomplete_query_authentication() -> None:
    with pytest.raises(IncompleteSignature) as caught:
        parse_auth(*plain_request([], b"X-Amz-Algorithm")[:4])
    assert caught.value.message == (
        "AWS query-string parameters must include 'X-Amz-Algorithm'. "
        "AWS query-string parameters must include 'X-Amz-Credential'. "
        "AWS query-string parameters must include 'X-Amz-Signature'. "
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
        "AWS query-string parameters must include 'X-Amz-Date'. "
        "Re-examine the query-string parameters."
    )
    with pytest.raises(IncompleteSignature) as caught:
        parse_auth(*plain_request([], b"X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d")[:4])
    assert caught.value.message == (
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."
    )


def test_header_and_query_authentication_together() -> None:
    with pytest.raises(InvalidSignature) as caught:
        parse_auth(*plain_request([(b"authorization", b"X")], b"X-Amz-Algorithm")[:4])
    assert caught.value.message == (
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
    )


AUTH = "AWS4-HMAC-SHA256 Credential={}, SignedHeaders={}, Signature=abc"
GOOD_CREDENTIAL = "AKID/20130524/us-east-1/secretsmanager/aws4_request"


def _parse(
    credential: str = GOOD_CREDENTIAL,
    signed: str = "host;x-amz-date",
    date: bytes = b"20130524T000000Z",
    **kwargs,
) -> SignedRequestInfo:
    headers = [(b"authorization", AUTH.format(credential, signed).encode()), (b"x-amz-date", date)]
    return parse_auth(*plain_request(headers)[:4], **kwargs)


@pytest.mark.parametrize("date", [b"201", b"2013-05-24T00:00:00Z", b"20131324T000000Z", b"20130524T000000"])
def test_bad_date(date: bytes) -> None:
    with pytest.raises(IncompleteSignature) as caught:
        _parse(date=date)
    assert caught.value.message == (
        f"Date must be in ISO-8601 'basic format'. Got '{date.decode()}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


@pytest.mark.parametrize(
    "http_date",
    [
        b"Mon, 01 Jan 99999999999 00:00:00 GMT",  # a year past C's int: OverflowError, once a 500
        b"Mon, 01 Jan 0100 00:00:00 GMT",  # a three-digit year has no ISO 8601 basic form
        b"Wed, 01 Jan 1000 00:30:00 +0100",  # ... nor 0999-12-31 in UTC
        b"Mon, 01 Jan " + b"9" * 5000 + b" 00:00:00 GMT",
    ],
)
def test_bad_http_date_header(http_date: bytes) -> None:
    headers = [(b"authorization", AUTH.format(GOOD_CREDENTIAL, "date;host").encode()), (b"date", http_date)]
    with pytest.raises(IncompleteSignature) as caught:
        parse_auth(*plain_request(headers)[:4], now=T0)
    assert caught.value.message == (
        f"Date must be in ISO-8601 'basic format'. Got '{http_date.decode()}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def test_host_must_be_signed() -> None:
    with pytest.raises(InvalidSignature) as caught:
        _parse(signed="x-amz-date")
    assert caught.value.message == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    with pytest.raises(InvalidSignature):
        verify(
            SignedRequestInfo(**{**_fields(_parse()), "signed_headers": ("x-amz-date",)}),
            SECRET,
            *plain_request([(b"x-amz-date", b"20130524T000000Z")]),
            now=T0,
        )


def test_unsupported_algorithm() -> None:
    headers = [
        (b"authorization", AUTH.format(GOOD_CREDENTIAL, "host").replace("SHA256", "SHA25").encode()),
        (b"x-amz-date", b"20130524T000000Z"),
    ]
    with pytest.raises(IncompleteSignature) as caught:
        parse_auth(*plain_request(headers)[:4])
    assert caught.value.message == "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA25' (only AWS4-HMAC-SHA256 for now). "


def test_credential_must_have_five_elements() -> None:
    with pytest.raises(IncompleteSignature) as caught:
        _parse(credential="a/b/c/d")
    assert caught.value.message == (
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'"
    )
    assert _parse(credential=GOOD_CREDENTIAL + "/").access_key_id == "AKID"  # trailing slashes are ignored


def test_credential_scope_is_checked() -> None:
    with pytest.raises(InvalidSignature) as caught:
        _parse(credential="AKID/b/c/d/e", service="secretsmanager", regions={"us-east-1"})
    assert caught.value.message == (
        "Credential should be scoped to a valid region, not 'c'. "
        "Credential should be scoped to correct service: 'secretsmanager'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'e'. "
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        "'b' != '20130524', from '20130524T000000Z'. "
    )
    # without a configured region and service only the terminator and the date are checked
    assert _parse(credential="AKID/20130524/xx-moon-1/other/aws4_request").region == "xx-moon-1"


def test_errors_come_in_aws_order() -> None:
    # the clock is checked before host, algorithm and credential (as AWS does) when parse_auth has it
    with pytest.raises(InvalidSignature, match="^Signature expired"):
        _parse(credential="cassandra/2/3/4/aws4_request", signed="x-amz-date", now=T0 + 3600)
    with pytest.raises(InvalidSignature, match="^'Host'"):
        _parse(credential="a/b", signed="x-amz-date", now=T0)


def test_unknown_but_well_formed_requests_parse() -> None:
    headers = [
        (
            b"authorization",
            b"AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/20130524/xx-moon-1/whatever/aws4_request,"
            b"SignedHeaders=Host;X-Amz-Date;x-custom,Signature=deadbeef",
        ),
        (b"x-amz-date", b"20130524T000000Z"),
        (b"x-amz-security-token", b"session"),
        (b"x-custom", b"1"),
    ]
    info = parse_auth(*plain_request(headers)[:4], now=T0)
    assert info == SignedRequestInfo(
        access_key_id="AKIDUNKNOWN",
        date="20130524",
        region="xx-moon-1",
        service="whatever",
        signed_headers=("host", "x-amz-date", "x-custom"),
        signature="deadbeef",
        amz_date="20130524T000000Z",
        session_token="session",
        presigned=False,
    )


# --- Caches and secrets ---------------------------------------------------------------------------
def test_signing_key_cache_is_bounded() -> None:
    sigv4.clear_signing_key_cache()
    maxsize = canonical._cached_signing_key.cache_info().maxsize
    assert maxsize is not None
    for i in range(maxsize + 10):
        sigv4.signing_key(f"secret-{i}", "20130524", "us-east-1", "secretsmanager")
    assert canonical._cached_signing_key.cache_info().currsize == maxsize
    sigv4.clear_signing_key_cache()
    assert canonical._cached_signing_key.cache_info().currsize == 0


def test_long_client_text_is_never_cached() -> None:
    # A Credential or SignedHeaders of any length used to be kept by the parse caches (4096 and 256
    # entries): 200 requests with 1 MB credentials held 430 MB of a dev-mode server's memory.
    verifier._cached_credential_parts.cache_clear()
    verifier._cached_signed_headers.cache_clear()
    long_key = "A" * verifier.MAX_CACHED_CREDENTIAL
    long_signed = "host;x-amz-date;" + "x-pad;" * (verifier.MAX_CACHED_SIGNED_HEADERS // 6)
    info = _parse(credential=f"{long_key}/20130524/us-east-1/secretsmanager/aws4_request", signed=long_signed)
    assert info.access_key_id == long_key and info.signed_headers[:2] == ("host", "x-amz-date")
    assert verifier._cached_credential_parts.cache_info().currsize == 0
    assert verifier._cached_signed_headers.cache_info().currsize == 0
    _parse()  # short ones are remembered
    assert verifier._cached_credential_parts.cache_info().currsize == 1
    assert verifier._cached_signed_headers.cache_info().currsize == 1
    with pytest.raises(IncompleteSignature, match="^Credential must have exactly 5 slash-delimited elements"):
        _parse(credential="x/" * 1000)  # long and malformed: the same answer as short and malformed


def test_long_signed_headers_get_no_cached_plan() -> None:
    method, path, query, headers, body = _presigned(60)
    padded = query.replace(b"X-Amz-SignedHeaders=host", b"X-Amz-SignedHeaders=host%3B" + b"x-pad%3B" * 300)
    verifier._cached_plan.cache_clear()
    with pytest.raises(InvalidSignature):  # the signature covered the short list
        check((method, path, padded, headers, body), now=T0)
    assert verifier._cached_plan.cache_info().currsize == 0
    check((method, path, query, headers, body), now=T0)
    assert verifier._cached_plan.cache_info().currsize == 1


def test_known_signing_key() -> None:
    # AWS's documented example key derivation (General Reference, "Examples of how to derive a signing key").
    key = sigv4.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_credentials_repr_hides_the_secret() -> None:
    assert SECRET not in repr(Credentials(AKID, SECRET, TOKEN))
    assert TOKEN not in repr(Credentials(AKID, SECRET, TOKEN))


# --- Robustness: garbage in, AWS errors out ---------------------------------------------------------
_FRAGMENTS = st.sampled_from(
    [b"AWS4-HMAC-SHA256 ", b"Credential=", b"SignedHeaders=", b"Signature=", b"host", b";", b",", b" ", b"/",
     b"=", b"%", b"%zz", b"%E1%88", b"\xff", b"aws4_request", b"20130524T000000Z", b"20130524", b"X-Amz-", b"&"]
)  # fmt: skip
_GARBAGE = st.lists(st.one_of(_FRAGMENTS, st.binary(max_size=8)), max_size=12).map(b"".join)
_QUERY_KEYS = st.sampled_from(
    [b"X-Amz-Algorithm", b"X-Amz-Credential", b"X-Amz-Signature", b"X-Amz-SignedHeaders", b"X-Amz-Date",
     b"X-Amz-Expires", b"X-Amz-Security-Token", b"Action"]
)  # fmt: skip
_HEADER_NAMES = st.sampled_from(
    [b"authorization", b"x-amz-date", b"date", b"x-amz-security-token", b"host", b"x-amz-content-sha256"]
)


@settings(max_examples=400, deadline=None)
@given(
    headers=st.lists(st.tuples(_HEADER_NAMES, _GARBAGE), max_size=5),
    query=st.lists(st.tuples(_QUERY_KEYS, _GARBAGE), max_size=7).map(
        lambda pairs: b"&".join(key + b"=" + value for key, value in pairs)
    ),
    path=_GARBAGE,
    body=st.binary(max_size=16),
)
def test_any_request_yields_an_aws_error_or_a_verdict(headers, query, path, body) -> None:
    try:
        info = parse_auth("POST", path, query, headers, now=T0, service="secretsmanager", regions={"us-east-1"})
        verify(info, SECRET, "POST", path, query, headers, body, T0)
    except SigV4Error as error:
        assert SECRET not in error.message
