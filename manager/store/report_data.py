"""The numbers behind `svcbot report --html`: crashes, restarts, open issues and feedback over time.

Every function takes a `Database`, a UTC-aware window `[since, now]` and returns plain frozen data
that the renderer (`manager.reporting.html`) and `--json` use as they are, so the charts are tested
on data, not on pixels. Days are UTC calendar days; every day of the window is present, with zeros,
so that a chart's axis is continuous and a quiet day is visibly quiet rather than missing.

Counting happens in SQL where it can (GROUP BY service and day, one statement per chart); only
restarts and open issues need a pass in Python (see their docstrings). Day bucketing is the one
thing SQLite and PostgreSQL spell differently, so it is a dialect-aware expression (`_utc_day`).

The queries use SQLAlchemy Core over the store's tables (`manager.store.models.metadata`) so that
this module does not import sqlmodel: that stays the store package's business (see the design).
Like `manager.store.queries`, everything runs in the caller's thread, never on the event loop.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from manager.core.units import plural
from manager.store.db import Database
from manager.store.models import metadata

__all__ = [
    "CRASH_KINDS",
    "PRIORITIES",
    "CategoryCount",
    "DailyCounts",
    "ReportData",
    "collect",
    "crashes_per_day",
    "day_start",
    "feedback_by_category",
    "open_issues_per_day",
    "restarts_per_day",
    "utc_days",
]

CRASH_KINDS = ("crash", "crash_loop")  # Occurrence.kind of an unexpected exit and of a start-limit hit
PRIORITIES = ("P1", "P2", "P3", "P4")
STARTED = "service_started"  # manager.supervision.events.ServiceStarted.kind

_OCCURRENCE = metadata.tables["occurrence"]
_EVENT = metadata.tables["lifecycle_event"]
_ISSUE = metadata.tables["issue"]
_FEEDBACK = metadata.tables["feedback"]


@dataclass(frozen=True)
class CategoryCount:
    category: str
    count: int


@dataclass(frozen=True)
class DailyCounts:
    """Counts per UTC day for named series (services or priorities), each aligned with `days`.

    `series` keeps the order a chart should draw and list them in: biggest total first for
    services, P1..P4 for priorities."""

    days: tuple[date, ...]
    series: Mapping[str, tuple[int, ...]]

    @property
    def total(self) -> int:
        return sum(sum(counts) for counts in self.series.values())

    def totals(self) -> dict[str, int]:
        return {name: sum(counts) for name, counts in self.series.items()}

    def per_day(self) -> tuple[int, ...]:
        """The sum over every series, day by day (the height of a stacked bar)."""
        return tuple(sum(counts[i] for counts in self.series.values()) for i in range(len(self.days)))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ISO dates and a list of counts per series (what the HTML embeds)."""
        return {
            "days": [day.isoformat() for day in self.days],
            "series": {name: list(counts) for name, counts in self.series.items()},
        }


@dataclass(frozen=True)
class ReportData:
    since: datetime
    now: datetime
    crashes: DailyCounts  # series by service
    restarts: DailyCounts  # series by service
    open_issues: DailyCounts  # series by priority, always P1..P4
    feedback: tuple[CategoryCount, ...]  # biggest first

    @property
    def days(self) -> tuple[date, ...]:
        return self.crashes.days

    def open_now(self) -> dict[str, int]:
        """Open issues by priority at the end of the window (the last day's snapshot)."""
        return {name: counts[-1] if counts else 0 for name, counts in self.open_issues.series.items()}

    def summary(self) -> dict[str, Any]:
        """Totals for `--json` and the CLI's one-line summary."""
        return {
            "since": self.since.isoformat(),
            "until": self.now.isoformat(),
            "days": len(self.days),
            "crashes": {"total": self.crashes.total, "by_service": self.crashes.totals()},
            "restarts": {"total": self.restarts.total, "by_service": self.restarts.totals()},
            "open_issues": {"total": sum(self.open_now().values()), "by_priority": self.open_now()},
            "feedback": {
                "total": sum(c.count for c in self.feedback),
                "by_category": {c.category: c.count for c in self.feedback},
            },
        }

    def headline(self) -> str:
        """One line for the CLI: "3 crashes, 1 restart, 2 open issues, 0 feedback over 31 days"."""
        s = self.summary()
        counts = [
            plural(s["crashes"]["total"], "crash", "crashes"),
            plural(s["restarts"]["total"], "restart", "restarts"),
            plural(s["open_issues"]["total"], "open issue", "open issues"),
            f"{s['feedback']['total']} feedback",
        ]
        return f"{', '.join(counts)} over {plural(s['days'], 'day', 'days')}"


