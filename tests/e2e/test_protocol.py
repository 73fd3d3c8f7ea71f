"""Wire protocol: AWS JSON 1.1 over HTTP, exercised with raw (but SigV4-signed) requests.

Sources: /work/shared/reference/README.md (error body shape, status 400, absent keys, epoch dates),
recorded scenarios named inline, and botocore's service model for the validation constraints.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from e2e_helpers import NO_TOKEN, NOT_FOUND, validation_message
from e2e_server import RawResponse, raw_request

JSON_CT = "application/x-amz-json-1.1"


def error_type(resp: RawResponse) -> str:
    """``__type`` without a namespace prefix (``com.amazon.coral.service#X`` -> ``X``), which is
    how every SDK reads it."""
    return str(resp.json()["__type"]).rsplit("#", 1)[-1]


def assert_aws_error(resp: RawResponse, code: str | None = None, status: int = 400) -> dict[str, Any]:
    assert resp.status == status, (resp.status, resp.body[:500])
    assert resp.request_id, "error response without x-amzn-RequestId"
    body = resp.json()
    assert isinstance(body, dict) and "__type" in body, body
    if code is not None:
        assert error_type(resp) == code, body
    assert b"Traceback" not in resp.body
    return body


def walk(obj: Any, path: str = "$") -> list[tuple[str, Any]]:
    out = [(path, obj)]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += walk(v, f"{path}[{i}]")
    return out


# --- request ids and error shape -------------------------------------------------------------
def test_success_response_has_request_id_and_json_content_type(raw_post):
    resp = raw_post("secretsmanager.GetRandomPassword", {})
    assert resp.status == 200, resp.body
    assert resp.request_id
    assert resp.headers.get("content-type", "").startswith(JSON_CT)
    assert isinstance(resp.json()["RandomPassword"], str)


def test_request_ids_are_unique(raw_post):
    ids = {raw_post("secretsmanager.GetRandomPassword", {}).request_id for _ in range(5)}
    assert len(ids) == 5


def test_error_body_shape(raw_post, name):
    # README: error bodies are {"__type": ..., "Message": ...}; recorded:test_secret_not_found
    resp = raw_post("secretsmanager.DescribeSecret", {"SecretId": name})
    body = assert_aws_error(resp, "ResourceNotFoundException")
    assert body == {"__type": "ResourceNotFoundException", "Message": NOT_FOUND}
    assert resp.headers.get("content-type", "").startswith(JSON_CT)


OTHER_ACCOUNT_SECRET = "arn:aws:secretsmanager:us-east-1:210987654321:secret:primary-AbCdEf"


def test_a_cross_account_replica_takes_no_value(raw_post, name):
    """CreateSecret with CrossAccountPrimaryARN refuses a value (its values come from the primary)
    and creates nothing; ReplicationRoleARN is refused, never ignored (secrets.unsupported)."""
    body = {"Name": name, "SecretString": "v", "ClientRequestToken": str(uuid.uuid4()), "KmsKeyId": "alias/k"}
    body["CrossAccountPrimaryARN"] = OTHER_ACCOUNT_SECRET
    error = assert_aws_error(raw_post("secretsmanager.CreateSecret", body), "InvalidParameterException")
    assert "CrossAccountPrimaryARN" in error["Message"] and "SecretString" in error["Message"]
    assert_aws_error(raw_post("secretsmanager.DescribeSecret", {"SecretId": name}), "ResourceNotFoundException")
    role = {"SecretId": name, "CrossAccountReplicaARN": OTHER_ACCOUNT_SECRET,
            "ReplicationRoleARN": "arn:aws:iam::123456789012:role/replication"}
    error = assert_aws_error(raw_post("secretsmanager.AssociateCrossAccountReplica", role), "InvalidRequestException")
    assert "ReplicationRoleARN" in error["Message"]


def test_a_rotation_token_of_no_running_rotation_is_refused(raw_post, name):
    """PutSecretValue's RotationToken is checked against the rotation that made the version; with
    none running it is AccessDeniedException, the token never echoed, nothing written."""
    token = str(uuid.uuid4())
    raw_post("secretsmanager.CreateSecret", {"Name": name, "SecretString": "v", "ClientRequestToken": token})
    rotation_token = "r" * 36
    body = {"SecretId": name, "SecretString": "v2", "ClientRequestToken": str(uuid.uuid4())}
    body["RotationToken"] = rotation_token
    error = assert_aws_error(raw_post("secretsmanager.PutSecretValue", body), "AccessDeniedException")
    assert "RotationToken" in error["Message"] and rotation_token not in error["Message"]
    assert len(raw_post("secretsmanager.ListSecretVersionIds", {"SecretId": name}).json()["Versions"]) == 1


def test_rotate_secret_refuses_managed_external_rotation(raw_post, name):
    resp = raw_post("secretsmanager.RotateSecret", {"SecretId": name, "ExternalSecretRotationRoleArn": "x" * 20})
    assert "ExternalSecretRotationRoleArn" in assert_aws_error(resp, "InvalidRequestException")["Message"]


def test_unknown_operation(raw_post):
    resp = raw_post("secretsmanager.NoSuchOperation", {})
    assert_aws_error(resp, "UnknownOperationException")


def test_missing_target_header(raw_post):
    resp = raw_post(None, {})
    body = assert_aws_error(resp)
    assert error_type(resp) in {"UnknownOperationException", "MissingAction", "InvalidAction"}, body


@pytest.mark.parametrize("payload", [b'{"SecretId": ', b"{not json}", b"\xff\xfe\x00garbage"])
def test_malformed_json(raw_post, payload):
    resp = raw_post("secretsmanager.DescribeSecret", payload)
    assert_aws_error(resp, "SerializationException")


def test_wrong_json_type_for_member(raw_post):
    # A number where the model says string: AWS's JSON deserializer rejects it before the
    # operation runs (SerializationException), it is not a validation error.
    resp = raw_post("secretsmanager.DescribeSecret", {"SecretId": 12345})
    assert_aws_error(resp, "SerializationException")


def test_wrong_content_type_is_a_client_error(raw_post):
    resp = raw_post("secretsmanager.GetRandomPassword", {}, headers={"Content-Type": "text/plain"})
    assert 400 <= resp.status < 500, (resp.status, resp.body[:300])
    assert resp.request_id
    assert b"Traceback" not in resp.body
    assert "__type" in resp.json()


def test_oversized_body_is_rejected_cleanly(endpoint, name):
    # 8 MiB: far above anything valid (SecretString max 65536 chars even fully \u-escaped is
    # ~400 KB). Must be an AWS-shaped 4xx, never a 5xx or a stack trace.
    blob = "A" * (8 * 1024 * 1024)
    resp = raw_request(endpoint, "secretsmanager.CreateSecret", {"Name": name, "SecretString": blob})
    assert 400 <= resp.status < 500, (resp.status, resp.body[:300])
    assert resp.request_id
    assert b"Traceback" not in resp.body
    assert blob[:1000].encode() not in resp.body
    assert "__type" in resp.json()


def test_unsigned_request_is_rejected(endpoint):
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/",
            body=b"{}",
            headers={"Content-Type": JSON_CT, "X-Amz-Target": "secretsmanager.ListSecrets"},
        )
        resp = conn.getresponse()
        body = resp.read()
        assert 400 <= resp.status < 500, (resp.status, body[:300])
        assert resp.getheader("x-amzn-RequestId")
    finally:
        conn.close()


# --- ClientRequestToken over raw HTTP ---------------------------------------------------------
@pytest.mark.parametrize("operation", ["CreateSecret", "UpdateSecret", "PutSecretValue"])
def test_missing_client_request_token(raw_post, operation):
    # recorded:test_no_client_request_token[<operation>] - SDKs fill the token in; raw HTTP must
    # send it. The check comes before the secret lookup (the recorded SecretId did not exist).
    params: dict[str, Any] = {"SecretString": "thisisthesecret", "Description": "My secret string"}
    if operation == "CreateSecret":
        params["Name"] = f"e2e-{uuid.uuid4().hex[:16]}"
    else:
        params["SecretId"] = f"e2e-{uuid.uuid4().hex[:16]}"
    resp = raw_post(f"secretsmanager.{operation}", params)
    body = assert_aws_error(resp, "InvalidRequestException")
    assert body == {"__type": "InvalidRequestException", "Message": NO_TOKEN}


def test_raw_create_with_token_uses_it_as_version_id(raw_post, name):
    token = str(uuid.uuid4())
    resp = raw_post("secretsmanager.CreateSecret", {"Name": name, "SecretString": "v", "ClientRequestToken": token})
    assert resp.status == 200, resp.body
    assert resp.json()["VersionId"] == token


# --- model validation (ValidationException, lowercase "message") ------------------------------
def test_validation_secret_id_too_long(raw_post):
    sid = "a" * 2049
    resp = raw_post("secretsmanager.DescribeSecret", {"SecretId": sid})
    body = assert_aws_error(resp, "ValidationException")
    # README: ValidationException uses a lowercase "message"
    assert set(body) == {"__type", "message"}, body
    assert body["message"] == validation_message(sid, "secretId", "Member must have length less than or equal to 2048")


def test_validation_required_member_missing(raw_post):
    resp = raw_post("secretsmanager.DescribeSecret", {})
    body = assert_aws_error(resp, "ValidationException")
    assert body["message"] == (
        "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"
    )


@pytest.mark.parametrize(
    ("value", "constraint"),
    [
        (0, "Member must have value greater than or equal to 1"),
        (101, "Member must have value less than or equal to 100"),
    ],
)
def test_validation_max_results_range(raw_post, value, constraint):
    resp = raw_post("secretsmanager.ListSecrets", {"MaxResults": value})
    body = assert_aws_error(resp, "ValidationException")
    assert body["message"] == validation_message(str(value), "maxResults", constraint)


def test_validation_enum(raw_post):
    resp = raw_post("secretsmanager.ListSecrets", {"SortOrder": "up"})
    body = assert_aws_error(resp, "ValidationException")
    assert body["message"] == validation_message("up", "sortOrder", "Member must satisfy enum value set: [asc, desc]")


def test_validation_sort_by_enum(raw_post):
    # the current model (vendored, botocore 1.44.8) gives SortBy its enum, whatever botocore is installed
    resp = raw_post("secretsmanager.ListSecrets", {"SortBy": "bogus"})
    body = assert_aws_error(resp, "ValidationException")
    assert body["message"] == validation_message(
        "bogus", "sortBy",
        "Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]",
    )


def test_validation_reports_every_violation(raw_post):
    resp = raw_post("secretsmanager.ListSecrets", {"MaxResults": 0, "SortOrder": "up"})
    body = assert_aws_error(resp, "ValidationException")
    msg = body["message"]
    assert msg.startswith("2 validation errors detected: "), msg
    assert (
        "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
        in msg
    )
    assert (
        "Value 'up' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]" in msg
    )
    assert "; " in msg


def test_validation_secret_string_too_long_does_not_echo_value(raw_post, name):
    # SecretString is "sensitive" in the model: the error must not contain it.
    secret = "Q" * 65537
    resp = raw_post(
        "secretsmanager.CreateSecret",
        {"Name": name, "SecretString": secret, "ClientRequestToken": str(uuid.uuid4())},
    )
    body = assert_aws_error(resp, "ValidationException")
    assert (
        "at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536"
        in body["message"]
    )
    assert "Q" * 64 not in body["message"]


def test_max_size_secret_string_is_accepted(raw_post, name):
    # 65536 characters is the model maximum; non-ASCII characters arrive \u-escaped.
    secret = "\u00e9" * 65536
    token = str(uuid.uuid4())
    resp = raw_post("secretsmanager.CreateSecret", {"Name": name, "SecretString": secret, "ClientRequestToken": token})
    assert resp.status == 200, resp.body[:300]
    got = raw_post("secretsmanager.GetSecretValue", {"SecretId": name})
    assert got.status == 200
    assert got.json()["SecretString"] == secret


# --- response encoding ------------------------------------------------------------------------
def test_binary_is_base64_on_the_wire(raw_post, name):
    # recorded:test_get_secret_value - raw HTTP GetSecretValue returns SecretBinary base64-encoded
    created = raw_post(
        "secretsmanager.CreateSecret",
        {"Name": name, "SecretBinary": base64.b64encode(b"footest").decode(), "ClientRequestToken": str(uuid.uuid4())},
    )
    assert created.status == 200, created.body
    resp = raw_post("secretsmanager.GetSecretValue", {"SecretId": name})
    assert resp.status == 200
    body = resp.json()
    assert body["SecretBinary"] == "Zm9vdGVzdA=="
    assert "SecretString" not in body
    assert set(body) == {"ARN", "CreatedDate", "Name", "SecretBinary", "VersionId", "VersionStages"}


def test_no_nulls_and_epoch_dates_on_the_wire(raw_post, name):
    # README: optional response keys are absent, never null; dates are epoch seconds (numbers).
    token = str(uuid.uuid4())
    assert (
        raw_post("secretsmanager.CreateSecret", {"Name": name, "SecretString": "x", "ClientRequestToken": token}).status
        == 200
    )
    responses = {
        "GetSecretValue": raw_post("secretsmanager.GetSecretValue", {"SecretId": name}),
        "DescribeSecret": raw_post("secretsmanager.DescribeSecret", {"SecretId": name}),
        "ListSecretVersionIds": raw_post("secretsmanager.ListSecretVersionIds", {"SecretId": name}),
        "ListSecrets": raw_post("secretsmanager.ListSecrets", {"Filters": [{"Key": "name", "Values": [name]}]}),
    }
    for op, resp in responses.items():
        assert resp.status == 200, (op, resp.body)
        for path, value in walk(resp.json()):
            assert value is not None, f"{op}: null at {path}"
            if path.endswith("Date"):
                assert isinstance(value, (int, float)) and not isinstance(value, bool), (op, path, value)
    listed = responses["ListSecrets"].json()["SecretList"]
    assert [s["Name"] for s in listed] == [name]


def test_region_comes_from_credential_scope(raw_post, sm, sm_west, name):
    token = str(uuid.uuid4())
    resp = raw_post(
        "secretsmanager.CreateSecret",
        {"Name": name, "SecretString": "west", "ClientRequestToken": token},
        region="us-west-2",
    )
    assert resp.status == 200, resp.body
    assert resp.json()["ARN"].startswith("arn:aws:secretsmanager:us-west-2:123456789012:secret:")
    assert sm_west.get_secret_value(SecretId=name)["SecretString"] == "west"
    assert not sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
