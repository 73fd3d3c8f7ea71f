"""What both cache forms share: their arguments, the client (made from the environment when none
is given, and then closed with the cache) and the policy core."""

from __future__ import annotations

import random as random_module
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from strongroom.client.cache.config import SecretCacheConfig
from strongroom.client.cache.core import CacheCore, Launch, Step

F = TypeVar("F")
C = TypeVar("C")


class CacheBase(Generic[F, C]):
    """``client`` (else one made from the environment, closed with the cache), ``config``
    (:class:`SecretCacheConfig`), and for tests ``clock`` (monotonic seconds) and ``random``. A form
    supplies its default client, the flights its readers wait on, how a fetch is started, and
    anything else it sets up."""

    def __init__(
        self,
        client: C | None = None,
        config: SecretCacheConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self._owned = client is None
        self._client: C = client if client is not None else self._default_client()
        self._core: CacheCore[F] = CacheCore(config or SecretCacheConfig(), self._new_flight, clock, random)
        self._init_form()

    @property
    def config(self) -> SecretCacheConfig:
        return self._core.config

    def _step(self, secret_id: str, version_stage: str | None) -> Step[F]:
        """The core's step for a read that missed the hit path, with its fetch (if any) started."""
        step = self._core.step(secret_id, version_stage)
        if step.launch is not None:
            self._start(step.launch)
        return step

    def _default_client(self) -> C:
        raise NotImplementedError

    def _start(self, launch: Launch[F]) -> None:
        raise NotImplementedError

    def _new_flight(self) -> F:
        raise NotImplementedError

    def _init_form(self) -> None:
        """What a form sets up beyond the base: nothing by default."""
