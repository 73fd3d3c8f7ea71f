"""ListSecrets and the filtered, keyset-paginated secret selection BatchGetSecretValue shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from strongroom.secrets.filters import FilterSubject, compile_filters, index_hint
from strongroom.secrets.tokens import open_position
from strongroom.secrets.wire import secret_metadata
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import SecretRow

#: Rows fetched per store round trip while filtering.
BATCH = 200
#: Rows examined per request at most; a page may then hold fewer results plus a NextToken, as AWS allows.
SCAN_BUDGET = 20_000


@dataclass(slots=True)
class Selection:
    secrets: list[SecretRow]
    next_token: str | None


def _sort_value(secret: SecretRow, sort_by: str) -> Any:
    if sort_by == "name":
        return secret.name
    if sort_by == "last-changed-date":
        return secret.last_changed_at
    if sort_by == "last-accessed-date":
        return secret.last_accessed_at or 0
    return secret.created_at


def _name_ranges(filters: Any) -> list[tuple[str, str | None]] | None:
    hint = index_hint(filters)
    if hint is None:
        return None
    ranges: list[tuple[str, str | None]] = []
    for prefix in hint.prefixes:
        last = ord(prefix[-1])
        high = prefix[:-1] + chr(last + 1) if last < 0x10FFFF else None
        ranges.append((prefix, high))
    return ranges


def subject(secret: SecretRow) -> FilterSubject:
    return FilterSubject(
        name=secret.name, description=secret.description, tags=secret.tags or (),
        primary_region=secret.primary_region, owning_service=secret.owning_service,
    )


async def select_secrets(
    services: Services, ctx: RequestContext, params: dict[str, Any], *, scope: str, default_limit: int,
    include_deleted: bool,
) -> Selection:
    """Up to MaxResults secrets that pass the Filters, in the requested order, after NextToken.

    NextToken comes only when another match exists: the scan looks one match past a full page, so
    a last page that is exactly full carries no token (SDK paginators would make one more call for
    an empty page). When the scan budget runs out first, the page may be short and carry a token
    that resumes the scan where it stopped, as AWS allows.
    """
    filters = params.get("Filters")
    predicate = compile_filters(filters)
    ranges = _name_ranges(filters)
    limit = int(params.get("MaxResults") or default_limit)
    # No filters, or only positive name filters whose SQL range is exactly the filter: every row
    # fetched matches, so a page plus the one row that tells whether another exists is enough.
    every_row_matches = not filters or (
        ranges is not None
        and all(
            f.get("Key") == "name" and not any(str(v).startswith("!") for v in f.get("Values") or ()) for f in filters
        )
    )
    batch_size = limit + 1 if every_row_matches else BATCH
    sort_by = params.get("SortBy") or "created-date"
    descending = params.get("SortOrder") == "desc"
    token_scope = orjson.dumps(
        [scope, ctx.account, ctx.region, sort_by, descending, include_deleted, filters]
    ).decode()
    after = None
    if params.get("NextToken"):
        position = open_position(services.tokens, token_scope, params["NextToken"])
        after = (position[0], int(position[1]))
    found: list[SecretRow] = []
    more = False  # another match follows, or the budget ran out with rows left to scan
    scanned = 0
    async with services.store.read() as tx:
        while not more:
            if scanned >= SCAN_BUDGET:
                more = True
                break
            batch = await tx.secrets.list_secrets(
                ctx.account, ctx.region, sort_by=sort_by, descending=descending, after=after,
                limit=batch_size, include_deleted=include_deleted, name_ranges=ranges,
            )
            for secret in batch:
                if predicate(subject(secret)):
                    if len(found) == limit:  # the next page starts at this match
                        more = True
                        break
                    found.append(secret)
                scanned += 1
                after = (_sort_value(secret, sort_by), secret.id)
            if len(batch) < batch_size:
                break
    next_token = services.tokens.seal(token_scope, list(after)) if more and after is not None else None
    return Selection(found, next_token)


async def list_secrets(services: Services, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    selection = await select_secrets(
        services, ctx, params, scope="ListSecrets", default_limit=100,
        include_deleted=bool(params.get("IncludePlannedDeletion")),
    )
    async with services.store.read() as tx:
        page = await tx.secrets.page_with_stages(selection.secrets)
    out: dict[str, Any] = {
        "SecretList": [
            secret_metadata(s, page.stages.get(s.id, {}), "SecretVersionsToStages") for s in page.secrets
        ]
    }
    if selection.next_token:
        out["NextToken"] = selection.next_token
    return out
