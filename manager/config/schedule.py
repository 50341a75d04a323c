"""The digest schedule (`digest.schedule`, `digest.timezone`) as pure functions of plain values.

A schedule is a set of weekdays and a local wall-clock time: "mon 09:00", "daily 08:00",
"weekdays 09:00". `next_run`, `previous_run` and `period_key` take the current instant as an argument
and never read a clock, so they are tested on fixed datetimes (like python-arq's `next_cron()`); the
scheduler module that wraps them injects the clock. All instants they return are aware UTC datetimes.

Daylight-saving rules, applied to the local date a run is scheduled on:

* **Gap (spring forward).** A wall time that does not exist that day (02:30 in Europe/Paris on the last
  Sunday of March, when clocks jump from 02:00 to 03:00) runs once, at the first valid instant after
  the gap (03:00 local): "run once, shifted forward", as cron does for times skipped by a clock change.
  The run is not dropped, and not moved by the gap's length (03:30) either.
* **Overlap (fall back).** A wall time that occurs twice that day (02:30 in Europe/Paris on the last
  Sunday of October) runs once, at its first occurrence (``fold=0``); the second occurrence is never a
  scheduled instant.

So every scheduled local date contributes exactly one instant, and those instants strictly increase:
``next_run(s, next_run(s, t)) > next_run(s, t)``, and ``previous_run`` walks the same sequence backwards.
`period_key` names the scheduled local date of a run (its ISO week for a weekly schedule), which is what
a run claims so that it happens exactly once across restarts and replicas.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "Schedule",
    "next_run",
    "parse_schedule",
    "period_key",
    "previous_run",
]

_DAY_ABBREVIATIONS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EVERY_DAY = frozenset(range(7))
_WEEKDAYS = frozenset(range(5))

# Every accepted spelling of a day word, and the days it stands for.
_DAY_WORDS: dict[str, frozenset[int]] = {
    **{name: frozenset({i}) for i, name in enumerate(_DAY_ABBREVIATIONS)},
    **{name: frozenset({i}) for i, name in enumerate(_DAY_NAMES)},
    "daily": _EVERY_DAY,
    "weekdays": _WEEKDAYS,
}

_SHAPE = re.compile(r"\s*(?P<days>[^\s,]+(?:\s*,\s*[^\s,]+)*)\s+(?P<time>\S+)\s*")
_TIME = re.compile(r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})")
_EXPECTED = "expected 'DAY HH:MM' like 'mon 09:00'"


@dataclass(frozen=True)
class Schedule:
    """Run on each of `days` (Monday=0 ... Sunday=6) at `hour`:`minute`, local wall-clock time."""

    days: frozenset[int]
    hour: int
    minute: int

    def __post_init__(self) -> None:
        if not self.days or not self.days <= _EVERY_DAY:
            raise ValueError(f"days must be a non-empty set of 0 (Monday) to 6 (Sunday), got {self.days!r}")
        if not 0 <= self.hour <= 23:
            raise ValueError(f"hour must be 0-23, got {self.hour}")
        if not 0 <= self.minute <= 59:
            raise ValueError(f"minute must be 0-59, got {self.minute}")

    @property
    def weekly(self) -> bool:
        """True when the schedule runs on one day a week."""
        return len(self.days) == 1

    def __str__(self) -> str:
        """The canonical form, which `parse_schedule` reads back: "mon 09:00", "daily 08:00"..."""
        if self.days == _EVERY_DAY:
            days = "daily"
        elif self.days == _WEEKDAYS:
            days = "weekdays"
        else:
            days = ",".join(_DAY_ABBREVIATIONS[day] for day in sorted(self.days))
        return f"{days} {self.hour:02d}:{self.minute:02d}"


def parse_schedule(text: str) -> Schedule:
    """Parse "mon 09:00", "Monday 9:00", "daily 08:00", "weekdays 09:00" or "mon,thu 09:00".

    Case-insensitive. Raises `ValueError` naming what is wrong.
    """
    shape = _SHAPE.fullmatch(text)
    if shape is None:
        raise ValueError(f"{_EXPECTED}, got {text!r}")
    days = frozenset().union(*(_parse_days(word.strip()) for word in shape["days"].split(",")))
    clock = _TIME.fullmatch(shape["time"])
    if clock is None:
        raise ValueError(f"{_EXPECTED}; the time {shape['time']!r} is not HH:MM")
    hour, minute = int(clock["hour"]), int(clock["minute"])
    if hour > 23:
        raise ValueError(f"hour must be 0-23, got {hour} in {text!r}")
    if minute > 59:
        raise ValueError(f"minute must be 0-59, got {minute} in {text!r}")
    return Schedule(days=days, hour=hour, minute=minute)


def _parse_days(word: str) -> frozenset[int]:
    days = _DAY_WORDS.get(word.lower())
    if days is not None:
        return days
    close = difflib.get_close_matches(word.lower(), list(_DAY_WORDS), n=1)
    if close:
        days = _DAY_WORDS[close[0]]
        suggestion = close[0] if len(days) > 1 else _DAY_ABBREVIATIONS[min(days)]
        raise ValueError(f"unknown day {word!r}; did you mean {suggestion!r}?")
    raise ValueError(
        f"unknown day {word!r}; expected one of {', '.join(_DAY_ABBREVIATIONS)}, daily, weekdays"
    )


def next_run(schedule: Schedule, after: datetime, tz: str | ZoneInfo) -> datetime:
    """The first scheduled instant strictly after `after` (aware, any zone), as an aware UTC datetime."""
    zone = _zone(tz)
    start = _local_date(after, zone, "after")
    # One day back covers a run whose gap shift carried it past midnight; eight days ahead covers a week.
    for offset in range(-1, 9):
        day = start + timedelta(days=offset)
        if day.weekday() in schedule.days:
            instant = _resolve(day, schedule, zone)
            if instant > after:
                return instant
    raise AssertionError("unreachable: a non-empty schedule runs at least once a week")


def previous_run(schedule: Schedule, before: datetime, tz: str | ZoneInfo) -> datetime:
    """The latest scheduled instant at or before `before` (aware, any zone), as an aware UTC datetime.

    A starting svcbot compares it with the last claimed period to detect a digest missed while it was down.
    """
    return _slot_at_or_before(schedule, before, _zone(tz))[1]


def period_key(schedule: Schedule, at: datetime, tz: str | ZoneInfo) -> str:
    """The identity of the digest period that a run at `at` covers, to claim that run exactly once.

    The run is the latest scheduled one at or before `at` (so a late or retried run gets the same key as
    an on-time one). Its key is the scheduled local date: the ISO week, like "2026-W48", for a weekly
    schedule (ISO week-numbering year, so 2027-01-01 is "2026-W53"); the date, like "2026-11-23", for
    any other schedule (daily, weekdays, several days).
    """
    day = _slot_at_or_before(schedule, at, _zone(tz))[0]
    if schedule.weekly:
        iso = day.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    return day.isoformat()


def _slot_at_or_before(schedule: Schedule, before: datetime, zone: ZoneInfo) -> tuple[date, datetime]:
    """The latest scheduled (local date, UTC instant) at or before `before`."""
    start = _local_date(before, zone, "before")
    for offset in range(1, -9, -1):
        day = start + timedelta(days=offset)
        if day.weekday() in schedule.days:
            instant = _resolve(day, schedule, zone)
            if instant <= before:
                return day, instant
    raise AssertionError("unreachable: a non-empty schedule runs at least once a week")


def _resolve(day: date, schedule: Schedule, zone: ZoneInfo) -> datetime:
    """The UTC instant of the schedule's wall time on local `day`, by the module docstring's DST rules."""
    wall = datetime.combine(day, time(schedule.hour, schedule.minute))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # exists: the only occurrence, or the first of two
    # In a gap the two folds straddle the transition; the run goes at the transition itself.
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _transition(min(first, second), max(first, second), zone)


def _transition(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second at or before `after` with `after`'s UTC offset, searching from `before`."""
    target = after.astimezone(zone).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _local_date(moment: datetime, zone: ZoneInfo, name: str) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(zone).date()


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown timezone {tz!r}; expected an IANA name like 'UTC' or 'Europe/Paris'"
        ) from exc
