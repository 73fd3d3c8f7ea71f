"""Versions and staging labels: PutSecretValue, UpdateSecret, UpdateSecretVersionStage,
ListSecretVersionIds.

Most tests replay a recorded real-AWS scenario step by step (named in each docstring; requests
from LocalStack's tests/aws/services/secretsmanager/test_secretsmanager.py). The recording tool
sorted VersionStages and Versions, so stages are compared as sets and versions by id.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from e2e_helpers import (
    REMOVE_FROM_EMPTY,
    REMOVE_FROM_WRONG,
    all_version_ids,
    assert_keys,
    expect_error,
    is_datetime,
    stages_by_version,
    stages_map,
)

PUT_KEYS = {"ARN", "Name", "VersionId", "VersionStages"}
USVS_KEYS = {"ARN", "Name"}  # recorded:test_update_secret_version_stages_return_type
LIST_KEYS = {"ARN", "Name", "Versions"}
VERSION_KEYS = {"CreatedDate", "KmsKeyIds", "VersionId", "VersionStages"}


def listed(sm: Any, name: str, **kwargs: Any) -> dict[str, dict[str, Any]]:
    """ListSecretVersionIds (one page) as {VersionId: entry}, checking the entry shapes."""
    resp = sm.list_secret_version_ids(SecretId=name, **kwargs)
    assert_keys(resp, LIST_KEYS)
    out = {}
    for v in resp["Versions"]:
        extra = set(v) - VERSION_KEYS - {"LastAccessedDate"}
        assert not extra, f"unexpected keys {extra} in {v}"
        assert is_datetime(v["CreatedDate"])
        # recorded: every version lists the default key as "DefaultEncryptionKey"
        assert v["KmsKeyIds"] == ["DefaultEncryptionKey"]
        if "VersionStages" in v:
            assert v["VersionStages"], "an empty VersionStages list must be omitted"
        out[v["VersionId"]] = v
    return out


def stages(sm: Any, name: str, **kwargs: Any) -> dict[str, set[str]]:
    return {vid: set(e.get("VersionStages", [])) for vid, e in listed(sm, name, **kwargs).items()}


def current(sm: Any, name: str) -> tuple[str, str]:
    got = sm.get_secret_value(SecretId=name)
    return got["VersionId"], got["SecretString"]


# --- recorded scenarios -----------------------------------------------------------------------
def test_put_secret_value_with_version_stages(sm, name):
    """recorded:test_put_secret_value_with_version_stages"""
    v0 = sm.create_secret(Name=name, SecretString="secret_string_v0")["VersionId"]
    assert current(sm, name) == (v0, "secret_string_v0")

    t1 = str(uuid.uuid4())
    r1 = sm.put_secret_value(
        SecretId=name, SecretString="secret_string_v1", VersionStages=["SAMPLESTAGE1", "SAMPLESTAGE0"],
        ClientRequestToken=t1,
    )  # fmt: skip
    assert_keys(r1, PUT_KEYS)
    assert r1["VersionId"] == t1
    assert set(r1["VersionStages"]) == {"SAMPLESTAGE0", "SAMPLESTAGE1"}
    assert current(sm, name) == (v0, "secret_string_v0")  # custom labels leave AWSCURRENT alone

    t2 = str(uuid.uuid4())
    r2 = sm.put_secret_value(
        SecretId=name, SecretString="secret_string_v2", VersionStages=["SAMPLESTAGE1", "SAMPLESTAGE0"],
        ClientRequestToken=t2,
    )  # fmt: skip
    assert set(r2["VersionStages"]) == {"SAMPLESTAGE0", "SAMPLESTAGE1"}
    assert current(sm, name) == (v0, "secret_string_v0")

    t3 = str(uuid.uuid4())
    r3 = sm.put_secret_value(
        SecretId=name, SecretString="secret_string_v3", VersionStages=["AWSPENDING"], ClientRequestToken=t3
    )
    assert r3["VersionStages"] == ["AWSPENDING"]
    assert current(sm, name) == (v0, "secret_string_v0")

    t4 = str(uuid.uuid4())
    r4 = sm.put_secret_value(SecretId=name, SecretString="secret_string_v4", ClientRequestToken=t4)
    assert r4["VersionStages"] == ["AWSCURRENT"]
    got = sm.get_secret_value(SecretId=name)
    assert (got["VersionId"], got["SecretString"], got["VersionStages"]) == (t4, "secret_string_v4", ["AWSCURRENT"])

    # Each label is on at most one version; a version that lost all its labels is deprecated.
    assert stages(sm, name) == {
        v0: {"AWSPREVIOUS"},
        t2: {"SAMPLESTAGE0", "SAMPLESTAGE1"},
        t3: {"AWSPENDING"},
        t4: {"AWSCURRENT"},
    }
    assert stages(sm, name, IncludeDeprecated=True)[t1] == set()


def test_update_secret_version_stages_return_type(sm, name):
    """recorded:test_update_secret_version_stages_return_type"""
    v0 = sm.create_secret(Name=name, SecretString="Something1")["VersionId"]
    r = sm.put_secret_value(SecretId=name, SecretString="Something2", VersionStages=["AWSPENDING"])
    assert_keys(r, PUT_KEYS)
    v1 = r["VersionId"]
    assert v1 != v0
    u = sm.update_secret_version_stage(
        SecretId=name, RemoveFromVersionId=v0, MoveToVersionId=v1, VersionStage="AWSCURRENT"
    )
    assert_keys(u, USVS_KEYS)
    assert u["Name"] == name


def test_update_secret_version_stages_current_previous(sm, name):
    """recorded:test_update_secret_version_stages_current_previous"""
    v0 = sm.create_secret(Name=name, SecretString="secret_string_v0")["VersionId"]
    l0 = listed(sm, name)
    assert set(l0) == {v0}
    assert set(l0[v0]) == VERSION_KEYS
    assert l0[v0]["VersionStages"] == ["AWSCURRENT"]

    upd = sm.update_secret(SecretId=name, SecretString="secret_string_v1")
    assert_keys(upd, {"ARN", "Name", "VersionId"})
    v1 = upd["VersionId"]
    assert stages(sm, name) == {v0: {"AWSPREVIOUS"}, v1: {"AWSCURRENT"}}


def test_update_secret_version_stages_current_pending(sm, name):
    """recorded:test_update_secret_version_stages_current_pending"""
    v0 = sm.create_secret(Name=name, SecretString="Something1")["VersionId"]
    v1 = sm.put_secret_value(SecretId=name, SecretString="Something2", VersionStages=["AWSPENDING"])["VersionId"]
    assert stages(sm, name) == {v0: {"AWSCURRENT"}, v1: {"AWSPENDING"}}

    sm.update_secret_version_stage(SecretId=name, RemoveFromVersionId=v0, MoveToVersionId=v1, VersionStage="AWSCURRENT")
    assert stages(sm, name) == {v0: {"AWSPREVIOUS"}, v1: {"AWSCURRENT", "AWSPENDING"}}

    r = sm.put_secret_value(SecretId=name, SecretString="SS3")
    assert r["VersionStages"] == ["AWSCURRENT"]
    v2 = r["VersionId"]
    # Non-obvious (recorded list_secret_version_ids_res_2): the old current version keeps only
    # AWSPREVIOUS - the AWSPENDING that sat on it with AWSCURRENT is gone - and v0, which lost
    # AWSPREVIOUS, is deprecated (not listed).
    assert stages(sm, name) == {v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}}


def test_update_secret_version_stages_current_pending_cycle(sm, name):
    """recorded:test_update_secret_version_stages_current_pending_cycle (a rotation by hand)"""
    v0 = sm.create_secret(Name=name, SecretString="S1")["VersionId"]
    r0 = sm.put_secret_value(SecretId=name, SecretString="S2", VersionStages=["AWSPENDING"])
    assert r0["VersionStages"] == ["AWSPENDING"]
    v1 = r0["VersionId"]
    assert stages(sm, name) == {v0: {"AWSCURRENT"}, v1: {"AWSPENDING"}}
    g0 = sm.get_secret_value(SecretId=name)
    assert (g0["SecretString"], g0["VersionId"], g0["VersionStages"]) == ("S1", v0, ["AWSCURRENT"])

    u0 = sm.update_secret_version_stage(
        SecretId=name, RemoveFromVersionId=v0, MoveToVersionId=v1, VersionStage="AWSCURRENT"
    )
    assert_keys(u0, USVS_KEYS)
    l1 = listed(sm, name)
    assert stages_by_version(list(l1.values())) == {v0: {"AWSPREVIOUS"}, v1: {"AWSCURRENT", "AWSPENDING"}}
    # recorded: a version that has been read carries LastAccessedDate, one never read does not
    assert "LastAccessedDate" in l1[v0]
    assert "LastAccessedDate" not in l1[v1]
    g1 = sm.get_secret_value(SecretId=name)
    assert (g1["SecretString"], g1["VersionId"], set(g1["VersionStages"])) == ("S2", v1, {"AWSCURRENT", "AWSPENDING"})

    r1 = sm.put_secret_value(SecretId=name, SecretString="S3", VersionStages=["AWSPENDING"])
    assert r1["VersionStages"] == ["AWSPENDING"]
    v2 = r1["VersionId"]
    l2 = listed(sm, name)
    assert stages_by_version(list(l2.values())) == {
        v0: {"AWSPREVIOUS"}, v1: {"AWSCURRENT"}, v2: {"AWSPENDING"},
    }  # fmt: skip
    assert "LastAccessedDate" in l2[v1]
    g2 = sm.get_secret_value(SecretId=name)
    assert (g2["SecretString"], g2["VersionId"], g2["VersionStages"]) == ("S2", v1, ["AWSCURRENT"])

    u1 = sm.update_secret_version_stage(
        SecretId=name, RemoveFromVersionId=v1, MoveToVersionId=v2, VersionStage="AWSCURRENT"
    )
    assert_keys(u1, USVS_KEYS)
    assert stages(sm, name) == {v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT", "AWSPENDING"}}
    g3 = sm.get_secret_value(SecretId=name)
    assert (g3["SecretString"], g3["VersionId"], set(g3["VersionStages"])) == ("S3", v2, {"AWSCURRENT", "AWSPENDING"})


def test_update_secret_version_stages_current_pending_cycle_custom_stages_1(sm, name):
    """recorded:test_update_secret_version_stages_current_pending_cycle_custom_stages_1"""
    v0 = sm.create_secret(Name=name, SecretString="S1")["VersionId"]
    r0 = sm.put_secret_value(SecretId=name, SecretString="S2", VersionStages=["AWSSOMETHING", "AWSPENDING", "PUT1"])
    assert set(r0["VersionStages"]) == {"AWSPENDING", "AWSSOMETHING", "PUT1"}
    v1 = r0["VersionId"]
    assert stages(sm, name) == {v0: {"AWSCURRENT"}, v1: {"AWSPENDING", "AWSSOMETHING", "PUT1"}}
    assert current(sm, name) == (v0, "S1")

    sm.update_secret_version_stage(SecretId=name, RemoveFromVersionId=v0, MoveToVersionId=v1, VersionStage="AWSCURRENT")
    assert stages(sm, name) == {v0: {"AWSPREVIOUS"}, v1: {"AWSCURRENT", "AWSPENDING", "AWSSOMETHING", "PUT1"}}
    g1 = sm.get_secret_value(SecretId=name)
    assert set(g1["VersionStages"]) == {"AWSCURRENT", "AWSPENDING", "AWSSOMETHING", "PUT1"}
    assert g1["SecretString"] == "S2"

    r1 = sm.put_secret_value(SecretId=name, SecretString="S3", VersionStages=["AWSPENDING", "PUT2"])
    assert set(r1["VersionStages"]) == {"AWSPENDING", "PUT2"}
    v2 = r1["VersionId"]
    assert stages(sm, name) == {
        v0: {"AWSPREVIOUS"}, v1: {"AWSCURRENT", "AWSSOMETHING", "PUT1"}, v2: {"AWSPENDING", "PUT2"},
    }  # fmt: skip
    g2 = sm.get_secret_value(SecretId=name)
    assert (g2["SecretString"], set(g2["VersionStages"])) == ("S2", {"AWSCURRENT", "AWSSOMETHING", "PUT1"})

    sm.update_secret_version_stage(SecretId=name, RemoveFromVersionId=v1, MoveToVersionId=v2, VersionStage="AWSCURRENT")
    # custom labels stay where they are; only AWSCURRENT/AWSPREVIOUS move
    assert stages(sm, name) == {
        v1: {"AWSPREVIOUS", "AWSSOMETHING", "PUT1"}, v2: {"AWSCURRENT", "AWSPENDING", "PUT2"},
    }  # fmt: skip
    g3 = sm.get_secret_value(SecretId=name)
    assert (g3["SecretString"], set(g3["VersionStages"])) == ("S3", {"AWSCURRENT", "AWSPENDING", "PUT2"})


def test_update_secret_version_stages_current_pending_cycle_custom_stages_2(sm, name):
    """recorded:test_update_secret_version_stages_current_pending_cycle_custom_stages_2"""
    v_init = sm.create_secret(Name=name, SecretString="SS")["VersionId"]
    r0 = sm.put_secret_value(SecretId=name, SecretString="S1", VersionStages=["AWSCURRENT", "PUT0"])
    assert set(r0["VersionStages"]) == {"AWSCURRENT", "PUT0"}
    vid_0 = r0["VersionId"]
    # an explicit AWSCURRENT in VersionStages moves AWSPREVIOUS like an implicit one
    assert stages(sm, name) == {v_init: {"AWSPREVIOUS"}, vid_0: {"AWSCURRENT", "PUT0"}}

    r1 = sm.put_secret_value(SecretId=name, SecretString="S2", VersionStages=["AWSPENDING", "PUT1"])
    vid_1 = r1["VersionId"]
    assert stages(sm, name) == {
        v_init: {"AWSPREVIOUS"}, vid_0: {"AWSCURRENT", "PUT0"}, vid_1: {"AWSPENDING", "PUT1"},
    }  # fmt: skip
    g0 = sm.get_secret_value(SecretId=name)
    assert (g0["SecretString"], g0["VersionId"], set(g0["VersionStages"])) == ("S1", vid_0, {"AWSCURRENT", "PUT0"})

    sm.update_secret_version_stage(
        SecretId=name, RemoveFromVersionId=vid_0, MoveToVersionId=vid_1, VersionStage="AWSCURRENT"
    )
    assert stages(sm, name) == {vid_0: {"AWSPREVIOUS", "PUT0"}, vid_1: {"AWSCURRENT", "AWSPENDING", "PUT1"}}
    assert stages(sm, name, IncludeDeprecated=True)[v_init] == set()

    r2 = sm.put_secret_value(SecretId=name, SecretString="S3", VersionStages=["AWSPENDING", "PUT2"])
    vid_2 = r2["VersionId"]
    assert stages(sm, name) == {
        vid_0: {"AWSPREVIOUS", "PUT0"}, vid_1: {"AWSCURRENT", "PUT1"}, vid_2: {"AWSPENDING", "PUT2"},
    }  # fmt: skip
    assert current(sm, name) == (vid_1, "S2")

    sm.update_secret_version_stage(
        SecretId=name, RemoveFromVersionId=vid_1, MoveToVersionId=vid_2, VersionStage="AWSCURRENT"
    )
    assert stages(sm, name) == {
        vid_0: {"PUT0"}, vid_1: {"AWSPREVIOUS", "PUT1"}, vid_2: {"AWSCURRENT", "AWSPENDING", "PUT2"},
    }  # fmt: skip
    g3 = sm.get_secret_value(SecretId=name)
    assert (g3["SecretString"], set(g3["VersionStages"])) == ("S3", {"AWSCURRENT", "AWSPENDING", "PUT2"})


def test_update_secret_version_stages_current_pending_cycle_custom_stages_3(sm, name):
    """recorded:test_update_secret_version_stages_current_pending_cycle_custom_stages_3"""
    v1 = sm.create_secret(Name=name, SecretString="SS")["VersionId"]
    r = sm.put_secret_value(SecretId=name, SecretString="S1", VersionStages=["PENDING"])
    assert r["VersionStages"] == ["PENDING"]
    v2 = r["VersionId"]
    assert stages(sm, name) == {v1: {"AWSCURRENT"}, v2: {"PENDING"}}
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["VersionStages"] == ["AWSCURRENT"]
    assert sm.get_secret_value(SecretId=name, VersionId=v2)["VersionStages"] == ["PENDING"]

    sm.update_secret_version_stage(SecretId=name, RemoveFromVersionId=v1, MoveToVersionId=v2, VersionStage="AWSCURRENT")
    g1 = sm.get_secret_value(SecretId=name, VersionId=v1)
    assert (g1["SecretString"], g1["VersionStages"]) == ("SS", ["AWSPREVIOUS"])
    g2 = sm.get_secret_value(SecretId=name, VersionId=v2)
    assert (g2["SecretString"], set(g2["VersionStages"])) == ("S1", {"AWSCURRENT", "PENDING"})

    # remove a custom label without moving it anywhere
    u = sm.update_secret_version_stage(SecretId=name, RemoveFromVersionId=v2, VersionStage="PENDING")
    assert_keys(u, USVS_KEYS)
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["VersionStages"] == ["AWSPREVIOUS"]
    assert sm.get_secret_value(SecretId=name, VersionId=v2)["VersionStages"] == ["AWSCURRENT"]


def test_non_versioning_version_stages_replacement(sm, name):
    """recorded:test_non_versioning_version_stages_replacement"""
    v0 = sm.create_secret(Name=name, SecretString="S0")["VersionId"]
    r0 = sm.put_secret_value(SecretId=name, SecretString="S1", VersionStages=["one", "two", "three"])
    assert set(r0["VersionStages"]) == {"one", "two", "three"}
    v1 = r0["VersionId"]
    assert stages(sm, name) == {v0: {"AWSCURRENT"}, v1: {"one", "two", "three"}}
    r1 = sm.put_secret_value(SecretId=name, SecretString="S2", VersionStages=["one", "two", "three", "four"])
    assert set(r1["VersionStages"]) == {"one", "two", "three", "four"}
    v2 = r1["VersionId"]
    # v1 lost every label -> deprecated -> not listed
    assert stages(sm, name) == {v0: {"AWSCURRENT"}, v2: {"four", "one", "three", "two"}}


def test_non_versioning_version_stages_no_replacement(sm, name):
    """recorded:test_non_versioning_version_stages_no_replacement"""
    v0 = sm.create_secret(Name=name, SecretString="S0")["VersionId"]
    v1 = sm.put_secret_value(SecretId=name, SecretString="S1", VersionStages=["one", "two", "three"])["VersionId"]
    r1 = sm.put_secret_value(SecretId=name, SecretString="S2", VersionStages=["one", "two", "four"])
    assert set(r1["VersionStages"]) == {"four", "one", "two"}
    v2 = r1["VersionId"]
    assert stages(sm, name) == {v0: {"AWSCURRENT"}, v1: {"three"}, v2: {"four", "one", "two"}}


def test_deprecated_secret_version_stage(sm, name):
    """recorded:test_deprecated_secret_version_stage - IncludeDeprecated lists unlabeled versions,
    without a VersionStages key."""
    v1 = sm.create_secret(Name=name, SecretString="original", Description="My secret")["VersionId"]
    assert stages(sm, name) == {v1: {"AWSCURRENT"}}
    p1 = sm.put_secret_value(SecretId=name, SecretString="update1")
    assert p1["VersionStages"] == ["AWSCURRENT"]
    v2 = p1["VersionId"]
    assert stages(sm, name) == {v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}}
    v3 = sm.put_secret_value(SecretId=name, SecretString="update2")["VersionId"]
    assert stages(sm, name) == {v2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT"}}
    with_deprecated = listed(sm, name, IncludeDeprecated=True)
    assert set(with_deprecated) == {v1, v2, v3}
    assert "VersionStages" not in with_deprecated[v1]
    v4 = sm.put_secret_value(SecretId=name, SecretString="update3")["VersionId"]
    assert stages(sm, name) == {v3: {"AWSPREVIOUS"}, v4: {"AWSCURRENT"}}
    assert stages(sm, name, IncludeDeprecated=True) == {
        v1: set(), v2: set(), v3: {"AWSPREVIOUS"}, v4: {"AWSCURRENT"},
    }  # fmt: skip


def test_update_secret_description(sm, name):
    """recorded:test_update_secret_description - UpdateSecret without a value creates no version
    and returns no VersionId."""
    v1 = sm.create_secret(Name=name, SecretString="MySecretString")["VersionId"]
    d0 = sm.describe_secret(SecretId=name)
    assert_keys(d0, {"ARN", "CreatedDate", "LastChangedDate", "Name", "VersionIdsToStages"})

    u0 = sm.update_secret(SecretId=name, Description="MyDescription")
    assert_keys(u0, {"ARN", "Name"})
    d1 = sm.describe_secret(SecretId=name)
    assert d1["Description"] == "MyDescription"
    assert d1["VersionIdsToStages"] == {v1: ["AWSCURRENT"]}

    u1 = sm.update_secret(SecretId=name, SecretString="MyNewSecretString", Description="MyNewDescription")
    assert_keys(u1, {"ARN", "Name", "VersionId"})
    v2 = u1["VersionId"]
    d2 = sm.describe_secret(SecretId=name)
    assert d2["Description"] == "MyNewDescription"
    assert stages_map(d2["VersionIdsToStages"]) == {v2: {"AWSCURRENT"}, v1: {"AWSPREVIOUS"}}

    u2 = sm.update_secret(SecretId=name, SecretString="MyNewSecretString" * 2)
    v3 = u2["VersionId"]
    d3 = sm.describe_secret(SecretId=name)
    assert d3["Description"] == "MyNewDescription"  # not cleared by an update that omits it
    assert stages_map(d3["VersionIdsToStages"]) == {v2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT"}}

    u3 = sm.update_secret(SecretId=name)
    assert_keys(u3, {"ARN", "Name"})
    d4 = sm.describe_secret(SecretId=name)
    assert stages_map(d4["VersionIdsToStages"]) == {v2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT"}}


def test_update_secret_kms_key_only_creates_no_version(sm, name):
    v1 = sm.create_secret(Name=name, SecretString="v")["VersionId"]
    u = sm.update_secret(SecretId=name, KmsKeyId="alias/aws/secretsmanager")
    assert_keys(u, {"ARN", "Name"})
    assert all_version_ids(sm, name) == {v1: {"AWSCURRENT"}}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


# --- UpdateSecretVersionStage rules and errors --------------------------------------------------
def _three_versions(sm: Any, name: str) -> tuple[str, str, str]:
    v0 = sm.create_secret(Name=name, SecretString="s0")["VersionId"]
    v1 = sm.put_secret_value(SecretId=name, SecretString="s1")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="s2", VersionStages=["AWSPENDING"])["VersionId"]
    assert stages(sm, name) == {v0: {"AWSPREVIOUS"}, v1: {"AWSCURRENT"}, v2: {"AWSPENDING"}}
    return v0, v1, v2


def test_move_awscurrent_requires_remove_from_version_id(sm, name):
    # API_UpdateSecretVersionStage: "If the label is attached and you either do not specify this
    # parameter, or the version ID does not match, then the operation fails." Message: moto/floci.
    v0, v1, v2 = _three_versions(sm, name)
    before = stages(sm, name)
    with expect_error("InvalidParameterException", REMOVE_FROM_EMPTY.format(stage="AWSCURRENT", version=v1)):
        sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v2)
    assert stages(sm, name) == before


def test_move_with_wrong_remove_from_version_id(sm, name):
    # same rule, "or the version ID does not match" (AWS's message is not public: ours names the
    # label, the version that has it and the version given)
    v0, v1, v2 = _three_versions(sm, name)
    before = stages(sm, name)
    with expect_error("InvalidParameterException", REMOVE_FROM_WRONG.format(stage="AWSCURRENT", version=v1, given=v0)):
        sm.update_secret_version_stage(
            SecretId=name, VersionStage="AWSCURRENT", RemoveFromVersionId=v0, MoveToVersionId=v2
        )
    assert stages(sm, name) == before


def test_custom_label_attached_elsewhere_requires_remove_from(sm, name):
    v0, v1, v2 = _three_versions(sm, name)
    before = stages(sm, name)
    with expect_error("InvalidParameterException", REMOVE_FROM_EMPTY.format(stage="AWSPENDING", version=v2)):
        sm.update_secret_version_stage(SecretId=name, VersionStage="AWSPENDING", MoveToVersionId=v0)
    assert stages(sm, name) == before


def test_awscurrent_cannot_be_removed_without_a_destination(sm, name):
    # AWSCURRENT can only be moved, never removed (a secret with versions always has a current one)
    v0, v1, v2 = _three_versions(sm, name)
    before = stages(sm, name)
    with expect_error("InvalidParameterException"):
        sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", RemoveFromVersionId=v1)
    assert stages(sm, name) == before
    assert current(sm, name) == (v1, "s1")


def test_move_to_unknown_version(sm, name):
    v0, v1, v2 = _three_versions(sm, name)
    before = stages(sm, name)
    bogus = str(uuid.uuid4())
    with pytest.raises(Exception) as excinfo:
        sm.update_secret_version_stage(SecretId=name, VersionStage="NEWLABEL", MoveToVersionId=bogus)
    code = excinfo.value.response["Error"]["Code"]  # type: ignore[attr-defined]
    assert code in {"InvalidParameterException", "ResourceNotFoundException"}, code
    assert stages(sm, name) == before


def test_add_new_custom_label_and_move_it(sm, name):
    v0, v1, v2 = _three_versions(sm, name)
    sm.update_secret_version_stage(SecretId=name, VersionStage="BLUE", MoveToVersionId=v0)
    assert stages(sm, name)[v0] == {"AWSPREVIOUS", "BLUE"}
    assert sm.get_secret_value(SecretId=name, VersionStage="BLUE")["SecretString"] == "s0"
    sm.update_secret_version_stage(SecretId=name, VersionStage="BLUE", RemoveFromVersionId=v0, MoveToVersionId=v2)
    # moving a custom label leaves AWSPREVIOUS alone (localstack/localstack#10082, AWS behaviour)
    assert stages(sm, name) == {v0: {"AWSPREVIOUS"}, v1: {"AWSCURRENT"}, v2: {"AWSPENDING", "BLUE"}}


def test_move_awscurrent_back_to_previous_version(sm, name):
    # API_UpdateSecretVersionStage: "Whenever you move AWSCURRENT, Secrets Manager automatically
    # moves the label AWSPREVIOUS to the version that AWSCURRENT was removed from."
    v0, v1, v2 = _three_versions(sm, name)
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", RemoveFromVersionId=v1, MoveToVersionId=v0)
    assert stages(sm, name) == {v0: {"AWSCURRENT"}, v1: {"AWSPREVIOUS"}, v2: {"AWSPENDING"}}
    assert current(sm, name) == (v0, "s0")


def test_removing_last_label_deprecates_version(sm, name):
    v0, v1, v2 = _three_versions(sm, name)
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSPENDING", RemoveFromVersionId=v2)
    assert stages(sm, name) == {v0: {"AWSPREVIOUS"}, v1: {"AWSCURRENT"}}
    assert stages(sm, name, IncludeDeprecated=True) == {v0: {"AWSPREVIOUS"}, v1: {"AWSCURRENT"}, v2: set()}


def test_too_many_version_stages(sm_raw, name):
    # model: SecretVersionStagesType max 20 members per request (ValidationException)
    sm_raw.create_secret(Name=name, SecretString="v")
    labels = [f"L{i}" for i in range(21)]
    with expect_error("ValidationException") as err:
        sm_raw.put_secret_value(SecretId=name, SecretString="w", VersionStages=labels)
    assert (
        "at 'versionStages' failed to satisfy constraint: Member must have length less than or equal to 20"
        in (err["Error"]["Message"])
    )
    # 19 new labels + AWSCURRENT elsewhere stays within any reading of the 20-label quota
    ok = sm_raw.put_secret_value(SecretId=name, SecretString="w", VersionStages=labels[:19])
    assert set(ok["VersionStages"]) == set(labels[:19])


# --- ListSecretVersionIds paging --------------------------------------------------------------------
def test_list_secret_version_ids_paging(sm, name):
    ids = {sm.create_secret(Name=name, SecretString="v0")["VersionId"]: {"AWSCURRENT"}}
    for i in range(6):
        r = sm.put_secret_value(SecretId=name, SecretString=f"v{i + 1}", VersionStages=[f"LABEL{i}"])
        ids[r["VersionId"]] = {f"LABEL{i}"}
    seen: dict[str, set[str]] = {}
    pages = 0
    kwargs: dict[str, Any] = {"SecretId": name, "MaxResults": 2}
    while True:
        resp = sm.list_secret_version_ids(**kwargs)
        pages += 1
        assert len(resp["Versions"]) <= 2
        for v in resp["Versions"]:
            assert v["VersionId"] not in seen
            seen[v["VersionId"]] = set(v["VersionStages"])
        if "NextToken" not in resp:
            assert_keys(resp, LIST_KEYS)
            break
        assert_keys(resp, LIST_KEYS | {"NextToken"})
        kwargs["NextToken"] = resp["NextToken"]
        assert pages < 20
    assert seen == ids
    assert pages >= 4


def test_list_secret_version_ids_bad_next_token(sm, name):
    sm.create_secret(Name=name, SecretString="v")
    with expect_error("InvalidNextTokenException"):
        sm.list_secret_version_ids(SecretId=name, NextToken="garbage-" + uuid.uuid4().hex)


@pytest.mark.parametrize(
    ("value", "constraint"),
    [(0, "greater than or equal to 1"), (101, "less than or equal to 100")],
)
def test_list_secret_version_ids_max_results_range(sm_raw, name, value, constraint):
    sm_raw.create_secret(Name=name, SecretString="v")
    with expect_error("ValidationException") as err:
        sm_raw.list_secret_version_ids(SecretId=name, MaxResults=value)
    assert (
        f"Value '{value}' at 'maxResults' failed to satisfy constraint: Member must have value {constraint}"
        in (err["Error"]["Message"])
    )
