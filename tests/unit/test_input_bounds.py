"""Hostile numbers and credential-scope regions through the whole app (issue 13, items 4 and 5).

Each request here once reached an ``int()`` of unbounded client text (HTTP 500 and a traceback in
the log) or made a namespace of a malformed region; now each gets its protocol's AWS error.
"""

from __future__ import annotations

import logging
import time
from xml.etree import ElementTree

import pytest
from test_app_protocol import CREDS, REGION, Client, Response, assert_error, with_app

from strongroom.server.api import MAX_HEADER_BYTES
from strongroom.sigv4 import presign_url, sign_headers

HUGE = "9" * 5000  # more digits than int() converts (4,300)
FORM = "application/x-www-form-urlencoded"
STS_JSON_TARGET = "AWSSecurityTokenServiceV20110615.GetSessionToken"
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
#: The issue's examples of credential-scope regions that each became a namespace.
BAD_REGIONS = ["", "*", "..", "x:y", "US-EAST-1", "a" * 200, "aws-global"]


def sign(body: bytes, headers: dict[str, str], *, region: str = REGION,
         service: str = "secretsmanager") -> list[tuple[bytes, bytes]]:
    """The headers of a POST of ``body`` signed for ``region`` and ``service``."""
    headers = {"host": "localhost:7420", **headers}
    headers.update(sign_headers("POST", "http://localhost:7420/", headers, body, CREDS, region, service, time.time()))
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


async def signed(client: Client, body: bytes, headers: dict[str, str], *, region: str = REGION,
                 service: str = "secretsmanager", extra: list[tuple[bytes, bytes]] | None = None) -> Response:
    """A POST of ``body`` signed for ``region`` and ``service``, with ``extra`` headers unsigned."""
    wire = sign(body, headers, region=region, service=service) + (extra or [])
    return await client.raw("POST", "/", wire, [body])


async def form(client: Client, body: str, *, region: str = REGION, service: str = "secretsmanager") -> Response:
    return await signed(client, body.encode(), {"content-type": FORM}, region=region, service=service)


def sts_xml_error(response: Response) -> tuple[int, str, str]:
    root = ElementTree.fromstring(response.body)  # noqa: S314 - our own server's answer
    return response.status, root.findtext(f"{STS_NS}Error/{STS_NS}Code") or "", root.findtext(
        f"{STS_NS}Error/{STS_NS}Message"
    ) or ""


