"""The settings of a secret cache: AWS's ``SecretCacheConfig`` (aws-secretsmanager-caching-python)
with its names and, where they make sense, its defaults, plus the two settings of what this cache
does beyond it (refresh ahead of expiry, a bound on staleness). All durations are seconds."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.client.stages import CURRENT


@dataclass(frozen=True, slots=True)
class SecretCacheConfig:
    """How long values stay fresh, how many are kept, how failures are retried.

    - ``max_cache_size``: entries kept, one per (secret id, version stage); the least recently
      used is dropped beyond it (AWS: 1024 secrets).
    - ``secret_refresh_interval``: the TTL. A value read this long ago is checked again with
      DescribeSecret before it is served (AWS: 3600).
    - ``refresh_ahead``: the last fraction of the TTL in which a read starts a background refresh
      and is served the current value meanwhile, so entries read often never expire on the
      read path. Where the window starts is drawn at random from its first half, so processes
      that loaded a secret together do not refresh it together (AWS draws the TTL itself from
      [TTL/2, TTL] instead). 0 turns it off.
    - ``max_stale``: how long past its TTL a value is still served while refreshing it fails
      (network, throttling, 5xx); after that, reads raise the refresh's error.
    - ``exception_retry_delay_base``, ``exception_retry_growth_factor``, ``exception_retry_delay_max``:
      after the n-th failure in a row, no new attempt for ``min(base * growth ** (n - 1), max)``
      seconds. AWS documents a 3600 s maximum (its Python and Go libraries apply the setting in
      milliseconds); here 60 s, so a service that is back is used again within a minute.
    - ``default_version_stage``: the stage read when a call names none (AWSCURRENT).
    """

    max_cache_size: int = 1024
    exception_retry_delay_base: float = 1.0
    exception_retry_growth_factor: float = 2.0
    exception_retry_delay_max: float = 60.0
    default_version_stage: str = CURRENT
    secret_refresh_interval: float = 3600.0
    refresh_ahead: float = 0.1
    max_stale: float = 300.0

    def __post_init__(self) -> None:
        problems = [
            f"{name} {problem}"
            for name, bad, problem in (
                ("max_cache_size", self.max_cache_size < 1, "must be at least 1"),
                ("secret_refresh_interval", not self.secret_refresh_interval > 0, "must be positive"),
                ("refresh_ahead", not 0 <= self.refresh_ahead < 1, "must be in [0, 1)"),
                ("max_stale", not self.max_stale >= 0, "must not be negative"),
                ("exception_retry_delay_base", not self.exception_retry_delay_base >= 0, "must not be negative"),
                ("exception_retry_growth_factor", not self.exception_retry_growth_factor >= 1, "must be at least 1"),
                ("exception_retry_delay_max", not self.exception_retry_delay_max >= 0, "must not be negative"),
                ("default_version_stage", not self.default_version_stage, "must not be empty"),
            )
            if bad
        ]
        if problems:
            raise ValueError("invalid SecretCacheConfig: " + "; ".join(problems))

    def retry_delay(self, failures: int) -> float:
        """Seconds to wait before the next attempt after ``failures`` failures in a row (>= 1)."""
        try:
            delay = self.exception_retry_delay_base * self.exception_retry_growth_factor ** (failures - 1)
        except OverflowError:  # a long outage: the growth left the float range
            return self.exception_retry_delay_max
        return min(delay, self.exception_retry_delay_max)
