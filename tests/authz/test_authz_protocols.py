"""Authentication failures, the query protocol and STS GetCallerIdentity, on a server without --dev."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import pytest
from authz_support import ACCOUNT, OTHER_ACCOUNT, REGION, AuthzServer, Creds, World, clean_env
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _xml(payload: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(payload)  # noqa: S314 - our own server's answer, in a test


def _http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:  # noqa: E501
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def _signed(
    endpoint: str, creds: Creds, body: bytes, headers: dict[str, str], service: str = "secretsmanager"
) -> tuple[int, dict[str, str], bytes]:
    request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(creds.access_key_id, creds.secret_access_key), service, REGION).add_auth(request)
    return _http("POST", endpoint + "/", body, dict(request.headers.items()))


def _presigned(endpoint: str, creds: Creds, query: str, service: str = "secretsmanager") -> str:
    request = AWSRequest(method="GET", url=f"{endpoint}/?{query}")
    SigV4QueryAuth(Credentials(creds.access_key_id, creds.secret_access_key), service, REGION, expires=300).add_auth(
        request
    )
    return str(request.url)


# --- authentication ---------------------------------------------------------------------------


def test_bad_signature(authz: AuthzServer, world: World) -> None:
    reader = world.principals["reader"]
    first = "y" if reader.secret_access_key.startswith("x") else "x"  # always a different secret
    wrong = Creds(reader.access_key_id, first + reader.secret_access_key[1:], reader.arn)
    with pytest.raises(ClientError) as exc:
        authz.client(wrong).get_secret_value(SecretId=world.secrets["app_db"])
    assert exc.value.response["Error"] == {"Code": "InvalidSignatureException", "Message": SIGNATURE_MISMATCH}


def test_unknown_access_key(authz: AuthzServer, world: World) -> None:
    unknown = Creds("AKIAZZZZZZZZZZZZZZZZ", "secret", "-")
    with pytest.raises(ClientError) as exc:
        authz.client(unknown).list_secrets()
    assert exc.value.response["Error"] == {"Code": "UnrecognizedClientException", "Message": INVALID_TOKEN}


def test_deactivated_key(authz: AuthzServer, world: World) -> None:
    creds = world.principals["expiring"]
    client = authz.client(creds)
    client.list_secrets(MaxResults=1)
    authz.admin("deactivate-access-key", "--access-key-id", creds.access_key_id)
    # Servers cache identities for a couple of seconds: wait for the change, however long it takes.
    deadline = time.monotonic() + 30
    while True:
        try:
            client.list_secrets(MaxResults=1)
        except ClientError as refused:
            assert refused.response["Error"] == {"Code": "UnrecognizedClientException", "Message": INVALID_TOKEN}
            break
        assert time.monotonic() < deadline, "the deactivated key kept working"
        time.sleep(0.2)
    with pytest.raises(ClientError) as sts_refused:
        authz.client(creds, "sts").get_caller_identity()
    assert sts_refused.value.response["Error"]["Code"] == "InvalidClientTokenId"


# --- query protocol ---------------------------------------------------------------------------


def test_query_get_with_presigned_url(authz: AuthzServer, world: World) -> None:
    reader = world.principals["reader"]
    url = _presigned(authz.endpoint, reader, f"Action=GetSecretValue&Version=2017-10-17&SecretId={world.prefix}/app/db")
    status, headers, body = _http("GET", url)
    assert status == 200, body
    assert headers["content-type"] == "application/x-amz-json-1.1"
    out = json.loads(body)
    assert out["ARN"] == world.secrets["app_db"]
    assert out["SecretString"] == "value-of-app_db"
    assert out["VersionStages"] == ["AWSCURRENT"]

    url = _presigned(
        authz.endpoint, reader, f"Action=GetSecretValue&Version=2017-10-17&SecretId={world.prefix}/other/x"
    )
    status, _, body = _http("GET", url)
    assert status == 400
    error = json.loads(body)
    assert error["__type"] == "AccessDeniedException"
    assert error["Message"].startswith(
        f"User: {reader.arn} is not authorized to perform: secretsmanager:GetSecretValue"
    )

    # Tampering with a signed parameter breaks the signature.
    status, _, body = _http("GET", url.replace("other%2Fx", "app%2Fdb").replace("other/x", "app/db"))
    assert status == 400
    assert json.loads(body)["__type"] == "InvalidSignatureException"


def test_query_form_post(authz: AuthzServer, world: World) -> None:
    creds = world.principals["denied"]
    body = (
        "Action=ListSecrets&Version=2017-10-17&MaxResults=10&SortOrder=asc"
        f"&Filters.member.1.Key=name&Filters.member.1.Values.member.1={world.prefix}%2Fteam%2F"
    ).encode()
    status, headers, payload = _signed(authz.endpoint, creds, body, {"Content-Type": FORM})
    assert status == 200, payload
    assert headers["content-type"] == "application/x-amz-json-1.1"
    names = [s["Name"] for s in json.loads(payload)["SecretList"]]
    assert names == [f"{world.prefix}/team/blue", f"{world.prefix}/team/red"]

    # The signature covers the form body.
    request = AWSRequest(method="POST", url=authz.endpoint + "/", data=body, headers={"Content-Type": FORM})
    SigV4Auth(Credentials(creds.access_key_id, creds.secret_access_key), "secretsmanager", REGION).add_auth(request)
    status, _, payload = _http(
        "POST", authz.endpoint + "/", body + b"&IncludePlannedDeletion=true", dict(request.headers)
    )
    assert status == 400
    assert json.loads(payload) == {"__type": "InvalidSignatureException", "Message": SIGNATURE_MISMATCH}


def test_query_errors(authz: AuthzServer, world: World) -> None:
    creds = world.principals["denied"]
    cases = {
        b"Action=FlyToTheMoon&Version=2017-10-17": (
            "InvalidAction", "Could not find operation FlyToTheMoon for version 2017-10-17"),
        b"Action=ListSecrets&Version=2016-01-01": (
            "InvalidAction", "Could not find operation ListSecrets for version 2016-01-01"),
        b"Version=2017-10-17": ("MissingAction", "The request is missing an action or a required parameter."),
    }  # fmt: skip
    for body, (code, message) in cases.items():
        status, _, payload = _signed(authz.endpoint, creds, body, {"Content-Type": FORM})
        assert status == 400
        assert json.loads(payload) == {"__type": code, "Message": message}
    status, _, payload = _signed(
        authz.endpoint, creds, b"Action=GetSecretValue&Version=2017-10-17", {"Content-Type": FORM}
    )
    assert status == 400
    assert json.loads(payload) == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: "
        "Member must not be null",
    }


# --- STS GetCallerIdentity --------------------------------------------------------------------


def test_sts_get_caller_identity_boto3(authz: AuthzServer, world: World, client_of: Callable[..., Any]) -> None:
    reader = client_of("reader", "sts").get_caller_identity()
    assert reader["Arn"] == world.principals["reader"].arn == f"arn:aws:iam::{ACCOUNT}:user/{world.prefix}-reader"
    assert reader["Account"] == ACCOUNT
    assert reader["UserId"].startswith("AIDA")
    root = client_of("other_root", "sts").get_caller_identity()
    assert (root["Arn"], root["Account"], root["UserId"]) == (
        f"arn:aws:iam::{OTHER_ACCOUNT}:root", OTHER_ACCOUNT, OTHER_ACCOUNT,
    )  # fmt: skip
    bob = client_of("other_bob", "sts").get_caller_identity()
    assert (bob["Arn"], bob["Account"]) == (f"arn:aws:iam::{OTHER_ACCOUNT}:user/{world.prefix}-bob", OTHER_ACCOUNT)
    # Needs no permission: a user without any policy may ask who it is.
    assert client_of("nobody", "sts").get_caller_identity()["Arn"] == world.principals["nobody"].arn


def test_sts_errors_boto3(authz: AuthzServer, world: World) -> None:
    with pytest.raises(ClientError) as exc:
        authz.client(Creds("AKIAZZZZZZZZZZZZZZZZ", "secret", "-"), "sts").get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert exc.value.response["Error"]["Message"] == INVALID_TOKEN
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    admin = world.admin
    with pytest.raises(ClientError) as exc:
        authz.client(Creds(admin.access_key_id, admin.secret_access_key + "x", admin.arn), "sts").get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert exc.value.response["Error"]["Message"] == SIGNATURE_MISMATCH


def test_sts_xml_wire_format(authz: AuthzServer, world: World) -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    status, headers, payload = _signed(authz.endpoint, world.admin, body, {"Content-Type": FORM}, "sts")
    assert status == 200
    assert headers["content-type"] == "text/xml"
    root = _xml(payload)
    assert root.tag == f"{STS_NS}GetCallerIdentityResponse"
    result = root.find(f"{STS_NS}GetCallerIdentityResult")
    assert result is not None
    assert result.findtext(f"{STS_NS}Arn") == world.admin.arn
    assert result.findtext(f"{STS_NS}Account") == ACCOUNT
    assert root.findtext(f"{STS_NS}ResponseMetadata/{STS_NS}RequestId") == headers["x-amzn-requestid"]

    status, _, payload = _signed(
        authz.endpoint, world.admin, b"Action=GetFederationToken&Version=2011-06-15", {"Content-Type": FORM}, "sts"
    )
    assert status == 400
    error = _xml(payload)
    assert error.tag == f"{STS_NS}ErrorResponse"
    assert error.findtext(f"{STS_NS}Error/{STS_NS}Type") == "Sender"
    assert error.findtext(f"{STS_NS}Error/{STS_NS}Code") == "InvalidAction"
    assert error.findtext(f"{STS_NS}Error/{STS_NS}Message") == (
        "Could not find operation GetFederationToken for version 2011-06-15"
    )

    # A presigned GetCallerIdentity URL (as Vault and EKS use) works too.
    url = _presigned(authz.endpoint, world.principals["reader"], "Action=GetCallerIdentity&Version=2011-06-15", "sts")
    status, _, payload = _http("GET", url)
    assert status == 200
    assert _xml(payload).findtext(f".//{STS_NS}Arn") == world.principals["reader"].arn


def test_sts_json_protocol(authz: AuthzServer, world: World) -> None:
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AWSSecurityTokenServiceV20110615.GetCallerIdentity",
    }
    status, response_headers, payload = _signed(authz.endpoint, world.principals["other_root"], b"{}", headers, "sts")
    assert status == 200
    assert response_headers["content-type"] == "application/x-amz-json-1.0"
    assert json.loads(payload) == {
        "UserId": OTHER_ACCOUNT, "Account": OTHER_ACCOUNT, "Arn": f"arn:aws:iam::{OTHER_ACCOUNT}:root",
    }  # fmt: skip
    bad = Creds("AKIAZZZZZZZZZZZZZZZZ", "secret", "-")
    status, response_headers, payload = _signed(authz.endpoint, bad, b"{}", headers, "sts")
    assert status == 403
    assert json.loads(payload) == {"__type": "InvalidClientTokenId", "message": INVALID_TOKEN}
    assert response_headers["x-amzn-query-error"] == "InvalidClientTokenId;Sender"


def test_aws_cli_sts_get_caller_identity(authz: AuthzServer, world: World, tmp_path: Any) -> None:
    env = clean_env()
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(authz.data_dir / "admin-credentials"),
        AWS_PROFILE="strongroom-admin",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_DEFAULT_REGION=REGION,
        AWS_PAGER="",
        HOME=str(tmp_path),
    )
    argv = [sys.executable, "-m", "awscli", "--endpoint-url", authz.endpoint, "--output", "json",
            "sts", "get-caller-identity"]  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["Arn"] == world.admin.arn
    assert out["Account"] == ACCOUNT
    assert out["UserId"].startswith("AIDA")
