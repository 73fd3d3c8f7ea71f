"""What ``strongroom admin rotation-status`` prints: per secret, its latest rotation run."""

from __future__ import annotations

import datetime as dt

from strongroom.store.base import Store
from strongroom.store.records import RotationRow

HEADER = ("secret", "version", "mode", "state", "step", "attempts", "updated", "error")


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rows(runs: list[RotationRow]) -> list[tuple[str, ...]]:
    return [(r.secret_arn, r.version_id, r.mode, r.state, r.step or "-", str(r.attempts), _when(r.updated_at),
             r.last_error or "-") for r in runs]


async def rotation_status(store: Store, secret_arn: str | None = None, limit: int = 1000) -> list[RotationRow]:
    """The latest run of each secret (of ``secret_arn`` alone), newest first."""
    async with store.read() as tx:
        return await tx.rotations.latest(None, secret_arn, limit)


def render(runs: list[RotationRow]) -> str:
    """Tab-separated lines, a header first."""
    return "\n".join("\t".join(line) for line in [HEADER, *rows(runs)])