# --- numbers -----------------------------------------------------------------------------------
def test_huge_numbers_are_client_errors(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    async def body(client: Client) -> None:
        # a presigned URL's X-Amz-Expires: no credentials needed to reach it
        url = presign_url("GET", "http://localhost:7420/?Action=ListSecrets&Version=2017-10-17", CREDS, REGION,
                          "secretsmanager", time.time())
        query = url.split("?", 1)[1].replace("X-Amz-Expires=900", f"X-Amz-Expires={HUGE}").encode()
        response = await client.raw("GET", "/", [(b"host", b"localhost:7420")], [], query)
        assert assert_error(response, 400, "IncompleteSignatureException")["Message"] == (
            "X-Amz-Expires should be a number"
        )
        # query-protocol scalars
        for operation, member in (("ListSecrets", "MaxResults"), ("GetRandomPassword", "PasswordLength")):
            response = await form(client, f"Action={operation}&Version=2017-10-17&{member}={HUGE}")
            assert assert_error(response, 400, "SerializationException")["Message"].startswith(
                "STRING_VALUE cannot be converted to "
            )
        # query-protocol list indexes: not a positive integer of at most 19 digits, so ignored
        response = await form(client, f"Action=ListSecrets&Version=2017-10-17&Filters.member.{HUGE}.Key=name")
        assert response.status == 200, response.body
        # STS DurationSeconds in the query protocol: read from STS's model like any query integer ...
        response = await form(client, f"Action=GetSessionToken&Version=2011-06-15&DurationSeconds={HUGE}",
                              service="sts")
        assert sts_xml_error(response) == (400, "SerializationException", "STRING_VALUE cannot be converted to Integer")
        # ... and in JSON, where the model's integer must be a JSON number
        json_headers = {"content-type": "application/x-amz-json-1.0", "x-amz-target": STS_JSON_TARGET}
        for payload, message in ((b'{"DurationSeconds": "900"}', "STRING_VALUE cannot be converted to Integer"),
                                 (b'{"DurationSeconds": 1' + b"0" * 30 + b"}",
                                  "NUMBER_VALUE cannot be converted to Integer")):
            response = await signed(client, payload, json_headers, service="sts")
            assert response.status == 400, response.body
            assert response.json() == {"__type": "SerializationException", "message": message}
            assert response.headers["x-amzn-query-error"] == "SerializationException;Sender"
        # an RFC 7231 Date header whose year overflows C's int
        headers = [(b"host", b"localhost:7420"), (b"content-type", b"application/x-amz-json-1.1"),
                   (b"x-amz-target", b"secretsmanager.ListSecrets"),
                   (b"authorization", b"AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/secretsmanager/"
                                      b"aws4_request, SignedHeaders=date;host, Signature=00"),
                   (b"date", b"Mon, 01 Jan 99999999999 00:00:00 GMT")]
        response = await client.raw("POST", "/", headers, [b"{}"])
        assert assert_error(response, 400, "IncompleteSignatureException")["Message"].startswith(
            "Date must be in ISO-8601 'basic format'."
        )

    with caplog.at_level(logging.INFO):
        with_app(tmp_path, body)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# --- sizes -------------------------------------------------------------------------------------
def test_header_section_and_url_are_bounded(tmp_path) -> None:
    async def body(client: Client) -> None:
        json_headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": "secretsmanager.ListSecrets"}
        # a signed request padded with an unsigned header to exactly the limit, and one byte past it
        size = sum(len(name) + len(value) for name, value in sign(b"{}", json_headers))
        room = MAX_HEADER_BYTES - size - len(b"x-pad")
        assert (await signed(client, b"{}", json_headers, extra=[(b"x-pad", b"p" * room)])).status == 200
        response = await signed(client, b"{}", json_headers, extra=[(b"x-pad", b"p" * (room + 1))])
        assert assert_error(response, 400, "RequestHeaderSectionTooLarge")["Message"] == (
            "Your request header section exceeds the maximum allowed size."
        )
        # a URL longer than the body limit (query-protocol parameters may come in either)
        url = presign_url("GET", "http://localhost:7420/?Action=ListSecrets&Version=2017-10-17", CREDS, REGION,
                          "secretsmanager", time.time())
        query = url.split("?", 1)[1].encode()
        assert (await client.raw("GET", "/", [(b"host", b"localhost:7420")], [], query)).status == 200
        padded = query + b"&Pad=" + b"p" * 4096
        response = await client.raw("GET", "/", [(b"host", b"localhost:7420")], [], padded)
        assert assert_error(response, 413, "RequestEntityTooLargeException")["Message"] == "Request URL is too large."

    with_app(tmp_path, body, max_body_bytes=4096)


# --- regions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("region", BAD_REGIONS)
def test_malformed_scope_regions_are_refused(tmp_path, region: str) -> None:
    expected = f"Credential should be scoped to a valid region, not '{region}'. "

    async def body(client: Client) -> None:
        json_headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": "secretsmanager.ListSecrets"}
        response = await signed(client, b"{}", json_headers, region=region)
        assert assert_error(response, 400, "InvalidSignatureException")["Message"] == expected
        response = await form(client, "Action=ListSecrets&Version=2017-10-17", region=region)
        assert assert_error(response, 400, "InvalidSignatureException")["Message"] == expected
        # STS's query code for it, as AWS answers (cognitect-labs/aws-api#27)
        response = await form(client, "Action=GetCallerIdentity&Version=2011-06-15", region=region, service="sts")
        assert sts_xml_error(response) == (403, "SignatureDoesNotMatch", expected)

    with_app(tmp_path, body)


def test_configured_regions_are_the_only_ones_served(tmp_path) -> None:
    async def body(client: Client) -> None:
        json_headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": "secretsmanager.ListSecrets"}
        assert (await signed(client, b"{}", json_headers, region="eu-west-1")).status == 200
        response = await signed(client, b"{}", json_headers, region="us-east-1")
        assert assert_error(response, 400, "InvalidSignatureException")["Message"] == (
            "Credential should be scoped to a valid region, not 'us-east-1'. "
        )

    with_app(tmp_path, body, regions=["eu-west-1", "eu-central-1"])
