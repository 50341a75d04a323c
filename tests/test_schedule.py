"""Tests for manager.config.schedule: parsing the digest schedule and its runs across weeks, years and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from manager.config.schedule import Schedule, next_run, parse_schedule, period_key, previous_run

PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"
WEEK = timedelta(days=7)
ALL_DAY_WORDS = "mon, tue, wed, thu, fri, sat, sun, daily, weekdays"


def utc(year: int, month: int, day: int, *clock: int) -> datetime:
    """An aware UTC datetime from the date and optional hour, minute, second, microsecond."""
    hour, minute, second, microsecond = (*clock, 0, 0, 0, 0)[:4]
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "days", "hour", "minute", "canonical"),
    [
        ("mon 09:00", {0}, 9, 0, "mon 09:00"),
        ("Monday 9:00", {0}, 9, 0, "mon 09:00"),
        ("MON 09:00", {0}, 9, 0, "mon 09:00"),
        ("fri 17:30", {4}, 17, 30, "fri 17:30"),
        ("Sunday 23:59", {6}, 23, 59, "sun 23:59"),
        ("tuesday 0:00", {1}, 0, 0, "tue 00:00"),
        ("daily 08:00", set(range(7)), 8, 0, "daily 08:00"),
        ("Daily 8:05", set(range(7)), 8, 5, "daily 08:05"),
        ("weekdays 09:00", set(range(5)), 9, 0, "weekdays 09:00"),
        ("WEEKDAYS 09:00", set(range(5)), 9, 0, "weekdays 09:00"),
        ("  wed   12:15  ", {2}, 12, 15, "wed 12:15"),
        ("mon,thu 09:00", {0, 3}, 9, 0, "mon,thu 09:00"),
        ("thu, Mon 09:00", {0, 3}, 9, 0, "mon,thu 09:00"),
        ("weekdays,sat,sun 07:00", set(range(7)), 7, 0, "daily 07:00"),
    ],
)
def test_parse_schedule_accepts(text: str, days: set[int], hour: int, minute: int, canonical: str) -> None:
    """Day abbreviations, full names, daily, weekdays and comma lists parse case-insensitively."""
    schedule = parse_schedule(text)
    assert schedule == Schedule(days=frozenset(days), hour=hour, minute=minute)
    assert str(schedule) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mnday 09:00", "unknown day 'mnday'; did you mean 'mon'?"),
        ("Fryday 09:00", "unknown day 'Fryday'; did you mean 'fri'?"),
        ("weekday 09:00", "unknown day 'weekday'; did you mean 'weekdays'?"),
        ("dayly 09:00", "unknown day 'dayly'; did you mean 'daily'?"),
        (
            "mon,xyz 09:00",
            "unknown day 'xyz'; expected one of mon, tue, wed, thu, fri, sat, sun, daily, weekdays",
        ),
        ("mon 24:00", "hour must be 0-23, got 24 in 'mon 24:00'"),
        ("mon 99:00", "hour must be 0-23, got 99 in 'mon 99:00'"),
        ("mon 09:60", "minute must be 0-59, got 60 in 'mon 09:60'"),
        ("mon 9am", "expected 'DAY HH:MM' like 'mon 09:00'; the time '9am' is not HH:MM"),
        ("mon 09:0", "expected 'DAY HH:MM' like 'mon 09:00'; the time '09:0' is not HH:MM"),
        ("mon 009:00", "expected 'DAY HH:MM' like 'mon 09:00'; the time '009:00' is not HH:MM"),
        ("mon -1:00", "expected 'DAY HH:MM' like 'mon 09:00'; the time '-1:00' is not HH:MM"),
        ("mon", "expected 'DAY HH:MM' like 'mon 09:00', got 'mon'"),
        ("09:00", "expected 'DAY HH:MM' like 'mon 09:00', got '09:00'"),
        ("", "expected 'DAY HH:MM' like 'mon 09:00', got ''"),
        ("mon 09:00 UTC", "expected 'DAY HH:MM' like 'mon 09:00', got 'mon 09:00 UTC'"),
        ("mon,,thu 09:00", "expected 'DAY HH:MM' like 'mon 09:00', got 'mon,,thu 09:00'"),
    ],
)
def test_parse_schedule_rejects(text: str, message: str) -> None:
    """Each kind of mistake raises ValueError with a message naming it, with a did-you-mean for typos."""
    with pytest.raises(ValueError) as info:
        parse_schedule(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("days", "hour", "minute", "message"),
    [
        (set(), 9, 0, "days must be a non-empty set"),
        ({7}, 9, 0, "days must be a non-empty set"),
        ({-1}, 9, 0, "days must be a non-empty set"),
        ({0}, 24, 0, "hour must be 0-23, got 24"),
        ({0}, 9, -1, "minute must be 0-59, got -1"),
    ],
)
def test_schedule_rejects_invalid_fields(days: set[int], hour: int, minute: int, message: str) -> None:
    """A Schedule built directly validates its days, hour and minute like the parser does."""
    with pytest.raises(ValueError, match=message):
        Schedule(days=frozenset(days), hour=hour, minute=minute)


@pytest.mark.parametrize("days", [{0}, {6}, {1, 5}, set(range(5)), set(range(7)), {0, 1, 2, 3, 4, 5}])
def test_schedule_str_round_trips(days: set[int]) -> None:
    """The canonical form parses back to an equal Schedule, whatever the set of days."""
    schedule = Schedule(days=frozenset(days), hour=7, minute=5)
    assert parse_schedule(str(schedule)) == schedule


@pytest.mark.parametrize(
    ("text", "tz", "after", "expected"),
    [
        # UTC, around the scheduled instant and across week boundaries.
        ("mon 09:00", "UTC", utc(2026, 11, 23, 8, 59, 59), utc(2026, 11, 23, 9)),
        ("mon 09:00", "UTC", utc(2026, 11, 23, 9), utc(2026, 11, 30, 9)),
        ("mon 09:00", "UTC", utc(2026, 11, 23, 9, 0, 0, 1), utc(2026, 11, 30, 9)),
        ("mon 09:00", "UTC", utc(2026, 11, 29, 23, 59), utc(2026, 11, 30, 9)),
        ("fri 17:30", "UTC", utc(2026, 11, 28), utc(2026, 12, 4, 17, 30)),
        ("weekdays 09:00", "UTC", utc(2026, 11, 27, 9), utc(2026, 11, 30, 9)),
        ("weekdays 09:00", "UTC", utc(2026, 11, 24, 9), utc(2026, 11, 25, 9)),
        # Year boundary.
        ("mon 09:00", "UTC", utc(2026, 12, 30), utc(2027, 1, 4, 9)),
        ("daily 08:00", "UTC", utc(2026, 12, 31, 8), utc(2027, 1, 1, 8)),
        ("mon 09:00", PARIS, utc(2026, 12, 31), utc(2027, 1, 4, 8)),
        # New York: the local date, not the UTC date, decides the day.
        ("mon 09:00", NEW_YORK, utc(2026, 11, 23, 13, 59), utc(2026, 11, 23, 14)),
        ("mon 09:00", NEW_YORK, utc(2026, 11, 23, 14, 30), utc(2026, 11, 30, 14)),
        ("mon 09:00", NEW_YORK, utc(2026, 11, 23, 2), utc(2026, 11, 23, 14)),
        ("mon 09:00", NEW_YORK, utc(2026, 11, 24, 3), utc(2026, 11, 30, 14)),
        # New York spring forward, 2026-03-08: 02:00 EST -> 03:00 EDT; 02:30 runs at 03:00 EDT.
        ("sun 02:30", NEW_YORK, utc(2026, 3, 7), utc(2026, 3, 8, 7)),
        ("sun 02:30", NEW_YORK, utc(2026, 3, 8, 7), utc(2026, 3, 15, 6, 30)),
        ("sun 09:00", NEW_YORK, utc(2026, 3, 7), utc(2026, 3, 8, 13)),
        ("sun 09:00", NEW_YORK, utc(2026, 3, 1, 14), utc(2026, 3, 8, 13)),
        # New York fall back, 2026-11-01: 02:00 EDT -> 01:00 EST; 01:30 occurs twice and runs at the first.
        ("sun 01:30", NEW_YORK, utc(2026, 10, 31), utc(2026, 11, 1, 5, 30)),
        ("sun 01:30", NEW_YORK, utc(2026, 11, 1, 5, 30), utc(2026, 11, 8, 6, 30)),
        ("sun 01:30", NEW_YORK, utc(2026, 11, 1, 6), utc(2026, 11, 8, 6, 30)),
        ("sun 02:30", NEW_YORK, utc(2026, 10, 31), utc(2026, 11, 1, 7, 30)),
        ("sun 09:00", NEW_YORK, utc(2026, 10, 31), utc(2026, 11, 1, 14)),
        # Paris spring forward, 2026-03-29: 02:00 CET -> 03:00 CEST at 01:00 UTC; 02:30 runs at 03:00 CEST.
        ("sun 02:30", PARIS, utc(2026, 3, 28), utc(2026, 3, 29, 1)),
        ("sun 02:00", PARIS, utc(2026, 3, 28), utc(2026, 3, 29, 1)),
        ("sun 02:59", PARIS, utc(2026, 3, 28), utc(2026, 3, 29, 1)),
        ("sun 03:00", PARIS, utc(2026, 3, 28), utc(2026, 3, 29, 1)),
        ("sun 01:59", PARIS, utc(2026, 3, 28), utc(2026, 3, 29, 0, 59)),
        ("sun 02:30", PARIS, utc(2026, 3, 29, 1), utc(2026, 4, 5, 0, 30)),
        ("sun 02:30", PARIS, utc(2026, 3, 29, 0, 59, 59), utc(2026, 3, 29, 1)),
        ("sun 09:00", PARIS, utc(2026, 3, 28), utc(2026, 3, 29, 7)),
        ("daily 02:30", PARIS, utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1)),
        ("daily 02:30", PARIS, utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)),
        # Paris fall back, 2026-10-25: 03:00 CEST -> 02:00 CET at 01:00 UTC; 02:30 runs once, at CEST.
        ("sun 02:30", PARIS, utc(2026, 10, 24), utc(2026, 10, 25, 0, 30)),
        ("sun 02:30", PARIS, utc(2026, 10, 25, 0, 30), utc(2026, 11, 1, 1, 30)),
        ("sun 02:30", PARIS, utc(2026, 10, 25, 1, 15), utc(2026, 11, 1, 1, 30)),
        ("daily 02:30", PARIS, utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),
        ("sun 09:00", PARIS, utc(2026, 10, 24), utc(2026, 10, 25, 8)),
        # Samoa skipped 2011-12-30 entirely: that day's run goes at 00:00 on the 31st, then the 31st's.
        ("daily 09:00", "Pacific/Apia", utc(2011, 12, 29, 20), utc(2011, 12, 30, 10)),
        ("daily 09:00", "Pacific/Apia", utc(2011, 12, 30, 10), utc(2011, 12, 30, 19)),
    ],
)
def test_next_run(text: str, tz: str, after: datetime, expected: datetime) -> None:
    """next_run gives the first scheduled instant strictly after `after`, shifted forward out of DST gaps."""
    run = next_run(parse_schedule(text), after, tz)
    assert run == expected
    assert run.tzinfo is UTC


def test_next_run_accepts_any_aware_datetime_and_zone_object() -> None:
    """`after` may be in any zone and `tz` a ZoneInfo; the result is the same UTC instant."""
    schedule = parse_schedule("mon 09:00")
    tokyo = datetime(2026, 11, 23, 17, tzinfo=ZoneInfo("Asia/Tokyo"))  # = Monday 09:00 in Paris
    assert next_run(schedule, tokyo, ZoneInfo(PARIS)) == utc(2026, 11, 30, 8)
    assert next_run(schedule, tokyo - timedelta(seconds=1), PARIS) == utc(2026, 11, 23, 8)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: next_run(s, datetime(2026, 1, 1), "UTC"), "after must be a timezone-aware datetime"),
        (lambda s: previous_run(s, datetime(2026, 1, 1), "UTC"), "before must be a timezone-aware datetime"),
        (lambda s: period_key(s, datetime(2026, 1, 1), "UTC"), "before must be a timezone-aware datetime"),
        (lambda s: next_run(s, utc(2026, 1, 1), "Europe/Pari"), "unknown timezone 'Europe/Pari'"),
        (lambda s: next_run(s, utc(2026, 1, 1), ""), "unknown timezone ''"),
        (lambda s: next_run(s, utc(2026, 1, 1), "../etc"), "unknown timezone '../etc'"),
    ],
)
def test_runs_reject_naive_datetimes_and_unknown_zones(call, message: str) -> None:
    """A naive datetime or an unknown timezone raises ValueError saying which."""
    with pytest.raises(ValueError, match=message):
        call(parse_schedule("mon 09:00"))


@pytest.mark.parametrize(
    ("text", "tz", "shifted"),
    [
        ("mon 09:00", "UTC", 0),
        ("mon 09:00", PARIS, 0),
        ("fri 17:30", NEW_YORK, 0),
        ("sun 02:30", PARIS, 1),
        ("sun 02:30", NEW_YORK, 1),
        ("sun 01:30", NEW_YORK, 0),
    ],
)
def test_a_year_of_weekly_runs_is_monotonic(text: str, tz: str, shifted: int) -> None:
    """52 consecutive runs strictly increase, a week apart in local wall time unless shifted out of a gap."""
    schedule, zone = parse_schedule(text), ZoneInfo(tz)
    runs = [next_run(schedule, utc(2026, 1, 1), tz)]
    for _ in range(51):
        runs.append(next_run(schedule, runs[-1], tz))
    local = [run.astimezone(zone) for run in runs]
    on_time = [(t.hour, t.minute) == (schedule.hour, schedule.minute) for t in local]
    assert on_time.count(False) == shifted
    for i in range(51):
        assert runs[i] < runs[i + 1]
        assert abs(runs[i + 1] - runs[i] - WEEK) <= timedelta(hours=1)
        assert local[i + 1].date() - local[i].date() == WEEK
        if on_time[i] and on_time[i + 1]:
            assert local[i + 1].replace(tzinfo=None) - local[i].replace(tzinfo=None) == WEEK
    assert local[-1].year == 2026


@pytest.mark.parametrize(
    ("text", "tz", "before", "expected"),
    [
        ("mon 09:00", "UTC", utc(2026, 11, 23, 9), utc(2026, 11, 23, 9)),
        ("mon 09:00", "UTC", utc(2026, 11, 23, 8, 59, 59), utc(2026, 11, 16, 9)),
        ("mon 09:00", "UTC", utc(2027, 1, 1), utc(2026, 12, 28, 9)),
        ("weekdays 09:00", "UTC", utc(2026, 11, 30, 8), utc(2026, 11, 27, 9)),
        ("mon 09:00", NEW_YORK, utc(2026, 11, 23, 13, 59), utc(2026, 11, 16, 14)),
        ("sun 02:30", PARIS, utc(2026, 3, 29, 0, 59), utc(2026, 3, 22, 1, 30)),
        ("sun 02:30", PARIS, utc(2026, 3, 29, 1), utc(2026, 3, 29, 1)),
        ("sun 02:30", PARIS, utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 0, 30)),
        ("daily 09:00", "Pacific/Apia", utc(2011, 12, 30, 18), utc(2011, 12, 30, 10)),
    ],
)
def test_previous_run(text: str, tz: str, before: datetime, expected: datetime) -> None:
    """previous_run gives the latest scheduled instant at or before `before`, by the same DST rules."""
    run = previous_run(parse_schedule(text), before, tz)
    assert run == expected
    assert run.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "tz"),
    [("mon 09:00", PARIS), ("sun 02:30", PARIS), ("sun 01:30", NEW_YORK), ("weekdays 00:15", NEW_YORK)],
)
def test_previous_and_next_run_agree(text: str, tz: str) -> None:
    """At every sampled instant of a year, previous_run <= t < next_run and each maps onto the other."""
    schedule = parse_schedule(text)
    t = utc(2026, 1, 1)
    while t < utc(2027, 1, 1):
        before, after = previous_run(schedule, t, tz), next_run(schedule, t, tz)
        assert before <= t < after
        assert next_run(schedule, before, tz) == after
        assert previous_run(schedule, after, tz) == after
        assert previous_run(schedule, after - timedelta(microseconds=1), tz) == before
        t += timedelta(hours=5, minutes=7)


def test_previous_run_detects_a_period_missed_while_down() -> None:
    """A svcbot starting on Tuesday sees Monday's run and a new period key since the last one it claimed."""
    schedule = parse_schedule("mon 09:00")
    last_claimed = period_key(schedule, utc(2026, 11, 16, 9), "UTC")
    now = utc(2026, 11, 24, 12)
    missed = previous_run(schedule, now, "UTC")
    assert missed == utc(2026, 11, 23, 9)
    assert (last_claimed, period_key(schedule, now, "UTC")) == ("2026-W47", "2026-W48")


