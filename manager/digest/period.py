"""Which window of time a digest covers.

A scheduled run covers the time since the run before it: the Monday 09:00 digest of "mon 09:00" covers the
week from the previous Monday 09:00, and its key is the ISO week of the run ("2026-W48") from
`manager.config.schedule.period_key`, which is what gets claimed so it is posted exactly once. A run asked
for by hand (`svcbot digest --print|--now`) covers a period of the same length ending now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from manager.config.schedule import parse_schedule, period_key, previous_run
from manager.config.spec import DigestSpec

__all__ = ["Window", "adhoc_window", "scheduled_window"]

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    key: str
    scheduled: bool

    @property
    def previous_start(self) -> datetime:
        """The start of the period before, of the same length, for the week-over-week figures."""
        return self.start - (self.end - self.start)


def scheduled_window(spec: DigestSpec, at: datetime) -> Window:
    """The latest scheduled period that has ended at `at` (the one a run at `at` posts)."""
    schedule = parse_schedule(spec.schedule)
    end = previous_run(schedule, at, spec.timezone)
    start = previous_run(schedule, end - _TICK, spec.timezone)
    return Window(start, end, period_key(schedule, end, spec.timezone), scheduled=True)


def adhoc_window(spec: DigestSpec, now: datetime) -> Window:
    """A period as long as the schedule's latest one, ending now."""
    latest = scheduled_window(spec, now)
    return Window(now - (latest.end - latest.start), now, f"adhoc-{now:%Y-%m-%dT%H:%M:%SZ}", scheduled=False)
