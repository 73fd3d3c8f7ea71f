"""A secret cache in the spirit of AWS's caching library (aws-secretsmanager-caching-python), on
Strongroom's client: :class:`AsyncSecretCache` (asyncio) and :class:`SecretCache` (thread-safe),
one policy for both (:mod:`strongroom.client.cache.core`).

- A value stays fresh for ``secret_refresh_interval`` (1 hour); then DescribeSecret tells whether
  the stage moved to another version, and only then is GetSecretValue called again.
- Concurrent readers of the same (secret, stage) share one fetch.
- Entries read in the last ``refresh_ahead`` of their TTL refresh in the background.
- A failed refresh serves the last value for up to ``max_stale`` past its TTL, retrying with
  exponential backoff; a deleted secret or revoked access drops the value at once.
- At most ``max_cache_size`` entries, least recently used dropped first.
- :func:`inject_secret_string` and :func:`inject_keyworded_secret_string` pass a secret to a function.

docs/client.md ("Cache") has examples and the details.
"""

from strongroom.client.cache.aio import AsyncSecretCache
from strongroom.client.cache.config import SecretCacheConfig
from strongroom.client.cache.core import DEFINITIVE_ERRORS
from strongroom.client.cache.decorators import inject_keyworded_secret_string, inject_secret_string
from strongroom.client.cache.sync import SecretCache

__all__ = [
    "DEFINITIVE_ERRORS",
    "AsyncSecretCache",
    "SecretCache",
    "SecretCacheConfig",
    "inject_keyworded_secret_string",
    "inject_secret_string",
]
