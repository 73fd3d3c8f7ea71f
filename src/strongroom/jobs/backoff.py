"""How long a failed work item waits before its next attempt: exponential, capped, with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay after failed attempt ``n`` (1-based): up to ``base * 2**(n-1)`` seconds, at most ``cap``.

    "Equal jitter": half of that ceiling is fixed, the other half random, so retries of items that
    failed together (a peer that was down) spread out, yet each waits at least half its step.
    """

    base: float = 1.0
    cap: float = 300.0

    def __post_init__(self) -> None:
        if not 0 < self.base <= self.cap:
            raise ValueError("backoff needs 0 < base <= cap")

    def ceiling(self, attempt: int) -> float:
        """The longest delay after failed attempt ``attempt``."""
        return min(self.cap, self.base * 2.0 ** min(max(attempt, 1) - 1, 64))

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = self.ceiling(attempt)
        return ceiling / 2 + rng.uniform(0, ceiling / 2)
