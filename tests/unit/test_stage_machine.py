"""Staging labels as a state machine: the store after every operation equals a model of AWS's rules.

The model (from secrets/versions.py and the AWS Secrets Manager user guide, "Secret versions"):

* a label is attached to at most one version of a secret;
* moving AWSCURRENT moves AWSPREVIOUS to the version AWSCURRENT left;
* a new version that becomes AWSCURRENT strips AWSPENDING from the version it replaces, unless
  AWSPENDING is among the new version's labels (a finished rotation);
* at most 20 labels across the versions of a secret, else LimitExceededException (nothing changes);
* versions without labels are deprecated; past the version quota the oldest deprecated versions at
  least 24 h old are removed, and if there are not enough of them: LimitExceededException.

The state machine scales the version quota down (MAX_VERSIONS = 4) so that pruning happens within a
few steps; a separate test exercises the real quota of 100.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from strongroom.errors import (
    ApiError,
    InvalidParameterException,
    LimitExceededException,
    ResourceExistsException,
    ResourceNotFoundException,
)
from strongroom.kms.master_key import MasterKey
from strongroom.secrets import versions
from strongroom.secrets.create import create_secret
from strongroom.secrets.update import update_secret_version_stage
from strongroom.secrets.values import get_secret_value, put_secret_value
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.sqlite import SqliteStore

ACCOUNT, REGION = "123456789012", "us-east-1"
NAME = "machine/secret"
CUR, PREV, PEND = "AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"
CUSTOM = [f"L{i}" for i in range(22)]  # more custom labels than the quota allows
DAY = 86400.0
T = TypeVar("T")


def token(n: int) -> str:
    """Deterministic ClientRequestTokens (uuid-shaped), so failures replay identically."""
    return str(uuid.UUID(int=n))


class Model:
    """AWS's staging rules over plain dicts."""

    def __init__(self, max_versions: int, max_labels: int) -> None:
        self.max_versions = max_versions
        self.max_labels = max_labels
        self.created: dict[str, float] = {}  # version id -> created at
        self.values: dict[str, str] = {}
        self.labels: dict[str, str] = {}  # label -> version id

    def stage_map(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for label, vid in self.labels.items():
            out.setdefault(vid, []).append(label)
        return {vid: sorted(labels) for vid, labels in out.items()}

    def ordered_versions(self) -> list[str]:
        return [vid for _, vid in sorted((c, v) for v, c in self.created.items())]

    def put(self, vid: str, value: str, stages: list[str], now: float) -> list[str]:
        """Apply PutSecretValue; return the labels the new version got."""
        if vid in self.created:
            if self.values[vid] != value:
                raise ResourceExistsException("immutable")
            return sorted(lab for lab, v in self.labels.items() if v == vid)  # a retry changes nothing
        if CUR not in self.labels and CUR not in stages:
            stages = [*stages, CUR]  # the first version of a secret always gets AWSCURRENT
        labels = dict(self.labels)
        if CUR in stages and CUR in labels:
            replaced = labels[CUR]
            labels[PREV] = replaced
            if labels.get(PEND) == replaced and PEND not in stages:
                del labels[PEND]
        for stage in stages:
            labels[stage] = vid
        if len(labels) > self.max_labels:
            raise LimitExceededException("labels")
        created = dict(self.created)
        created[vid] = now
        if len(created) > self.max_versions:
            labelled = set(labels.values())
            deprecated = sorted((c, v) for v, c in created.items() if v not in labelled and now - c >= DAY)
            excess = len(created) - self.max_versions
            if len(deprecated) < excess:
                raise LimitExceededException("versions")
            for _, doomed in deprecated[:excess]:
                del created[doomed]
            event("pruned a deprecated version")
        self.labels, self.created = labels, created
        self.values = {v: self.values.get(v, value) for v in created}
        return stages

    def move(self, label: str, move_to: str | None, remove_from: str | None) -> None:
        holder = self.labels.get(label)
        if move_to is not None:
            if move_to not in self.created:
                raise ResourceNotFoundException("no such version")
            if holder is not None and holder != move_to and remove_from != holder:
                raise InvalidParameterException("RemoveFromVersionId required")
            if holder == move_to:
                return
            labels = dict(self.labels)
            if label == CUR and CUR in labels:
                labels[PREV] = labels[CUR]
            labels[label] = move_to
            if len(labels) > self.max_labels:
                raise LimitExceededException("labels")
            self.labels = labels
        elif remove_from is not None:
            if holder != remove_from:
                raise InvalidParameterException("not attached there")
            if label == CUR:
                raise InvalidParameterException("AWSCURRENT can only be moved")
            del self.labels[label]
        else:
            raise InvalidParameterException("nothing to do")


def new_services(directory: Path) -> Services:
    store = SqliteStore(directory / "strongroom.db")
    return Services.build(store, MasterKey(os.urandom(32)))


def ctx_at(now: float) -> RequestContext:
    return RequestContext(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:root", now=now)


label_sets = st.lists(st.sampled_from([CUR, PEND, *CUSTOM]), min_size=1, max_size=7, unique=True)
any_label = st.sampled_from([CUR, PREV, PEND, *CUSTOM[:6]])


class StageMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._saved_max = versions.MAX_VERSIONS
        versions.MAX_VERSIONS = 4
        self.model = Model(max_versions=4, max_labels=versions.MAX_LABELS)
        self.dir = Path(tempfile.mkdtemp(prefix="stage-machine-"))
        self.loop = asyncio.new_event_loop()
        self.services = new_services(self.dir)
        self.now = 1_700_000_000.0
        self.counter = 0

    def teardown(self) -> None:
        versions.MAX_VERSIONS = self._saved_max
        self.loop.run_until_complete(self.services.store.close())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- helpers -------------------------------------------------------------------------
    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)  # type: ignore[arg-type]

    def call(self, op: Callable[[Services, RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]],
             params: dict[str, Any], model_op: Callable[[], object]) -> dict[str, Any] | None:
        """Run the operation and the model step; both succeed or both fail with the same error type."""
        expected: ApiError | None = None
        try:
            model_op()
        except ApiError as exc:
            expected = exc
        try:
            result = self.run(op(self.services, ctx_at(self.now), params))
        except ApiError as exc:
            assert expected is not None, f"store raised {exc.code}: {exc.message}; model accepted"
            assert type(exc) is type(expected), (exc.code, exc.message, expected.code)
            event(f"{op.__name__}: {exc.code}: {expected.message}")
            return None
        assert expected is None, f"model raised {expected.code}; store accepted {params}"
        event(f"{op.__name__}: ok")
        return result

    def next_token(self) -> str:
        self.counter += 1
        return token(self.counter)

    # --- rules ---------------------------------------------------------------------------
    @initialize(with_value=st.booleans())
    def create(self, with_value: bool) -> None:
        self.run(self.services.store.migrate())
        if not with_value:  # no version yet: the first PutSecretValue will get AWSCURRENT whatever it asks
            result = self.run(create_secret(self.services, ctx_at(self.now), {"Name": NAME}))
            assert "VersionId" not in result
            return
        first = self.next_token()
        params = {"Name": NAME, "SecretString": "v0", "ClientRequestToken": first}
        result = self.call(create_secret, params, lambda: self.model.put(first, "v0", [CUR], self.now))
        assert result is not None and result["VersionId"] == first

    @rule(stages=label_sets)
    def put_version(self, stages: list[str]) -> None:
        vid, value = self.next_token(), f"value-{self.counter}"
        params = {"SecretId": NAME, "SecretString": value, "ClientRequestToken": vid, "VersionStages": stages}
        got: list[list[str]] = []

        def model_put() -> None:
            got.append(self.model.put(vid, value, stages, self.now))

        result = self.call(put_secret_value, params, model_put)
        if result is not None:
            assert result["VersionId"] == vid
            assert result["VersionStages"] == got[0]

    @rule()
    def put_current(self) -> None:
        """The common PutSecretValue: no VersionStages, so AWSCURRENT (deprecates AWSPREVIOUS's holder)."""
        vid, value = self.next_token(), f"value-{self.counter}"
        params = {"SecretId": NAME, "SecretString": value, "ClientRequestToken": vid}
        result = self.call(put_secret_value, params, lambda: self.model.put(vid, value, [CUR], self.now))
        if result is not None:
            assert result["VersionStages"] == [CUR]

    @rule(stages=st.lists(st.sampled_from(CUSTOM), min_size=6, max_size=12, unique=True))
    def put_many_custom_labels(self, stages: list[str]) -> None:
        self.put_version(stages)

    @precondition(lambda self: bool(self.model.created))
    @rule(data=st.data(), same_value=st.booleans())
    def retry_put(self, data: st.DataObject, same_value: bool) -> None:
        vid = data.draw(st.sampled_from(sorted(self.model.created)), label="version")
        value = self.model.values[vid] if same_value else "a different value"
        params = {"SecretId": NAME, "SecretString": value, "ClientRequestToken": vid, "VersionStages": [CUR]}
        self.call(put_secret_value, params, lambda: self.model.put(vid, value, [CUR], self.now))

    @precondition(lambda self: bool(self.model.created))
    @rule(data=st.data(), label=any_label)
    def move_label(self, data: st.DataObject, label: str) -> None:
        """A well-formed move: RemoveFromVersionId names the current holder, if any."""
        target = data.draw(st.sampled_from(sorted(self.model.created)), label="target")
        holder = self.model.labels.get(label)
        params = {"SecretId": NAME, "VersionStage": label, "MoveToVersionId": target}
        if holder is not None:
            params["RemoveFromVersionId"] = holder
        self.call(update_secret_version_stage, params, lambda: self.model.move(label, target, holder))

    @precondition(lambda self: bool(self.model.created))
    @rule(data=st.data(), label=any_label)
    def move_label_without_naming_holder(self, data: st.DataObject, label: str) -> None:
        target = data.draw(st.sampled_from(sorted(self.model.created)), label="target")
        params = {"SecretId": NAME, "VersionStage": label, "MoveToVersionId": target}
        self.call(update_secret_version_stage, params, lambda: self.model.move(label, target, None))

    @rule(label=any_label)
    def move_label_to_missing_version(self, label: str) -> None:
        ghost = token(10**9)
        holder = self.model.labels.get(label)
        params = {"SecretId": NAME, "VersionStage": label, "MoveToVersionId": ghost}
        if holder is not None:
            params["RemoveFromVersionId"] = holder
        self.call(update_secret_version_stage, params, lambda: self.model.move(label, ghost, holder))

    @precondition(lambda self: bool(self.model.labels))
    @rule(data=st.data())
    def remove_label(self, data: st.DataObject) -> None:
        label = data.draw(st.sampled_from(sorted(self.model.labels)), label="label")
        holder = self.model.labels[label]
        params = {"SecretId": NAME, "VersionStage": label, "RemoveFromVersionId": holder}
        self.call(update_secret_version_stage, params, lambda: self.model.move(label, None, holder))

    @precondition(lambda self: bool(self.model.created))
    @rule(data=st.data(), label=any_label)
    def remove_label_from_wrong_version(self, data: st.DataObject, label: str) -> None:
        vid = data.draw(st.sampled_from(sorted(self.model.created)), label="version")
        params = {"SecretId": NAME, "VersionStage": label, "RemoveFromVersionId": vid}
        self.call(update_secret_version_stage, params, lambda: self.model.move(label, None, vid))

    @rule(hours=st.sampled_from([1, 25]))
    def advance_clock(self, hours: int) -> None:
        self.now += hours * 3600.0

    # --- invariants ----------------------------------------------------------------------
    @invariant()
    def store_equals_model(self) -> None:
        async def snapshot() -> tuple[dict[str, list[str]], list[str]]:
            async with self.services.store.read() as tx:
                secret = await tx.secrets.get_secret(ACCOUNT, REGION, name=NAME)
                assert secret is not None
                versions = await tx.secrets.list_versions(secret.id)
                return await tx.secrets.stage_map(secret.id), [v.version_id for v in versions]

        stage_map, version_ids = self.run(snapshot())
        assert stage_map == self.model.stage_map()
        assert version_ids == self.model.ordered_versions()
        holders = [vid for vid, labels in stage_map.items() if CUR in labels]
        assert len(holders) == (1 if version_ids else 0), "exactly one AWSCURRENT once any version exists"
        assert sum(len(labels) for labels in stage_map.values()) <= versions.MAX_LABELS
        assert len(version_ids) <= self.model.max_versions

    @invariant()
    def current_value_reads_back(self) -> None:
        if CUR not in self.model.labels:
            return
        got = self.run(get_secret_value(self.services, ctx_at(self.now), {"SecretId": NAME}))
        current = self.model.labels[CUR]
        assert got["VersionId"] == current
        assert got["SecretString"] == self.model.values[current]
        assert sorted(got["VersionStages"]) == self.model.stage_map()[current]


StageMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestStageMachine = StageMachine.TestCase


# --- deterministic scenarios -----------------------------------------------------------------
def _scenario(body: Callable[[Services], Awaitable[None]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async def main() -> None:
            services = new_services(Path(tmp))
            await services.store.migrate()
            try:
                await body(services)
            finally:
                await services.store.close()

        asyncio.run(main())


async def _stages(services: Services, name: str = NAME) -> dict[str, list[str]]:
    async with services.store.read() as tx:
        secret = await tx.secrets.get_secret(ACCOUNT, REGION, name=name)
        assert secret is not None
        return await tx.secrets.stage_map(secret.id)


async def _put(services: Services, vid: str, stages: list[str] | None = None, now: float = 1000.0,
               value: str = "v") -> dict[str, Any]:
    params: dict[str, Any] = {"SecretId": NAME, "SecretString": value, "ClientRequestToken": vid}
    if stages is not None:
        params["VersionStages"] = stages
    return await put_secret_value(services, ctx_at(now), params)


def test_recorded_rotation_cycle_current_pending() -> None:
    """recorded: test_update_secret_version_stages_current_pending."""
    v1, v2, v3 = token(1), token(2), token(3)

    async def body(s: Services) -> None:
        await create_secret(s, ctx_at(1000.0), {"Name": NAME, "SecretString": "one", "ClientRequestToken": v1})
        await _put(s, v2, [PEND])
        assert await _stages(s) == {v1: [CUR], v2: [PEND]}
        await update_secret_version_stage(
            s, ctx_at(1000.0), {"SecretId": NAME, "VersionStage": CUR, "MoveToVersionId": v2, "RemoveFromVersionId": v1}
        )
        assert await _stages(s) == {v1: [PREV], v2: [CUR, PEND]}
        await _put(s, v3)  # no VersionStages: AWSCURRENT; the replaced version loses AWSPENDING
        assert await _stages(s) == {v2: [PREV], v3: [CUR]}

    _scenario(body)


def test_recorded_custom_labels_move_between_versions() -> None:
    """recorded: test_non_versioning_version_stages_no_replacement."""
    v1, v2, v3 = token(1), token(2), token(3)

    async def body(s: Services) -> None:
        await create_secret(s, ctx_at(1000.0), {"Name": NAME, "SecretString": "one", "ClientRequestToken": v1})
        await _put(s, v2, ["one", "two", "three"])
        await _put(s, v3, ["one", "two", "four"])
        assert await _stages(s) == {v1: [CUR], v2: ["three"], v3: ["four", "one", "two"]}

    _scenario(body)


def test_first_version_always_gets_awscurrent() -> None:
    """botocore's PutSecretValue documentation: the first version of a secret always gets AWSCURRENT."""
    async def body(s: Services) -> None:
        await create_secret(s, ctx_at(1000.0), {"Name": NAME})  # no value: no version yet
        result = await _put(s, token(1), [PEND])
        assert await _stages(s) == {token(1): [CUR, PEND]}
        assert CUR in result["VersionStages"]

    _scenario(body)


def test_label_quota_is_twenty_and_a_refused_put_changes_nothing() -> None:
    async def body(s: Services) -> None:
        await create_secret(s, ctx_at(1000.0), {"Name": NAME, "SecretString": "one", "ClientRequestToken": token(1)})
        await _put(s, token(2), CUSTOM[:19])  # AWSCURRENT + 19 = 20 labels: allowed
        before = await _stages(s)
        with pytest.raises(LimitExceededException):
            await _put(s, token(3), [CUSTOM[19]])
        assert await _stages(s) == before
        with pytest.raises(LimitExceededException):
            await update_secret_version_stage(
                s, ctx_at(1000.0), {"SecretId": NAME, "VersionStage": CUSTOM[20], "MoveToVersionId": token(1)}
            )
        assert await _stages(s) == before
        async with s.store.read() as tx:
            secret = await tx.secrets.get_secret(ACCOUNT, REGION, name=NAME)
            assert secret is not None
            assert await tx.secrets.get_version(secret.id, version_id=token(3)) is None

    _scenario(body)


def test_real_version_quota_prunes_only_old_deprecated_versions() -> None:
    assert versions.MAX_VERSIONS == 100

    async def body(s: Services) -> None:
        t0 = 1_000_000.0
        await create_secret(s, ctx_at(t0), {"Name": NAME, "SecretString": "v", "ClientRequestToken": token(1)})
        for n in range(2, 101):  # 100 versions, created within one day: all kept
            await _put(s, token(n), now=t0)
        with pytest.raises(LimitExceededException):
            await _put(s, token(101), now=t0 + DAY - 1)  # the deprecated ones are not 24 h old yet
        result = await _put(s, token(101), now=t0 + DAY)
        assert result["VersionStages"] == [CUR]
        async with s.store.read() as tx:
            secret = await tx.secrets.get_secret(ACCOUNT, REGION, name=NAME)
            assert secret is not None
            ids = [v.version_id for v in await tx.secrets.list_versions(secret.id)]
        assert len(ids) == 100
        assert token(1) not in ids  # the oldest deprecated version went
        assert await _stages(s) == {token(100): [PREV], token(101): [CUR]}

    _scenario(body)


def test_stage_move_errors_match_aws() -> None:
    v1, v2 = token(1), token(2)

    async def body(s: Services) -> None:
        await create_secret(s, ctx_at(1000.0), {"Name": NAME, "SecretString": "one", "ClientRequestToken": v1})
        await _put(s, v2, [PEND])
        async def stage(**params: str) -> None:
            await update_secret_version_stage(s, ctx_at(1000.0), {"SecretId": NAME, **params})

        with pytest.raises(InvalidParameterException, match="RemoveFromVersionId"):
            await stage(VersionStage=CUR, MoveToVersionId=v2)
        with pytest.raises(InvalidParameterException, match="AWSCURRENT"):
            await stage(VersionStage=CUR, RemoveFromVersionId=v1)
        with pytest.raises(InvalidParameterException, match="not attached"):
            await stage(VersionStage=PEND, RemoveFromVersionId=v1)
        with pytest.raises(ResourceNotFoundException):
            await stage(VersionStage=PEND, MoveToVersionId=token(99))
        with pytest.raises(InvalidParameterException):
            await stage(VersionStage=PEND)
        assert await _stages(s) == {v1: [CUR], v2: [PEND]}

    _scenario(body)
