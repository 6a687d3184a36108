"""Schedules as people declare them, and as systemd and cron want them. Pure.

Accepted: "hourly", "daily", "weekly", "monthly"; "every N" with a unit s, m or h that
divides a minute, an hour or a day evenly ("every 15m", "every 2h", "every 10s"); or a
5-field cron line ("30 3 * * *", "*/10 * * * 1-5", names like "mon" and "jan" too).
Cron's "day of month OR day of week" has no OnCalendar form, so a line restricting both
is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

NAMED = {"hourly": "0 * * * *", "daily": "0 0 * * *", "weekly": "0 0 * * 1",
         "monthly": "0 0 1 * *"}
EVERY = re.compile(r"every\s+(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)")
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
CRON_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
SYSTEMD_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]  # Python's weekday order
FIELDS = [("minute", 0, 59, None), ("hour", 0, 23, None), ("day of month", 1, 31, None),
          ("month", 1, 12, MONTHS), ("day of week", 0, 7, CRON_DAYS)]
HELP = ('use "hourly", "daily", "weekly", "monthly", "every 15m" (s, m or h) or a '
        'cron line of 5 fields like "30 3 * * *"')


class ScheduleError(ValueError):
    """A schedule that does not parse; the message says why and what is accepted."""


@dataclass(frozen=True)
class Schedule:
    """The times it fires: every combination of these (weekdays 0 = Monday)."""

    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    def matches(self, when: datetime) -> bool:
        return (when.second in self.seconds and when.minute in self.minutes
                and when.hour in self.hours and when.day in self.days
                and when.month in self.months and when.weekday() in self.weekdays)


def parse(text: str) -> Schedule:
    words = " ".join(str(text).lower().split())
    if not words:
        raise ScheduleError(f"an empty schedule: {HELP}")
    every = EVERY.fullmatch(words)
    if every is not None:
        return _every(int(every.group(1)), every.group(2)[0], text)
    line = NAMED.get(words, words)
    fields = line.split(" ")
    if len(fields) != 5:
        raise ScheduleError(f"{text!r} is not a schedule: {HELP}")
    sets = [_field(value, *spec) for value, spec in zip(fields, FIELDS, strict=True)]
    minutes, hours, days, months, cron_days = sets
    if fields[2] != "*" and fields[4] != "*":
        raise ScheduleError(f"{text!r} restricts both the day of the month and the day of "
                            "the week (cron runs on either, systemd only on both): keep "
                            "one of them `*`")
    weekdays = frozenset((day - 1) % 7 for day in cron_days)  # cron 0/7 = Sunday
    return Schedule(frozenset({0}), minutes, hours, days, months, weekdays)


def _every(count: int, unit: str, text: str) -> Schedule:
    size = {"s": 60, "m": 60, "h": 24}[unit]
    if count < 1 or count > size or size % count:
        whole = {"s": "a minute", "m": "an hour", "h": "a day"}[unit]
        raise ScheduleError(f"{text!r}: {count}{unit} does not divide {whole} evenly; pick a "
                            f"divisor of {size} or write a cron line")
    steps = frozenset(range(0, size, count))
    full = {"s": (steps, _all(0, 59), _all(0, 23)),
            "m": (frozenset({0}), steps, _all(0, 23)),
            "h": (frozenset({0}), frozenset({0}), steps)}[unit]
    return Schedule(*full, _all(1, 31), _all(1, 12), _all(0, 6))


def _all(low: int, high: int) -> frozenset[int]:
    return frozenset(range(low, high + 1))


def _field(text: str, name: str, low: int, high: int, names: list[str] | None
           ) -> frozenset[int]:
    found: set[int] = set()
    for part in text.split(","):
        match = re.fullmatch(r"(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:/(\d+))?", part)
        if match is None:
            raise ScheduleError(f"the {name} field {text!r} does not parse: {HELP}")
        first, last, step = match.groups()
        if first == "*":
            start, end = low, high
        else:
            start = _number(first, name, low, high, names)
            end = _number(last, name, low, high, names) if last else (high if step else start)
        if last and first == "*":
            raise ScheduleError(f"the {name} field {text!r} does not parse: {HELP}")
        if end < start:
            raise ScheduleError(f"the {name} field {text!r} runs backwards ({start} > {end})")
        if step is not None and int(step) < 1:
            raise ScheduleError(f"the {name} field {text!r} has a step of 0")
        found.update(range(start, end + 1, int(step or 1)))
    return frozenset(found)


def _number(word: str, name: str, low: int, high: int, names: list[str] | None) -> int:
    if names is not None and word[:3] in names and not word.isdigit():
        return names.index(word[:3]) + (1 if name == "month" else 0)
    if not word.isdigit() or not low <= int(word) <= high:
        raise ScheduleError(f"the {name} field: {word!r} is not a number from {low} to {high}")
    return int(word)


def on_calendar(text: str) -> str:
    """systemd's `OnCalendar=` for the schedule, e.g. "*-*-* 03:30:00"."""
    s = parse(text)
    date = f"*-{_list(s.months, 1, 12)}-{_list(s.days, 1, 31)}"
    clock = f"{_list(s.hours, 0, 23)}:{_list(s.minutes, 0, 59)}:{_list(s.seconds, 0, 59)}"
    if s.weekdays != _all(0, 6):
        return f"{','.join(SYSTEMD_DAYS[d] for d in sorted(s.weekdays))} {date} {clock}"
    return f"{date} {clock}"


def _list(values: frozenset[int], low: int, high: int) -> str:
    if values == _all(low, high):
        return "*"
    return ",".join(f"{v:02d}" for v in sorted(values))


def cron_line(text: str) -> str | None:
    """The 5 cron fields for the schedule; None: it fires more than once a minute."""
    s = parse(text)
    if s.seconds != frozenset({0}):
        return None
    weekdays = frozenset((d + 1) % 7 for d in s.weekdays)  # back to cron's Sunday = 0
    return " ".join(_cron(v, low, high) for v, low, high in [
        (s.minutes, 0, 59), (s.hours, 0, 23), (s.days, 1, 31), (s.months, 1, 12),
        (weekdays, 0, 6)])


def _cron(values: frozenset[int], low: int, high: int) -> str:
    return "*" if values == _all(low, high) else ",".join(str(v) for v in sorted(values))


def fired_between(text: str, after: datetime, until: datetime) -> bool:
    """Whether the schedule fires at a moment in (after, until], in the server's local
    time as cron and systemd read it, to the second. Only the last day of that span is
    looked at (a server that slept a week runs it once)."""
    s = parse(text)
    until = until.astimezone()
    after = max(after.astimezone(), until - timedelta(days=1))
    second = s.seconds != frozenset({0})
    step = timedelta(seconds=1) if second else timedelta(minutes=1)
    moment = after.replace(microsecond=0) + timedelta(seconds=1)
    if not second and moment.second:
        moment = moment.replace(second=0) + step
    while moment <= until:
        if s.matches(moment):
            return True
        moment += step
    return False
