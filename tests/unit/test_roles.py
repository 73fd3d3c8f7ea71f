"""IAM roles over the SQLite store: creation and its checks, trust policies as IAM checks them,
inline role policies, deletion (DeleteConflict) and the sessions it ends."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from strongroom.crypto.sealing import SealingBox
from strongroom.errors import (
    InvalidParameterException,
    InvalidRequestException,
    LimitExceededException,
    MalformedPolicyDocumentException,
    ResourceNotFoundException,
    ValidationException,
)
from strongroom.iam.identities import Identities
from strongroom.store.base import Conflict
from strongroom.store.sqlite import SqliteStore

ACCOUNT, OTHER = "123456789012", "210987654321"
BOX = SealingBox(bytes(range(32)), "test/access-keys", legacy=True)
READ_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
})
T = TypeVar("T")


def trust(*principals: Any, action: Any = "sts:AssumeRole", **extra: Any) -> str:
    statements = [{"Effect": "Allow", "Principal": p, "Action": action, **extra} for p in principals]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


ACCOUNT_TRUST = trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
LAMBDA_TRUST = trust({"Service": "lambda.amazonaws.com"})


def with_ids(tmp_path: Path, body: Callable[[Identities], Awaitable[T]]) -> T:
    async def main() -> T:
        store = SqliteStore(tmp_path / "data" / "strongroom.db")
        await store.migrate()
        try:
            return await body(Identities(store, BOX, cache_ttl=0.0))
        finally:
            await store.close()

    return asyncio.run(main())


def test_create_get_list(tmp_path: Path) -> None:
    async def body(ids: Identities) -> None:
        role = await ids.roles.create_role(ACCOUNT, "Reader", ACCOUNT_TRUST, description="reads things")
        assert role.arn == f"arn:aws:iam::{ACCOUNT}:role/Reader"
        assert re.fullmatch(r"AROA[A-Z2-7]{16}", role.role_id)
        assert (role.path, role.max_session_duration, role.trust_policy) == ("/", 3600, ACCOUNT_TRUST)
        assert role.description == "reads things"
        assert await ids.roles.get_role(ACCOUNT, "Reader") == role
        await ids.roles.create_role(ACCOUNT, "Admin", LAMBDA_TRUST, max_session_duration=43200)
        await ids.roles.create_role(OTHER, "Reader", trust({"AWS": OTHER}))  # names are per account
        assert [r.role_name for r in await ids.roles.list_roles(ACCOUNT)] == ["Admin", "Reader"]
        assert [r.arn for r in await ids.roles.list_roles(OTHER)] == [f"arn:aws:iam::{OTHER}:role/Reader"]
        with pytest.raises(ResourceNotFoundException) as missing:
            await ids.roles.get_role(ACCOUNT, "Nobody")
        assert missing.value.message == "The role with name Nobody cannot be found."

    with_ids(tmp_path, body)


def test_role_names_are_unique_regardless_of_case(tmp_path: Path) -> None:
    async def body(ids: Identities) -> None:
        await ids.roles.create_role(ACCOUNT, "Reader", ACCOUNT_TRUST)
        for name in ("Reader", "READER", "reader"):
            with pytest.raises(Conflict) as taken:
                await ids.roles.create_role(ACCOUNT, name, ACCOUNT_TRUST)
            assert str(taken.value) == f"Role with name {name} already exists."

    with_ids(tmp_path, body)


@pytest.mark.parametrize("name", ["", "a" * 65, "with space", "slash/name", "colon:name", "ümlaut"])
def test_invalid_role_names(tmp_path: Path, name: str) -> None:
    async def body(ids: Identities) -> None:
        with pytest.raises(InvalidParameterException):
            await ids.roles.create_role(ACCOUNT, name, ACCOUNT_TRUST)

    with_ids(tmp_path, body)


@pytest.mark.parametrize(
    ("duration", "description", "message"),
    [
        (3599, None, "Value '3599' at 'maxSessionDuration' failed to satisfy constraint: Member must have value "
                     "greater than or equal to 3600"),
        (43201, None, "Value '43201' at 'maxSessionDuration' failed to satisfy constraint: Member must have value "
                      "less than or equal to 43200"),
        (3600, "d" * 1001, "at 'description' failed to satisfy constraint: Member must have length less than or "
                           "equal to 1000"),
        (3600, "tab\u2028", "at 'description' failed to satisfy constraint: Member must satisfy regular expression"),
    ],
)
def test_role_settings_are_checked(tmp_path: Path, duration: int, description: str | None, message: str) -> None:
    async def body(ids: Identities) -> None:
        with pytest.raises(ValidationException) as refused:
            await ids.roles.create_role(
                ACCOUNT, "R", ACCOUNT_TRUST, max_session_duration=duration, description=description
            )
        assert refused.value.message.startswith("1 validation error detected: Value ")
        assert message in refused.value.message
        assert await ids.roles.list_roles(ACCOUNT) == []

    with_ids(tmp_path, body)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"Version": "2012-10-17", "Statement": [', "This policy contains invalid Json"),
        (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Principal": {"AWS": ACCOUNT},
                                                            "Action": "sts:AssumeRole"}]}),
         'Syntax errors in policy. Statement 0: Effect must be "Allow" or "Deny"'),
        (json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole", "Resource": "*"}]}),
         "Has prohibited field Resource"),
        (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}),
         "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a "
         "statement with no principals!"),
        (trust({"AWS": ACCOUNT}, action="secretsmanager:GetSecretValue"),
         "AssumeRole policy may only specify STS AssumeRole actions."),
        (trust({"AWS": ACCOUNT}, action=["sts:AssumeRole", "s3:*"]),
         "AssumeRole policy may only specify STS AssumeRole actions."),
        (trust({"AWS": f"arn:aws:iam::{ACCOUNT}:user/ghost"}),
         f'Invalid principal in policy: "AWS":"arn:aws:iam::{ACCOUNT}:user/ghost"'),
        (trust({"AWS": f"arn:aws:iam::{ACCOUNT}:role/Ghost"}),
         f'Invalid principal in policy: "AWS":"arn:aws:iam::{ACCOUNT}:role/Ghost"'),
        (trust({"AWS": "not-a-principal"}), "Invalid principal in policy: Statement 0"),
        (trust({"Service": "lambda"}), "Invalid principal in policy: Statement 0"),
    ],
)
def test_trust_policies_are_checked_as_iam_checks_them(tmp_path: Path, document: str, message: str) -> None:
    async def body(ids: Identities) -> None:
        with pytest.raises(MalformedPolicyDocumentException) as refused:
            await ids.roles.create_role(ACCOUNT, "R", document)
        assert refused.value.message.startswith(message), refused.value.message
        assert await ids.roles.list_roles(ACCOUNT) == []

    with_ids(tmp_path, body)


def test_trust_policies_accept_existing_principals_and_sts_actions(tmp_path: Path) -> None:
    async def body(ids: Identities) -> None:
        alice = await ids.create_user(ACCOUNT, "alice")
        first = await ids.roles.create_role(ACCOUNT, "First", trust({"AWS": alice.arn}))
        documents = [
            trust({"AWS": [first.arn, OTHER, f"arn:aws:iam::{OTHER}:root"]}),
            trust({"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/First/ci"}),
            trust({"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]}),
            trust("*", Condition={"StringEquals": {"sts:ExternalId": "xyz"}}),
            trust({"AWS": ACCOUNT}, action=["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]),
            trust({"AWS": ACCOUNT}, action="sts:*"),
            trust({"AWS": ACCOUNT}, action="*"),
        ]
        for n, document in enumerate(documents):
            await ids.roles.create_role(ACCOUNT, f"R{n}", document)

    with_ids(tmp_path, body)


def test_a_trust_policy_past_2048_characters_is_refused(tmp_path: Path) -> None:
    long_id = {"StringEquals": {"sts:ExternalId": "x" * 1879}}
    fits = json.dumps(json.loads(trust({"AWS": ACCOUNT}, Condition=long_id)), indent=8)
    assert len("".join(fits.split())) == 2048 < len(fits)

    async def body(ids: Identities) -> None:
        await ids.roles.create_role(ACCOUNT, "Fits", fits)  # whitespace does not count
        too_long = trust({"AWS": ACCOUNT}, Condition={"StringEquals": {"sts:ExternalId": "x" * 2100}})
        with pytest.raises(LimitExceededException) as refused:
            await ids.roles.create_role(ACCOUNT, "TooLong", too_long)
        assert refused.value.message == "Cannot exceed quota for ACLSizePerRole: 2048"

    with_ids(tmp_path, body)


def test_update_the_trust_policy(tmp_path: Path) -> None:
    async def body(ids: Identities) -> None:
        await ids.roles.create_role(ACCOUNT, "R", ACCOUNT_TRUST)
        await ids.roles.update_trust_policy(ACCOUNT, "R", LAMBDA_TRUST)
        assert (await ids.roles.get_role(ACCOUNT, "R")).trust_policy == LAMBDA_TRUST
        with pytest.raises(MalformedPolicyDocumentException):
            await ids.roles.update_trust_policy(ACCOUNT, "R", trust({"AWS": ACCOUNT}, action="s3:*"))
        assert (await ids.roles.get_role(ACCOUNT, "R")).trust_policy == LAMBDA_TRUST
        with pytest.raises(ResourceNotFoundException) as missing:
            await ids.roles.update_trust_policy(ACCOUNT, "Ghost", LAMBDA_TRUST)
        assert missing.value.message == "The role with name Ghost cannot be found."

    with_ids(tmp_path, body)


def test_inline_role_policies_and_delete_conflict(tmp_path: Path) -> None:
    async def body(ids: Identities) -> None:
        await ids.roles.create_role(ACCOUNT, "R", ACCOUNT_TRUST)
        await ids.put_policy(ACCOUNT, "role", "R", "read", READ_POLICY)
        assert await ids.list_policies(ACCOUNT, "role", "R") == [("read", READ_POLICY)]
        with pytest.raises(InvalidRequestException) as conflict:
            await ids.roles.delete_role(ACCOUNT, "R")
        assert conflict.value.message == "Cannot delete entity, must delete policies first."
        assert await ids.roles.get_role(ACCOUNT, "R")
        await ids.delete_policy(ACCOUNT, "role", "R", "read")
        await ids.roles.delete_role(ACCOUNT, "R")
        assert await ids.roles.list_roles(ACCOUNT) == []
        with pytest.raises(ResourceNotFoundException) as missing:
            await ids.roles.delete_role(ACCOUNT, "R")
        assert missing.value.message == "The role with name R cannot be found."
        with pytest.raises(ResourceNotFoundException) as no_owner:
            await ids.put_policy(ACCOUNT, "role", "R", "read", READ_POLICY)
        assert no_owner.value.message == "The role with name R cannot be found."
        with pytest.raises(ResourceNotFoundException) as no_policy:
            await ids.delete_policy(ACCOUNT, "role", "R", "read")
        assert no_policy.value.message == "The role policy with name read cannot be found."

    with_ids(tmp_path, body)


def test_deleting_a_role_ends_its_sessions_and_a_new_role_of_the_name_does_not_revive_them(tmp_path: Path) -> None:
    async def body(ids: Identities) -> None:
        role = await ids.roles.create_role(ACCOUNT, "R", ACCOUNT_TRUST)
        issued = await ids.role_sessions.issue(role, "s1", 900)
        assert issued is not None
        key = issued.credentials.access_key_id
        assert await ids.resolve(key) is not None
        await ids.roles.delete_role(ACCOUNT, "R")
        assert await ids.resolve(key) is None
        again = await ids.roles.create_role(ACCOUNT, "R", ACCOUNT_TRUST)
        assert again.role_id != role.role_id
        assert await ids.resolve(key) is None
        async with ids.store.read() as tx:
            row = await tx.x.fetchrow("SELECT COUNT(*) AS n FROM iam_role_sessions")  # type: ignore[attr-defined]
        assert row is not None and row["n"] == 0

    with_ids(tmp_path, body)
