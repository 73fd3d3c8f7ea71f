"""RotationRules: AutomaticallyAfterDays, ScheduleExpression (``rate()``, ``cron()``) and Duration.

A schedule is a series of rotation windows in UTC (docs/api.md, "Rotation schedules", with AWS's
sources). The scheduler starts a rotation when its window opens; NextRotationDate is the last
second of that window ("the latest date that rotation will occur").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from strongroom.errors import InvalidParameterException
from strongroom.secrets.rotation.cron import Cron, parse_cron

DAY, HOUR = 86400.0, 3600.0
#: AWS: "You can rotate a secret as often as every four hours."
MIN_HOURS = 4
RATE = re.compile(r"rate\(\s*(\d{1,4})\s+(hour|hours|day|days)\s*\)")
CRON = re.compile(r"cron\((.*)\)")
BOTH = "You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules."
NO_SCHEDULE = "RotationRules must include AutomaticallyAfterDays or ScheduleExpression."


@dataclass(frozen=True, slots=True)
class Rules:
    """A validated schedule: one of ``after_days`` (also ``rate(N days)``), ``every_hours``
    (``rate(N hours)``) or ``cron``, plus the window's length in hours (None: the default)."""

    wire: dict[str, Any]
    after_days: int | None = None
    every_hours: int | None = None
    cron: Cron | None = None
    duration: int | None = None

    def window_after(self, moment: float) -> tuple[float, float]:
        """(start, end) of the first window opening after ``moment`` (epoch seconds; for
        AutomaticallyAfterDays and ``rate(N days)``, ``moment`` is the last rotation)."""
        when = dt.datetime.fromtimestamp(moment, dt.UTC)
        midnight = dt.datetime(when.year, when.month, when.day, tzinfo=dt.UTC).timestamp()
        if self.after_days is not None:
            start = midnight + self.after_days * DAY
            return start, start + (self.duration or 24) * HOUR
        if self.every_hours is not None:
            step = self.every_hours * HOUR
            start = midnight + (int((moment - midnight) // step) + 1) * step
            if start >= midnight + DAY:  # the windows start again at every midnight
                start = midnight + DAY
            return start, start + (self.duration or 1) * HOUR
        assert self.cron is not None
        found = self.cron.next_after(when)
        if found is None:
            raise InvalidParameterException("The cron expression has no time in the next five years.")
        start = found.timestamp()
        if self.duration is not None:
            end = start + self.duration * HOUR
        elif self.cron.hourly:
            end = start + HOUR
        else:
            end = dt.datetime(found.year, found.month, found.day, tzinfo=dt.UTC).timestamp() + DAY
        return start, end


def next_rotation_date(window: tuple[float, float]) -> float:
    """NextRotationDate of a window: its last second."""
    return window[1] - 1.0


def parse_rules(rules: dict[str, Any]) -> Rules:
    """Validate RotationRules (InvalidParameterException, AWS's error type for a bad member)."""
    days, expression, duration_text = (rules.get("AutomaticallyAfterDays"), rules.get("ScheduleExpression"),
                                       rules.get("Duration"))
    if days is not None and expression is not None:
        raise InvalidParameterException(BOTH)
    if days is None and expression is None:
        raise InvalidParameterException(NO_SCHEDULE)
    wire = {k: v for k, v in rules.items() if v is not None}
    duration = _duration(duration_text) if duration_text is not None else None
    if days is not None:
        if not 1 <= int(days) <= 1000:
            raise InvalidParameterException("AutomaticallyAfterDays must be between 1 and 1000.")
        return _checked(Rules(wire, after_days=int(days), duration=duration), 0)
    text = str(expression).strip()
    rate = RATE.fullmatch(text)
    if rate is not None:
        n, unit = int(rate.group(1)), rate.group(2)
        if unit.startswith("day"):
            if not 1 <= n <= 1000:
                raise InvalidParameterException("A rate() in days must be between 1 and 1000 days.")
            return _checked(Rules(wire, after_days=n, duration=duration), 0)
        if not MIN_HOURS <= n <= 24:
            raise InvalidParameterException(f"A rate() in hours must be between {MIN_HOURS} and 24 hours.")
        if duration is not None and duration > n:
            raise InvalidParameterException("The rotation window must not extend into the next rotation window.")
        return _checked(Rules(wire, every_hours=n, duration=duration), 0)
    cron_match = CRON.fullmatch(text)
    if cron_match is None:
        raise InvalidParameterException("ScheduleExpression must be a rate() or cron() expression.")
    try:
        cron = parse_cron(cron_match.group(1))
    except ValueError as exc:
        raise InvalidParameterException(f"Invalid cron expression: {exc}.") from None
    if len(cron.minutes) > 1:
        raise InvalidParameterException(f"You can rotate a secret at most every {MIN_HOURS} hours.")
    if cron.hourly:
        hours = sorted(cron.hours)
        gaps = [b - a for a, b in zip(hours, [*hours[1:], hours[0] + 24], strict=True)]
        if min(gaps) < MIN_HOURS:
            raise InvalidParameterException(f"You can rotate a secret at most every {MIN_HOURS} hours.")
        if duration is not None and duration > min(gaps):
            raise InvalidParameterException("The rotation window must not extend into the next rotation window.")
    return _checked(Rules(wire, cron=cron, duration=duration), max(cron.hours) * 60 + max(cron.minutes))


def _duration(text: Any) -> int:
    hours = str(text)
    if not (hours.endswith("h") and hours[:-1].isdigit() and 1 <= int(hours[:-1]) <= 24):
        raise InvalidParameterException("Duration must be between 1h and 24h.")
    return int(hours[:-1])


def _checked(rules: Rules, last_start_minute: int) -> Rules:
    """The window opening last in a day must close by midnight UTC."""
    if rules.duration is not None and last_start_minute + rules.duration * 60 > 24 * 60:
        raise InvalidParameterException("The rotation window must not extend into the next UTC day.")
    return rules
