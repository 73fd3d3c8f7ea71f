"""RotationRules: validation, windows and NextRotationDate (secrets.rotation.schedule, .cron), and the
RotationToken check (secrets.rotation.tokens)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from strongroom.crypto.sealing import SealingBox
from strongroom.errors import AccessDeniedException, InvalidParameterException
from strongroom.secrets.rotation.schedule import next_rotation_date, parse_rules
from strongroom.secrets.rotation.tokens import check_token, new_token
from strongroom.store.records import RotationRow


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def window(rules: dict[str, Any], moment: str) -> tuple[str, str]:
    start, end = parse_rules(rules).window_after(at(moment))
    return iso(start), iso(next_rotation_date((start, end)))


@pytest.mark.parametrize(("rules", "moment", "expected"), [
    # AutomaticallyAfterDays: the day N days after the last rotation, the whole UTC day.
    ({"AutomaticallyAfterDays": 30}, "2026-01-10T15:00:00", ("2026-02-09T00:00:00", "2026-02-09T23:59:59")),
    ({"AutomaticallyAfterDays": 1, "Duration": "3h"}, "2026-01-10T15:00:00",
     ("2026-01-11T00:00:00", "2026-01-11T02:59:59")),
    ({"ScheduleExpression": "rate(10 days)"}, "2026-12-28T01:00:00", ("2027-01-07T00:00:00", "2027-01-07T23:59:59")),
    # rate() in hours: windows from midnight every N hours, an hour long by default.
    ({"ScheduleExpression": "rate(6 hours)"}, "2026-01-10T07:30:00", ("2026-01-10T12:00:00", "2026-01-10T12:59:59")),
    ({"ScheduleExpression": "rate(10 hours)"}, "2026-01-10T21:00:00", ("2026-01-11T00:00:00", "2026-01-11T00:59:59")),
    ({"ScheduleExpression": "rate(4 hours)", "Duration": "2h"}, "2026-01-10T04:00:00",
     ("2026-01-10T08:00:00", "2026-01-10T09:59:59")),
    # cron(): a day's schedule closes at the end of the day, an hours' schedule after an hour.
    ({"ScheduleExpression": "cron(0 3 ? * MON *)", "Duration": "2h"}, "2026-12-04T10:00:00",
     ("2026-12-07T03:00:00", "2026-12-07T04:59:59")),
    ({"ScheduleExpression": "cron(0 16 L * ? *)"}, "2026-02-03T00:00:00",
     ("2026-02-28T16:00:00", "2026-02-28T23:59:59")),
    ({"ScheduleExpression": "cron(0 8 ? * 2#1 *)"}, "2026-12-04T00:00:00",
     ("2026-12-07T08:00:00", "2026-12-07T23:59:59")),
    ({"ScheduleExpression": "cron(0 0/6 * * ? *)"}, "2026-12-04T06:00:00",
     ("2026-12-04T12:00:00", "2026-12-04T12:59:59")),
    ({"ScheduleExpression": "cron(30 9 1,15 JAN-MAR ? 2027)"}, "2026-12-04T00:00:00",
     ("2027-01-01T09:30:00", "2027-01-01T23:59:59")),
])  # fmt: skip
def test_windows(rules: dict[str, Any], moment: str, expected: tuple[str, str]) -> None:
    assert window(rules, moment) == expected


@pytest.mark.parametrize("rules", [
    {"AutomaticallyAfterDays": 7, "ScheduleExpression": "rate(4 hours)"},
    {"Duration": "2h"},
    {"AutomaticallyAfterDays": 0},
    {"AutomaticallyAfterDays": 1001},
    {"ScheduleExpression": "rate(3 hours)"},
    {"ScheduleExpression": "rate(6 hours)", "Duration": "7h"},
    {"ScheduleExpression": "rate(2 weeks)"},
    {"ScheduleExpression": "at(2026-01-01T00:00:00)"},
    {"AutomaticallyAfterDays": 3, "Duration": "25h"},
    {"ScheduleExpression": "cron(0 3 * * *)"},
    {"ScheduleExpression": "cron(0 3 * * MON *)"},
    {"ScheduleExpression": "cron(0 3 ? * ? *)"},
    {"ScheduleExpression": "cron(0 3 15W * ? *)"},
    {"ScheduleExpression": "cron(0,30 3 * * ? *)"},
    {"ScheduleExpression": "cron(0 1,3 * * ? *)"},
    {"ScheduleExpression": "cron(0 61 * * ? *)"},
    {"ScheduleExpression": "cron(0 23 * * ? *)", "Duration": "2h"},
    {"ScheduleExpression": "cron(0 3 * * ? 1969)"},
])  # fmt: skip
def test_invalid_rules_are_invalid_parameter(rules: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameterException):
        parse_rules(rules)


def test_rules_answer_as_given() -> None:
    rules = {"ScheduleExpression": "cron(0 3 ? * MON *)", "Duration": "2h"}
    assert parse_rules(rules).wire == rules


def run_with(sealed: bytes, state: str = "running") -> RotationRow:
    return RotationRow(1, "123456789012", "us-east-1", "arn:s", "v1", "arn:f", "rotate", sealed, state, None, 0,
                       None, 0.0, 0.0)


def test_the_rotation_token_of_the_running_rotation_passes_and_no_other() -> None:
    box = SealingBox(b"k" * 32, "test")
    token, sealed = new_token(box, "arn:s", "v1")
    assert len(token) == 64 and token.isalnum()
    check_token(box, run_with(sealed), token)
    altered = token[:-1] + ("1" if token.endswith("0") else "0")
    for run, offered in [(run_with(sealed), altered), (run_with(sealed, "succeeded"), token),
                         (None, token), (run_with(sealed), "")]:
        with pytest.raises(AccessDeniedException) as caught:
            check_token(box, run, offered)
        assert token not in caught.value.message
    other_token, _ = new_token(box, "arn:s", "v1")
    assert other_token != token
