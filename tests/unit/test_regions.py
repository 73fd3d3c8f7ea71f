"""Region names in credential scopes (strongroom.regions), the ``regions`` setting, and ARNs made
with any accepted region reading back (issue 13, item 5)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import botocore
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_session_credentials import ACCOUNT, with_ids

from strongroom.errors import InvalidSignatureException
from strongroom.iam.authenticate import DevAuthenticator, SigV4Authenticator
from strongroom.iam.identities import Identities
from strongroom.regions import MAX_REGION_LENGTH, REGION_PATTERN, AcceptedRegions, is_region_name
from strongroom.secrets.arns import SecretLookup, new_secret_arn, resolve_secret_id
from strongroom.server.config import Config
from strongroom.sigv4 import Credentials, sign_headers
from strongroom.store.sqlite import SqliteStore

BAD = ["", "*", "..", "x:y", "US-EAST-1", "Us-east-1", "a" * 200, "us_east_1", "us-east-1 ", "us-east-", "-1",
       "aws-global", "local", "us-east-1/x", "us-\u0435ast-1"]  # the last with a Cyrillic "e"  # fmt: skip


def _partition_regions() -> list[str]:
    """Every region of every partition botocore knows (its pseudo-regions ``*-global`` aside)."""
    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    return [name for part in data["partitions"] for name in part["regions"] if not name.endswith("-global")]


def test_every_real_region_is_well_formed() -> None:
    regions = _partition_regions()
    assert {"us-east-1", "us-gov-west-1", "cn-north-1", "us-iso-east-1", "us-isob-east-1", "eusc-de-east-1"} <= set(
        regions
    )
    assert [name for name in regions if not is_region_name(name)] == []


@pytest.mark.parametrize("name", BAD)
def test_malformed_region_names_are_refused(name: str) -> None:
    assert not is_region_name(name)
    assert name not in AcceptedRegions()


@given(st.from_regex(REGION_PATTERN, fullmatch=True))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_well_formed_names_are_short_lower_case_and_colon_free(name: str) -> None:
    assert is_region_name(name) and name in AcceptedRegions()
    assert len(name) <= MAX_REGION_LENGTH and name == name.lower() and ":" not in name and "/" not in name


def test_a_configured_set_narrows_the_regions() -> None:
    accepted = AcceptedRegions(["eu-west-1", "eu-central-1"])
    assert "eu-west-1" in accepted and "us-east-1" not in accepted and 5 not in accepted
    for bad in (["US-EAST-1"], [], ["eu-west-1", "x:y"], [["eu-west-1"]]):
        with pytest.raises(ValueError):
            AcceptedRegions(bad)  # type: ignore[arg-type]


def test_regions_setting(tmp_path: Path) -> None:
    settings_file = tmp_path / "strongroom.toml"
    settings_file.write_text('regions = ["eu-west-1", "us-gov-west-1"]\n')
    assert Config.load(settings_file, data_dir=tmp_path).regions == ["eu-west-1", "us-gov-west-1"]
    assert Config(data_dir=tmp_path).regions is None  # default: any well-formed region
    for bad, message in (
        ("us-east-1", "setting regions must be list or null"),
        ([], "setting regions: name at least one region"),
        (["US-EAST-1"], "setting regions: not region names (lower case, like us-east-1): 'US-EAST-1'"),
    ):
        with pytest.raises(ValueError) as caught:
            Config(data_dir=tmp_path, regions=bad)  # type: ignore[arg-type]
        assert str(caught.value).startswith(message)


# --- the authenticators enforce it -------------------------------------------------------------
def _request(creds: Credentials, region: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    headers = {"host": "localhost:7420", "content-type": "application/x-amz-json-1.1"}
    body = b"{}"
    headers.update(
        sign_headers("POST", "http://localhost:7420/", headers, body, creds, region, "secretsmanager", time.time())
    )
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()], body


def test_authentication_refuses_malformed_and_unserved_regions(tmp_path: Path) -> None:
    async def body(ids: Identities, store: SqliteStore) -> None:
        await ids.create_user(ACCOUNT, "alice")
        key = await ids.create_access_key(ACCOUNT, "alice")
        creds = Credentials(key.access_key_id, key.secret_access_key)
        served = AcceptedRegions(["eu-west-1"])
        authenticators = [SigV4Authenticator(ids), DevAuthenticator(ACCOUNT)]
        narrowed = [SigV4Authenticator(ids, regions=served), DevAuthenticator(ACCOUNT, served)]
        for authenticator in authenticators:
            wire, payload = _request(creds, "us-gov-west-1")
            caller = await authenticator.authenticate("POST", b"/", b"", wire, payload, "secretsmanager")
            assert caller.region == "us-gov-west-1"
        # sendable in a Credential: latin-1, and no "/" (scope separator) or space (parameter separator)
        sendable = [r for r in BAD if r.isascii() and not set(r) & {"/", " "}]
        for authenticator, region in [(a, r) for a in authenticators for r in sendable] + [
            (a, "us-east-1") for a in narrowed
        ]:
            wire, payload = _request(creds, region)
            with pytest.raises(InvalidSignatureException) as caught:
                await authenticator.authenticate("POST", b"/", b"", wire, payload, "secretsmanager")
            assert caught.value.message == f"Credential should be scoped to a valid region, not '{region}'. "
        for authenticator in narrowed:
            wire, payload = _request(creds, "eu-west-1")
            assert (await authenticator.authenticate("POST", b"/", b"", wire, payload, "secretsmanager")).region == (
                "eu-west-1"
            )

    with_ids(tmp_path, body)


# --- every ARN the server can make reads back -----------------------------------------------------
_NAMES = st.text(alphabet="ABCxyz019/_+=.@!-", min_size=1, max_size=40)  # AWS's secret-name characters


@given(region=st.from_regex(REGION_PATTERN, fullmatch=True), name=_NAMES)
@settings(max_examples=300, deadline=None, derandomize=True)
def test_arns_of_accepted_regions_read_back(region: str, name: str) -> None:
    arn = new_secret_arn(region, ACCOUNT, name)
    assert resolve_secret_id(arn, ACCOUNT, region) == SecretLookup(ACCOUNT, region, arn=arn)
    partial = arn[:-7]  # without "-XXXXXX": the name, unless the name itself ends like a suffix
    found = resolve_secret_id(partial, ACCOUNT, region)
    assert found in (SecretLookup(ACCOUNT, region, name=name), SecretLookup(ACCOUNT, region, arn=partial))
