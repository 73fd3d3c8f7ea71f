"""Helpers for tests that drive asyncio tasks by hand (the read-cache tests, unit and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any


async def settle(rounds: int = 10) -> None:
    """Let the event loop turn ``rounds`` times (nothing here waits for I/O)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def outcomes_of(tasks: Sequence[asyncio.Task[Any]]) -> list[Any]:
    """After ten loop turns: each task's exception type, result, or "pending" (then cancelled)."""
    await settle()
    found: list[Any] = []
    for task in tasks:
        if not task.done():
            task.cancel()
            found.append("pending")
        elif task.exception() is not None:
            found.append(type(task.exception()))
        else:
            found.append(task.result())
    return found