# -- the window ---------------------------------------------------------------------------------------


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of `moment`'s UTC day: a window starting there has no partial first day."""
    return datetime.combine(moment.astimezone(UTC).date(), time(0), tzinfo=UTC)


def utc_days(since: datetime, now: datetime) -> tuple[date, ...]:
    """Every UTC date from `since`'s to `now`'s, both included."""
    _check_window(since, now)
    first, last = since.astimezone(UTC).date(), now.astimezone(UTC).date()
    return tuple(first + timedelta(days=i) for i in range((last - first).days + 1))


def _check_window(since: datetime, now: datetime) -> None:
    if since.tzinfo is None or now.tzinfo is None:
        raise ValueError("the report window needs timezone-aware datetimes")
    if since > now:
        raise ValueError(f"the report window starts after it ends: {since} > {now}")


# -- the charts ---------------------------------------------------------------------------------------


def collect(db: Database, since: datetime, now: datetime) -> ReportData:
    """Everything the report shows, in five statements."""
    return ReportData(
        since=since,
        now=now,
        crashes=crashes_per_day(db, since, now),
        restarts=restarts_per_day(db, since, now),
        open_issues=open_issues_per_day(db, since, now),
        feedback=feedback_by_category(db, since, now),
    )


def crashes_per_day(db: Database, since: datetime, now: datetime) -> DailyCounts:
    """Crash and crash-loop occurrences per service and UTC day, counted in SQL."""
    days = utc_days(since, now)
    day = _utc_day(_OCCURRENCE.c.at, db.dialect).label("day")
    query = (
        sa.select(_OCCURRENCE.c.service, day, sa.func.count().label("n"))
        .where(_OCCURRENCE.c.kind.in_(CRASH_KINDS), *_between(_OCCURRENCE.c.at, since, now))
        .group_by(_OCCURRENCE.c.service, day)
    )
    with db.session() as session:
        rows = session.execute(query).all()
    return _daily(days, ((service, _as_date(value), int(n)) for service, value, n in rows))


def restarts_per_day(db: Database, since: datetime, now: datetime) -> DailyCounts:
    """Automatic restarts per service and UTC day.

    A `service_started` event carries `restarts`, the supervisor's count of automatic restarts of
    the service (the same number `svcbot status` and `/metrics` show). A start is an automatic
    restart when that count went up since the service's previous start; a start by a person
    (`svcbot start|restart`) leaves it as it was, a fresh manager starts it at 0 again, and an
    adopted process only reports the count it was saved with. The previous start may lie before
    the window, so a second statement fetches each service's last start before `since`.
    """
    days = utc_days(since, now)
    restarts = _EVENT.c.data["restarts"].as_integer()
    adopted = _EVENT.c.data["adopted"].as_boolean()
    query = (
        sa.select(_EVENT.c.service, _EVENT.c.at, restarts, adopted)
        .where(_EVENT.c.kind == STARTED, _EVENT.c.service.is_not(None), *_between(_EVENT.c.at, since, now))
        .order_by(_EVENT.c.service, _EVENT.c.at, _EVENT.c.id)
    )
    with db.session() as session:
        starts = session.execute(query).all()
        before = _counts_before(session, since, restarts)
    found: list[tuple[str, date, int]] = []
    for service, at, count, was_adopted in starts:
        previous = before.get(service, 0)
        if count is not None:
            if count > previous and not was_adopted:
                found.append((service, at.astimezone(UTC).date(), 1))
            before[service] = count
    return _daily(days, found)


def _counts_before(session: Session, since: datetime, restarts: sa.ColumnElement[Any]) -> dict[str, int]:
    """Each service's restart count at its last start before `since` (the highest on a tie)."""
    last = (
        sa.select(_EVENT.c.service, sa.func.max(_EVENT.c.at).label("at"))
        .where(_EVENT.c.kind == STARTED, _EVENT.c.service.is_not(None), _EVENT.c.at < since)
        .group_by(_EVENT.c.service)
        .subquery()
    )
    query = (
        sa.select(_EVENT.c.service, sa.func.max(restarts))
        .join(last, sa.and_(_EVENT.c.service == last.c.service, _EVENT.c.at == last.c.at))
        .where(_EVENT.c.kind == STARTED)
        .group_by(_EVENT.c.service)
    )
    return {service: int(count) for service, count in session.execute(query).all() if count is not None}


