"""Test doubles for the secret cache: an in-memory Secrets Manager that counts the calls it gets and
fails on demand, its asyncio and futures faces, and a clock the test moves by hand.

``FakeService``  secrets with versions and stages; ``put`` makes a new AWSCURRENT (the old one
                 becomes AWSPREVIOUS); a secret in ``deleted`` is marked for deletion (DescribeSecret
                 answers with DeletedDate, GetSecretValue refuses); ``fail_next(*errors)`` makes
                 the next calls raise them;
                 ``calls`` lists ("DescribeSecret" | "GetSecretValue", secret id) in order
``AsyncFake``    ``send(request)`` (AsyncSecretCache's client); while ``hold()`` is in effect,
                 calls wait until ``release()``
``FuturesFake``  ``send_async(request)`` (SecretCache's client); completes at once, or, while
                 ``hold()`` is in effect, when ``release()`` is called (from any thread)

Both answer when the call is made (that is when it is counted) and deliver the answer then or at
``release()``.
``FakeClock``    monotonic seconds, moved with ``advance``
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from strongroom.client import InvalidRequestException, ResourceNotFoundException, shapes
from strongroom.client._base import Shape


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeService:
    def __init__(self) -> None:
        self.versions: dict[str, dict[str, tuple[str | None, bytes | None, list[str]]]] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures: list[BaseException] = []
        self.deleted: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def put(self, secret_id: str, string: str | None = None, binary: bytes | None = None) -> str:
        version_id = f"v{next(self._ids)}"
        versions = self.versions.setdefault(secret_id, {})
        for labels in (labels for _, _, labels in versions.values()):
            if "AWSPREVIOUS" in labels:
                labels.remove("AWSPREVIOUS")
            if "AWSCURRENT" in labels:
                labels[labels.index("AWSCURRENT")] = "AWSPREVIOUS"
        versions[version_id] = (string, binary, ["AWSCURRENT"])
        return version_id

    def fail_next(self, *errors: BaseException) -> None:
        self.failures.extend(errors)

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)

    def answer(self, request: Shape) -> Any:
        """Record the call, then its result or its scripted failure."""
        with self._lock:
            operation = type(request).__name__.removesuffix("Request")
            self.calls.append((operation, request.secret_id))  # type: ignore[attr-defined]
            if self.failures:
                raise self.failures.pop(0)
            versions = self.versions.get(request.secret_id)  # type: ignore[attr-defined]
            if versions is None:
                raise ResourceNotFoundException("Secrets Manager can't find the specified secret.")
            if isinstance(request, shapes.DescribeSecretRequest):
                stages = {vid: tuple(labels) for vid, (_, _, labels) in versions.items() if labels}
                deleted = datetime.now(UTC) if request.secret_id in self.deleted else None
                return shapes.DescribeSecretResponse(
                    name=request.secret_id, version_ids_to_stages=stages, deleted_date=deleted
                )
            assert isinstance(request, shapes.GetSecretValueRequest)
            if request.secret_id in self.deleted:
                raise InvalidRequestException(
                    "You can't perform this operation on the secret because it was marked for deletion."
                )
            for vid, (string, binary, labels) in versions.items():
                if vid == request.version_id or request.version_stage in labels:
                    return shapes.GetSecretValueResponse(
                        name=request.secret_id, version_id=vid, secret_string=string, secret_binary=binary,
                        version_stages=tuple(labels),
                    )  # fmt: skip
            raise ResourceNotFoundException(
                f"Secrets Manager can't find the specified secret value for staging label: {request.version_stage}"
            )


class AsyncFake:
    def __init__(self, service: FakeService) -> None:
        self.service = service
        self._gate: asyncio.Event | None = None

    def hold(self) -> None:
        self._gate = asyncio.Event()

    def release(self) -> None:
        assert self._gate is not None
        self._gate.set()
        self._gate = None

    async def send(self, request: Shape) -> Any:
        gate = self._gate
        result: Any = None
        try:
            result = self.service.answer(request)
        except Exception as error:
            result = error
        if gate is not None:
            await gate.wait()
        else:
            await asyncio.sleep(0)  # a real call always yields to the loop
        if isinstance(result, Exception):
            raise result
        return result


class FuturesFake:
    def __init__(self, service: FakeService) -> None:
        self.service = service
        self._held: list[tuple[Future[Any], Any]] | None = None
        self._lock = threading.Lock()

    def hold(self) -> None:
        self._held = []

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held or [], None
        for future, outcome in held:
            _deliver(future, outcome)

    def send_async(self, request: Shape) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            outcome = self.service.answer(request)
        except Exception as error:
            outcome = error
        with self._lock:
            if self._held is not None:
                self._held.append((future, outcome))
                return future
        _deliver(future, outcome)
        return future


def _deliver(future: Future[Any], outcome: Any) -> None:
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
