"""The one way to write "set these columns of one row": checked against the columns that may change."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def update_by_id(table: str, values: Mapping[str, Any], updatable: Collection[str]) -> str:
    """``UPDATE table SET ... WHERE id = $1`` for ``values``' columns, their values from ``$2`` on.

    A column outside ``updatable`` is a programming error (ValueError), never SQL built from it.
    """
    unknown = set(values) - set(updatable)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=2))
    return f"UPDATE {table} SET {sets} WHERE id = $1"
