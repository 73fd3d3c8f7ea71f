"""Changing a function: read and authorize, work out the change, then commit it if nothing else did first.

Sealing code or variables needs the key ring, which may read (or, for an account's first key,
write) the store, so the change is worked out between a read and the write transaction, as Secrets
Manager does (docs/architecture.md). The write locks the row and commits only if the function's
RevisionId is still the one the change was worked out from; otherwise a concurrent change won and
the request is ResourceConflictException, Lambda's answer to an update while another is in progress.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Unpack

from strongroom.errors import ResourceNotFoundException
from strongroom.functions.arns import FunctionRef
from strongroom.functions.errors import (
    REVISION_MISMATCH,
    PreconditionFailedException,
    ResourceConflictException,
    function_not_found,
    update_in_progress,
)
from strongroom.functions.lookup import authorize_function, find_function
from strongroom.service.context import RequestContext
from strongroom.service.dependencies import Services
from strongroom.store.records import FunctionFields, FunctionRow


def new_revision_id() -> str:
    return str(uuid.uuid4())


async def read_function(services: Services, ctx: RequestContext, ref: FunctionRef, action: str) -> FunctionRow:
    """The function as it is now, once ``action`` is allowed on it."""
    async with services.store.read() as tx:
        return await find_function(tx, ctx, ref, action)


def check_revision(function: FunctionRow, params: dict[str, Any]) -> None:
    """A RevisionId in the request must be the function's (PreconditionFailedException, 412)."""
    expected = params.get("RevisionId")
    if expected is not None and expected != function.revision_id:
        raise PreconditionFailedException(REVISION_MISMATCH)


async def commit_change(services: Services, ctx: RequestContext, ref: FunctionRef, action: str,
                        seen: FunctionRow, **changes: Unpack[FunctionFields]) -> FunctionRow:
    """Write ``changes`` (plus LastModified, and a new RevisionId unless given) over ``seen``, the
    function as the change was worked out from; the function as it is afterwards (without its code)."""
    changes.setdefault("revision_id", new_revision_id())
    changes.setdefault("last_modified", ctx.now)
    async with services.store.write() as tx:
        current = await tx.functions.get(ref.account, ref.region, ref.name, for_update=True)
        authorize_function(ctx, action, ref, current)
        if current is None:
            raise ResourceNotFoundException(function_not_found(ref.arn))
        if current.revision_id != seen.revision_id:
            raise ResourceConflictException(update_in_progress(current.arn))
        await tx.functions.update(current.id, **changes)
    shown: dict[str, Any] = {name: value for name, value in changes.items() if name != "code"}
    return dataclasses.replace(current, **shown)
