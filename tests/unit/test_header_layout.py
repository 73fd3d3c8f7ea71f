"""Header layouts (protocol/headers.py) and what the request path reads through them.

Covers commit a930b44: the per-name-list header layout and its cache, the SigV4 Authorization
fast path (it must agree with the general parser on every input), first-occurrence semantics of
the headers SigV4 and the app read, the cached verify plan, the pre-keyed HMAC state, and the
app's Content-Length / X-Amz-Target / Content-Type extraction.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom import sigv4
from strongroom.server.api import request_headers
from strongroom.sigv4 import Credentials, SignedRequestInfo, canonical, parse_auth, sign_headers, verifier, verify
from strongroom.sigv4 import layout as layouts
from strongroom.sigv4.errors import IncompleteSignature, InvalidSignature, MissingAuthentication, SigV4Error
from strongroom.sigv4.layout import LAYOUT_CACHE_SIZE, MAX_CACHED_HEADERS, HeaderLayout, header_layout

Headers = list[tuple[bytes, bytes]]

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEBYaDH+token/with=specials"
REGION = "us-east-1"
SERVICE = "secretsmanager"
HOST = "secretsmanager.us-east-1.amazonaws.com"
ENDPOINT = f"https://{HOST}/"
T0 = 1369353600.0  # 2013-05-24T00:00:00Z
AMZ_DATE = "20130524T000000Z"
SCOPE = f"20130524/{REGION}/{SERVICE}/aws4_request"
CREDENTIAL = f"{AKID}/{SCOPE}"
BODY = b'{"SecretId":"prod/db/password"}'
BASE = {"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


# --- Helpers ---------------------------------------------------------------------------------------
def first_value(layout: HeaderLayout, headers: Headers, name: bytes) -> bytes | None:
    """The value of the first header called ``name``, read as the request path reads it."""
    at = layout.first.get(name)
    return None if at is None else headers[at][1]


def unsigned_message(name: str) -> str:
    return f"'{name}' must be a 'SignedHeader' in the AWS Authorization."


def signed(
    extra: dict[str, str] | None = None,
    *,
    creds: Credentials | None = None,
    body: bytes = BODY,
    add_content_sha256: bool = False,
) -> Headers:
    """ASGI headers of a request signed by our own signer (host first, as HTTP clients send it)."""
    headers = {**BASE, **(extra or {})}
    added = sign_headers(
        "POST", ENDPOINT, headers, body, creds or Credentials(AKID, SECRET), REGION, SERVICE, T0,
        add_content_sha256=add_content_sha256,
    )  # fmt: skip
    return [(b"host", HOST.encode()), *((k.lower().encode(), v.encode()) for k, v in {**headers, **added}.items())]


def manual_authorization(headers: Headers, signed_names: list[str], body: bytes = BODY) -> bytes:
    """An Authorization header computed without sign_headers or _signature_of (independent oracle).

    canonical_request joins repeated headers exactly as SigV4 specifies, so this signs requests
    the dict-based signer cannot express (repeated headers). The HMAC is sigv4.signature's
    hmac.digest, not the pre-keyed state under test.
    """
    names = sorted(signed_names)
    canonical = sigv4.canonical_request("POST", b"/", b"", headers, names, hashlib.sha256(body).hexdigest())
    to_sign = sigv4.string_to_sign(AMZ_DATE, AMZ_DATE[:8], REGION, SERVICE, canonical)
    sig = sigv4.signature(SECRET, AMZ_DATE[:8], REGION, SERVICE, to_sign)
    # cross-check the oracle's HMAC against the standard library, from the raw signing key
    key = sigv4.signing_key(SECRET, AMZ_DATE[:8], REGION, SERVICE)
    assert sig == hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={CREDENTIAL}, SignedHeaders={';'.join(names)}, Signature={sig}".encode()


def with_authorization(headers: Headers, value: bytes) -> Headers:
    return [(name, value if name == b"authorization" else old) for name, old in headers]


def without(headers: Headers, name: bytes) -> Headers:
    return [(key, value) for key, value in headers if key != name]


def parse(headers: Headers, **kwargs) -> SignedRequestInfo:
    return parse_auth("POST", b"/", b"", headers, now=T0, **kwargs)


def check(headers: Headers, body: bytes = BODY, *, layout: HeaderLayout | None = None) -> SignedRequestInfo:
    info = parse_auth("POST", b"/", b"", headers, now=T0, layout=layout)
    verify(info, SECRET, "POST", b"/", b"", headers, body, T0, layout=layout)
    return info


def fields(info: SignedRequestInfo) -> dict:
    return {name: getattr(info, name) for name in SignedRequestInfo.__slots__}


def authorization_params(headers: Headers) -> tuple[str, str, str]:
    """(Credential, SignedHeaders, Signature) of a request signed by sign_headers."""
    value = dict(headers)[b"authorization"].decode()
    algorithm, params = verifier._parse_authorization(value)
    assert algorithm == sigv4.ALGORITHM
    return params["Credential"], params["SignedHeaders"], params["Signature"]


# --- header_layout ---------------------------------------------------------------------------------
def test_layout_first_positions_and_value_with_repeated_names() -> None:
    headers = [
        (b"host", b"h"),
        (b"x-a", b"1"),
        (b"content-type", b"ct"),
        (b"x-a", b"2"),
        (b"x-b", b"only"),
        (b"x-a", b"3"),
    ]
    layout = header_layout(headers)
    assert layout.names == (b"host", b"x-a", b"content-type", b"x-a", b"x-b", b"x-a")
    assert layout.first == {b"host": 0, b"x-a": 1, b"content-type": 2, b"x-b": 4}
    assert layout.positions == {b"host": (0,), b"x-a": (1, 3, 5), b"content-type": (2,), b"x-b": (4,)}
    assert all(isinstance(at, tuple) for at in layout.positions.values())
    assert first_value(layout, headers, b"x-a") == b"1"
    assert first_value(layout, headers, b"x-b") == b"only"
    assert first_value(layout, headers, b"host") == b"h"
    assert first_value(layout, headers, b"missing") is None
    assert first_value(layout, headers, b"X-A") is None  # names are compared as given (ASGI lowercases them)


def test_empty_header_list() -> None:
    layout = header_layout([])
    assert layout.names == ()
    assert layout.first == {} and layout.positions == {}
    assert first_value(layout, [], b"host") is None


def test_layout_is_shared_by_name_list_and_reads_each_requests_own_values() -> None:
    first = [(b"host", b"a"), (b"x-amz-date", b"1"), (b"x-amz-date", b"2")]
    second = [(b"host", b"b"), (b"x-amz-date", b"3"), (b"x-amz-date", b"4")]
    layout = header_layout(first)
    assert header_layout(second) is layout  # same names tuple -> the very same cached object
    assert header_layout(list(first)) is layout
    # the shared layout holds positions only: values come from the headers handed in
    assert first_value(layout, first, b"host") == b"a" and first_value(layout, second, b"host") == b"b"
    assert first_value(layout, first, b"x-amz-date") == b"1" and first_value(layout, second, b"x-amz-date") == b"3"
    # another order or another name list is another layout
    reordered = header_layout([(b"x-amz-date", b"1"), (b"host", b"a"), (b"x-amz-date", b"2")])
    assert reordered is not layout
    assert reordered.first == {b"x-amz-date": 0, b"host": 1}
    assert header_layout([(b"host", b"a"), (b"x-amz-date", b"1")]) is not layout


def test_layout_at_the_limit_is_cached_and_beyond_it_is_not() -> None:
    at_limit = [(f"x-h-{i}".encode(), b"v") for i in range(MAX_CACHED_HEADERS)]
    assert header_layout(at_limit) is header_layout(list(at_limit))

    names = [f"x-h-{i % 50}".encode() for i in range(MAX_CACHED_HEADERS + 6)]  # 70 names, some repeated
    long_headers = [(name, str(i).encode()) for i, name in enumerate(names)]
    before = layouts._cached_layout.cache_info()
    one, two = header_layout(long_headers), header_layout(long_headers)
    after = layouts._cached_layout.cache_info()
    assert one is not two  # laid out afresh each time
    assert (after.hits, after.misses, after.currsize) == (before.hits, before.misses, before.currsize)
    for layout in (one, two):  # and still correct
        assert layout.names == tuple(names)
        assert layout.first[b"x-h-3"] == 3
        assert layout.positions[b"x-h-3"] == (3, 53)
        assert layout.positions[b"x-h-49"] == (49,)
        assert first_value(layout, long_headers, b"x-h-5") == b"5"
        assert first_value(layout, long_headers, b"x-h-99") is None


def test_layout_cache_is_bounded() -> None:
    assert layouts._cached_layout.cache_info().maxsize == LAYOUT_CACHE_SIZE
    for i in range(LAYOUT_CACHE_SIZE + 10):
        header_layout([(b"host", b"h"), (f"x-bound-{i}".encode(), b"v")])
    assert layouts._cached_layout.cache_info().currsize == LAYOUT_CACHE_SIZE


# --- Authorization: the fast path must equal the general parser --------------------------------------
_SIG = "S" * 64  # placeholder: replaced by the real signature of the signed request


def _variants() -> list[tuple[str, str, bool]]:
    """(id, Authorization template, whether the standard-form regex must match it).

    Templates use {c} credential, {s} SignedHeaders, {g} signature of a really signed request.
    """
    return [
        ("standard", "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={g}", True),
        ("comma-no-space", "AWS4-HMAC-SHA256 Credential={c},SignedHeaders={s},Signature={g}", True),
        ("mixed-separators", "AWS4-HMAC-SHA256 Credential={c},SignedHeaders={s}, Signature={g}", True),
        ("equals-in-value", "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={g}=", True),
        ("trailing-slash-credential", "AWS4-HMAC-SHA256 Credential={c}/, SignedHeaders={s}, Signature={g}", True),
        ("uppercase-signed-headers", "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={S}, Signature={g}", True),
        ("extra-param", "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={g}, Foo=bar", False),
        ("extra-param-first", "AWS4-HMAC-SHA256 Foo=bar, Credential={c}, SignedHeaders={s}, Signature={g}", False),
        (
            "repeated-credential-last-good",
            "AWS4-HMAC-SHA256 Credential=BOGUS/x, SignedHeaders={s}, Signature={g}, Credential={c}",
            False,
        ),
        (
            "repeated-credential-last-bad",
            "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={g}, Credential=BOGUS/x",
            False,
        ),
        ("repeated-signature", "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature=0, Signature={g}", False),
        ("token-without-equals", "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={g}, Oops", False),
        ("space-inside-value", "AWS4-HMAC-SHA256 Credential=AKID /{c}, SignedHeaders={s}, Signature={g}", False),
        ("space-before-comma", "AWS4-HMAC-SHA256 Credential={c} , SignedHeaders={s} , Signature={g}", False),
        ("two-spaces-after-comma", "AWS4-HMAC-SHA256 Credential={c},  SignedHeaders={s},  Signature={g}", False),
        ("two-spaces-after-algorithm", "AWS4-HMAC-SHA256  Credential={c}, SignedHeaders={s}, Signature={g}", False),
        ("reordered", "AWS4-HMAC-SHA256 Signature={g}, Credential={c}, SignedHeaders={s}", False),
        ("whitespace-only-separators", "AWS4-HMAC-SHA256 Credential={c} SignedHeaders={s} Signature={g}", False),
        ("trailing-comma", "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={g},", False),
        ("leading-whitespace", "  AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={g}", False),
        ("trailing-whitespace", "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={g}  ", False),
        ("tabs", "AWS4-HMAC-SHA256\tCredential={c},\tSignedHeaders={s},\tSignature={g}", False),
        ("tab-inside-value", "AWS4-HMAC-SHA256 Credential={c}\tFoo=bar, SignedHeaders={s}, Signature={g}", False),
        ("nbsp-inside-value", "AWS4-HMAC-SHA256 Credential={c}\xa0Foo=bar, SignedHeaders={s}, Signature={g}", False),
        ("newline-separator", "AWS4-HMAC-SHA256 Credential={c},\nSignedHeaders={s},\nSignature={g}", False),
        ("lowercase-algorithm", "aws4-hmac-sha256 Credential={c}, SignedHeaders={s}, Signature={g}", False),
        ("mixed-case-algorithm", "AWS4-HMAC-Sha256 Credential={c}, SignedHeaders={s}, Signature={g}", False),
        ("other-algorithm", "AWS4-HMAC-SHA512 Credential={c}, SignedHeaders={s}, Signature={g}", False),
        ("lowercase-keys", "AWS4-HMAC-SHA256 credential={c}, signedheaders={s}, signature={g}", False),
        ("empty-credential", "AWS4-HMAC-SHA256 Credential=, SignedHeaders={s}, Signature={g}", False),
        ("empty-signed-headers", "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders=, Signature={g}", False),
        ("no-signature", "AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}", False),
        ("algorithm-only", "AWS4-HMAC-SHA256", False),
    ]


VARIANTS = _variants()
#: The standard form as a regular expression: what verifier._standard_authorization must accept, exactly.
STANDARD_FORM = re.compile(r"AWS4-HMAC-SHA256 Credential=([^\s,]+), ?SignedHeaders=([^\s,]+), ?Signature=([^\s,]+)")


def _outcome(headers: Headers) -> tuple[str, object]:
    try:
        return "ok", fields(parse(headers))
    except SigV4Error as error:
        return type(error).__name__, (type(error), str(error), error.message)


def _general_outcome(headers: Headers, monkeypatch: pytest.MonkeyPatch) -> tuple[str, object]:
    """parse_auth with the fast path disabled: what the general parser path gives."""
    with monkeypatch.context() as patch:
        patch.setattr(verifier, "_standard_authorization", lambda _header: None)
        return _outcome(headers)


@pytest.mark.parametrize(("template", "fast"), [v[1:] for v in VARIANTS], ids=[v[0] for v in VARIANTS])
def test_fast_path_equals_general_parser(template: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    base = signed()
    credential, signed_text, sig = authorization_params(base)
    value = template.format(c=credential, s=signed_text, S=signed_text.upper(), g=sig)
    headers = with_authorization(base, value.encode("latin-1"))

    match = verifier._standard_authorization(value)
    assert (match is not None) == fast, "the variant does not exercise the path it is meant to"
    reference = STANDARD_FORM.fullmatch(value)  # the fast path's definition
    assert match == (reference.groups() if reference is not None else None)
    if match is not None:  # the fast path reads exactly what the general parser reads
        algorithm, params = verifier._parse_authorization(value)
        assert algorithm == sigv4.ALGORITHM
        assert params == dict(zip(("Credential", "SignedHeaders", "Signature"), match, strict=True))

    actual = _outcome(headers)
    assert actual == _general_outcome(headers, monkeypatch)


def test_fast_path_variants_parse_as_expected() -> None:
    """Spot checks of the outcomes compared above, so both paths being wrong alike is caught too."""
    base = signed()
    credential, signed_text, sig = authorization_params(base)

    def run(template: str) -> SignedRequestInfo:
        value = template.format(c=credential, s=signed_text, g=sig)
        return parse(with_authorization(base, value.encode("latin-1")))

    standard = run("AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={g}")
    assert (standard.access_key_id, standard.date, standard.region, standard.service) == (
        AKID, "20130524", REGION, SERVICE,
    )  # fmt: skip
    assert standard.signature == sig
    assert standard.signed_headers == tuple(signed_text.split(";"))
    assert standard.amz_date == AMZ_DATE and standard.session_token is None and not standard.presigned
    for template in (
        "AWS4-HMAC-SHA256 Credential={c},SignedHeaders={s},Signature={g}",
        "AWS4-HMAC-SHA256 Credential=BOGUS/x, SignedHeaders={s}, Signature={g}, Credential={c}",
        "  AWS4-HMAC-SHA256\tCredential={c},\tSignedHeaders={s},\tSignature={g}  ",
        "AWS4-HMAC-SHA256 Credential={c}\tFoo=bar, SignedHeaders={s}, Signature={g}",
    ):
        assert fields(run(template)) == fields(standard), template
    assert run("AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature=0, Signature={g}").signature == sig

    with pytest.raises(IncompleteSignature) as caught:
        run("AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={s}, Signature={g}, Credential=BOGUS/x")
    assert caught.value.message.startswith("Credential must have exactly 5 slash-delimited elements")
    assert "'BOGUS/x'" in caught.value.message

    value = f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed_text}, Signature={sig}, Oops"
    with pytest.raises(IncompleteSignature) as caught:
        parse(with_authorization(base, value.encode()))
    assert caught.value.message == (
        f"'Oops' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'."
    )

    with pytest.raises(MissingAuthentication):
        run("aws4-hmac-sha256 Credential={c}, SignedHeaders={s}, Signature={g}")
    with pytest.raises(IncompleteSignature) as caught:
        run("AWS4-HMAC-Sha256 Credential={c}, SignedHeaders={s}, Signature={g}")
    assert caught.value.message == "Unsupported AWS 'algorithm': 'AWS4-HMAC-Sha256' (only AWS4-HMAC-SHA256 for now). "


def test_standard_form_from_the_signer_takes_the_fast_path_and_verifies() -> None:
    headers = signed()
    value = dict(headers)[b"authorization"].decode()
    assert verifier._standard_authorization(value) is not None
    check(headers)


# --- parse_auth: explicit layout, first occurrence counts -------------------------------------------
@pytest.mark.parametrize("token", [None, TOKEN])
def test_parse_auth_with_an_explicit_layout_equals_without(token: str | None) -> None:
    headers = signed(creds=Credentials(AKID, SECRET, token))
    plain = parse(headers)
    with_layout = parse(headers, layout=header_layout(headers))
    assert fields(with_layout) == fields(plain)
    assert plain.session_token == token
    # a layout built directly (not from the cache) gives the same answer too
    direct = parse(headers, layout=HeaderLayout(tuple(name for name, _ in headers)))
    assert fields(direct) == fields(plain)


def test_first_of_two_authorization_headers_counts() -> None:
    headers = signed()
    good = dict(headers)[b"authorization"]
    _, signed_text, _ = authorization_params(headers)
    bogus = f"AWS4-HMAC-SHA256 Credential=OTHER/{SCOPE}, SignedHeaders={signed_text}, Signature={'0' * 64}".encode()
    first_good = [*headers, (b"authorization", bogus)]
    info = check(first_good)  # parses the first and verifies
    assert info.access_key_id == AKID
    assert info.signature == good.decode().rsplit("=", 1)[1]

    first_bogus = [(b"authorization", bogus), *headers]
    info = parse(first_bogus)
    assert info.access_key_id == "OTHER" and info.signature == "0" * 64
    with pytest.raises(InvalidSignature) as caught:
        verify(info, SECRET, "POST", b"/", b"", first_bogus, BODY, T0)
    assert caught.value.message == MISMATCH

    first_not_sigv4 = [(b"authorization", b"Bearer abc"), *headers]
    with pytest.raises(MissingAuthentication):
        parse(first_not_sigv4)


def test_first_of_two_x_amz_date_headers_counts() -> None:
    headers = signed()
    assert parse([*headers, (b"x-amz-date", b"garbage")]).amz_date == AMZ_DATE
    assert parse([*headers, (b"x-amz-date", b"20130524T000001Z")]).amz_date == AMZ_DATE
    with pytest.raises(IncompleteSignature) as caught:
        parse([(b"x-amz-date", b"garbage"), *headers])
    assert caught.value.message == (
        "Date must be in ISO-8601 'basic format'. Got 'garbage'. See http://en.wikipedia.org/wiki/ISO_8601"
    )
    assert parse([(b"x-amz-date", b"20130524T000001Z"), *headers]).amz_date == "20130524T000001Z"


def test_first_of_two_date_headers_counts_and_x_amz_date_wins_over_date() -> None:
    headers = without(signed(), b"x-amz-date")
    first = b"Fri, 24 May 2013 00:00:00 GMT"
    second = b"Fri, 24 May 2013 00:00:05 GMT"
    assert parse([*headers, (b"date", first), (b"date", second)]).amz_date == "20130524T000000Z"
    assert parse([*headers, (b"date", second), (b"date", first)]).amz_date == "20130524T000005Z"
    both = [*headers, (b"date", second), (b"x-amz-date", AMZ_DATE.encode())]
    assert parse(both).amz_date == AMZ_DATE


def test_first_of_two_security_tokens_counts() -> None:
    headers = signed()
    info = parse([*headers, (b"x-amz-security-token", b"one"), (b"x-amz-security-token", b"two")])
    assert info.session_token == "one"
    assert parse(headers).session_token is None


# --- verify ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, TOKEN])
def test_signed_request_verifies_with_and_without_a_layout(token: str | None) -> None:
    headers = signed(creds=Credentials(AKID, SECRET, token))
    check(headers)
    check(headers, layout=header_layout(headers))
    check(headers, layout=HeaderLayout(tuple(name for name, _ in headers)))
    for layout in (None, header_layout(headers)):  # and a tampered body fails either way
        info = parse(headers)
        with pytest.raises(InvalidSignature) as caught:
            verify(info, SECRET, "POST", b"/", b"", headers, BODY + b" ", T0, layout=layout)
        assert caught.value.message == MISMATCH


def test_request_signed_independently_verifies() -> None:
    """A request signed without sign_headers/_signature_of verifies (the two sides can't share a bug)."""
    headers = [
        (b"host", HOST.encode()),
        (b"x-amz-target", BASE["X-Amz-Target"].encode()),
        (b"content-type", BASE["Content-Type"].encode()),
        (b"x-amz-date", AMZ_DATE.encode()),
    ]
    names = ["content-type", "host", "x-amz-date", "x-amz-target"]
    request = [*headers, (b"authorization", manual_authorization(headers, names))]
    check(request)
    check(request, layout=header_layout(request))
    assert dict(request)[b"authorization"] == dict(signed())[b"authorization"]  # and our signer agrees


def test_repeated_signed_header_verifies_in_order() -> None:
    # SigV4 joins repeated headers with ',': the signer signs the joined value, the wire carries two
    one_value = signed({"X-Amz-Meta-A": "1,2"})
    auth = dict(one_value)[b"authorization"]
    host, rest = one_value[0], [h for h in one_value[1:] if h[0] != b"x-amz-meta-a"]
    repeated = [host, (b"x-amz-meta-a", b"1"), *rest[:1], (b"x-amz-meta-a", b"2"), *rest[1:]]
    assert header_layout(repeated).positions[b"x-amz-meta-a"] == (1, 3)
    check(repeated)
    check(repeated, layout=header_layout(repeated))

    # the same, signed independently from the repeated headers themselves
    unsigned = without(repeated, b"authorization")
    names = [name.decode() for name, _ in unsigned if name != b"x-amz-meta-a"] + ["x-amz-meta-a"]
    manual = [*unsigned, (b"authorization", manual_authorization(unsigned, names))]
    assert dict(manual)[b"authorization"] == auth
    check(manual)

    swapped = [(name, {b"1": b"2", b"2": b"1"}[value] if name == b"x-amz-meta-a" else value) for name, value in manual]
    with pytest.raises(InvalidSignature) as caught:
        check(swapped)  # same layout as before (cached plan): the values still come from this request
    assert caught.value.message == MISMATCH
    dropped = [h for h in manual if h != (b"x-amz-meta-a", b"2")]
    with pytest.raises(InvalidSignature) as caught:
        check(dropped)
    assert caught.value.message == MISMATCH


def test_unsigned_x_amz_header_is_named_first_in_header_order() -> None:
    headers = signed()
    zzz_first = [*headers, (b"x-amz-zzz", b"1"), (b"x-amz-aaa", b"1")]
    aaa_first = [*headers, (b"x-amz-aaa", b"1"), (b"x-amz-zzz", b"1")]
    for request, name in ((zzz_first, "x-amz-zzz"), (aaa_first, "x-amz-aaa")):
        for layout in (None, header_layout(request)):
            with pytest.raises(InvalidSignature) as caught:
                check(request, layout=layout)
            assert caught.value.message == unsigned_message(name)
    # an unsigned header placed before the signed ones is still the first one named
    early = [(b"x-amz-foo", b"1"), *headers, (b"x-amz-bar", b"1")]
    with pytest.raises(InvalidSignature) as caught:
        check(early)
    assert caught.value.message == unsigned_message("x-amz-foo")
    # the session token header is skipped when looking for the first unsigned one
    token_first = [*headers, (b"x-amz-security-token", b"t"), (b"x-amz-foo", b"1")]
    with pytest.raises(InvalidSignature) as caught:
        check(token_first)
    assert caught.value.message == unsigned_message("x-amz-foo")


def test_unsigned_security_token_and_non_amz_headers_are_accepted() -> None:
    headers = signed()
    late_token = [*headers, (b"x-amz-security-token", TOKEN.encode())]
    assert check(late_token).session_token == TOKEN
    assert check(late_token, layout=header_layout(late_token)).session_token == TOKEN
    check([*headers, (b"x-amzn-trace-id", b"Root=1"), (b"user-agent", b"ua"), (b"x-custom", b"c")])


def test_verify_plan_depends_on_layout_and_signed_headers() -> None:
    """The cached plan is keyed by both: a warmed cache must not let a different request through."""
    meta = signed({"X-Amz-Meta-A": "1"})
    check(meta)
    # same header names, but this Authorization does not sign x-amz-meta-a
    names = [name.decode() for name, _ in meta if name not in (b"authorization", b"x-amz-meta-a")]
    stripped = with_authorization(meta, manual_authorization(without(meta, b"authorization"), names))
    assert header_layout(stripped) is header_layout(meta)
    with pytest.raises(InvalidSignature) as caught:
        check(stripped)
    assert caught.value.message == unsigned_message("x-amz-meta-a")
    check(meta)  # and the original still verifies afterwards

    # same SignedHeaders, another layout with an unsigned x-amz header
    plain = signed()
    check(plain)
    with pytest.raises(InvalidSignature) as caught:
        check([*plain, (b"x-amz-extra", b"1")])
    assert caught.value.message == unsigned_message("x-amz-extra")
    check(plain)


def test_content_sha256_must_match_the_body() -> None:
    good = signed(add_content_sha256=True)
    assert dict(good)[b"x-amz-content-sha256"] == hashlib.sha256(BODY).hexdigest().encode()
    check(good)
    check(good, layout=header_layout(good))
    with pytest.raises(InvalidSignature) as caught:
        check(good, body=b"{}")
    assert caught.value.message == MISMATCH
    for declared in (b"UNSIGNED-PAYLOAD", hashlib.sha256(b"other").hexdigest().encode()):
        request = [(name, declared if name == b"x-amz-content-sha256" else value) for name, value in good]
        names = [name.decode() for name, _ in request if name != b"authorization"]
        request = with_authorization(request, manual_authorization(without(request, b"authorization"), names))
        with pytest.raises(InvalidSignature) as caught:  # correctly signed, but not the body's hash
            check(request)
        assert caught.value.message == MISMATCH


def test_only_the_first_content_sha256_counts() -> None:
    right = hashlib.sha256(BODY).hexdigest().encode()
    wrong = hashlib.sha256(b"other").hexdigest().encode()
    base = without(signed(), b"authorization")
    names = [name.decode() for name, _ in base] + ["x-amz-content-sha256"]

    def signed_with(*values: bytes) -> Headers:
        request = [*base, *((b"x-amz-content-sha256", value) for value in values)]
        return [*request, (b"authorization", manual_authorization(request, names))]

    right_first = signed_with(right, wrong)
    check(right_first)  # both values are signed; only the first is compared with the body
    check(right_first, layout=header_layout(right_first))
    wrong_first = signed_with(wrong, right)
    for layout in (None, header_layout(wrong_first)):
        with pytest.raises(InvalidSignature) as caught:
            check(wrong_first, layout=layout)
        assert caught.value.message == MISMATCH
    # the comparison trims the value, as before
    padded = signed_with(b" " + right + b" ")
    check(padded)


def _many_headers(count: int = MAX_CACHED_HEADERS + 6) -> dict[str, str]:
    return {f"X-Custom-{i}": f"value-{i}" for i in range(count)}


def test_more_headers_than_the_cache_limit_still_verify() -> None:
    headers = signed(_many_headers())
    assert len(headers) > MAX_CACHED_HEADERS
    assert header_layout(headers) is not header_layout(headers)

    verifier._cached_plan.cache_clear()
    check(headers)
    check(headers, layout=header_layout(headers))
    assert verifier._cached_plan.cache_info().currsize == 0  # uncached layouts get uncached plans

    tampered = [(name, b"evil" if name == b"x-custom-42" else value) for name, value in headers]
    for layout in (None, header_layout(tampered)):
        with pytest.raises(InvalidSignature) as caught:
            check(tampered, layout=layout)
        assert caught.value.message == MISMATCH
    dropped = without(headers, b"x-custom-69")
    assert len(dropped) > MAX_CACHED_HEADERS
    with pytest.raises(InvalidSignature) as caught:
        check(dropped)
    assert caught.value.message == MISMATCH

    extra = [*headers, (b"x-amz-late", b"1")]
    with pytest.raises(InvalidSignature) as caught:
        check(extra)
    assert caught.value.message == unsigned_message("x-amz-late")
    assert check([*headers, (b"x-amz-security-token", b"t")]).session_token == "t"
    assert verifier._cached_plan.cache_info().currsize == 0


def test_request_at_the_limit_uses_a_cached_plan() -> None:
    extra = _many_headers(MAX_CACHED_HEADERS - 5)  # + host, target, content type, date, authorization
    headers = signed(extra)
    assert len(headers) == MAX_CACHED_HEADERS
    verifier._cached_plan.cache_clear()
    check(headers)
    check(headers)
    info = verifier._cached_plan.cache_info()
    assert (info.currsize, info.misses, info.hits) == (1, 1, 1)
    tampered = [(name, b"evil" if name == b"x-custom-7" else value) for name, value in headers]
    with pytest.raises(InvalidSignature) as caught:
        check(tampered)  # same layout, same plan, this request's values
    assert caught.value.message == MISMATCH


# --- The pre-keyed HMAC state -------------------------------------------------------------------------
KEYS = [
    b"",
    b"k",
    b"\x00" * 32,
    bytes(range(32)),
    b"a-key-longer-than-the-sha256-block-size-" * 3,
    sigv4.signing_key(SECRET, "20130524", REGION, SERVICE),
]
MESSAGES = [b"", b"abc", b"AWS4-HMAC-SHA256\n20130524T000000Z\n" + b"x" * 1000]


@pytest.mark.parametrize("key", KEYS, ids=range(len(KEYS)))
def test_signature_of_is_hmac_sha256(key: bytes) -> None:
    for message in MESSAGES:
        assert canonical._signature_of(key, message) == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_keyed_state_is_copied_never_updated() -> None:
    key = b"reused-key"
    expected = {message: hmac.new(key, message, hashlib.sha256).hexdigest() for message in MESSAGES}
    for _ in range(3):
        for message in MESSAGES:
            assert canonical._signature_of(key, message) == expected[message]
    state = canonical._keyed_hmac(key)
    assert canonical._keyed_hmac(key) is state  # one cached state per key ...
    assert state.copy().hexdigest() == hmac.new(key, b"", hashlib.sha256).hexdigest()  # ... still fresh
    # interleaving keys does not mix their states
    other = b"other-key"
    assert canonical._signature_of(other, b"abc") == hmac.new(other, b"abc", hashlib.sha256).hexdigest()
    assert canonical._signature_of(key, b"abc") == expected[b"abc"]


def test_clear_signing_key_cache_empties_both_caches() -> None:
    key = sigv4.signing_key(SECRET, "20130524", REGION, SERVICE)
    canonical._signature_of(key, b"abc")
    check(signed())
    assert canonical._keyed_hmac.cache_info().currsize >= 1
    assert canonical._cached_signing_key.cache_info().currsize >= 1
    sigv4.clear_signing_key_cache()
    assert canonical._keyed_hmac.cache_info().currsize == 0
    assert canonical._cached_signing_key.cache_info().currsize == 0
    # and everything still works from empty caches
    assert canonical._signature_of(key, b"abc") == hmac.new(key, b"abc", hashlib.sha256).hexdigest()
    check(signed())


def test_keyed_hmac_cache_is_bounded() -> None:
    assert canonical._keyed_hmac.cache_info().maxsize is not None


# --- api.request_headers ---------------------------------------------------------------------------
def _request_headers(headers: Headers) -> tuple[int | None, str | None, str | None]:
    return request_headers(headers, header_layout(headers))


def test_request_headers_first_of_repeated_headers_counts() -> None:
    headers = [
        (b"host", b"h"),
        (b"content-length", b"10"),
        (b"x-amz-target", b"secretsmanager.GetSecretValue"),
        (b"content-type", b"application/x-amz-json-1.1"),
        (b"content-length", b"20"),
        (b"x-amz-target", b"secretsmanager.DeleteSecret"),
        (b"content-type", b"text/plain"),
    ]
    assert _request_headers(headers) == (10, "secretsmanager.GetSecretValue", "application/x-amz-json-1.1")
    reversed_pairs = [headers[0], *headers[4:], *headers[1:4]]
    assert _request_headers(reversed_pairs) == (20, "secretsmanager.DeleteSecret", "text/plain")


def test_request_headers_absent() -> None:
    assert _request_headers([]) == (None, None, None)
    assert _request_headers([(b"host", b"h")]) == (None, None, None)


@pytest.mark.parametrize("value", [b"abc", b"-1", b"", b"1.5", b"12a", b" 5", b"0x10"])
def test_non_numeric_content_length_is_none(value: bytes) -> None:
    assert _request_headers([(b"content-length", value)])[0] is None


def test_first_content_length_counts_even_when_not_a_number() -> None:
    assert _request_headers([(b"content-length", b"0"), (b"content-length", b"abc")])[0] == 0
    assert _request_headers([(b"content-length", b"abc"), (b"content-length", b"5")])[0] is None


@pytest.mark.parametrize(
    ("value", "media_type"),
    [
        (b"application/x-amz-json-1.1", "application/x-amz-json-1.1"),
        (b"Application/X-Amz-Json-1.1; charset=UTF-8", "application/x-amz-json-1.1"),
        (b"  APPLICATION/JSON ;charset=utf-8;q=1", "application/json"),
        (b"application/x-www-form-urlencoded; charset=utf-8", "application/x-www-form-urlencoded"),
        (b"", ""),
    ],
)
def test_content_type_is_the_lowercase_media_type(value: bytes, media_type: str) -> None:
    assert _request_headers([(b"content-type", value), (b"content-type", b"text/plain")])[2] == media_type


def test_target_is_kept_as_sent() -> None:
    assert _request_headers([(b"x-amz-target", b"SecretsManager.GetSecretValue")])[1] == (
        "SecretsManager.GetSecretValue"
    )


# --- verify's per-layout template (each signed header once) ----------------------------------------
@pytest.mark.parametrize(
    "extra",
    [
        {"X-Pct%s-Name": "v"},  # '%' is a legal header-name character: the template must escape it
        {"X-Value": "100%s %d %% literal"},  # a value is data, never a format
        {"X-Spaces": "  a \t b   c  "},  # trimmed, runs of whitespace folded, as _header_line does
    ],
)
def test_template_path_equals_the_general_canonical_request(extra: dict[str, str]) -> None:
    headers = signed(extra)
    check(headers)  # the signer (general _canonical_bytes) and the verifier (template) agree
    names = [name.decode() for name, _ in headers if name != b"authorization"]
    assert dict(headers)[b"authorization"] == manual_authorization(without(headers, b"authorization"), names)
    plan = verifier._cached_plan(header_layout(headers).names, parse(headers).signed_headers)
    assert plan.template is not None  # the fast form was the one used
    tampered = [(k, v + b"x" if k == next(iter(extra)).lower().encode() else v) for k, v in headers]
    with pytest.raises(InvalidSignature):
        check(tampered)


def test_repeated_signed_header_takes_the_general_path() -> None:
    headers = signed({"X-Amz-Meta-A": "1,2"})
    host, rest = headers[0], [h for h in headers[1:] if h[0] != b"x-amz-meta-a"]
    repeated = [host, (b"x-amz-meta-a", b"1"), *rest, (b"x-amz-meta-a", b"2")]
    plan = verifier._cached_plan(header_layout(repeated).names, parse(repeated).signed_headers)
    assert plan.template is None
    check(repeated)


_FORM_PIECES = st.sampled_from([
    "AWS4-HMAC-SHA256 Credential=", "SignedHeaders=", "Signature=", ",", ", ", ",  ", " ", "\t", "\xa0", "\x1c",
    "\x1f", "\x0b", "\x85", "\n", "\r", "\x00", "\x7f", "\xff", "AKID/20130524/us-east-1/secretsmanager/aws4_request",
    "host;x-amz-date", "ab01", "=", "é", "",
]) | st.characters(max_codepoint=0xFF)


def test_the_fast_class_is_whitespace_and_comma_within_latin1() -> None:
    """Header values are latin-1 text: there the explicit class must be exactly [^\\s,]."""
    latin1 = "".join(map(chr, range(256)))
    assert set(re.findall(r"[\s,]", latin1)) == {c for c in latin1 if c.isspace() or c == ","}
    excluded = re.compile(verifier._VALUE[1:-2].replace("[^", "[", 1))  # "([^...]+)" -> "[...]"
    assert set(excluded.findall(latin1)) == set(re.findall(r"[\s,]", latin1))


@given(st.lists(_FORM_PIECES, max_size=9).map("".join))
def test_standard_form_reader_equals_its_regular_expression(value: str) -> None:
    """Any latin-1 string (what a decoded header can be): the same verdict and parts as with \\s."""
    reference = STANDARD_FORM.fullmatch(value)
    assert verifier._standard_authorization(value) == (reference.groups() if reference is not None else None)


@pytest.mark.parametrize("value", [
    "AWS4-HMAC-SHA256 Credential=a,SignedHeaders=b,Signature=c",
    "AWS4-HMAC-SHA256 Credential=a, SignedHeaders=b,Signature=c",
    "AWS4-HMAC-SHA256 Credential=a,SignedHeaders=b, Signature=c",
    "AWS4-HMAC-SHA256 Credential=a,, SignedHeaders=b, Signature=c",
    "AWS4-HMAC-SHA256 Credential=a, SignedHeaders=, Signature=c",
    "AWS4-HMAC-SHA256 Credential=a, SignedHeaders=b, Signature=c\x1c",
    "AWS4-HMAC-SHA256 Credential=a, SignedHeaders=b, Signature=c=d",
    "AWS4-HMAC-SHA256 Credential=a=b, SignedHeaders=x=y, Signature=c",
])
def test_standard_form_reader_edge_cases(value: str) -> None:
    reference = STANDARD_FORM.fullmatch(value)
    assert verifier._standard_authorization(value) == (reference.groups() if reference is not None else None)
