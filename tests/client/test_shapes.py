"""Typed results: decoded from the wire form, immutable, cacheable, and never showing a secret."""

from __future__ import annotations

import datetime
import pickle

import msgspec
import pytest

from strongroom.client import shapes
from strongroom.client._operations import BATCH_GET_SECRET_VALUE, DESCRIBE_SECRET, GET_SECRET_VALUE
from strongroom.client.protocol import encode

WIRE = (
    b'{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf","Name":"db",'
    b'"VersionId":"v1","SecretBinary":"AAH/","SecretString":"hunter2","VersionStages":["AWSCURRENT"],'
    b'"CreatedDate":1764796029.123,"SomethingNew":{"x":1}}'
)


def test_result_decodes_timestamps_as_utc_datetimes_and_blobs_as_bytes() -> None:
    result = GET_SECRET_VALUE.decode(WIRE)
    assert result.created_date == datetime.datetime(2025, 12, 3, 21, 7, 9, 123000, tzinfo=datetime.UTC)
    assert result.secret_binary == b"\x00\x01\xff"
    assert result.version_stages == ("AWSCURRENT",)  # a tuple: results are immutable all the way down


def test_results_are_immutable_hashable_and_picklable() -> None:
    result = GET_SECRET_VALUE.decode(WIRE)
    with pytest.raises(AttributeError):
        result.secret_string = "changed"  # type: ignore[misc]
    assert hash(result) == hash(GET_SECRET_VALUE.decode(WIRE))
    assert pickle.loads(pickle.dumps(result)) == result  # noqa: S301  (our own bytes)


def test_repr_never_shows_a_secret_value() -> None:
    result = GET_SECRET_VALUE.decode(WIRE)
    batch = BATCH_GET_SECRET_VALUE.decode(b'{"SecretValues":[{"Name":"db","SecretString":"hunter2"}]}')
    request = shapes.CreateSecretRequest(name="db", secret_string="hunter2")
    password = shapes.GetRandomPasswordResponse(random_password="hunter2")
    for text in (repr(result), str(result), repr(batch), repr(request), repr(password)):
        assert "hunter2" not in text and "<redacted>" in text
    assert "name='db'" in repr(result)


def test_maps_and_nested_structures() -> None:
    described = DESCRIBE_SECRET.decode(
        b'{"Name":"db","VersionIdsToStages":{"v1":["AWSCURRENT"],"v0":["AWSPREVIOUS","blue"]},'
        b'"Tags":[{"Key":"team","Value":"blue"}],"RotationRules":{"AutomaticallyAfterDays":30}}'
    )
    assert described.version_ids_to_stages == {"v1": ("AWSCURRENT",), "v0": ("AWSPREVIOUS", "blue")}
    assert described.tags == (shapes.Tag(key="team", value="blue"),)
    assert described.rotation_rules == shapes.RotationRulesType(automatically_after_days=30)


def test_requests_encode_with_wire_names_and_leave_absent_members_out() -> None:
    tags = [shapes.Tag(key="k", value="v")]
    request = shapes.CreateSecretRequest(
        name="db", secret_binary=b"\x00\x01", tags=tags, force_overwrite_replica_secret=False
    )
    assert msgspec.json.decode(encode(request)) == {
        "Name": "db", "SecretBinary": "AAE=", "Tags": [{"Key": "k", "Value": "v"}],
        "ForceOverwriteReplicaSecret": False,
    }  # fmt: skip
    with pytest.raises(TypeError):
        shapes.GetSecretValueRequest()  # type: ignore[call-arg]  # SecretId is required
