"""The unit of work of secrets/changes.py: one transaction per change, one outbox event, no plaintext.

Every mutation leaves exactly one outbox event naming what changed; a KmsKeyId change re-encrypts
in the same transaction (an error or a kill in the middle leaves the old state); a key that changes
between resolving and locking makes the change start over, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from strongroom.crypto import envelope
from strongroom.errors import InvalidRequestException
from strongroom.kms.keyring import KeyRing, Sealer
from strongroom.kms.master_key import MasterKey
from strongroom.secrets import changes, outbox
from strongroom.secrets.create import create_secret
from strongroom.secrets.deletion import delete_secret, purge_due, restore_secret
from strongroom.secrets.describe import describe_secret
from strongroom.secrets.resource_policy import delete_resource_policy, put_resource_policy
from strongroom.secrets.tags import tag_resource, untag_resource
from strongroom.secrets.update import update_secret, update_secret_version_stage
from strongroom.secrets.values import get_secret_value, put_secret_value
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import OutboxEvent
from strongroom.store.sqlite import SqliteStore

ACCOUNT, REGION = "111111111111", "us-east-1"
MASTER = bytes(range(32))
POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "secretsmanager:GetSecretValue", '
    '"Resource": "*"}]}'
)
T1, T2, T3 = "a" * 32, "b" * 32, "c" * 32


def ctx(action: str, now: float | None = None) -> RequestContext:
    return RequestContext(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:root", now or time.time(), action=action)


def with_services(tmp_path: Path, body: Callable[[Services], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        store = SqliteStore(tmp_path / "strongroom.db")
        await store.migrate()
        try:
            return await body(Services.build(store, MasterKey(MASTER)))
        finally:
            await store.close()

    return asyncio.run(main())


async def events(services: Services) -> list[OutboxEvent]:
    async with services.store.read() as tx:
        return await tx.outbox.events_after(0, 1000)


async def call(services: Services, handler: Any, action: str, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = await handler(services, ctx(action), params)
    return result


# --- one event per change ------------------------------------------------------------------------
def test_every_mutation_appends_one_event_and_reads_none(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        arn = (await call(services, create_secret, "CreateSecret", Name="db", SecretString="v1",
                          ClientRequestToken=T1, Tags=[{"Key": "team", "Value": "a"}]))["ARN"]
        await call(services, put_secret_value, "PutSecretValue", SecretId="db", SecretString="v2",
                   ClientRequestToken=T2)
        await call(services, update_secret, "UpdateSecret", SecretId="db", Description="d")
        key = await services.keyring.create_key(ACCOUNT, REGION, alias="alias/app")
        await call(services, update_secret, "UpdateSecret", SecretId="db", KmsKeyId="alias/app",
                   SecretString="v3", ClientRequestToken=T3)
        await call(services, update_secret_version_stage, "UpdateSecretVersionStage", SecretId="db",
                   VersionStage="blue", MoveToVersionId=T1)
        await call(services, tag_resource, "TagResource", SecretId="db", Tags=[{"Key": "env", "Value": "p"}])
        await call(services, untag_resource, "UntagResource", SecretId="db", TagKeys=["team"])
        await call(services, put_resource_policy, "PutResourcePolicy", SecretId="db", ResourcePolicy=POLICY)
        await call(services, delete_resource_policy, "DeleteResourcePolicy", SecretId="db")
        await call(services, delete_secret, "DeleteSecret", SecretId="db", RecoveryWindowInDays=7)
        await call(services, restore_secret, "RestoreSecret", SecretId="db")
        await call(services, delete_secret, "DeleteSecret", SecretId="db", RecoveryWindowInDays=7)
        await call(services, restore_secret, "RestoreSecret", SecretId="db")
        other = (await call(services, create_secret, "CreateSecret", Name="tmp"))["ARN"]
        await call(services, delete_secret, "DeleteSecret", SecretId="tmp", ForceDeleteWithoutRecovery=True)
        doomed = (await call(services, create_secret, "CreateSecret", Name="old"))["ARN"]
        await call(services, delete_secret, "DeleteSecret", SecretId="old", RecoveryWindowInDays=7)
        assert await purge_due(services, time.time() + 8 * 86400) == 1

        got = await events(services)
        assert [(e.kind, e.secret_arn) for e in got] == [
            ("CreateSecret", arn), ("PutSecretValue", arn), ("UpdateSecret", arn), ("UpdateSecret", arn),
            ("UpdateSecretVersionStage", arn), ("TagResource", arn), ("UntagResource", arn),
            ("PutResourcePolicy", arn), ("DeleteResourcePolicy", arn), ("DeleteSecret", arn),
            ("RestoreSecret", arn), ("DeleteSecret", arn), ("RestoreSecret", arn),
            ("CreateSecret", other), ("DeleteSecret", other), ("CreateSecret", doomed), ("DeleteSecret", doomed),
            ("PurgeSecret", doomed),
        ]
        assert [e.id for e in got] == sorted(e.id for e in got)
        assert all((e.account, e.region) == (ACCOUNT, REGION) for e in got)
        details = [orjson.loads(e.detail) for e in got]
        assert (got[0].version_id, details[0]) == (T1, {"versions": [T1], "labels": ["AWSCURRENT"]})
        assert (got[1].version_id, details[1]) == (T2, {"versions": [T2], "labels": ["AWSCURRENT"]})
        assert details[2] == {"fields": ["description"]}
        assert got[3].version_id == T3
        assert details[3] == {"fields": ["kms_key_id"], "versions": [T3], "resealed": [T2], "labels": ["AWSCURRENT"]}
        assert details[4] == {"labels": ["blue"]}
        assert details[5] == details[6] == {"fields": ["tags"]}
        assert details[7] == details[8] == {"fields": ["resource_policy"]}
        assert details[9] == {"fields": ["deleted_at", "deletion_date"]}
        assert details[14] == details[17] == {"purged": True}
        async with services.store.read() as tx:
            secret = await tx.secrets.get_secret(ACCOUNT, REGION, name="db")
        assert secret is not None and secret.kms_key_id == "alias/app" and got[3].secret_id == secret.id
        assert key.arn

    with_services(tmp_path, body)


def test_reads_and_changes_that_change_nothing_append_no_event(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        await call(services, create_secret, "CreateSecret", Name="db", SecretString="v1", ClientRequestToken=T1)
        before = await events(services)
        await call(services, get_secret_value, "GetSecretValue", SecretId="db")  # records LastAccessedDate
        await call(services, describe_secret, "DescribeSecret", SecretId="db")
        await call(services, put_secret_value, "PutSecretValue", SecretId="db", SecretString="v1",
                   ClientRequestToken=T1)  # an identical retry
        await call(services, create_secret, "CreateSecret", Name="db", SecretString="v1", ClientRequestToken=T1)
        await call(services, restore_secret, "RestoreSecret", SecretId="db")  # not deleted
        await call(services, delete_resource_policy, "DeleteResourcePolicy", SecretId="db")  # none attached
        with pytest.raises(InvalidRequestException):  # refused: rolled back, no event
            await call(services, put_secret_value, "PutSecretValue", SecretId="db")
        assert await events(services) == before

    with_services(tmp_path, body)


# --- no plaintext in the outbox --------------------------------------------------------------------
def test_the_outbox_never_holds_a_value(tmp_path: Path) -> None:
    """Known values written through every path that seals: no column of any event holds them, in any encoding."""
    values = ["first-plaintext-Q7", "second-plaintext-Q7", "third-plaintext-Q7"]
    binary = b"\x00binary-plaintext-Q7\xff"

    async def body(services: Services) -> None:
        await call(services, create_secret, "CreateSecret", Name="db", SecretString=values[0], ClientRequestToken=T1,
                   Description="desc-Q7", Tags=[{"Key": "k", "Value": "tag-value-Q7"}])
        await call(services, put_secret_value, "PutSecretValue", SecretId="db", SecretBinary=binary,
                   ClientRequestToken=T2)
        await services.keyring.create_key(ACCOUNT, REGION, alias="alias/app")
        await call(services, update_secret, "UpdateSecret", SecretId="db", KmsKeyId="alias/app",
                   SecretString=values[1], ClientRequestToken=T3)
        await call(services, put_secret_value, "PutSecretValue", SecretId="db", SecretString=values[2],
                   ClientRequestToken="d" * 32)
        await call(services, put_resource_policy, "PutResourcePolicy", SecretId="db", ResourcePolicy=POLICY)
        async with services.store.read() as tx:
            rows = await tx.x.fetch("SELECT * FROM outbox_events")  # type: ignore[attr-defined]
        assert len(rows) == 5
        cells = [cell for row in rows for cell in tuple(row)]
        text = "\n".join(str(cell) for cell in cells)
        raw = b"\n".join(cell if isinstance(cell, bytes) else str(cell).encode() for cell in cells)
        for secret in [*(v.encode() for v in values), binary]:
            for form in (secret, base64.b64encode(secret), secret.hex().encode()):
                assert form not in raw
        for other in ("desc-Q7", "tag-value-Q7", "GetSecretValue"):  # descriptions, tags, policies: names only
            assert other not in text

    with_services(tmp_path, body)


# --- atomic re-encryption under a new key ------------------------------------------------------------
async def _two_labelled_versions(services: Services) -> None:
    await call(services, create_secret, "CreateSecret", Name="db", SecretString="one", ClientRequestToken=T1)
    await call(services, put_secret_value, "PutSecretValue", SecretId="db", SecretString="two", ClientRequestToken=T2)
    await services.keyring.create_key(ACCOUNT, REGION, alias="alias/new")


async def _state(services: Services) -> tuple[Any, dict[str, str], int]:
    """The secret's recorded key, the key each labelled version is sealed under, the number of events."""
    async with services.store.read() as tx:
        secret = await tx.secrets.get_secret(ACCOUNT, REGION, name="db")
        assert secret is not None
        keys = {}
        for version_id in await tx.secrets.stage_map(secret.id):
            version = await tx.secrets.get_version(secret.id, version_id=version_id)
            assert version is not None and version.ciphertext is not None
            keys[version_id] = envelope.key_id_of(version.ciphertext)
    return secret.kms_key_id, keys, len(await events(services))


