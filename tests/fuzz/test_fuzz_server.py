"""Hostile requests against a running server (issue 13, item 6).

One ``strongroom serve`` with authentication on (so signatures are really verified) gets
generated and mutated requests over raw HTTP: JSON bodies for every operation (shaped by the
model, with wrong types, numbers past every limit, deep nesting and invalid UTF-8 mixed in),
mutated headers and framing, query-protocol forms and GET query strings, presigned-URL
parameters, STS requests, and resource policies through PutResourcePolicy /
ValidateResourcePolicy (then evaluated by GetSecretValue). Each answer is checked by
:class:`fuzz_support.FuzzClient`: no HTTP status of 500 or more, no fault in the server's log, an
answer within the timeout.

Generation leans on what breaks servers: each value is drawn from a list of known-hostile values
for its place (numbers past ``int()``'s 4,300 digits or a long's range, Unicode digits, malformed
regions and dates) more often than at random; what it found is tried again on every run
(``@example``). Bounded and deterministic: a fixed number of examples per test (about 800
requests), ``derandomize=True`` (the same examples on every run), no example database, no
deadline. The module takes about 7 s on the idle 2-core machine, 21 s beside three busy loops
(load 6) and 41 s beside six (load 8).
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from fuzz_support import REGION, TARGET_SECRET, Fuzz, WireHeaders
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from strongroom.protocol.model import Shape, input_shape
from strongroom.secrets.service import SERVICE
from strongroom.sigv4 import presign_url


def fuzz_settings(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )  # fmt: skip


def often(hostile: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``hostile`` two times in three, ``other`` otherwise."""
    return st.one_of(hostile, hostile, other)


TARGET_ARN_PREFIX = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:"
STS_JSON_PREFIX = "AWSSecurityTokenServiceV20110615."
HUGE = "9" * 5000  # more digits than int() converts
#: Credential-scope regions that must not become namespaces.
BAD_REGIONS = ["", "*", "..", "x:y", "US-EAST-1", "a" * 200, "aws-global", "us-east-1 ", "\xff"]

# --- values --------------------------------------------------------------------------------------
_TEXTS = [
    "", " ", "name", "tag-key", "tag-value", "description", "primary-region", "owning-service", "all", "!",
    "!name", "*", "?", "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS", TARGET_SECRET, TARGET_ARN_PREFIX + TARGET_SECRET,
    TARGET_ARN_PREFIX + TARGET_SECRET + "-AbCdEf", "arn:aws:secretsmanager:::secret:", "arn:", "asc", "desc",
    "created-date", "last-accessed-date", "last-changed-date", "a" * 600, "\x00", "\ud800", "\U0001f512", "%s",
    "{}", "true", "900", HUGE, "-" + "9" * 30, "1e999", "0x10", "\u00b2", "\u0663", "../..", "a:b", "${aws:username}",
    "alias/aws/secretsmanager", "arn:aws:kms:us-east-1:123456789012:key/x", "us-east-1", "US-EAST-1",
]  # fmt: skip
TEXT = often(st.sampled_from(_TEXTS), st.text(max_size=24))
#: Integers as text: past every limit (more digits than int() converts, exponents, Unicode
#: digits), at the 32/64-bit edges and otherwise odd (signs, spaces, leading zeros, fractions).
_PAST_LIMITS = [
    HUGE, "-" + HUGE, "0" * 5000 + "1", "9" * 4301, "1e999", "-1e999", "1E400", "\u00b2", "\u0663", "\uff15",
]  # fmt: skip
_EDGES = [
    "0", "-0", "1", "-1", "7", "20", "100", "4096", "4097", "2147483647", "2147483648", "9223372036854775807",
    "9223372036854775808", "-9223372036854775809", "18446744073709551616", "1" * 20, "9" * 400, "+5", " 5 ",
    "1e-999", "0.5", "1.5e3", "-0.0", "1" + "0" * 308, "1_000", "0x10", "",
]  # fmt: skip
_NUMBERS = _PAST_LIMITS + _EDGES
NUMBER_TEXT = st.one_of(
    st.sampled_from(_PAST_LIMITS), st.sampled_from(_EDGES), st.integers(-(2**70), 2**70).map(str)
)
#: The same as JSON number tokens (those that are not JSON numbers are JSON strings).
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
NUMBER_TOKEN = NUMBER_TEXT.map(lambda n: n.encode() if _JSON_NUMBER.fullmatch(n) else json.dumps(n).encode())
#: Bodies no JSON generator writes: invalid UTF-8, deep nesting, truncation, non-JSON tokens.
_NASTY_BODIES = [
    b"", b"null", b"[]", b"{", b"}", b"\xff\xfe{}", b'{"Name": "\xff\xfe"}', b'{"Name": "\xed\xa0\x80"}',
    b"[" * 3000 + b"]" * 3000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b"[" * 100_000, b'{"Name": NaN}',
    b'{"MaxResults": Infinity}', b'{"a": 1} {"b": 2}', b'{"SecretString": "' + b"x" * 70_000 + b'"}',
    b'{"SecretId": "' + TARGET_SECRET.encode() + b'", "SecretId": 5}', b"\x00" * 64, b'{"\\u0000": "\\ud800"}',
    b"{" + b'"k":1,' * 20_000 + b'"z":2}', b"x" * 1_048_577, b'{"MaxResults": ' + HUGE.encode() + b"}",
]  # fmt: skip
NASTY_BODY = often(st.sampled_from(_NASTY_BODIES), st.binary(max_size=64))


