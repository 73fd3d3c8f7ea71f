"""The thread-safe secret cache: :class:`SecretCache` over :class:`~strongroom.client.SecretsManager`.

Fetches run on the client's event-loop thread (``send_async`` with callbacks), so a background
refresh never holds a caller's thread, and a reader that must wait blocks on one shared
``concurrent.futures.Future`` per fetch.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Protocol

from strongroom.client._base import Shape
from strongroom.client.cache.base import CacheBase
from strongroom.client.cache.core import Launch, Outcome, Plan, unwrap
from strongroom.client.futures import SecretsManager
from strongroom.client.shapes import GetSecretValueResponse

Flight = Future[Outcome]
Result = GetSecretValueResponse | BaseException | None


class FuturesSender(Protocol):
    """What the cache needs of a client: :meth:`SecretsManager.send_async`."""

    def send_async(self, request: Shape) -> Future[Any]: ...


def run_plan(send_async: Callable[[Shape], Future[Any]], plan: Plan, finish: Callable[[Result], None]) -> None:
    """Send each request of ``plan`` when the previous one completes; ``finish`` gets the plan's
    return value or the first error. Returns at once; the steps run in the client's callbacks."""

    def advance(previous: Any) -> None:
        try:
            future = send_async(plan.send(previous))
        except StopIteration as done:
            finish(done.value)
        except Exception as error:
            finish(error)
        else:
            future.add_done_callback(completed)

    def completed(future: Future[Any]) -> None:
        try:
            result = future.result()
        except Exception as error:  # the call's error (CancelledError included)
            finish(error)
        else:
            advance(result)

    advance(None)


class SecretCache(CacheBase[Flight, FuturesSender]):
    """A thread-safe secret cache: ``cache.get_secret_string("db/password")``.

    ``client``: a :class:`~strongroom.client.SecretsManager` (without one, the cache makes one from
    the environment and shuts it down in :meth:`close`); the other arguments are
    :class:`~strongroom.client.cache.base.CacheBase`'s.
    """

    def _default_client(self) -> FuturesSender:
        return SecretsManager()

    def _new_flight(self) -> Flight:
        return Future()

    def get_secret_value(self, secret_id: str, version_stage: str | None = None) -> GetSecretValueResponse:
        """The cached GetSecretValue result of the version with ``version_stage`` (default
        ``config.default_version_stage``); raises the service's error when there is no value to serve."""
        return self._core.fresh(secret_id, version_stage) or self._load(secret_id, version_stage)

    def get_secret_string(self, secret_id: str, version_stage: str | None = None) -> str | None:
        """The cached SecretString (None when the version holds a SecretBinary)."""
        return (self._core.fresh(secret_id, version_stage) or self._load(secret_id, version_stage)).secret_string

    def get_secret_binary(self, secret_id: str, version_stage: str | None = None) -> bytes | None:
        """The cached SecretBinary (None when the version holds a SecretString)."""
        return (self._core.fresh(secret_id, version_stage) or self._load(secret_id, version_stage)).secret_binary

    def refresh_secret_now(self, secret_id: str, version_stage: str | None = None) -> GetSecretValueResponse:
        """Revalidate now, even during a backoff delay: waits for a refresh that started after the
        call (DescribeSecret, GetSecretValue if the version changed) and returns what a read returns then."""
        flight = self._core.in_flight(secret_id, version_stage)
        if flight is not None:
            flight.result()
        self._core.expire(secret_id, version_stage)
        return self._load(secret_id, version_stage)

    def _load(self, secret_id: str, version_stage: str | None) -> GetSecretValueResponse:
        step = self._step(secret_id, version_stage)
        if step.outcome is not None:
            return unwrap(step.outcome)
        assert step.flight is not None
        return unwrap(step.flight.result())

    def _start(self, launch: Launch[Flight]) -> None:
        def finish(result: Result) -> None:
            launch.flight.set_result(self._core.settle(launch.entry, result))

        run_plan(self._client.send_async, launch.plan, finish)

    def close(self) -> None:
        """Shut the client down if the cache made it (fetches in progress then fail)."""
        if self._owned and isinstance(self._client, SecretsManager):
            self._client.shutdown()

    def __enter__(self) -> SecretCache:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
