"""inject_secret_string and inject_keyworded_secret_string on plain and async functions and methods:
the secret is read at each call (rotations are seen), errors never show the secret."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cache_forms import AsyncForm, SyncForm

from strongroom.client.cache import inject_keyworded_secret_string, inject_secret_string

CREDENTIALS = {"username": "app", "password": "hunter2"}


def test_inject_secret_string_reads_the_cache_at_each_call() -> None:
    form = SyncForm()
    form.service.put("db", "s1")

    @inject_secret_string(form.cache, "db")
    def connect(secret: str, host: str, *, port: int = 5432) -> tuple[str, str, int]:
        """Connects."""
        return secret, host, port

    assert connect.__name__ == "connect" and connect.__doc__ == "Connects."
    assert connect("h", port=1) == ("s1", "h", 1)
    form.service.put("db", "s2")
    form.clock.advance(100)
    assert connect("h") == ("s2", "h", 5432)  # rotated: seen at the next call after the TTL
    assert form.service.count("GetSecretValue") == 2


def test_inject_secret_string_on_methods_and_another_stage() -> None:
    form = SyncForm()
    form.service.put("db", "old")
    form.service.put("db", "new")

    class Repository:
        def __init__(self, host: str) -> None:
            self.host = host

        @inject_secret_string(form.cache, "db")
        def current(self, secret: str, suffix: str) -> str:
            return f"{self.host}:{secret}{suffix}"

        @classmethod
        @inject_secret_string(form.cache, "db", version_stage="AWSPREVIOUS")
        def previous(cls, secret: str) -> str:
            return f"{cls.__name__}:{secret}"

    assert Repository("h").current("!") == "h:new!"
    assert Repository.previous() == "Repository:old"


def test_inject_keyworded_secret_string_maps_json_keys_to_parameters() -> None:
    form = SyncForm()
    form.service.put("db", json.dumps(CREDENTIALS))

    @inject_keyworded_secret_string(form.cache, "db", user="username", password="password")
    def login(host: str, *, user: str, password: str) -> str:
        return f"{user}:{password}@{host}"

    assert login("h") == "app:hunter2@h"
    assert login(host="h2") == "app:hunter2@h2"
    form.service.put("db", json.dumps({**CREDENTIALS, "password": "rotated"}))
    form.clock.advance(100)
    assert login("h") == "app:rotated@h"


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("hunter2-not-json", "is not valid JSON"),
        (json.dumps(["hunter2"]), "is not a JSON object"),
        (json.dumps({"username": "app", "pass": "hunter2"}), "does not contain key 'password'"),
    ],
)
def test_keyworded_errors_never_carry_the_secret(secret: str, message: str) -> None:
    form = SyncForm()
    form.service.put("db", secret)

    @inject_keyworded_secret_string(form.cache, "db", user="username", password="password")
    def login(*, user: str, password: str) -> None:
        raise AssertionError("not called")

    with pytest.raises(RuntimeError, match=message) as caught:
        login()
    error: BaseException | None = caught.value
    while error is not None:  # the error and everything it chains to
        assert "hunter2" not in repr(error) and "hunter2" not in repr(vars(error))
        assert "hunter2" not in repr(getattr(error, "doc", ""))
        error = error.__cause__ or error.__context__


def test_keyworded_needs_a_string_secret() -> None:
    form = SyncForm()
    form.service.put("db", binary=b"\x00")

    @inject_keyworded_secret_string(form.cache, "db", user="username")
    def login(*, user: str) -> None:
        raise AssertionError("not called")

    with pytest.raises(RuntimeError, match="has no SecretString"):
        login()
    with pytest.raises(TypeError, match="at least one"):
        inject_keyworded_secret_string(form.cache, "db")


def test_async_functions_with_the_async_cache() -> None:
    form = AsyncForm()
    try:
        form.service.put("db", json.dumps(CREDENTIALS))

        @inject_secret_string(form.cache, "db")
        async def raw(secret: str, extra: int) -> tuple[Any, int]:
            return json.loads(secret)["username"], extra

        @inject_keyworded_secret_string(form.cache, "db", password="password")
        async def keyworded(*, password: str) -> str:
            return password

        assert form.run(raw(7)) == ("app", 7)
        assert form.run(keyworded()) == "hunter2"
        assert form.service.count("GetSecretValue") == 1
    finally:
        form.close()


def test_a_function_and_a_cache_of_different_forms_are_refused() -> None:
    sync, asynchronous = SyncForm(), AsyncForm()
    try:
        with pytest.raises(TypeError, match="needs an AsyncSecretCache"):

            @inject_secret_string(sync.cache, "db")
            async def f(secret: str) -> None: ...

        with pytest.raises(TypeError, match="needs a SecretCache"):

            @inject_keyworded_secret_string(asynchronous.cache, "db", user="username")
            def g(*, user: str) -> None: ...

    finally:
        asynchronous.close()