def open_issues_per_day(db: Database, since: datetime, now: datetime) -> DailyCounts:
    """Open issues per priority at the end of each UTC day (at `now` for the last day).

    The store keeps an issue's current state, not its history, so this is a reconstruction and
    an approximation in three ways:

    - an issue counts under its *current* priority on every day (scores change as issues age);
    - it is open from `first_seen` until `resolved_at`; an issue that was resolved and then
      reopened (by hand or as a regression) has no `resolved_at` any more and counts as open
      throughout, including the days it was resolved;
    - ignored issues are left out altogether: nothing records when they were ignored.

    A resolved issue without `resolved_at` (not written by current code) uses `updated_at`.
    """
    days = utc_days(since, now)
    query = sa.select(
        _ISSUE.c.priority, _ISSUE.c.first_seen, _ISSUE.c.resolved_at, _ISSUE.c.status, _ISSUE.c.updated_at
    ).where(
        _ISSUE.c.status != "ignored",
        _ISSUE.c.first_seen <= now,
        sa.or_(_ISSUE.c.resolved_at.is_(None), _ISSUE.c.resolved_at >= since),
    )
    with db.session() as session:
        rows = session.execute(query).all()
    spans: dict[str, list[tuple[datetime, datetime | None]]] = {name: [] for name in PRIORITIES}
    for priority, first_seen, resolved_at, status, updated_at in rows:
        closed = (resolved_at or updated_at) if status == "resolved" else None
        spans.setdefault(priority, []).append((first_seen, max(closed, first_seen) if closed else None))
    cutoffs = [min(datetime.combine(d + timedelta(days=1), time(0), tzinfo=UTC), now) for d in days]
    series = {name: _open_at(spans[name], cutoffs) for name in _priority_order(spans)}
    return DailyCounts(days, series)


def _open_at(
    spans: Sequence[tuple[datetime, datetime | None]], cutoffs: Sequence[datetime]
) -> tuple[int, ...]:
    """How many spans are open at each cutoff: opened at or before it, not closed at or before it.

    Every close is at or after its open, so that is (opens so far) minus (closes so far)."""
    opens = sorted(first for first, _ in spans)
    closes = sorted(closed for _, closed in spans if closed is not None)
    return tuple(bisect_right(opens, cut) - bisect_right(closes, cut) for cut in cutoffs)


def _priority_order(spans: Mapping[str, object]) -> list[str]:
    """P1..P4 always (a stable legend), then any other value the table holds."""
    return [*PRIORITIES, *sorted(name for name in spans if name not in PRIORITIES)]


def feedback_by_category(db: Database, since: datetime, now: datetime) -> tuple[CategoryCount, ...]:
    """Feedback received in the window per category, biggest first (then by name)."""
    _check_window(since, now)
    query = (
        sa.select(_FEEDBACK.c.category, sa.func.count().label("n"))
        .where(*_between(_FEEDBACK.c.at, since, now))
        .group_by(_FEEDBACK.c.category)
    )
    with db.session() as session:
        rows = session.execute(query).all()
    counts = [CategoryCount(str(category), int(n)) for category, n in rows]
    return tuple(sorted(counts, key=lambda c: (-c.count, c.category)))


# -- helpers ------------------------------------------------------------------------------------------


def _between(column: sa.ColumnElement[Any], since: datetime, now: datetime) -> list[sa.ColumnElement[bool]]:
    return [column >= since, column <= now]


def _utc_day(column: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, in SQL.

    PostgreSQL stores `timestamptz`; the session's time zone must not matter, so the value is
    converted to UTC explicitly (a literal, not a bound parameter: PostgreSQL would not see the
    GROUP BY expression as the selected one with two different parameters). SQLite stores UTC
    text (`UTCDateTime`), whose `date()` is the UTC day; it answers a string, see `_as_date`.
    """
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone(sa.literal_column("'UTC'"), column), sa.Date)
    return sa.func.date(column)


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _daily(days: Sequence[date], found: Iterable[tuple[str, date, int]]) -> DailyCounts:
    """Counts per (name, day) laid out on `days`, zeros included; series biggest total first."""
    index = {day: i for i, day in enumerate(days)}
    counts: dict[str, list[int]] = {}
    for name, day, n in found:
        if day in index:  # the window's edges are filtered in SQL; this only guards the layout
            counts.setdefault(name, [0] * len(days))[index[day]] += n
    order = sorted(counts, key=lambda name: (-sum(counts[name]), name))
    return DailyCounts(tuple(days), {name: tuple(counts[name]) for name in order})
