"""Who is calling, where, and when: the request facts every operation receives."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The caller's account and region (its namespace), identity and the request's clock."""

    account: str
    region: str
    principal_arn: str
    request_id: str = ""
    now: float = field(default_factory=lambda: round(time.time(), 3))

    @property
    def today(self) -> float:
        """Midnight UTC of the request day: AWS reports LastAccessedDate at day granularity."""
        return float(int(self.now // 86400) * 86400)
