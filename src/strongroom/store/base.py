"""The store interface the domain layer talks to, independent of the database engine.

A backend provides an :class:`Executor` (run one SQL statement) inside transactions; all SQL lives
in :mod:`strongroom.store.sql` and is shared by every backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Row = Mapping[str, Any]


class Conflict(Exception):
    """A uniqueness constraint refused a write (another transaction got there first)."""


class Executor(Protocol):
    """Runs SQL written with ``$1``-style numbered parameters."""

    dialect: str

    async def fetch(self, sql: str, *args: Any) -> Sequence[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; return the number of rows it changed."""
        ...


class Store(Protocol):
    """A database: read snapshots, serialized write transactions, and lifecycle."""

    dialect: str

    def read(self) -> AbstractAsyncContextManager[Any]:
        """A consistent read-only view (a :class:`strongroom.store.sql.SqlTx`)."""
        ...

    def write(self) -> AbstractAsyncContextManager[Any]:
        """One write transaction; committed on normal exit, rolled back on an exception."""
        ...

    async def migrate(self) -> int:
        """Apply pending migrations; return the schema version."""
        ...

    async def close(self) -> None: ...

    # The key ring's KmsKeyStore (strongroom.kms.keyring).
    async def find_kms_key(self, account: str, region: str, ref: str) -> Any: ...

    async def insert_kms_key(self, key: Any) -> Any: ...


async def aiter_batches(items: Sequence[Any], size: int) -> AsyncIterator[Sequence[Any]]:
    """Yield ``items`` in slices of ``size`` (bounded IN-lists)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