def _json_string(text: str) -> bytes:
    return json.dumps(text).encode()  # ASCII escapes: lone surrogates and control characters survive


def json_values(keys: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[bytes]:
    """Any JSON value as text: numbers of any size, strings, and nesting of lists and objects."""
    scalars = st.one_of(
        st.sampled_from([b"null", b"true", b"false"]), NUMBER_TOKEN, TEXT.map(_json_string), TEXT.map(_json_string),
        st.integers().map(lambda n: str(n).encode()),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda f: repr(f).encode()),
    )  # fmt: skip

    def nest(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
        pairs = st.lists(st.tuples(keys.map(_json_string), children), max_size=5)
        return st.one_of(
            st.lists(children, max_size=5).map(lambda items: b"[" + b",".join(items) + b"]"),
            pairs.map(lambda kv: b"{" + b",".join(k + b":" + v for k, v in kv) + b"}"),
        )

    return st.recursive(scalars, nest, max_leaves=8)


# --- parameters shaped by the model ---------------------------------------------------------------
class Raw(str):
    """A scalar already in wire form: JSON text in a JSON body, the value itself in a query."""


@cache
def shaped(shape: Shape) -> st.SearchStrategy[Any]:
    """Parameters for a model shape: mostly of the right type, at and past its limits; one node in
    six anywhere is a random JSON value instead."""
    kind, meta = shape.type_name, shape.metadata
    right: st.SearchStrategy[Any]
    if kind == "structure":
        members = {name: shaped(member) for name, member in shape.members.items()}
        required = set(shape.required_members)
        right = st.fixed_dictionaries(
            {n: s for n, s in members.items() if n in required},
            optional={n: s for n, s in members.items() if n not in required},
        )
    elif kind == "list":
        right = st.lists(shaped(shape.member), max_size=min(int(meta.get("max", 5)), 5) + 1)
    elif kind == "map":
        right = st.dictionaries(st.text(max_size=8), shaped(shape.value), max_size=3)
    elif kind == "string" and meta.get("idempotencyToken"):
        right = often(st.uuids().map(str), TEXT)
    elif kind == "string":
        choices = st.sampled_from(meta["enum"]) if meta.get("enum") else TEXT
        longest = int(meta.get("max", 8))  # the longest string and one more, in 1 to 4 UTF-8 bytes a character
        wide = ["a", "\u00e9", "\u20ac", "\U0001f512"] if longest <= 4096 else ["a"]  # a 64K-emoji body is 786 KB
        edge = st.tuples(st.sampled_from(wide), st.sampled_from([longest, longest + 1]))
        right = st.one_of(choices, choices, edge.map(lambda pair: pair[0] * pair[1]))
    elif kind in ("integer", "long"):
        low, high = int(meta.get("min", -5)), int(meta.get("max", 1000))
        right = st.one_of(NUMBER_TEXT.map(Raw), st.integers(low - 2, high + 2), st.integers(low, high))
    elif kind == "boolean":
        right = st.one_of(st.booleans(), st.sampled_from(["true", "FALSE", "yes"]))
    elif kind == "blob":
        right = st.binary(max_size=32).map(lambda data: base64.b64encode(data).decode())
    else:
        right = st.floats(allow_nan=False)
    return st.one_of(right, right, right, right, right, json_values().map(lambda text: Raw(text.decode())))


def _json(value: Any) -> bytes:
    """JSON text of shaped parameters (a Raw number that is no JSON number goes as a string)."""
    if isinstance(value, Raw):
        is_json = _JSON_NUMBER.fullmatch(value) or (value and value[0] in '[{"tfn')
        return value.encode("utf-8", "surrogatepass") if is_json else _json_string(value)
    if isinstance(value, dict):
        return b"{" + b",".join(_json_string(str(k)) + b":" + _json(v) for k, v in value.items()) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(map(_json, value)) + b"]"
    return json.dumps(value).encode()


def _pairs(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Shaped parameters flattened as the query protocol sends them (``Name.member.N``)."""
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _pairs(item, f"{prefix}.{key}" if prefix else key)]
    if isinstance(value, list):
        return [pair for n, item in enumerate(value, 1) for pair in _pairs(item, f"{prefix}.member.{n}")]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, str(value))]


def _operation_params(operations: list[str]) -> st.SearchStrategy[tuple[str, Any]]:
    def params(operation: str) -> st.SearchStrategy[tuple[str, Any]]:
        shape = input_shape("secretsmanager", operation)
        return st.tuples(st.just(operation), shaped(shape) if shape is not None else st.just({}))

    return st.sampled_from(operations).flatmap(params)


# --- JSON 1.1 ------------------------------------------------------------------------------------
@fuzz_settings(examples=120)
@given(
    request=_operation_params(sorted(SERVICE.operations)),
    other=st.one_of(st.none(), st.none(), st.none(), st.none(), json_values(), NASTY_BODY),
)
def test_json_bodies_for_every_operation(fuzz: Fuzz, request: tuple[str, Any], other: bytes | None) -> None:
    operation, params = request
    fuzz.client.json_request(operation, _json(params) if other is None else other)


# --- headers and framing -------------------------------------------------------------------------
_ANY_HEADER_VALUE = often(
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40).map(lambda v: v.encode("latin-1")),
    st.binary(max_size=40).map(lambda v: v.replace(b"\r", b"")),  # control characters: often not HTTP at all
)
_SCOPE = "AKIAEXAMPLE/20130524/{}/secretsmanager/aws4_request"
#: header -> values to try there (besides random bytes)
_HEADER_ATTACKS: dict[bytes, list[bytes]] = {
    b"content-type": [b"", b"application/x-amz-json-1.0", b"application/x-www-form-urlencoded", b"text/plain",
                      b"application/json; charset=\xff", b"application/x-amz-json-1.1;;;", b"a" * 20_000],
    b"x-amz-target": [b"", b"secretsmanager.", b"secretsmanager.Nope", b"secretsmanager." + b"A" * 1000,
                      b"AWSSecurityTokenServiceV20110615.GetSessionToken", b"AWSSecurityTokenServiceV20110615.",
                      b"\xff\xfe", b"kms.Encrypt"],
    b"authorization": [b"", b"AWS4", b"AWS4-HMAC-SHA256", b"AWS4-HMAC-SHA256 Credential=", b"Bearer x",
                       b"AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00",
                       b"AWS4-HMAC-SHA256 " + b"x=" * 10_000, b"AWS4-HMAC-SHA1 Credential=a, SignedHeaders=host, "
                       b"Signature=0"],
    b"x-amz-date": [b"", b"20130524T000000Z", b"99991231T235959Z", b"00000000T000000Z", b"2013-05-24T00:00:00Z",
                    b"\xff" * 16, b"9" * 5000],
    b"date": [b"Mon, 01 Jan 99999999999 00:00:00 GMT", b"Wed, 01 Jan 1000 00:30:00 +0100", b"Mon, 32 Jan 2020 "
              b"00:00:00 GMT", b"Mon, 01 Jan " + b"9" * 5000 + b" 00:00:00 GMT", b"x", b"Mon, 01 Jan 2020 00:00:00 "
              b"+9999"],
    b"x-amz-content-sha256": [b"", b"UNSIGNED-PAYLOAD", b"0" * 64, b"\xff"],
    b"x-amz-security-token": [b"", b"x" * 5000, b"\xff"],
    b"host": [b"", b"\xff", b"localhost", b"a" * 5000],
    b"x-forwarded-for": [b"127.0.0.1, ::1, garbage", b"\xff"],
}  # fmt: skip
_PIECE_VALUES = [
    "", "AKID", "a/b/c/d/e", "host", "host;x-amz-date;x-amz-target", ";;;", "HOST", "0" * 64, "f" * 63, "\xff" * 10,
    "a=b=c", "x/" + "9" * 5000, *(_SCOPE.format(region) for region in BAD_REGIONS),
]  # fmt: skip
#: Content-Length values that never promise more body than is sent (the server would rightly wait).
_LENGTHS = [b"", b"abc", b"-1", b"+2", b" 2", b"0x2", b"9" * 5000, b"99999999999999999999", b"1048577", b"0", b"1"]
_ATTACK = st.one_of(
    st.sampled_from(sorted(_HEADER_ATTACKS)).flatmap(
        lambda name: st.tuples(st.just("set"), st.just(name), often(st.sampled_from(_HEADER_ATTACKS[name]),
                                                                     _ANY_HEADER_VALUE))
    ),
    st.tuples(st.just("date"), st.just(b"date"), st.sampled_from(_HEADER_ATTACKS[b"date"])),
    st.tuples(st.just("piece"), st.sampled_from(["Credential", "SignedHeaders", "Signature"]),
              often(st.sampled_from(_PIECE_VALUES), TEXT)),
    st.tuples(st.just("length"), st.sampled_from(_LENGTHS), st.just(b"")),
)  # fmt: skip
_MUTATION = st.one_of(
    _ATTACK,
    st.tuples(st.just("drop"), st.sampled_from(sorted(_HEADER_ATTACKS) + [b"content-length"]), st.just(b"")),
    st.tuples(st.just("repeat"), st.sampled_from(sorted(_HEADER_ATTACKS)), _ANY_HEADER_VALUE),
    st.tuples(st.just("add"), st.binary(min_size=1, max_size=12).filter(lambda n: b":" not in n), _ANY_HEADER_VALUE),
)


def _mutate(wire: WireHeaders, kind: str, name: Any, value: Any) -> WireHeaders:
    if kind == "set":
        present = any(n == name for n, _ in wire)
        return [(n, value if n == name else v) for n, v in wire] + ([] if present else [(name, value)])
    if kind == "date":  # the RFC 7231 Date header counts only without X-Amz-Date
        return [(n, v) for n, v in wire if n != b"x-amz-date"] + [(b"date", value)]
    if kind == "drop":
        return [(n, v) for n, v in wire if n.lower() != name.lower()]
    if kind == "piece":
        return [(n, _replace_piece(v, name, value) if n == b"authorization" else v) for n, v in wire]
    if kind == "length":
        return [(n, v) for n, v in wire if n != b"content-length"] + [(b"content-length", name)]
    return wire + [(name, value)]  # "repeat", "add"


def _replace_piece(header: bytes, piece: str, value: str) -> bytes:
    text = header.decode("latin-1")
    start = text.find(f"{piece}=")
    if start < 0:
        return header
    end = text.find(",", start)
    end = len(text) if end < 0 else end
    return (text[:start] + f"{piece}={value}" + text[end:]).encode("utf-8", "surrogatepass")


_PATHS = ["/", "/", "/", "//", "/./../", "/%2e%2e", "/%zz", "/health", "/a/b?c", "/\xff"]


@fuzz_settings(examples=100)
@given(
    operation=st.sampled_from(["ListSecrets", "GetSecretValue", "DescribeSecret", "GetRandomPassword"]),
    attack=_ATTACK,
    mutations=st.lists(_MUTATION, max_size=2),
    path=st.sampled_from(_PATHS),
)
# found here (issue 13): a Date header whose year overflows C's int was a 500
@example(operation="ListSecrets", attack=("date", b"date", b"Mon, 01 Jan 99999999999 00:00:00 GMT"), mutations=[],
         path="/")  # fmt: skip
def test_mutated_headers(fuzz: Fuzz, operation: str, attack: Any, mutations: list[Any], path: str) -> None:
    body = b'{"SecretId": "%s"}' % TARGET_SECRET.encode() if operation != "ListSecrets" else b"{}"
    headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": f"secretsmanager.{operation}"}
    target = quote(path, safe="/%?=&")
    wire = fuzz.client.signed("POST", target, headers, body) + [(b"content-length", str(len(body)).encode())]
    for mutation in [attack, *mutations]:
        wire = _mutate(wire, *mutation)
    fuzz.client.send("POST", target, wire, body, what=f"{operation} {target} {[attack, *mutations]!r}"[:3000],
                     framing_may_fail=True, content_length=False)  # fmt: skip


_FRAMING = [
    b"GET / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n\r\n",
    b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 2\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n" + b"f" * 40 + b"\r\n",
    b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}x",
    b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n",
    b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: " + b"9" * 5000 + b"\r\n\r\n",
    b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{}",  # a body cut short
    b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}GARBAGE / HTTP/1.1\r\n\r\n",
    b"POST / HTTP/1.1\r\nhost: x\r\n folded: value\r\n\r\n",
    b"POST / HTTP/1.1\r\nbad header\r\n\r\n",
    b"POST / HTTP/1.1\r\n\x00: x\r\n\r\n",
    b"POST /\xff HTTP/1.1\r\nhost: x\r\n\r\n",
    b"POST / HTTP/9.9\r\nhost: x\r\n\r\n",
    b"BREW / HTTP/1.1\r\nhost: x\r\n\r\n",
    b"POST " + b"/a" * 20_000 + b" HTTP/1.1\r\nhost: x\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + b"x-h: v\r\n" * 3000 + b"\r\n",
    b"POST / HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 0\r\n\r\n",
    b"GET /?Action=ListSecrets&Version=2017-10-17&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=" + HUGE.encode()
    + b"&X-Amz-Credential=a&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=0 HTTP/1.1\r\n"
    b"host: x\r\n\r\n",  # no credentials needed to reach X-Amz-Expires
    b"\r\n\r\n",  # no request at all
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello on the plain port
]  # fmt: skip


@pytest.mark.parametrize("raw", _FRAMING, ids=range(len(_FRAMING)))
def test_malformed_framing(fuzz: Fuzz, raw: bytes) -> None:
    fuzz.client.send_raw(raw, what=repr(raw[:200]))


# --- query protocol ------------------------------------------------------------------------------
_INDEX = re.compile(r"\.member\.[0-9]+")
_BAD_INDEXES = ["0", "-1", "+1", " 1", "00000000000000000000000000001", HUGE, "1" * 20, "\u00b2", "\u0663", "", "x"]
_STS_PARAMS = st.fixed_dictionaries(
    {}, optional={"DurationSeconds": NUMBER_TEXT, "SerialNumber": TEXT, "TokenCode": TEXT, "Policy": TEXT}
)
#: (action, version, parameter) where each operation reads a number from text ({} is a list index).
_NUMERIC_PLACES = [
    ("ListSecrets", "2017-10-17", "MaxResults"), ("ListSecretVersionIds", "2017-10-17", "MaxResults"),
    ("BatchGetSecretValue", "2017-10-17", "MaxResults"), ("GetRandomPassword", "2017-10-17", "PasswordLength"),
    ("DeleteSecret", "2017-10-17", "RecoveryWindowInDays"), ("GetSessionToken", "2011-06-15", "DurationSeconds"),
    ("ListSecrets", "2017-10-17", "Filters.member.{}.Key"), ("UntagResource", "2017-10-17", "TagKeys.member.{}"),
    ("BatchGetSecretValue", "2017-10-17", "SecretIdList.member.{}"),
]  # fmt: skip


def _numeric_request(place: tuple[str, str, str], number: str) -> tuple[str, str, list[tuple[str, str]]]:
    """A request whose one number (a value, or a list index) is ``number``."""
    action, version, key = place
    pairs = [("SecretId", TARGET_SECRET)] if action in ("ListSecretVersionIds", "DeleteSecret", "UntagResource") else []
    pair = (key.format(number), "name") if "{}" in key else (key, number)
    return action, version, [*pairs, pair]


def _encode(pairs: list[tuple[str, str]], raw_bytes: bytes) -> str:
    """Form encoding, with some raw undecodable bytes and broken escapes appended."""
    text = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)
    return text + (("&" + quote_from_bytes(raw_bytes, safe="%=&+")) if raw_bytes else "")


def _quote(text: str) -> str:
    """Percent-encoding of any text; a lone surrogate goes out as the invalid UTF-8 it encodes to."""
    return quote(text, safe="", errors="surrogatepass")


@fuzz_settings(examples=120)
@given(
    request=st.one_of(
        *[_operation_params(sorted(SERVICE.operations)).map(lambda r: (r[0], "2017-10-17", r[1]))] * 3,
        st.builds(_numeric_request, st.sampled_from(_NUMERIC_PLACES), NUMBER_TEXT),
        st.tuples(st.sampled_from(["GetSessionToken", "GetCallerIdentity", "AssumeRole", ""]),
                  st.sampled_from(["2011-06-15", "2011-06-15", ""]), _STS_PARAMS),
        st.tuples(st.sampled_from(["ListSecrets", "Nope", ""]), st.sampled_from(["", "2017-10-18", HUGE]),
                  st.just({})),
    ),
    bad_indexes=st.lists(st.sampled_from(_BAD_INDEXES), max_size=2),
    extra=st.lists(st.tuples(TEXT, TEXT), max_size=2),
    raw_bytes=st.one_of(st.just(b""), st.just(b""), st.binary(max_size=12), st.sampled_from([b"%zz", b"%E1%88"])),
    delivery=st.sampled_from(["form", "get-signed", "get-presigned"]),
)  # fmt: skip
# What this fuzzer found (issue 13), always tried again: each was an int() of 5,000 digits, a 500.
@example(request=_numeric_request(_NUMERIC_PLACES[0], HUGE), bad_indexes=[], extra=[], raw_bytes=b"", delivery="form")
@example(request=_numeric_request(_NUMERIC_PLACES[5], HUGE), bad_indexes=[], extra=[], raw_bytes=b"", delivery="form")
@example(request=_numeric_request(_NUMERIC_PLACES[6], HUGE), bad_indexes=[], extra=[], raw_bytes=b"",
         delivery="get-presigned")  # fmt: skip
@example(request=_numeric_request(_NUMERIC_PLACES[6], "\u00b2"), bad_indexes=[], extra=[], raw_bytes=b"",
         delivery="get-signed")  # fmt: skip
def test_query_forms_and_get_query_strings(
    fuzz: Fuzz, request: tuple[str, str, Any], bad_indexes: list[str], extra: list[tuple[str, str]],
    raw_bytes: bytes, delivery: str,
) -> None:
    action, version, params = request
    pairs = params if isinstance(params, list) else _pairs(params) if isinstance(params, dict) else [("P", str(params))]
    for index in bad_indexes:  # a list index replaced by one that is no positive integer of 19 digits
        pairs = [(_INDEX.sub(f".member.{index}", key, count=1), value) for key, value in pairs]
    query = _encode([("Action", action), ("Version", version), *pairs, *extra], raw_bytes)
    service = "sts" if version == "2011-06-15" else "secretsmanager"
    client = fuzz.client
    what = f"{delivery} {query[:2000]}"
    if delivery == "form":
        body = query.encode()
        wire = client.signed("POST", "/", {"content-type": "application/x-www-form-urlencoded"}, body, service=service)
        client.send("POST", "/", wire, body, what=what)
    elif delivery == "get-signed":
        wire = client.signed("GET", f"/?{query}", {}, b"", service=service)
        client.send("GET", f"/?{query}", wire, b"", what=what)
    else:
        url = presign_url("GET", f"http://{client.host}/?{query}", client.creds, REGION, service, time.time())
        client.send("GET", url.split(client.host, 1)[1], [(b"host", client.host.encode())], b"", what=what)


# --- presigned URL parameters ----------------------------------------------------------------------
_PRESIGN_ATTACKS: dict[str, list[str]] = {
    "X-Amz-Expires": _NUMBERS + ["604800", "604801", "0" * 40 + "60"],
    "X-Amz-Credential": ["", "a/b", "AKID//us-east-1/secretsmanager/aws4_request", "x/" + HUGE,
                         *(_SCOPE.format(region) for region in BAD_REGIONS)],
    "X-Amz-Date": ["", "20130524T000000Z", "99991231T235959Z", "2013-05-24T00:00:00Z", HUGE, "\xff" * 16],
    "X-Amz-SignedHeaders": ["", "host", "host;x-amz-date", ";", "x-amz-target", "HOST;" * 1000],
    "X-Amz-Algorithm": ["", "AWS4-HMAC-SHA1", "AWS4-HMAC-SHA256 ", "\x00"],
    "X-Amz-Signature": ["", "0" * 64, "\xff" * 64, "g" * 64],
    "X-Amz-Security-Token": ["", "session", "\xff", "x" * 5000],
}  # fmt: skip
_PRESIGN_MUTATION = st.tuples(
    st.sampled_from(["set", "set", "set", "drop", "repeat"]),
    st.sampled_from(sorted(_PRESIGN_ATTACKS)),
).flatmap(lambda kn: st.tuples(st.just(kn[0]), st.just(kn[1]), often(st.sampled_from(_PRESIGN_ATTACKS[kn[1]]), TEXT)))


@fuzz_settings(examples=80)
@given(
    sts=st.booleans(),
    mutations=st.lists(_PRESIGN_MUTATION, min_size=1, max_size=3),
    scope_region=st.one_of(st.none(), st.none(), st.sampled_from(BAD_REGIONS), TEXT),
)
@example(sts=False, mutations=[("set", "X-Amz-Expires", HUGE)], scope_region=None)  # found here (issue 13): a 500
@example(sts=True, mutations=[("set", "X-Amz-Expires", "-" + HUGE)], scope_region="x:y")
def test_presigned_url_parameters(
    fuzz: Fuzz, sts: bool, mutations: list[tuple[str, str, str]], scope_region: str | None
) -> None:
    client = fuzz.client
    service = "sts" if sts else "secretsmanager"
    query = "Action=GetCallerIdentity&Version=2011-06-15" if sts else "Action=ListSecrets&Version=2017-10-17"
    url = presign_url("GET", f"http://{client.host}/?{query}", client.creds, REGION, service, time.time())
    params = [part.split("=", 1) for part in url.split("?", 1)[1].split("&")]
    if scope_region is not None:  # the scope's region replaced (so the signature fails too, after the scope)
        scope = [client.creds.access_key_id, time.strftime("%Y%m%d", time.gmtime()), scope_region, service,
                 "aws4_request"]  # fmt: skip
        params = [[k, _quote("/".join(scope)) if k == "X-Amz-Credential" else v] for k, v in params]
    for kind, name, value in mutations:
        if kind == "set":
            params = [[k, _quote(value) if k == name else v] for k, v in params]
        elif kind == "drop":
            params = [[k, v] for k, v in params if k != name]
        else:
            params.append([name, _quote(value)])
    target = "/?" + "&".join(f"{k}={v}" for k, v in params)
    client.send("GET", target, [(b"host", client.host.encode())], b"", what=target[:3000])


# --- STS JSON 1.0 ----------------------------------------------------------------------------------
_STS_KEYS = often(st.sampled_from(["DurationSeconds", "SerialNumber", "TokenCode", "Policy", "RoleArn"]), TEXT)
_STS_TARGETS = [STS_JSON_PREFIX + "GetSessionToken"] * 4 + [STS_JSON_PREFIX + "GetCallerIdentity"] * 2 + [
    STS_JSON_PREFIX + "AssumeRole", STS_JSON_PREFIX, "AWSSecurityTokenServiceV20110615",
    "AWSSecurityTokenServiceV20110615.GetSessionToken.x",
]  # fmt: skip
_DURATIONS = st.one_of(
    NUMBER_TOKEN, st.sampled_from([b'"900"', b'"abc"', b"true", b"900.5", b"[900]", b'{"a": 1}', b"null"]),
)  # fmt: skip


@fuzz_settings(examples=60)
@given(
    target=st.sampled_from(_STS_TARGETS),
    body=st.one_of(
        _DURATIONS.map(lambda d: b'{"DurationSeconds": ' + d + b"}"),
        _DURATIONS.map(lambda d: b'{"DurationSeconds": ' + d + b"}"), json_values(_STS_KEYS), NASTY_BODY
    ),
    content_type=st.sampled_from(["application/x-amz-json-1.0", "application/x-amz-json-1.1", "text/plain", ""]),
    service=st.sampled_from(["sts", "sts", "secretsmanager"]),
    region=st.one_of(st.just(REGION), st.just(REGION), st.sampled_from(BAD_REGIONS)),
)
# found here (issue 13): DurationSeconds as a JSON string of 5,000 digits was a 500
@example(target=STS_JSON_PREFIX + "GetSessionToken", body=b'{"DurationSeconds": "' + HUGE.encode() + b'"}',
         content_type="application/x-amz-json-1.0", service="sts", region=REGION)  # fmt: skip
def test_sts_json_requests(fuzz: Fuzz, target: str, body: bytes, content_type: str, service: str,
                           region: str) -> None:
    wire = fuzz.client.signed("POST", "/", {"content-type": content_type, "x-amz-target": target}, body,
                              service=service, region=region)  # fmt: skip
    fuzz.client.send("POST", "/", wire, body, what=f"{target} {content_type} {service} {region!r} {body[:500]!r}")


# --- resource policies -----------------------------------------------------------------------------
#: Condition operators and keys the policy grammar takes, then some it refuses.
_OPERATORS = [
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike", "StringNotLike", "NumericEquals",
    "NumericLessThan", "NumericGreaterThanEquals", "DateEquals", "DateLessThan", "DateGreaterThan", "Bool",
    "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotLike", "Null",
    "ForAnyValue:StringLike", "ForAllValues:StringEquals", "StringEqualsIfExists", "NumericLessThanIfExists",
    "ForAnyValue:NumericGreaterThan", "ForAllValues:DateLessThan", "DateGreaterThanIfExists", "IpAddressIfExists",
]  # fmt: skip
_BAD_OPERATORS = ["Nope", "ForSome:StringEquals", "", "stringequals"]
_KEYS = [
    "aws:SourceIp", "aws:CurrentTime", "aws:EpochTime", "aws:SecureTransport", "aws:username", "aws:userid",
    "aws:PrincipalArn", "aws:PrincipalAccount", "aws:TagKeys", "aws:RequestTag/team", "aws:ResourceTag/team",
    "secretsmanager:ResourceTag/team", "secretsmanager:Name", "secretsmanager:SecretId", "secretsmanager:VersionStage",
    "secretsmanager:BlockPublicPolicy", "aws:PrincipalTag/x", "aws:MultiFactorAuthAge", "aws:${aws:username}",
]  # fmt: skip
_BAD_KEYS = ["nope", "", "${aws:username}"]
_CONDITION_VALUES = [
    "10.0.0.0/8", "::1/128", "127.0.0.1", "300.1.1.1/33", "1.2.3.4/-1", "2020-01-01T00:00:00Z", "9999-99-99",
    HUGE, "-" + "9" * 30, "1e999", "nan", "inf", "true", "TrUe", "arn:aws:*:*:*:*", "arn:aws:iam::123456789012:user/*",
    "*", "?", "${aws:username}", "${aws:CurrentTime}", "${", "${*}", "${?}", "${$}", "${aws:username, 'x'}",
    "dGVzdA==", "%%%", "a" * 2000, "\u00b2", "\u0663", "fuzz-nobody", "arn:aws:iam::123456789012:user/fuzz-nobody",
]  # fmt: skip
_CONDITION_VALUE = st.one_of(
    often(st.sampled_from(_CONDITION_VALUES), TEXT), st.integers(-(10**30), 10**30), st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)  # fmt: skip
_CONDITION_VALUES_OF_A_KEY = st.one_of(_CONDITION_VALUE, st.lists(_CONDITION_VALUE, min_size=1, max_size=4))
_CONDITION = st.dictionaries(
    st.sampled_from(_OPERATORS),
    st.dictionaries(st.sampled_from(_KEYS), _CONDITION_VALUES_OF_A_KEY, min_size=1, max_size=2),
    min_size=1, max_size=2,
)  # fmt: skip
_PRINCIPALS = [
    "*", {"AWS": "*"}, {"AWS": "123456789012"}, {"AWS": "arn:aws:iam::123456789012:root"},
    {"AWS": "arn:aws:iam::123456789012:user/fuzz-nobody"}, {"AWS": ["arn:aws:iam::123456789012:user/fuzz-nobody",
                                                                    "arn:aws:iam::210987654321:root"]},
]  # fmt: skip
_ACTIONS_ALLOWED = ["*", "secretsmanager:*", "secretsmanager:GetSecretValue", "secretsmanager:Get*",
                    ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]]  # fmt: skip
_RESOURCES = ["*", TARGET_ARN_PREFIX + "*", "arn:aws:secretsmanager:*:*:secret:*"]
#: A statement the grammar accepts: its conditions are what gets evaluated with hostile values.
_STATEMENT = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Allow", "Deny"]), "Principal": st.sampled_from(_PRINCIPALS),
     "Action": st.sampled_from(_ACTIONS_ALLOWED), "Resource": st.sampled_from(_RESOURCES)},
    optional={"Sid": st.text(alphabet="abc123", max_size=4), "Condition": _CONDITION},
)  # fmt: skip
#: Anything in a statement's places: wrong types, unknown elements, refused operators and keys.
_ANY_POLICY_SCALAR = st.one_of(_CONDITION_VALUE, st.none())
_ANY_POLICY_VALUE = st.one_of(_ANY_POLICY_SCALAR, st.lists(_ANY_POLICY_SCALAR, max_size=4),
                              st.dictionaries(TEXT, _ANY_POLICY_SCALAR, max_size=2))  # fmt: skip
_BROKEN_STATEMENT = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "allow", "", 5])},
    optional={
        "Principal": st.one_of(st.sampled_from([{"Service": "x"}, {"Federated": 5}, {"CanonicalUser": "abc"},
                                                {"AWS": {"a": 1}}, {"AWS": "x"}, []]), _ANY_POLICY_VALUE),
        "NotPrincipal": _ANY_POLICY_VALUE, "Action": _ANY_POLICY_VALUE, "NotAction": _ANY_POLICY_VALUE,
        "Resource": _ANY_POLICY_VALUE, "NotResource": _ANY_POLICY_VALUE, "Bogus": _ANY_POLICY_VALUE,
        "Condition": st.one_of(
            st.dictionaries(st.sampled_from(_BAD_OPERATORS + _OPERATORS),
                            st.dictionaries(st.sampled_from(_BAD_KEYS + _KEYS), _ANY_POLICY_VALUE, max_size=2),
                            max_size=2),
            _ANY_POLICY_VALUE,
        ),
    },
)  # fmt: skip
_POLICY_DOCUMENT = st.one_of(
    *[st.fixed_dictionaries(
        {"Version": st.just("2012-10-17"), "Statement": st.lists(_STATEMENT, min_size=1, max_size=3)}
    )] * 3,
    st.fixed_dictionaries(
        {"Statement": st.one_of(st.lists(st.one_of(_STATEMENT, _BROKEN_STATEMENT), max_size=3), _BROKEN_STATEMENT,
                                _ANY_POLICY_VALUE)},
        optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17", "", "x"]), "Id": TEXT},
    ),
)  # fmt: skip


def _policy_text(document: dict[str, Any], damage: int) -> str:
    text = json.dumps(document)
    if damage == 1:  # cut short
        return text[: len(text) // 2]
    if damage == 2:  # a number past int()'s limit where a value goes
        return text.replace('"*"', HUGE, 1) if '"*"' in text else text + HUGE
    return text


@fuzz_settings(examples=50)
@given(document=_POLICY_DOCUMENT, damage=st.sampled_from([0, 0, 0, 1, 2]))
def test_resource_policies(fuzz: Fuzz, document: dict[str, Any], damage: int) -> None:
    client = fuzz.client
    policy = _policy_text(document, damage)
    name = f"fuzz/policy-{client.sent}"  # a fresh secret each time: a policy may lock everyone out of it
    token = str(uuid.uuid4())
    created = client.json_request(
        "CreateSecret", json.dumps({"Name": name, "SecretString": "v", "ClientRequestToken": token}).encode()
    )
    assert created.status == 200, created.body
    client.json_request("ValidateResourcePolicy", json.dumps({"ResourcePolicy": policy}).encode())
    put = client.json_request("PutResourcePolicy", json.dumps({"SecretId": name, "ResourcePolicy": policy,
                                                                "BlockPublicPolicy": False}).encode())  # fmt: skip
    if put.status == 200:  # evaluated for a caller it may let in, and for the administrator
        value = json.dumps({"SecretId": name}).encode()
        client.json_request("GetSecretValue", value, creds=fuzz.nobody)
        client.json_request("GetSecretValue", value)
        client.json_request("DescribeSecret", value, creds=fuzz.nobody)