def test_a_failure_in_the_middle_of_a_key_change_leaves_the_old_state(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        await _two_labelled_versions(services)
        before = await _state(services)
        sealed = []
        original = Sealer.seal

        def seal_then_fail(self: Sealer, plaintext: bytes, aad: bytes) -> bytes:
            if sealed:
                raise RuntimeError("crash while re-encrypting")
            sealed.append(aad)
            return original(self, plaintext, aad)

        Sealer.seal = seal_then_fail  # type: ignore[method-assign]
        try:
            with pytest.raises(RuntimeError):
                await call(services, update_secret, "UpdateSecret", SecretId="db", KmsKeyId="alias/new")
        finally:
            Sealer.seal = original  # type: ignore[method-assign]
        assert len(sealed) == 1  # one version was re-encrypted inside the transaction before the crash
        assert await _state(services) == before
        await call(services, update_secret, "UpdateSecret", SecretId="db", KmsKeyId="alias/new")
        key, keys, count = await _state(services)
        new = (await services.keyring.resolve(ACCOUNT, REGION, "alias/new")).arn
        assert (key, set(keys.values()), count) == ("alias/new", {new}, before[2] + 1)
        for version_id, stage, value in ((T2, "AWSCURRENT", "two"), (T1, "AWSPREVIOUS", "one")):
            got = await call(services, get_secret_value, "GetSecretValue", SecretId="db", VersionStage=stage)
            assert (got["VersionId"], got["SecretString"]) == (version_id, value)

    with_services(tmp_path, body)


_KILL_IN_THE_MIDDLE = """
import asyncio, os, signal, sys, time
from pathlib import Path
from strongroom.kms.master_key import MasterKey
from strongroom.secrets.update import update_secret
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.sql.secrets import SqlSecrets
from strongroom.store.sqlite import SqliteStore

original = SqlSecrets.update_version_ciphertext

async def update_then_die(self, secret_id, version_id, ciphertext):
    await original(self, secret_id, version_id, ciphertext)
    os.kill(os.getpid(), signal.SIGKILL)  # the first version is re-encrypted, not yet committed

SqlSecrets.update_version_ciphertext = update_then_die

async def main():
    store = SqliteStore(Path(sys.argv[1]))
    services = Services.build(store, MasterKey(bytes(range(32))))
    ctx = RequestContext("111111111111", "us-east-1", "arn:aws:iam::111111111111:root", time.time(),
                         action="UpdateSecret")
    await update_secret(services, ctx, {"SecretId": "db", "KmsKeyId": "alias/new"})

asyncio.run(main())
"""


def test_a_process_killed_in_the_middle_of_a_key_change_leaves_the_old_state(tmp_path: Path) -> None:
    with_services(tmp_path, _two_labelled_versions)
    before = with_services(tmp_path, _state)
    done = subprocess.run(
        [sys.executable, "-c", _KILL_IN_THE_MIDDLE, str(tmp_path / "strongroom.db")], capture_output=True, timeout=60
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert with_services(tmp_path, _state) == before

    async def readable(services: Services) -> None:
        for stage, value in (("AWSCURRENT", "two"), ("AWSPREVIOUS", "one")):
            got = await call(services, get_secret_value, "GetSecretValue", SecretId="db", VersionStage=stage)
            assert got["SecretString"] == value

    with_services(tmp_path, readable)


# --- a key that changed meanwhile ----------------------------------------------------------------------
def test_a_key_changed_between_resolving_and_locking_makes_the_change_start_over(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        await call(services, create_secret, "CreateSecret", Name="db", SecretString="one", ClientRequestToken=T1)
        new = await services.keyring.create_key(ACCOUNT, REGION, alias="alias/new")
        resolved: list[str | None] = []
        original = KeyRing.sealer

        async def sealer_then_rekey(self: KeyRing, account: str, region: str, ref: str | None) -> Sealer:
            got = await original(self, account, region, ref)
            resolved.append(ref)
            if len(resolved) == 1:  # another request moves the secret to another key meanwhile
                async with services.store.write() as tx:
                    secret = await tx.secrets.get_secret(ACCOUNT, REGION, name="db")
                    assert secret is not None
                    await tx.secrets.update_secret(secret.id, kms_key_id="alias/new")
            return got

        KeyRing.sealer = sealer_then_rekey  # type: ignore[method-assign]
        try:
            await call(services, put_secret_value, "PutSecretValue", SecretId="db", SecretString="two",
                       ClientRequestToken=T2)
        finally:
            KeyRing.sealer = original  # type: ignore[method-assign]
        assert resolved == [None, "alias/new"]  # resolved again after the change was seen
        async with services.store.read() as tx:
            secret = await tx.secrets.get_secret(ACCOUNT, REGION, name="db")
            assert secret is not None
            version = await tx.secrets.get_version(secret.id, version_id=T2)
        assert version is not None and version.ciphertext is not None
        assert envelope.key_id_of(version.ciphertext) == new.arn  # sealed under the key it has now
        assert [e.kind for e in await events(services)] == ["CreateSecret", "PutSecretValue"]

    with_services(tmp_path, body)


def test_a_key_that_keeps_changing_gives_up_after_a_bounded_number_of_attempts(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        await call(services, create_secret, "CreateSecret", Name="db", SecretString="one", ClientRequestToken=T1)
        await services.keyring.create_key(ACCOUNT, REGION, alias="alias/a")
        await services.keyring.create_key(ACCOUNT, REGION, alias="alias/b")
        original = KeyRing.sealer
        calls = 0

        async def sealer_then_rekey(self: KeyRing, account: str, region: str, ref: str | None) -> Sealer:
            nonlocal calls
            calls += 1
            got = await original(self, account, region, ref)
            async with services.store.write() as tx:
                secret = await tx.secrets.get_secret(ACCOUNT, REGION, name="db")
                assert secret is not None
                await tx.secrets.update_secret(secret.id, kms_key_id=f"alias/{'ab'[calls % 2]}")
            return got

        before = len(await events(services))
        KeyRing.sealer = sealer_then_rekey  # type: ignore[method-assign]
        try:
            with pytest.raises(InvalidRequestException, match="changed while the request ran"):
                await call(services, put_secret_value, "PutSecretValue", SecretId="db", SecretString="two",
                           ClientRequestToken=T2)
        finally:
            KeyRing.sealer = original  # type: ignore[method-assign]
        assert calls == changes.MAX_ATTEMPTS
        async with services.store.read() as tx:
            secret = await tx.secrets.get_secret(ACCOUNT, REGION, name="db")
            assert secret is not None
            assert await tx.secrets.get_version(secret.id, version_id=T2) is None
        assert len(await events(services)) == before

    with_services(tmp_path, body)


# --- retention --------------------------------------------------------------------------------------
def test_the_retention_job_prunes_old_events_only_and_commits_nothing_when_none_is_due(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        now = time.time()
        for i, name in enumerate(("a", "b", "c", "d")):
            await create_secret(services, ctx("CreateSecret", now - (3 - i) * 5 * 86400), {"Name": name})
        store = services.store
        assert isinstance(store, SqliteStore)
        commits = store._writer.total_changes
        assert await outbox.prune_outbox(store, now - 10 * 86400) == 0
        assert store._writer.total_changes == commits  # nothing due: nothing written
        assert await outbox.prune_outbox(store, now, batch=1) == 2  # 15 and 10 days old; in batches of one
        assert [e.secret_arn.split(":")[-1][:1] for e in await events(services)] == ["c", "d"]

    with_services(tmp_path, body)


def test_events_are_readable_after_a_position_in_order(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        for name in ("a", "b", "c"):
            await call(services, create_secret, "CreateSecret", Name=name)
        everything = await events(services)
        async with services.store.read() as tx:
            assert await tx.outbox.events_after(everything[0].id, 1) == [everything[1]]
            assert await tx.outbox.events_after(everything[-1].id, 10) == []

    with_services(tmp_path, body)


def test_each_event_records_its_own_time(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        await create_secret(services, ctx("CreateSecret", 1_700_000_000.0), {"Name": "a"})
        [event] = await events(services)
        assert event.created_at == 1_700_000_000.0

    with_services(tmp_path, body)


def test_purge_job_emits_events_for_each_purged_secret(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        for name in ("a", "b", "c"):
            await call(services, create_secret, "CreateSecret", Name=name)
            await call(services, delete_secret, "DeleteSecret", SecretId=name, RecoveryWindowInDays=7)
        assert await purge_due(services, time.time() + 8 * 86400, batch=2) == 3
        purged = [e for e in await events(services) if e.kind == "PurgeSecret"]
        assert len(purged) == 3 and len({e.secret_id for e in purged}) == 3

    with_services(tmp_path, body)


def test_outbox_column_detail_is_json_without_values_for_binary_changes(tmp_path: Path) -> None:
    async def body(services: Services) -> None:
        secret = os.urandom(64)
        await call(services, create_secret, "CreateSecret", Name="db", SecretBinary=secret, ClientRequestToken=T1)
        [event] = await events(services)
        assert orjson.loads(event.detail) == {"versions": [T1], "labels": ["AWSCURRENT"]}

    with_services(tmp_path, body)
