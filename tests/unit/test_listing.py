"""ListSecrets' selection (secrets.listing.select_secrets): NextToken only when another match exists.

A page that ends exactly at the last match carries no NextToken (paginators would otherwise make
one more call for an empty page); when the scan budget runs out, a short page carries a token that
resumes the scan, and following the tokens still visits every match once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from strongroom.kms.master_key import MasterKey
from strongroom.secrets import listing
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import SecretRow
from strongroom.store.sqlite import SqliteStore

ACCOUNT, REGION = "111111111111", "us-east-1"
CTX = RequestContext(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:root", 1000.0, action="ListSecrets")
T = TypeVar("T")


def with_services(tmp_path: Path, names: list[str], body: Callable[[Services], Awaitable[T]]) -> T:
    """A migrated SQLite store holding ``names`` (tagged ``team=<first letter>``), then ``body``."""

    async def main() -> T:
        store = SqliteStore(tmp_path / "db")
        try:
            await store.migrate()
            async with store.write() as tx:
                for i, name in enumerate(names):
                    await tx.secrets.insert_secret(SecretRow(
                        id=0, account=ACCOUNT, region=REGION, name=name, arn=f"arn:{name}",
                        created_at=1000.0 + i, last_changed_at=1000.0 + i, tags=[("team", name[0])],
                    ))
            return await body(Services.build(store, MasterKey(bytes(32))))
        finally:
            await store.close()

    return asyncio.run(main())  # type: ignore[arg-type]


async def pages(services: Services, params: dict[str, Any]) -> list[list[str]]:
    """Every page of a selection, following NextToken."""
    out: list[list[str]] = []
    params = dict(params)
    while True:
        selection = await listing.select_secrets(
            services, CTX, params, scope="ListSecrets", default_limit=100, include_deleted=False
        )
        out.append([s.name for s in selection.secrets])
        if selection.next_token is None:
            return out
        params["NextToken"] = selection.next_token
        assert len(out) < 50


NAMES = ["a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4"]
FILTERS: list[Any] = [
    None,  # every row matches: one round trip per page
    [{"Key": "name", "Values": ["a"]}],  # the SQL range is exactly the filter
    [{"Key": "tag-value", "Values": ["a"]}],  # rows must be tested one by one
    [{"Key": "name", "Values": ["!b"]}],
]


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("page_size", [1, 2, 4])
def test_no_empty_last_page(tmp_path: Path, filters: Any, page_size: int) -> None:
    matching = NAMES if filters is None else [n for n in NAMES if n.startswith("a")]

    async def body(services: Services) -> list[list[str]]:
        return await pages(services, {"Filters": filters, "MaxResults": page_size})

    got = with_services(tmp_path, NAMES, body)
    assert [n for page in got for n in page] == matching
    assert all(len(page) == page_size for page in got)  # every page full: the last one ends at the last match
    assert len(got) == len(matching) // page_size


def test_a_page_with_nothing_after_it_has_no_token(tmp_path: Path) -> None:
    async def body(services: Services) -> tuple[listing.Selection, listing.Selection]:
        full = await listing.select_secrets(
            services, CTX, {"Filters": [{"Key": "tag-value", "Values": ["b"]}], "MaxResults": 4},
            scope="ListSecrets", default_limit=100, include_deleted=False,
        )
        short = await listing.select_secrets(
            services, CTX, {"MaxResults": 100}, scope="ListSecrets", default_limit=100, include_deleted=False,
        )
        return full, short

    full, short = with_services(tmp_path, NAMES, body)
    assert [s.name for s in full.secrets] == ["b1", "b2", "b3", "b4"] and full.next_token is None
    assert len(short.secrets) == len(NAMES) and short.next_token is None


def test_scan_budget_gives_short_pages_that_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Budget 3 rows, batches of 2: pages stop early with a token; the tokens still reach every match."""
    monkeypatch.setattr(listing, "SCAN_BUDGET", 3)
    monkeypatch.setattr(listing, "BATCH", 2)
    names = [f"b{i}" for i in range(9)] + ["a1", "a2"]

    async def body(services: Services) -> list[list[str]]:
        return await pages(services, {"Filters": [{"Key": "tag-value", "Values": ["a"]}], "MaxResults": 2})

    got = with_services(tmp_path, names, body)
    assert [n for page in got for n in page] == ["a1", "a2"]
    assert got[0] == []  # the budget ran out before any match: a short page, with a token
    assert got[-1] == ["a1", "a2"]  # ends exactly at the last match: no further token, no empty page
