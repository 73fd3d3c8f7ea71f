"""The cache's policy, on both forms (SecretCache and AsyncSecretCache) against an in-memory service
and a clock moved by hand: TTL and revalidation, version changes, refresh ahead, LRU, stages,
binary values, refresh errors (stale within the bound, backoff, definitive errors), refresh_secret_now."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from cache_forms import CONFIG, FORMS, Form

from strongroom.client import (
    AccessDeniedException,
    ConnectionFailure,
    InvalidRequestException,
    ResourceNotFoundException,
    ServiceUnavailable,
    ThrottlingException,
)
from strongroom.client.cache import SecretCacheConfig

GET, DESCRIBE = ("GetSecretValue", "db"), ("DescribeSecret", "db")


@pytest.fixture(params=FORMS, ids=lambda form: form.name)
def form(request: pytest.FixtureRequest) -> Iterator[Form]:
    made: Form = request.param()
    yield made
    made.close()


def make(form: Form, **settings: Any) -> Form:
    """Another cache of the same form, with ``settings`` changed from CONFIG."""
    from dataclasses import replace

    return type(form)(replace(CONFIG, **settings))


def test_first_read_is_one_get_secret_value_then_hits(form: Form) -> None:
    form.service.put("db", "s1")
    first = form.value("db")
    assert first.secret_string == "s1" and first.version_stages == ("AWSCURRENT",)
    assert all(form.value("db") is first for _ in range(10))
    assert form.string("db") == "s1"
    form.clock.advance(89.9)  # still before the refresh-ahead window
    assert form.value("db") is first
    assert form.service.calls == [GET]


def test_an_unchanged_version_is_revalidated_with_describe_secret_only(form: Form) -> None:
    form.service.put("db", "s1")
    first = form.value("db")
    form.clock.advance(100)  # expired: the read waits for DescribeSecret
    assert form.value("db") is first
    assert form.service.calls == [GET, DESCRIBE]
    form.clock.advance(89.9)  # fresh again for a whole TTL
    assert form.value("db") is first
    assert form.service.calls == [GET, DESCRIBE]


def test_a_new_version_is_fetched_at_expiry(form: Form) -> None:
    form.service.put("db", "s1")
    assert form.string("db") == "s1"
    form.service.put("db", "s2")
    form.clock.advance(89)
    assert form.string("db") == "s1"  # fresh: not checked yet
    form.clock.advance(11)
    assert form.string("db") == "s2"
    assert form.service.calls == [GET, DESCRIBE, GET]


def test_a_read_in_the_refresh_ahead_window_is_served_at_once_and_refreshes_in_the_background(form: Form) -> None:
    form.service.put("db", "s1")
    assert form.string("db") == "s1"
    form.service.put("db", "s2")
    form.clock.advance(95)
    assert form.string("db") == "s1"  # the current value, while the refresh runs
    form.drain()
    assert form.string("db") == "s2"
    assert form.service.calls == [GET, DESCRIBE, GET]
    form.clock.advance(89.9)  # the background refresh made it fresh for a whole TTL
    assert form.string("db") == "s2"
    assert form.service.calls == [GET, DESCRIBE, GET]


def test_the_least_recently_used_entry_is_dropped_beyond_max_cache_size(form: Form) -> None:
    small = make(form, max_cache_size=2)
    try:
        for name in ("a", "b", "c"):
            small.service.put(name, name)
        small.string("a")
        small.clock.advance(1)
        small.string("b")
        small.clock.advance(1)
        small.string("a")  # a is now more recent than b
        small.clock.advance(1)
        small.string("c")  # evicts b
        assert len(small.cache._core) == 2
        small.string("a")
        small.string("c")
        assert small.service.count("GetSecretValue") == 3
        small.string("b")
        assert small.service.calls[-1] == ("GetSecretValue", "b")
        assert small.service.count("GetSecretValue") == 4
    finally:
        small.close()


def test_version_stages_are_cached_separately(form: Form) -> None:
    form.service.put("db", "old")
    form.service.put("db", "new")
    assert form.string("db") == "new"
    assert form.string("db", "AWSCURRENT") == "new"  # the default stage is the same entry
    assert form.string("db", "AWSPREVIOUS") == "old"
    assert form.value("db", "AWSPREVIOUS").version_stages == ("AWSPREVIOUS",)
    assert form.service.count("GetSecretValue") == 2
    with pytest.raises(ResourceNotFoundException, match="AWSPENDING"):
        form.string("db", "AWSPENDING")


def test_the_default_stage_comes_from_the_config(form: Form) -> None:
    previous = make(form, default_version_stage="AWSPREVIOUS")
    try:
        previous.service.put("db", "old")
        previous.service.put("db", "new")
        assert previous.string("db") == "old"
    finally:
        previous.close()


def test_binary_secrets(form: Form) -> None:
    form.service.put("blob", binary=b"\x00\xff secret")
    assert form.binary("blob") == b"\x00\xff secret"
    assert form.string("blob") is None
    form.service.put("text", "t")
    assert form.binary("text") is None


def test_a_failed_refresh_serves_the_stale_value_within_the_bound_with_backoff(form: Form) -> None:
    form.service.put("db", "s1")
    assert form.string("db") == "s1"  # t=0; expires at 100, stale until 130
    form.service.fail_next(ThrottlingException("Rate exceeded"))
    form.clock.advance(100)
    assert form.string("db") == "s1"  # waited for the refresh, which failed: the stale value
    assert form.service.count("DescribeSecret") == 1

    transient = [ServiceUnavailable("down"), ConnectionFailure("refused"), ThrottlingException("Rate exceeded")]
    form.service.fail_next(*transient * 3)
    # attempts after 1, 2, 4, 8, 8 s (the maximum): at t=101, 103, 107, 115, 123
    schedule = {100.5: 1, 101: 2, 102.9: 2, 103: 3, 106.9: 3, 107: 4, 114.9: 4, 115: 5, 122.9: 5, 123: 6, 129.9: 6}
    for at, describes in schedule.items():
        form.clock.now = 1000 + at
        assert form.string("db") == "s1", at  # never waits for the failing service
        form.drain()
        assert form.service.count("DescribeSecret") == describes, at

    form.clock.now = 1000 + 130  # past the bound: the last error, without a new attempt until t=131
    with pytest.raises(ConnectionFailure):
        form.string("db")
    assert form.service.count("DescribeSecret") == 6
    form.clock.now = 1000 + 131  # the next attempt is made by a reader that waits for it
    with pytest.raises(ThrottlingException):
        form.string("db")
    assert form.service.count("DescribeSecret") == 7

    form.service.failures.clear()
    form.clock.now = 1000 + 139  # the service is back: DescribeSecret confirms the version, no GetSecretValue
    assert form.string("db") == "s1"
    assert form.service.count("DescribeSecret") == 8 and form.service.count("GetSecretValue") == 1


def test_a_definitive_error_on_refresh_drops_the_value_at_once(form: Form) -> None:
    form.service.put("db", "s1")
    form.string("db")
    form.service.fail_next(AccessDeniedException("not allowed"))
    form.clock.advance(95)
    assert form.string("db") == "s1"  # refresh ahead: served while the refresh runs
    form.drain()
    with pytest.raises(AccessDeniedException):  # the refresh was refused: no stale value
        form.string("db")
    assert form.service.calls == [GET, DESCRIBE]  # the error was cached for the backoff delay
    form.clock.advance(1)
    assert form.string("db") == "s1"  # after it, a full GetSecretValue (the value was dropped)
    assert form.service.calls == [GET, DESCRIBE, GET]


def test_a_secret_marked_for_deletion_is_not_served_after_its_ttl(form: Form) -> None:
    form.service.put("db", "s1")
    form.string("db")
    form.service.deleted.add("db")
    form.clock.advance(100)  # DescribeSecret still answers, with DeletedDate: GetSecretValue tells
    with pytest.raises(InvalidRequestException, match="marked for deletion"):
        form.string("db")
    assert form.service.calls == [GET, DESCRIBE, GET]


def test_a_secret_that_is_not_found_is_retried_with_backoff_only(form: Form) -> None:
    for _ in range(3):
        with pytest.raises(ResourceNotFoundException):
            form.string("nope")
    assert form.service.count("GetSecretValue") == 1
    form.clock.advance(1)
    with pytest.raises(ResourceNotFoundException):
        form.string("nope")
    form.clock.advance(1.9)  # the second delay is 2 s
    with pytest.raises(ResourceNotFoundException):
        form.string("nope")
    assert form.service.count("GetSecretValue") == 2
    form.service.put("nope", "created")
    form.clock.advance(0.1)
    assert form.string("nope") == "created"


def test_a_cached_error_raised_many_times_keeps_a_short_traceback(form: Form) -> None:
    depths = []
    for _ in range(50):
        try:
            form.string("nope")
        except ResourceNotFoundException as error:
            depths.append(len(traceback.extract_tb(error.__traceback__)))
    assert len(set(depths[1:])) == 1 and depths[-1] < 10


def test_refresh_secret_now_revalidates_a_fresh_entry(form: Form) -> None:
    form.service.put("db", "s1")
    assert form.string("db") == "s1"
    assert form.refresh_now("db").secret_string == "s1"
    assert form.service.calls == [GET, DESCRIBE]
    form.service.put("db", "s2")
    assert form.refresh_now("db").secret_string == "s2"
    assert form.string("db") == "s2"
    assert form.service.calls == [GET, DESCRIBE, DESCRIBE, GET]


def test_refresh_secret_now_ignores_the_backoff_delay(form: Form) -> None:
    with pytest.raises(ResourceNotFoundException):
        form.string("db")
    form.service.put("db", "s1")
    assert form.refresh_now("db").secret_string == "s1"
    assert form.service.count("GetSecretValue") == 2


def test_the_config_is_validated() -> None:
    with pytest.raises(ValueError, match="max_cache_size must be at least 1.*refresh_ahead must be in"):
        SecretCacheConfig(max_cache_size=0, refresh_ahead=1.0)
    with pytest.raises(ValueError, match="secret_refresh_interval must be positive"):
        SecretCacheConfig(secret_refresh_interval=0)


def test_the_backoff_grows_to_its_maximum_and_stays_there() -> None:
    config = SecretCacheConfig(
        exception_retry_delay_base=1, exception_retry_growth_factor=2, exception_retry_delay_max=60
    )
    assert [config.retry_delay(n) for n in (1, 2, 3, 6, 7, 8)] == [1, 2, 4, 32, 60, 60]
    assert config.retry_delay(5000) == 60  # 2 ** 4999 is beyond a float: still the maximum
    assert SecretCacheConfig().retry_delay(10**6) == 60