@pytest.mark.parametrize(
    ("text", "tz", "at", "key"),
    [
        ("mon 09:00", "UTC", utc(2026, 11, 23, 9), "2026-W48"),
        ("mon 09:00", "UTC", utc(2026, 11, 23, 9, 0, 3), "2026-W48"),
        ("mon 09:00", "UTC", utc(2026, 11, 29, 23), "2026-W48"),
        ("mon 09:00", "UTC", utc(2026, 11, 23, 8, 59), "2026-W47"),
        ("mon 09:00", "UTC", utc(2026, 1, 5, 9), "2026-W02"),
        # ISO week 53 and the ISO week-numbering year around New Year.
        ("mon 09:00", "UTC", utc(2026, 12, 28, 9), "2026-W53"),
        ("fri 09:00", "UTC", utc(2027, 1, 1, 9), "2026-W53"),
        ("sun 09:00", "UTC", utc(2027, 1, 3, 9), "2026-W53"),
        ("mon 09:00", "UTC", utc(2027, 1, 4, 9), "2027-W01"),
        ("mon 09:00", "UTC", utc(2024, 12, 30, 9), "2025-W01"),
        ("thu 09:00", "UTC", utc(2020, 12, 31, 9), "2020-W53"),
        ("fri 09:00", PARIS, utc(2027, 1, 1, 8), "2026-W53"),
        # The scheduled local date decides, not the UTC date.
        ("mon 09:00", NEW_YORK, utc(2026, 12, 28, 8, 30), "2026-W52"),
        ("mon 09:00", NEW_YORK, utc(2026, 12, 28, 14), "2026-W53"),
        ("sun 02:30", PARIS, utc(2026, 3, 29, 1), "2026-W13"),
        ("sun 02:30", PARIS, utc(2026, 10, 25, 1, 30), "2026-W43"),
        # Daily and weekdays schedules: the scheduled local date.
        ("daily 08:00", "UTC", utc(2026, 11, 23, 8), "2026-11-23"),
        ("daily 08:00", "UTC", utc(2026, 11, 23, 7, 59), "2026-11-22"),
        ("daily 08:00", "UTC", utc(2027, 1, 1, 7, 59), "2026-12-31"),
        ("weekdays 09:00", "UTC", utc(2026, 11, 28, 12), "2026-11-27"),
        ("mon,thu 09:00", "UTC", utc(2026, 11, 27, 12), "2026-11-26"),
        ("daily 23:30", NEW_YORK, utc(2027, 1, 1, 4, 30), "2026-12-31"),
        ("daily 09:00", "Pacific/Apia", utc(2011, 12, 30, 10), "2011-12-30"),
        ("daily 09:00", "Pacific/Apia", utc(2011, 12, 30, 19), "2011-12-31"),
    ],
)
def test_period_key(text: str, tz: str, at: datetime, key: str) -> None:
    """The key is the ISO week (weekly) or date (other schedules) of the last scheduled local date <= `at`."""
    assert period_key(parse_schedule(text), at, tz) == key


@pytest.mark.parametrize(
    ("text", "tz"), [("mon 09:00", PARIS), ("daily 02:30", PARIS), ("sun 01:30", NEW_YORK)]
)
def test_period_keys_of_consecutive_runs_differ(text: str, tz: str) -> None:
    """Each run of a year claims its own period: no two consecutive runs share a key."""
    schedule = parse_schedule(text)
    run = next_run(schedule, utc(2026, 1, 1), tz)
    keys = []
    while run < utc(2027, 1, 1):
        keys.append(period_key(schedule, run, tz))
        run = next_run(schedule, run, tz)
    assert len(keys) == len(set(keys)) >= 52
