"""AWS's six-field ``cron(minutes hours day-of-month month day-of-week year)``, in UTC.

Fields take numbers, ``*``, ranges ``a-b``, lists ``a,b`` and steps ``a/n`` or ``*/n``; months
``JAN``-``DEC`` and days ``SUN``-``SAT`` (day-of-week 1-7 is Sunday-Saturday); ``?`` in
day-of-month or day-of-week (exactly one of them), ``L`` (the last day of the month) in
day-of-month and ``d#n`` (the n-th such weekday of the month) in day-of-week. ``W`` is refused.
Errors are ValueError with the reason (the caller words them as AWS's errors).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

MONTHS = {name: n for n, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
DAYS = {name: n for n, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
#: How far ahead a schedule is searched for its next time (a year field may leave no time at all).
SEARCH_DAYS = 5 * 366


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: ``?``
    last_day: bool
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday; None: ``?``
    nth: tuple[int, int] | None  # (weekday, n) of ``d#n``
    years: frozenset[int]

    @property
    def hourly(self) -> bool:
        """A schedule in hours (more than one hour a day): its window closes after an hour by default."""
        return len(self.hours) > 1

    def first_hour(self) -> int:
        return min(self.hours)

    def matches_day(self, day: dt.date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days is not None or self.last_day:
            last = calendar.monthrange(day.year, day.month)[1]
            return (self.last_day and day.day == last) or (self.days is not None and day.day in self.days)
        weekday = day.isoweekday() % 7 + 1  # Sunday 1 ... Saturday 7
        if self.nth is not None:
            return weekday == self.nth[0] and (day.day - 1) // 7 + 1 == self.nth[1]
        return self.weekdays is not None and weekday in self.weekdays

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first time of the schedule strictly after ``moment`` (UTC), or None within SEARCH_DAYS."""
        start = moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        day = start.date()
        for offset in range(SEARCH_DAYS):
            current = day + dt.timedelta(days=offset)
            if not self.matches_day(current):
                continue
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    candidate = dt.datetime(current.year, current.month, current.day, hour, minute, tzinfo=dt.UTC)
                    if candidate >= start:
                        return candidate
        return None


def _number(text: str, names: dict[str, int] | None, low: int, high: int) -> int:
    value = names.get(text.upper()) if names else None
    if value is None:
        if not text.isdigit():
            raise ValueError(f"{text!r} is not a valid value")
        value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}-{high}")
    return value


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, None, 1, high) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _number(a, names, low, high), _number(b, names, low, high)
            if first > last:
                raise ValueError(f"the range {base!r} is empty")
        else:
            first = _number(base, names, low, high)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return frozenset(values)


def parse_cron(body: str) -> Cron:
    """The schedule of the text between ``cron(`` and ``)``; ValueError if it is not one."""
    parts = body.split()
    if len(parts) != 6:
        raise ValueError("a cron expression has six fields: minutes hours day-of-month month day-of-week year")
    minute, hour, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise ValueError("exactly one of day-of-month and day-of-week must be '?'")
    if "W" in dom.upper():
        raise ValueError("the W wildcard is not supported")
    days, last_day, weekdays, nth = None, False, None, None
    if dom != "?":
        entries = dom.split(",")
        last_day = "L" in (e.upper() for e in entries)
        rest = [e for e in entries if e.upper() != "L"]
        days = _field(",".join(rest), 1, 31) if rest else frozenset()
    elif "#" in dow:
        day_text, _, n_text = dow.partition("#")
        nth = (_number(day_text, DAYS, 1, 7), _number(n_text, None, 1, 5))
    else:
        weekdays = _field(dow, 1, 7, DAYS)
    return Cron(_field(minute, 0, 59), _field(hour, 0, 23), days, last_day, _field(month, 1, 12, MONTHS),
                weekdays, nth, _field(year, 1970, 2199))
