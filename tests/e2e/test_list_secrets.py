"""ListSecrets: entries, filters, planned deletion, sorting, paging.

The session server is shared, so every query is scoped to secrets this test created: by a name
prefix unique to the test, or (where the name itself is under test) by a tag key unique to it.

Filter rules: API_Filter (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html)
- name / tag-key / tag-value: prefix match, case-sensitive; description: prefix, not case-sensitive;
all: words, not case-sensitive; a leading "!" negates. The concrete cases in
test_filters_localstack_validated are LocalStack's test_list_secrets_filtering, which is marked as
validated against AWS (it shows description matching is per word: "a secret" matches "an secret").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from e2e_helpers import assert_arn, expect_error, is_datetime

ENTRY_KEYS = {"ARN", "CreatedDate", "Description", "LastChangedDate", "Name", "SecretVersionsToStages"}


def names(sm: Any, *filters: dict[str, Any], **kwargs: Any) -> set[str]:
    """Names of every secret matching ``filters`` (following NextToken)."""
    out: list[str] = []
    req: dict[str, Any] = {"Filters": list(filters), **kwargs}
    for _ in range(1000):
        resp = sm.list_secrets(**req)
        out += [s["Name"] for s in resp["SecretList"]]
        if not resp.get("NextToken"):
            break
        req["NextToken"] = resp["NextToken"]
    assert len(out) == len(set(out)), "a secret was listed twice"
    return set(out)


def name_filter(*values: str) -> dict[str, Any]:
    return {"Key": "name", "Values": list(values)}


# --- entries ---------------------------------------------------------------------------------
def test_entry_shape(sm, prefix):
    # recorded:test_call_lists_secrets_multiple_times list_secrets_res_0
    n = f"{prefix}-one"
    created = sm.create_secret(Name=n, SecretString="my_secret", Description="testing creation of secrets")
    resp = sm.list_secrets(Filters=[name_filter(prefix)])
    assert set(resp) - {"ResponseMetadata"} == {"SecretList"}  # no NextToken on the only page
    [entry] = resp["SecretList"]
    assert set(entry) == ENTRY_KEYS
    assert entry["ARN"] == created["ARN"]
    assert_arn(entry["ARN"], n)
    assert entry["Name"] == n
    assert entry["Description"] == "testing creation of secrets"
    assert entry["SecretVersionsToStages"] == {created["VersionId"]: ["AWSCURRENT"]}
    assert is_datetime(entry["CreatedDate"]) and is_datetime(entry["LastChangedDate"])


def test_entry_only_has_applicable_keys(sm, prefix):
    sm.create_secret(Name=f"{prefix}-bare")
    sm.create_secret(Name=f"{prefix}-tagged", SecretString="v", Tags=[{"Key": "a", "Value": "b"}])
    entries = {e["Name"]: e for e in sm.list_secrets(Filters=[name_filter(prefix)])["SecretList"]}
    bare, tagged = entries[f"{prefix}-bare"], entries[f"{prefix}-tagged"]
    assert set(bare) == {"ARN", "CreatedDate", "LastChangedDate", "Name"}
    assert set(tagged) == {"ARN", "CreatedDate", "LastChangedDate", "Name", "SecretVersionsToStages", "Tags"}
    assert tagged["Tags"] == [{"Key": "a", "Value": "b"}]


def test_listing_repeatedly_is_stable(sm, name):
    # recorded:test_call_lists_secrets_multiple_times - three full listings, the secret once each
    sm.create_secret(Name=name, SecretString="my_secret", Description="testing creation of secrets")
    for _ in range(3):
        full = sm.get_paginator("list_secrets").paginate().build_full_result()
        assert [s["Name"] for s in full["SecretList"]].count(name) == 1


def test_versions_to_stages_in_entries(sm, prefix):
    n = f"{prefix}-v"
    v1 = sm.create_secret(Name=n, SecretString="a")["VersionId"]
    v2 = sm.put_secret_value(SecretId=n, SecretString="b")["VersionId"]
    v3 = sm.put_secret_value(SecretId=n, SecretString="c", VersionStages=["AWSPENDING"])["VersionId"]
    [entry] = sm.list_secrets(Filters=[name_filter(prefix)])["SecretList"]
    assert {k: set(v) for k, v in entry["SecretVersionsToStages"].items()} == {
        v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}, v3: {"AWSPENDING"},
    }  # fmt: skip


# --- filters ---------------------------------------------------------------------------------
def test_filters_localstack_validated(sm, prefix):
    scope = {"Key": "tag-key", "Values": [prefix]}
    s1, s2, s3, s4 = (f"testing1/one-{prefix}", f"/testing2/two-{prefix}",
                      f"testing3/three-{prefix}", f"/testing4/four-{prefix}")  # fmt: skip
    for n, desc in ((s1, "a secret"), (s2, "an secret"), (s3, "asecret"), (s4, "thesecret")):
        sm.create_secret(Name=n, SecretString="secret", Description=desc, Tags=[{"Key": prefix, "Value": "x"}])
    every = {s1, s2, s3, s4}
    assert names(sm, scope) == every
    assert names(sm, scope, name_filter("/")) == {s2, s4}
    assert names(sm, scope, name_filter("!/")) == {s1, s3}
    assert names(sm, scope, name_filter("testing1 one")) == set()
    assert names(sm, scope, {"Key": "description", "Values": ["a"]}) == {s1, s2, s3}
    assert names(sm, scope, {"Key": "description", "Values": ["!a"]}) == {s4}
    assert names(sm, scope, {"Key": "description", "Values": ["a secret"]}) == {s1, s2}
    assert names(sm, scope, {"Key": "description", "Values": ["!c"]}) == every
    # several filters must all match
    assert names(sm, scope, {"Key": "description", "Values": ["a"]}, name_filter("secret")) == set()
    assert names(sm, scope, {"Key": "description", "Values": ["a"]}, name_filter("an")) == set()


def test_name_filter_is_a_case_sensitive_prefix(sm, prefix):
    scope = {"Key": "tag-key", "Values": [prefix]}
    a, b = f"Data{prefix}", f"data{prefix}"
    for n in (a, b):
        sm.create_secret(Name=n, SecretString="v", Tags=[{"Key": prefix, "Value": "x"}])
    assert names(sm, scope, name_filter("Data")) == {a}
    assert names(sm, scope, name_filter("data")) == {b}
    assert names(sm, scope, name_filter("Data", "data")) == {a, b}  # values are alternatives
    assert names(sm, scope, name_filter(prefix)) == set()  # prefix, not substring


def test_description_filter_is_case_insensitive(sm, prefix):
    n = f"{prefix}-d"
    sm.create_secret(Name=n, SecretString="v", Description="Production Database")
    assert names(sm, name_filter(prefix), {"Key": "description", "Values": ["production"]}) == {n}
    assert names(sm, name_filter(prefix), {"Key": "description", "Values": ["PRODUCTION"]}) == {n}
    assert names(sm, name_filter(prefix), {"Key": "description", "Values": ["staging"]}) == set()


def test_tag_filters(sm, prefix):
    t1, t2, t3 = f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"
    sm.create_secret(Name=t1, SecretString="v", Tags=[{"Key": f"{prefix}-env", "Value": "Production"}])
    sm.create_secret(Name=t2, SecretString="v", Tags=[{"Key": f"{prefix}-envx", "Value": "prod-eu"}])
    sm.create_secret(Name=t3, SecretString="v", Tags=[{"Key": f"{prefix}-team", "Value": "production"}])
    scope = name_filter(prefix)
    assert names(sm, {"Key": "tag-key", "Values": [f"{prefix}-env"]}) == {t1, t2}
    assert names(sm, {"Key": "tag-key", "Values": [f"{prefix}-team"]}) == {t3}
    assert names(sm, {"Key": "tag-key", "Values": [f"{prefix}-TEAM"]}) == set()
    assert names(sm, scope, {"Key": "tag-key", "Values": [f"!{prefix}-team"]}) == {t1, t2}
    assert names(sm, scope, {"Key": "tag-value", "Values": ["Prod"]}) == {t1}
    assert names(sm, scope, {"Key": "tag-value", "Values": ["prod"]}) == {t2, t3}
    assert names(sm, scope, {"Key": "tag-value", "Values": ["Prod", "prod-eu"]}) == {t1, t2}
    assert names(sm, scope, {"Key": "tag-value", "Values": ["!prod"]}) == {t1}


def test_all_filter(sm, prefix):
    alpha, beta = f"{prefix}-alpha", f"{prefix}-beta"
    sm.create_secret(
        Name=alpha, SecretString="v", Description="Zebra crossing", Tags=[{"Key": "colour", "Value": "Magenta"}]
    )
    sm.create_secret(Name=beta, SecretString="v", Description="quiet")
    scope = name_filter(prefix)
    assert names(sm, scope, {"Key": "all", "Values": ["zebra"]}) == {alpha}
    assert names(sm, scope, {"Key": "all", "Values": ["MAGENTA"]}) == {alpha}
    assert names(sm, scope, {"Key": "all", "Values": ["colour"]}) == {alpha}
    assert names(sm, scope, {"Key": "all", "Values": ["quiet"]}) == {beta}
    assert names(sm, scope, {"Key": "all", "Values": ["nothing-like-this"]}) == set()


def test_owning_service_and_primary_region_filters(sm, prefix):
    n = f"{prefix}-own"
    sm.create_secret(Name=n, SecretString="v")
    # our secrets have no owning service and are not replicas
    assert names(sm, name_filter(prefix), {"Key": "owning-service", "Values": ["rds"]}) == set()
    assert names(sm, name_filter(prefix), {"Key": "primary-region", "Values": ["eu-west-3"]}) == set()


def test_filter_validation(sm_raw):
    with expect_error("ValidationException") as err:
        sm_raw.list_secrets(Filters=[{"Key": "bogus", "Values": ["x"]}])
    assert err["Error"]["Message"] == (
        "1 validation error detected: Value 'bogus' at 'filters.1.member.key' failed to satisfy "
        "constraint: Member must satisfy enum value set: "
        "[description, name, tag-key, tag-value, primary-region, owning-service, all]"
    )
    with expect_error("ValidationException") as err:
        sm_raw.list_secrets(Filters=[{"Key": "name", "Values": [f"v{i}" for i in range(11)]}])
    assert (
        "at 'filters.1.member.values' failed to satisfy constraint: Member must have length less than or equal to 10"
        in (err["Error"]["Message"])
    )
    with expect_error("ValidationException") as err:
        sm_raw.list_secrets(Filters=[{"Key": "name", "Values": ["bad*value"]}])
    # the constraint of a list member: coral reports it as "Member must satisfy constraint: [...]"
    msg = err["Error"]["Message"]
    assert msg.startswith("1 validation error detected: Value ")
    assert "at 'filters.1.member.values' failed to satisfy constraint: " in msg
    assert "Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$" in msg


# --- planned deletion --------------------------------------------------------------------------
def test_include_planned_deletion(sm, prefix):
    live, doomed, gone = f"{prefix}-live", f"{prefix}-doomed", f"{prefix}-gone"
    for n in (live, doomed, gone):
        sm.create_secret(Name=n, SecretString="v")
    sm.delete_secret(SecretId=doomed)
    sm.delete_secret(SecretId=gone, ForceDeleteWithoutRecovery=True)
    assert names(sm, name_filter(prefix)) == {live}
    assert names(sm, name_filter(prefix), IncludePlannedDeletion=False) == {live}
    entries = {
        e["Name"]: e for e in sm.list_secrets(Filters=[name_filter(prefix)], IncludePlannedDeletion=True)["SecretList"]
    }
    assert set(entries) == {live, doomed}
    assert is_datetime(entries[doomed]["DeletedDate"])
    assert "DeletedDate" not in entries[live]
    sm.restore_secret(SecretId=doomed)
    assert names(sm, name_filter(prefix)) == {live, doomed}


# --- sorting -------------------------------------------------------------------------------------
def test_sort_by_name(sm, prefix):
    for suffix in ("c", "a", "b"):
        sm.create_secret(Name=f"{prefix}-{suffix}", SecretString="v")
    asc = [
        e["Name"] for e in sm.list_secrets(Filters=[name_filter(prefix)], SortBy="name", SortOrder="asc")["SecretList"]
    ]
    desc = [
        e["Name"] for e in sm.list_secrets(Filters=[name_filter(prefix)], SortBy="name", SortOrder="desc")["SecretList"]
    ]
    assert asc == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    assert desc == list(reversed(asc))


def test_sort_by_created_date(sm, prefix):
    for i in range(4):
        sm.create_secret(Name=f"{prefix}-{i}", SecretString="v")
    asc = sm.list_secrets(Filters=[name_filter(prefix)], SortOrder="asc")["SecretList"]
    desc = sm.list_secrets(Filters=[name_filter(prefix)], SortOrder="desc")["SecretList"]
    assert {e["Name"] for e in asc} == {e["Name"] for e in desc} == {f"{prefix}-{i}" for i in range(4)}
    asc_dates = [e["CreatedDate"] for e in asc]
    desc_dates = [e["CreatedDate"] for e in desc]
    assert asc_dates == sorted(asc_dates)
    assert desc_dates == sorted(desc_dates, reverse=True)
    created = sm.list_secrets(Filters=[name_filter(prefix)], SortBy="created-date", SortOrder="asc")["SecretList"]
    assert [e["CreatedDate"] for e in created] == sorted(asc_dates)


# --- paging ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("page_size", [1, 2, 3, 100])
def test_paging_visits_every_secret_once(sm, prefix, page_size):
    expected = {f"{prefix}-{i:02d}" for i in range(7)}
    for n in sorted(expected):
        sm.create_secret(Name=n, SecretString="v")
    seen: list[str] = []
    req: dict[str, Any] = {"Filters": [name_filter(prefix)], "MaxResults": page_size}
    pages = 0
    while True:
        resp = sm.list_secrets(**req)
        pages += 1
        assert len(resp["SecretList"]) <= page_size
        seen += [e["Name"] for e in resp["SecretList"]]
        if "NextToken" not in resp:
            break
        assert resp["NextToken"], "NextToken must be absent, not empty, on the last page"
        req["NextToken"] = resp["NextToken"]
        assert pages <= 20
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))
    assert pages == -(-7 // page_size)  # no empty page after a full last one (page size 1)


def test_paginator(sm, prefix):
    expected = {f"{prefix}-{i}" for i in range(5)}
    for n in expected:
        sm.create_secret(Name=n, SecretString="v")
    pages = list(
        sm.get_paginator("list_secrets").paginate(Filters=[name_filter(prefix)], PaginationConfig={"PageSize": 2})
    )
    assert len([e["Name"] for p in pages for e in p["SecretList"]]) == 5
    assert {e["Name"] for p in pages for e in p["SecretList"]} == expected


@pytest.mark.parametrize("by", ["name", "tag-key"])
def test_paginator_makes_no_call_for_an_empty_page(sm, prefix, by):
    # Paginators (boto3, Go, JS, aiobotocore) call again while a NextToken comes back: a page that
    # ends exactly at the last match must carry none. A later non-matching secret must not matter.
    for i in range(4):
        sm.create_secret(Name=f"{prefix}-{i}", SecretString="v", Tags=[{"Key": prefix, "Value": "x"}])
    sm.create_secret(Name=f"{prefix}x-other", SecretString="v")
    filters = [name_filter(f"{prefix}-")] if by == "name" else [{"Key": "tag-key", "Values": [prefix]}]
    pages = list(sm.get_paginator("list_secrets").paginate(Filters=filters, PaginationConfig={"PageSize": 2}))
    assert [len(p["SecretList"]) for p in pages] == [2, 2]
    assert "NextToken" in pages[0] and "NextToken" not in pages[1]


def test_paging_with_sort_by_name(sm, prefix):
    expected = [f"{prefix}-{i}" for i in range(5)]
    for n in reversed(expected):
        sm.create_secret(Name=n, SecretString="v")
    seen: list[str] = []
    req: dict[str, Any] = {"Filters": [name_filter(prefix)], "MaxResults": 2, "SortBy": "name", "SortOrder": "asc"}
    while True:
        resp = sm.list_secrets(**req)
        seen += [e["Name"] for e in resp["SecretList"]]
        if "NextToken" not in resp:
            break
        req["NextToken"] = resp["NextToken"]
    assert seen == expected


@pytest.mark.parametrize("token", ["garbage", "eyJmb28iOiAiYmFyIn0=", "A" * 200, "0"])
def test_forged_next_token(sm, prefix, token):
    sm.create_secret(Name=f"{prefix}-x", SecretString="v")
    with expect_error("InvalidNextTokenException"):
        sm.list_secrets(Filters=[name_filter(prefix)], MaxResults=1, NextToken=token)


def test_tampered_next_token(sm, prefix):
    for i in range(3):
        sm.create_secret(Name=f"{prefix}-{i}", SecretString="v")
    token = sm.list_secrets(Filters=[name_filter(prefix)], MaxResults=1)["NextToken"]
    mid = len(token) // 2  # a middle character always carries payload bits
    flipped = token[:mid] + ("A" if token[mid] != "A" else "B") + token[mid + 1 :]
    with expect_error("InvalidNextTokenException"):
        sm.list_secrets(Filters=[name_filter(prefix)], MaxResults=1, NextToken=flipped)


def test_last_changed_and_created_dates(sm, prefix):
    n = f"{prefix}-dates"
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    sm.create_secret(Name=n, SecretString="v")
    [e] = sm.list_secrets(Filters=[name_filter(prefix)])["SecretList"]
    assert e["CreatedDate"] >= before
    assert e["LastChangedDate"] >= e["CreatedDate"] - dt.timedelta(seconds=1)
