"""Decorators that pass a cached secret to a function on every call, as AWS's ``InjectSecretString``
and ``InjectKeywordedSecretString``: a plain function with a :class:`SecretCache`, an ``async def``
with an :class:`AsyncSecretCache`. The secret is read from the cache at each call, so the function
sees rotations (AWS's decorators read it once, when decorating, until their 2025 fix)."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, TypeVar

from strongroom.client.cache.aio import AsyncSecretCache
from strongroom.client.cache.sync import SecretCache

Func = TypeVar("Func", bound=Callable[..., Any])
Cache = SecretCache | AsyncSecretCache
_METHOD_FIRST_PARAMETERS = ("self", "cls")
_NOT_JSON = object()


def inject_secret_string(cache: Cache, secret_id: str, *, version_stage: str | None = None) -> Callable[[Func], Func]:
    """Call the function with the secret's SecretString as its first positional argument (its
    second when the first parameter is ``self`` or ``cls``, so methods work)."""

    def decorate(func: Func) -> Func:
        names = list(inspect.signature(func).parameters)
        position = 1 if names and names[0] in _METHOD_FIRST_PARAMETERS else 0

        def call(secret: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return func(*args[:position], secret, *args[position:], **kwargs)

        return _wrap(func, cache, secret_id, version_stage, call)

    return decorate


def inject_keyworded_secret_string(
    cache: Cache, secret_id: str, /, *, version_stage: str | None = None, **arguments: str
) -> Callable[[Func], Func]:
    """Call the function with keyword arguments taken from the secret's JSON object:
    ``arguments`` maps each parameter name to its key in the JSON (``user="username"``). A
    parameter named ``version_stage`` cannot be injected (that name selects the stage)."""
    if not arguments:
        raise TypeError("inject_keyworded_secret_string needs at least one parameter=json_key")

    def decorate(func: Func) -> Func:
        parsed = _JsonObject(secret_id)

        def call(secret: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            document = parsed(secret)
            try:
                injected = {parameter: document[key] for parameter, key in arguments.items()}
            except KeyError as missing:
                raise RuntimeError(f"cached secret {secret_id!r} does not contain key {missing}") from None
            return func(*args, **injected, **kwargs)

        return _wrap(func, cache, secret_id, version_stage, call)

    return decorate


class _JsonObject:
    """Parses a secret's JSON object, once per value (a value is cached as one object until it
    changes). Errors never carry the secret: json's own error holds the whole document."""

    def __init__(self, secret_id: str) -> None:
        self._secret_id = secret_id
        self._last: tuple[str | None, dict[str, Any]] = (None, {})  # one tuple: threads read both together

    def __call__(self, text: str | None) -> dict[str, Any]:
        last_text, last_document = self._last
        if text is not None and text is last_text:
            return last_document
        if text is None:
            raise RuntimeError(f"cached secret {self._secret_id!r} has no SecretString")
        try:
            document = json.loads(text)
        except ValueError:
            document = _NOT_JSON  # raised below, outside the handler: not even __context__ keeps the text
        if document is _NOT_JSON:
            raise RuntimeError(f"cached secret {self._secret_id!r} is not valid JSON")
        if not isinstance(document, dict):
            raise RuntimeError(f"cached secret {self._secret_id!r} is not a JSON object")
        self._last = (text, document)
        return document


def _wrap(
    func: Func,
    cache: Cache,
    secret_id: str,
    version_stage: str | None,
    call: Callable[[str | None, tuple[Any, ...], dict[str, Any]], Any],
) -> Func:
    """``func`` wrapped so that each call reads the secret, then runs ``call``; an ``async def``
    needs an AsyncSecretCache and a plain function a SecretCache."""
    if inspect.iscoroutinefunction(func):
        if not isinstance(cache, AsyncSecretCache):
            raise TypeError(f"{func.__qualname__} is a coroutine function: it needs an AsyncSecretCache")
        async_cache = cache

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            return await call(await async_cache.get_secret_string(secret_id, version_stage), args, kwargs)

        return async_wrapper  # type: ignore[return-value]
    if not isinstance(cache, SecretCache):
        raise TypeError(f"{func.__qualname__} is not a coroutine function: it needs a SecretCache")
    sync_cache = cache

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return call(sync_cache.get_secret_string(secret_id, version_stage), args, kwargs)

    return wrapper  # type: ignore[return-value]
