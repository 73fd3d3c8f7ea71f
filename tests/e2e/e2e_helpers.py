"""Assertion helpers and AWS reference messages for the e2e suite.

Every message below has its provenance next to it:
  * "recorded:<scenario>" - /work/shared/reference/aws-recorded-responses.json (real AWS)
  * "aws-doc:<url>"       - the AWS Secrets Manager API reference
  * "aws-issue:<url>"     - the exact text of a real AWS error quoted in a public issue
  * "moto"                - moto's implementation (AWS-mirroring, but NOT verified against AWS
                            by us); these are the lowest-confidence expectations in the suite
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT_ID = "123456789012"

# --- messages --------------------------------------------------------------------------------
# recorded:test_secret_not_found, test_create_and_update_secret[Invalid/_+=.@-Name-a1b2c3-False]
NOT_FOUND = "Secrets Manager can't find the specified secret."
# recorded:test_secret_exists_snapshots
EXISTS = "The operation failed because the secret {name} already exists."
# recorded:test_exp_raised_on_creation_of_secret_scheduled_for_deletion
SCHEDULED_FOR_DELETION = (
    "You can't create this secret because a secret with this name is already scheduled for deletion."
)
# recorded:test_tag_untag_resource_on_deleted_secret (Tag/Untag); the same text is AWS's answer to
# GetSecretValue on such a secret (aws-issue: external-secrets/kubernetes-external-secrets#114,
# external-secrets/external-secrets#4560) and, by the same rule, to the other mutations.
MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion."
# The generic InvalidRequestException text of the API reference ("Errors" section of each op);
# accepted as an alternative only where AWS's exact text is not recorded.
MARKED_DELETED_DOC = "You tried to perform the operation on a secret that's currently marked deleted."
# recorded:test_invalid_secret_name[*]
INVALID_NAME = (
    "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
)
# recorded:test_no_client_request_token[CreateSecret|UpdateSecret|PutSecretValue]
NO_TOKEN = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
# recorded:test_secret_version_not_found, test_get_secret_value_errors
NO_VALUE_FOR_STAGE = "Secrets Manager can't find the specified secret value for staging label: {stage}"
NO_VALUE_FOR_VERSION = "Secrets Manager can't find the specified secret value for VersionId: {version}"
# recorded:test_get_secret_value_errors
STAGE_VERSION_MISMATCH = "You provided a VersionStage that is not associated to the provided VersionId."
# ours: replication is not available yet (CreateSecret with AddReplicaRegions)
INVALID_REPLICA_REGION = "Invalid replica region."  # moto's tests; aws-samples/aws-health-aware#32
# aws-issue: https://github.com/aws/aws-sdk-java/issues/1556 (real service error text)
BOTH_STRING_AND_BINARY = "You can't specify both a binary secret value and a string secret value in the same secret."
# aws-issue: https://github.com/getmoto/moto/issues/6461 (real service error text)
RECOVERY_WINDOW_RANGE = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
# moto (AWS text not found publicly)
FORCE_AND_WINDOW = "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
# moto; floci-io/floci#3247 uses the same text (AWS text not found publicly)
REMOVE_FROM_EMPTY = (
    "The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached "
    "to version {version}, so you must explicitly reference that version in RemoveFromVersionId."
)
# moto's AWS-verified tests test_create_different_secret_with_same_token,
# test_put_different_secret_value_with_same_token, test_update_different_secret_value_with_same_token
TOKEN_IN_USE = (
    "You can't use ClientRequestToken {token} because that value is already in use for a version of secret {arn}."
)
# ours (AWS's text for a RemoveFromVersionId that names the wrong version is not public)
REMOVE_FROM_WRONG = (
    "Staging label {stage} is currently attached to version {version}, not to version {given} "
    "given in RemoveFromVersionId. To move the label, specify RemoveFromVersionId {version}."
)
# --- shapes ----------------------------------------------------------------------------------
ARN_RE = r"arn:aws:secretsmanager:{region}:123456789012:secret:{name}-[A-Za-z0-9]{{6}}"


def arn_pattern(name: str, region: str = "us-east-1") -> re.Pattern[str]:
    return re.compile("^" + ARN_RE.format(region=re.escape(region), name=re.escape(name)) + "$")


def assert_arn(arn: str, name: str, region: str = "us-east-1") -> None:
    assert arn_pattern(name, region).match(arn), f"bad ARN {arn!r} for secret {name!r} in {region}"


def body_keys(resp: dict[str, Any]) -> set[str]:
    """Response keys as the service sent them (boto3 adds ResponseMetadata)."""
    return set(resp) - {"ResponseMetadata"}


def assert_keys(resp: dict[str, Any], expected: set[str]) -> None:
    got = body_keys(resp)
    assert got == expected, f"keys differ: missing {expected - got}, unexpected {got - expected}"


def assert_request_id(resp_or_error: dict[str, Any]) -> None:
    md = resp_or_error.get("ResponseMetadata", {})
    headers = {k.lower(): v for k, v in md.get("HTTPHeaders", {}).items()}
    assert headers.get("x-amzn-requestid"), "response has no x-amzn-RequestId header"


def is_datetime(value: Any) -> bool:
    return isinstance(value, dt.datetime) and value.tzinfo is not None


def near(a: dt.datetime, b: dt.datetime, tolerance: dt.timedelta = dt.timedelta(minutes=10)) -> bool:
    return abs(a - b) <= tolerance


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def expect_error(
    code: str,
    message: str | None = None,
    *,
    messages: tuple[str, ...] | None = None,
    status: int = 400,
) -> Iterator[dict[str, Any]]:
    """Expect the block to raise a botocore ClientError with this AWS error code (and message).

    Yields a dict that is filled with the error response, for further checks. Every AWS client
    error is HTTP 400 (recorded); every response carries x-amzn-RequestId.
    """
    holder: dict[str, Any] = {}
    with pytest.raises(ClientError) as excinfo:
        yield holder
    err = excinfo.value.response
    holder.update(err)
    got_code = err.get("Error", {}).get("Code")
    got_msg = err.get("Error", {}).get("Message")
    assert got_code == code, f"expected {code}, got {got_code}: {got_msg!r}"
    if message is not None:
        assert got_msg == message, f"{code} message:\n  got:      {got_msg!r}\n  expected: {message!r}"
    if messages is not None:
        assert got_msg in messages, f"{code} message {got_msg!r} not one of {messages!r}"
    assert got_msg, f"{code} has an empty message"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == status
    assert_request_id(err)


def validation_message(value: str, member: str, constraint: str) -> str:
    """AWS's model-validation message for one violation (the coral format, e.g.
    aws-issue: https://github.com/aws/aws-sdk-java/issues/2336 and moto's GetRandomPassword)."""
    return f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"


def stages_by_version(versions: list[dict[str, Any]]) -> dict[str, set[str]]:
    """ListSecretVersionIds Versions -> {VersionId: set(VersionStages)} (the recorded snapshots
    sort these lists, so only set equality is meaningful)."""
    return {v["VersionId"]: set(v.get("VersionStages", [])) for v in versions}


def stages_map(mapping: dict[str, list[str]]) -> dict[str, set[str]]:
    return {k: set(v) for k, v in mapping.items()}


def all_version_ids(sm: Any, secret_id: str, include_deprecated: bool = False) -> dict[str, set[str]]:
    """Every version of a secret (following NextToken) as {VersionId: stages}."""
    out: dict[str, set[str]] = {}
    kwargs: dict[str, Any] = {"SecretId": secret_id, "IncludeDeprecated": include_deprecated}
    while True:
        resp = sm.list_secret_version_ids(**kwargs)
        for v in resp["Versions"]:
            assert v["VersionId"] not in out, "a version was listed twice"
            out[v["VersionId"]] = set(v.get("VersionStages", []))
        token = resp.get("NextToken")
        if not token:
            return out
        kwargs["NextToken"] = token
