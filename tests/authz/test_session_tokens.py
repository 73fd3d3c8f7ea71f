"""Temporary credentials: STS GetSessionToken on a server without --dev, then using them.

Each test asks for its own session, so none depends on another's; sessions meant to be tampered
with in the database are never used before, so no server-side identity cache hides the change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import boto3
import pytest
from authz_support import ACCOUNT, REGION, AuthzServer, Creds, World
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

INVALID_TOKEN = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"
SESSION_REFUSED = "Cannot call GetSessionToken with session credentials"
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _config(**extra: Any) -> Config:
    return Config(region_name=REGION, retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=30, **extra)


def session_client(authz: AuthzServer, creds: dict[str, Any], service: str = "secretsmanager", **extra: Any) -> Any:
    """A boto3 client signing with the three temporary values GetSessionToken returned."""
    return boto3.session.Session().client(
        service,
        endpoint_url=authz.endpoint,
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        config=_config(**extra),
    )


def get_session(authz: AuthzServer, creds: Creds, **kwargs: Any) -> dict[str, Any]:
    return authz.client(creds, "sts").get_session_token(**kwargs)["Credentials"]


def error_of(call: Any) -> dict[str, str]:
    """Code and Message of the error a call raises (STS's XML errors also carry a Type)."""
    with pytest.raises(ClientError) as exc:
        call()
    error = exc.value.response["Error"]
    return {"Code": error["Code"], "Message": error["Message"]}


def _http(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def signed_post(authz: AuthzServer, creds: Credentials, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = AWSRequest(method="POST", url=authz.endpoint + "/", data=body, headers=headers)
    SigV4Auth(creds, "sts", REGION).add_auth(request)
    return _http("POST", authz.endpoint + "/", body, dict(request.headers.items()))


# --- issuing and using ------------------------------------------------------------------------


def test_session_credentials_work_end_to_end(authz: AuthzServer, world: World) -> None:
    before = datetime.now(UTC)
    creds = get_session(authz, world.admin, DurationSeconds=900)
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert creds["SecretAccessKey"] and creds["SessionToken"]
    assert 890 <= (creds["Expiration"] - before).total_seconds() <= 910

    sm = session_client(authz, creds)
    name = f"{world.prefix}/session/created"
    arn = sm.create_secret(Name=name, SecretString="made-with-a-session")["ARN"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "made-with-a-session"
    assert session_client(authz, creds, "sts").get_caller_identity()["Arn"] == world.admin.arn
    authz.client(world.admin).delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def test_default_duration_is_twelve_hours(authz: AuthzServer, world: World) -> None:
    before = datetime.now(UTC)
    creds = get_session(authz, world.principals["reader"])
    assert 43190 <= (creds["Expiration"] - before).total_seconds() <= 43210


def test_root_sessions_are_cut_to_one_hour(authz: AuthzServer, world: World) -> None:
    before = datetime.now(UTC)
    creds = get_session(authz, world.principals["other_root"], DurationSeconds=7200)
    assert 3590 <= (creds["Expiration"] - before).total_seconds() <= 3610
    assert session_client(authz, creds, "sts").get_caller_identity()["Arn"] == world.principals["other_root"].arn


# --- refusals -------------------------------------------------------------------------------


def test_temporary_key_without_or_with_a_wrong_token_is_refused(authz: AuthzServer, world: World) -> None:
    creds = get_session(authz, world.admin, DurationSeconds=900)
    no_token = {**creds, "SessionToken": None}
    assert error_of(lambda: session_client(authz, no_token).list_secrets()) == {
        "Code": "UnrecognizedClientException", "Message": INVALID_TOKEN,
    }  # fmt: skip
    token = creds["SessionToken"]
    wrong = {**creds, "SessionToken": token[:-1] + ("A" if token[-1] != "A" else "B")}
    assert error_of(lambda: session_client(authz, wrong).list_secrets()) == {
        "Code": "UnrecognizedClientException", "Message": INVALID_TOKEN,
    }  # fmt: skip
    other = get_session(authz, world.admin, DurationSeconds=900)
    swapped = {**creds, "SessionToken": other["SessionToken"]}  # another session's token
    assert error_of(lambda: session_client(authz, swapped).list_secrets())["Code"] == "UnrecognizedClientException"
    assert error_of(lambda: session_client(authz, wrong, "sts").get_caller_identity()) == {
        "Code": "InvalidClientTokenId", "Message": INVALID_TOKEN,
    }  # fmt: skip
    session_client(authz, creds).list_secrets(MaxResults=1)  # the right token still works


def test_long_term_key_with_a_token_is_refused(authz: AuthzServer, world: World) -> None:
    token = get_session(authz, world.admin, DurationSeconds=900)["SessionToken"]
    long_term = {"AccessKeyId": world.admin.access_key_id, "SecretAccessKey": world.admin.secret_access_key}
    assert error_of(lambda: session_client(authz, {**long_term, "SessionToken": token}).list_secrets()) == {
        "Code": "UnrecognizedClientException", "Message": INVALID_TOKEN,
    }  # fmt: skip


def test_expired_session_is_refused_with_the_expired_error(authz: AuthzServer, world: World) -> None:
    creds = get_session(authz, world.admin, DurationSeconds=900)  # never used before it expires
    with contextlib.closing(sqlite3.connect(authz.data_dir / "strongroom.db")) as db, db:
        changed = db.execute(
            "UPDATE iam_session_keys SET expires_at = ? WHERE access_key_id = ?",
            (time.time() - 1, creds["AccessKeyId"]),
        ).rowcount
    assert changed == 1
    assert error_of(lambda: session_client(authz, creds).list_secrets()) == {
        "Code": "ExpiredTokenException", "Message": EXPIRED_TOKEN,
    }  # fmt: skip
    assert error_of(lambda: session_client(authz, creds, "sts").get_caller_identity()) == {
        "Code": "ExpiredToken", "Message": EXPIRED_TOKEN,
    }  # fmt: skip
    # Only the holder of the token learns that it expired: a wrong token is just invalid.
    wrong = {**creds, "SessionToken": "x" + creds["SessionToken"]}
    assert error_of(lambda: session_client(authz, wrong).list_secrets())["Code"] == "UnrecognizedClientException"


def test_user_sessions_carry_the_users_policies(authz: AuthzServer, world: World) -> None:
    creds = get_session(authz, world.principals["denied"], DurationSeconds=900)
    sm = session_client(authz, creds)
    assert sm.get_secret_value(SecretId=world.secrets["app_db"])["SecretString"] == "value-of-app_db"
    assert error_of(lambda: sm.get_secret_value(SecretId=world.secrets["app_blocked"]))["Code"] == (
        "AccessDeniedException"
    )
    reader = session_client(authz, get_session(authz, world.principals["reader"], DurationSeconds=900))
    assert reader.get_secret_value(SecretId=world.secrets["app_db"])["SecretString"] == "value-of-app_db"
    denied = error_of(lambda: reader.create_secret(Name=f"{world.prefix}/app/not-mine", SecretString="x"))
    assert denied["Code"] == "AccessDeniedException"
    assert world.principals["reader"].arn in denied["Message"]


def test_get_session_token_with_temporary_credentials_is_refused(authz: AuthzServer, world: World) -> None:
    creds = get_session(authz, world.admin, DurationSeconds=900)
    assert error_of(lambda: session_client(authz, creds, "sts").get_session_token()) == {
        "Code": "AccessDenied", "Message": SESSION_REFUSED,
    }  # fmt: skip


def test_sessions_end_with_the_key_that_issued_them(authz: AuthzServer, world: World) -> None:
    from strongroom.iam.identities import Identities
    from strongroom.kms.master_key import ACCESS_KEYS, load_master_key
    from strongroom.store.sqlite import SqliteStore

    async def with_identities(body: Any) -> Any:
        store = SqliteStore(authz.data_dir / "strongroom.db")
        try:
            return await body(Identities(store, load_master_key(authz.data_dir).sealing_box(ACCESS_KEYS)))
        finally:
            await store.close()

    async def new_key(ids: Identities) -> Any:
        return await ids.create_access_key(ACCOUNT, world.user_names["reader"])

    key = asyncio.run(with_identities(new_key))
    long_term = Creds(key.access_key_id, key.secret_access_key, key.principal_arn)
    creds = get_session(authz, long_term)
    unused = get_session(authz, long_term)  # first used after the reactivation: no cached identity
    asyncio.run(with_identities(lambda ids: ids.set_access_key_status(key.access_key_id, False)))
    assert error_of(lambda: session_client(authz, creds).list_secrets()) == {
        "Code": "UnrecognizedClientException", "Message": INVALID_TOKEN,
    }  # fmt: skip
    # Whether the server still has the key cached as active or not, no new session is issued.
    assert error_of(lambda: get_session(authz, long_term)) == {"Code": "InvalidClientTokenId", "Message": INVALID_TOKEN}
    # Reactivating the key does not revive the sessions it issued before.
    asyncio.run(with_identities(lambda ids: ids.set_access_key_status(key.access_key_id, True)))
    for session in (unused, creds):
        assert error_of(session_client(authz, session).list_secrets) == {
            "Code": "UnrecognizedClientException", "Message": INVALID_TOKEN,
        }  # fmt: skip


def test_get_session_token_input_errors(authz: AuthzServer, world: World) -> None:
    sts = boto3.session.Session().client(
        "sts", endpoint_url=authz.endpoint, region_name=REGION, aws_access_key_id=world.admin.access_key_id,
        aws_secret_access_key=world.admin.secret_access_key, config=_config(parameter_validation=False),
    )  # fmt: skip
    assert error_of(lambda: sts.get_session_token(DurationSeconds=600)) == {
        "Code": "ValidationError",
        "Message": "1 validation error detected: Value '600' at 'durationSeconds' failed to satisfy constraint: "
        "Member must have value greater than or equal to 900",
    }  # fmt: skip
    too_long = error_of(lambda: sts.get_session_token(DurationSeconds=129601))
    assert too_long["Message"].endswith("Member must have value less than or equal to 129600")
    mfa = error_of(lambda: sts.get_session_token(SerialNumber="arn:aws:iam::123456789012:mfa/x", TokenCode="123456"))
    assert mfa["Code"] == "AccessDenied" and mfa["Message"].startswith("MultiFactorAuthentication failed")


# --- wire formats -----------------------------------------------------------------------------


def test_xml_and_presigned_query_with_a_session_token(authz: AuthzServer, world: World) -> None:
    admin = Credentials(world.admin.access_key_id, world.admin.secret_access_key)
    status, payload = signed_post(
        authz, admin, b"Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900", {"Content-Type": FORM}
    )
    assert status == 200, payload
    root = ElementTree.fromstring(payload)  # noqa: S314 - our own server's answer, in a test
    assert root.tag == f"{STS_NS}GetSessionTokenResponse"
    found = root.find(f"{STS_NS}GetSessionTokenResult/{STS_NS}Credentials")
    assert found is not None
    creds = {child.tag.removeprefix(STS_NS): child.text for child in found}
    assert set(creds) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    assert creds["Expiration"].endswith("Z")
    assert root.findtext(f"{STS_NS}ResponseMetadata/{STS_NS}RequestId")

    temporary = Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    request = AWSRequest(method="GET", url=f"{authz.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15")
    SigV4QueryAuth(temporary, "sts", REGION, expires=300).add_auth(request)
    assert "X-Amz-Security-Token=" in request.url
    status, payload = _http("GET", str(request.url), None, {})
    assert status == 200, payload
    assert ElementTree.fromstring(payload).findtext(f".//{STS_NS}Arn") == world.admin.arn  # noqa: S314


def test_json_protocol_get_session_token(authz: AuthzServer, world: World) -> None:
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AWSSecurityTokenServiceV20110615.GetSessionToken",
    }
    admin = Credentials(world.admin.access_key_id, world.admin.secret_access_key)
    status, payload = signed_post(authz, admin, b'{"DurationSeconds": 900}', headers)
    assert status == 200, payload
    creds = json.loads(payload)["Credentials"]
    assert abs(creds["Expiration"] - (time.time() + 900)) < 10
    temporary = Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    status, payload = signed_post(authz, temporary, b"{}", headers)  # again, with temporary credentials
    assert status == 403
    assert json.loads(payload) == {"__type": "AccessDenied", "message": SESSION_REFUSED}
