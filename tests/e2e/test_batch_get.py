"""BatchGetSecretValue: by SecretIdList (per-secret failures are Errors entries, not an exception)
and by Filters with paging.

Source: API_BatchGetSecretValue (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html)
"You must include Filters or SecretIdList, but not both"; MaxResults "To use this parameter, you must
also use the Filters parameter"; errors for individual secrets are reported in Errors.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_helpers import (
    NOT_FOUND,
    assert_keys,
    expect_error,
    is_datetime,
)

VALUE_KEYS_STRING = {"ARN", "CreatedDate", "Name", "SecretString", "VersionId", "VersionStages"}
VALUE_KEYS_BINARY = {"ARN", "CreatedDate", "Name", "SecretBinary", "VersionId", "VersionStages"}


def test_by_id_list_with_missing_secret(sm, prefix):
    a = sm.create_secret(Name=f"{prefix}-a", SecretString="alpha")
    b = sm.create_secret(Name=f"{prefix}-b", SecretBinary=b"\x00\x01\x02\xff")
    missing = f"{prefix}-missing"
    resp = sm.batch_get_secret_value(SecretIdList=[f"{prefix}-a", b["ARN"], missing])
    assert set(resp) - {"ResponseMetadata"} <= {"SecretValues", "Errors"}
    values = {v["Name"]: v for v in resp["SecretValues"]}
    assert set(values) == {f"{prefix}-a", f"{prefix}-b"}
    va, vb = values[f"{prefix}-a"], values[f"{prefix}-b"]
    assert set(va) == VALUE_KEYS_STRING and set(vb) == VALUE_KEYS_BINARY
    assert (va["ARN"], va["SecretString"], va["VersionId"], va["VersionStages"]) == (
        a["ARN"], "alpha", a["VersionId"], ["AWSCURRENT"],
    )  # fmt: skip
    assert vb["SecretBinary"] == b"\x00\x01\x02\xff"
    assert is_datetime(va["CreatedDate"])
    assert resp["Errors"] == [{"SecretId": missing, "ErrorCode": "ResourceNotFoundException", "Message": NOT_FOUND}]


def test_by_id_list_all_found(sm, prefix):
    ids = [sm.create_secret(Name=f"{prefix}-{i}", SecretString=str(i))["ARN"] for i in range(3)]
    resp = sm.batch_get_secret_value(SecretIdList=ids)
    assert sorted(v["SecretString"] for v in resp["SecretValues"]) == ["0", "1", "2"]
    assert resp.get("Errors", []) == []
    assert "NextToken" not in resp


def test_by_id_list_scheduled_for_deletion_is_an_error_entry(sm, prefix):
    sm.create_secret(Name=f"{prefix}-ok", SecretString="ok")
    sm.create_secret(Name=f"{prefix}-del", SecretString="gone")
    sm.delete_secret(SecretId=f"{prefix}-del")
    resp = sm.batch_get_secret_value(SecretIdList=[f"{prefix}-ok", f"{prefix}-del"])
    assert [v["Name"] for v in resp["SecretValues"]] == [f"{prefix}-ok"]
    [err] = resp["Errors"]
    assert err["SecretId"] == f"{prefix}-del"
    assert err["ErrorCode"] and err["Message"]
    assert "gone" not in err["Message"]


def test_by_filters_with_paging(sm, prefix):
    expected = {f"{prefix}-{i}": f"value-{i}" for i in range(5)}
    for n, v in expected.items():
        sm.create_secret(Name=n, SecretString=v)
    seen: dict[str, str] = {}
    req: dict[str, Any] = {"Filters": [{"Key": "name", "Values": [prefix]}], "MaxResults": 2}
    pages = 0
    while True:
        resp = sm.batch_get_secret_value(**req)
        pages += 1
        assert len(resp["SecretValues"]) <= 2
        for v in resp["SecretValues"]:
            assert v["Name"] not in seen
            assert set(v) == VALUE_KEYS_STRING
            seen[v["Name"]] = v["SecretString"]
        if "NextToken" not in resp:
            break
        req["NextToken"] = resp["NextToken"]
        assert pages < 10
    assert seen == expected
    assert pages >= 3


@pytest.mark.parametrize("by", ["name", "tag-key"])
def test_by_filters_last_full_page_has_no_next_token(sm, prefix, by):
    # a page ending exactly at the last match carries no NextToken (no useless empty-page call)
    for i in range(4):
        sm.create_secret(Name=f"{prefix}-{i}", SecretString=f"v{i}", Tags=[{"Key": prefix, "Value": "x"}])
    sm.create_secret(Name=f"{prefix}x-other", SecretString="v")
    filters = [{"Key": "name", "Values": [f"{prefix}-"]}] if by == "name" else [{"Key": "tag-key", "Values": [prefix]}]
    first = sm.batch_get_secret_value(Filters=filters, MaxResults=2)
    second = sm.batch_get_secret_value(Filters=filters, MaxResults=2, NextToken=first["NextToken"])
    assert [v["Name"] for v in first["SecretValues"] + second["SecretValues"]] == [f"{prefix}-{i}" for i in range(4)]
    assert "NextToken" not in second


def test_by_filters_without_paging(sm, prefix):
    for i in range(3):
        sm.create_secret(Name=f"{prefix}-{i}", SecretString=f"v{i}", Tags=[{"Key": prefix, "Value": "x"}])
    resp = sm.batch_get_secret_value(Filters=[{"Key": "tag-key", "Values": [prefix]}])
    assert {v["Name"] for v in resp["SecretValues"]} == {f"{prefix}-{i}" for i in range(3)}


def test_both_id_list_and_filters(sm, prefix):
    # API reference: "You must include Filters or SecretIdList, but not both". AWS's exact text is
    # not public (moto: "Either 'SecretIdList' or 'Filters' must be provided, but not both.").
    sm.create_secret(Name=f"{prefix}-x", SecretString="v")
    with expect_error("InvalidParameterException") as err:
        sm.batch_get_secret_value(SecretIdList=[f"{prefix}-x"], Filters=[{"Key": "name", "Values": [prefix]}])
    assert "SecretIdList" in err["Error"]["Message"] and "Filters" in err["Error"]["Message"]


def test_neither_id_list_nor_filters(sm):
    with pytest.raises(ClientError) as excinfo:
        sm.batch_get_secret_value()
    err = excinfo.value.response["Error"]
    assert err["Code"] in {"InvalidParameterException", "ValidationException", "InvalidRequestException"}
    assert err["Message"]


def test_max_results_requires_filters(sm, prefix):
    # API reference, MaxResults: "To use this parameter, you must also use the Filters parameter."
    # (moto's text: "'Filters' not specified. 'Filters' must also be specified when 'MaxResults'
    # is provided."; AWS's is not public)
    sm.create_secret(Name=f"{prefix}-x", SecretString="v")
    with expect_error("InvalidParameterException") as err:
        sm.batch_get_secret_value(SecretIdList=[f"{prefix}-x"], MaxResults=5)
    assert "Filters" in err["Error"]["Message"] and "MaxResults" in err["Error"]["Message"]


def test_id_list_limit(sm_raw, prefix):
    with expect_error("ValidationException") as err:
        sm_raw.batch_get_secret_value(SecretIdList=[f"{prefix}-{i}" for i in range(21)])
    assert (
        "at 'secretIdList' failed to satisfy constraint: Member must have length less than or equal to 20"
        in (err["Error"]["Message"])
    )


def test_max_results_limit(sm_raw, prefix):
    with expect_error("ValidationException") as err:
        sm_raw.batch_get_secret_value(Filters=[{"Key": "name", "Values": [prefix]}], MaxResults=21)
    assert (
        "at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 20"
        in (err["Error"]["Message"])
    )


def test_bad_next_token(sm, prefix):
    sm.create_secret(Name=f"{prefix}-x", SecretString="v")
    with expect_error("InvalidNextTokenException"):
        sm.batch_get_secret_value(
            Filters=[{"Key": "name", "Values": [prefix]}], MaxResults=1, NextToken="not-a-real-token"
        )


def test_response_keys_for_single_page(sm, prefix):
    sm.create_secret(Name=f"{prefix}-x", SecretString="v")
    resp = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [prefix]}])
    got = set(resp) - {"ResponseMetadata"}
    assert "SecretValues" in got and "NextToken" not in got
    if "Errors" in got:
        assert_keys({"Errors": resp["Errors"]}, {"Errors"})
        assert resp["Errors"] == []
