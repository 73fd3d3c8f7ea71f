"""Paginators (async and blocking) over a real server, and the stages helper."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from strongroom.client import AsyncSecretsManager, SecretsManager, shapes, stages
from strongroom.client.paginators import Paginator, RepeatedNextToken

_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": '
    '"arn:aws:iam::123456789012:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}'
)


def test_async_paginators_walk_every_page(settings: dict[str, Any], name: str) -> None:
    names = [f"{name}/{i}" for i in range(5)]

    async def run() -> None:
        async with AsyncSecretsManager(**settings) as sm:
            for secret in names:
                await sm.create_secret(name=secret, secret_string=secret)
            for i in range(3):
                await sm.put_secret_value(secret_id=names[0], secret_string=f"v{i}")
            by_name = [shapes.Filter(key="name", values=[f"{name}/"])]
            pages = [page async for page in sm.paginate_list_secrets(filters=by_name, max_results=2)]
            assert len(pages) >= 3 and pages[-1].next_token is None
            listed = [e.name async for e in sm.paginate_list_secrets(filters=by_name, max_results=2).items()]
            assert sorted(listed) == names
            batches = sm.paginate_batch_get_secret_value(filters=by_name, max_results=2)
            values = [v.secret_string async for v in batches.items()]
            assert sorted(values) == sorted(["v2", *names[1:]])
            walk = sm.paginate_list_secret_version_ids(secret_id=names[0], max_results=1, include_deprecated=True)
            versions = [v async for v in walk.items()]
            assert len({v.version_id for v in versions}) == 4  # the first value and three more, one per page
            assert [p async for p in sm.paginate_list_resource_policies(secret_id=names[1]).items()] == []
            await sm.put_resource_policy(secret_id=names[1], resource_policy=_POLICY)

    asyncio.run(run())
    with SecretsManager(**settings) as sm:
        by_name = [shapes.Filter(key="name", values=[f"{name}/"])]
        paginator = sm.paginate_list_secrets(filters=by_name, max_results=2)
        assert sorted(entry.name for entry in paginator.items()) == names
        assert len(list(paginator)) >= 3  # a paginator can be walked again
        policies = sm.paginate_list_resource_policies(secret_id=names[1], max_results=1)
        assert [p.policy_name for p in policies.items()] == ["default"]


def test_a_repeated_next_token_stops_the_walk() -> None:
    page = shapes.ListSecretsResponse(next_token="same")
    paginator = Paginator(lambda request: page, shapes.ListSecretsRequest(), "secret_list")
    with pytest.raises(RepeatedNextToken):
        list(paginator)


def test_stages_helpers_on_describe_and_list_results() -> None:
    described = shapes.DescribeSecretResponse(
        version_ids_to_stages={"v1": ("AWSCURRENT",), "v0": ("AWSPREVIOUS", "blue"), "v2": ("AWSPENDING",)}
    )
    listed = shapes.ListSecretVersionIdsResponse(
        versions=(
            shapes.SecretVersionsListEntry(version_id="v1", version_stages=("AWSCURRENT",)),
            shapes.SecretVersionsListEntry(version_id="v0", version_stages=("AWSPREVIOUS", "blue")),
            shapes.SecretVersionsListEntry(version_id="old"),
        )
    )
    for versions in (described, listed):
        assert stages.current(versions) == "v1" and stages.previous(versions) == "v0"
        assert stages.version_with(versions, "blue") == "v0" and stages.version_with(versions, "red") is None
        assert stages.labels(versions, "v0") == ("AWSPREVIOUS", "blue") and stages.labels(versions, "nope") == ()
    assert stages.pending(described) == "v2" and stages.pending(listed) is None
    assert stages.labels(listed, "old") == ()
