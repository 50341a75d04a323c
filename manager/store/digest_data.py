"""The digest from the database, in a fixed number of SQL statements whatever the number of issues.

Every figure is an aggregate computed by the database (GROUP BY with CASE sums for "this period" and
"the period before"), the per-category lists are cut inside the query with a window function
(ROW_NUMBER() OVER (PARTITION BY category ...), on SQLite 3.25+ and PostgreSQL alike), and the uptime
figures come from the state changes of the configured services only. So ten thousand issues cost the
same eight statements as ten; `Digest.statements` says how many ran, and a test and `bench/store.py`
hold that to a constant.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from manager.digest.model import CATEGORY_ORDER, Delta, Digest, IssueLine, ReleaseLine, ServiceLine
from manager.digest.period import Window
from manager.digest.uptime import Change, service_line
from manager.store.db import Database
from manager.store.models import Feedback, Issue, LifecycleEvent, Occurrence, Release, UTCDateTime

__all__ = ["SECTION_LIMIT", "TOP", "build_digest"]

TOP = 5
SECTION_LIMIT = 100  # issues listed per category; the rest are counted ("and 12 more")
PRIORITIES = ("P1", "P2", "P3", "P4")
_STATE_CHANGED = "service_state_changed"


class _Counted:
    """A session that counts the statements it runs."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.statements = 0

    def rows(self, statement: Any) -> Sequence[Any]:
        self.statements += 1
        return self.session.execute(statement).all()


def _between(column: Any, start: datetime, end: datetime) -> Any:
    return sa.and_(column >= sa.literal(start, UTCDateTime), column < sa.literal(end, UTCDateTime))


def _count_if(condition: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def build_digest(db: Database, window: Window, services: Sequence[str]) -> Digest:
    """What happened in `window`, for the digest of `services` (the configured ones, in config order)."""
    with db.session() as session:
        q = _Counted(session)
        counts = _issue_counts(q, window)
        sections, totals = _sections(q, window)
        digest = Digest(
            start=window.start,
            end=window.end,
            period_key=window.key,
            new=Delta(counts["new"], counts["new_before"]),
            resolved=Delta(counts["resolved"], counts["resolved_before"]),
            regressed=counts["regressed"],
            open=counts["open"],
            open_by_priority={p: counts.get(f"open_{p}", 0) for p in PRIORITIES},
            occurrences=_occurrences(q, window),
            feedback=_feedback(q, window),
            top=_top(q, window),
            sections=sections,
            section_totals=totals,
            services=_services(q, window, services),
            releases=_releases(q, window),
        )
        return _with_statements(digest, q.statements)


def _with_statements(digest: Digest, statements: int) -> Digest:
    object.__setattr__(digest, "statements", statements)
    return digest


def _issue_counts(q: _Counted, w: Window) -> dict[str, int]:
    is_open = col(Issue.status) == "open"
    rows = q.rows(
        sa.select(
            col(Issue.priority),
            col(Issue.status),
            _count_if(_between(col(Issue.first_seen), w.start, w.end)),
            _count_if(_between(col(Issue.first_seen), w.previous_start, w.start)),
            _count_if(_between(col(Issue.resolved_at), w.start, w.end)),
            _count_if(_between(col(Issue.resolved_at), w.previous_start, w.start)),
            _count_if(sa.and_(is_open, col(Issue.regressed), col(Issue.last_seen) >= w.start)),
            sa.func.count(),
        ).group_by(col(Issue.priority), col(Issue.status))
    )
    counts: dict[str, int] = defaultdict(int)
    for priority, status, new, new_before, resolved, resolved_before, regressed, total in rows:
        counts["new"] += int(new)
        counts["new_before"] += int(new_before)
        counts["resolved"] += int(resolved)
        counts["resolved_before"] += int(resolved_before)
        counts["regressed"] += int(regressed)
        if status == "open":
            counts["open"] += int(total)
            counts[f"open_{priority}"] += int(total)
    return counts


_LINE_COLUMNS = (
    col(Issue.id),
    col(Issue.title),
    col(Issue.category),
    col(Issue.priority),
    col(Issue.status),
    col(Issue.count),
    col(Issue.services),
    col(Issue.first_seen),
    col(Issue.last_seen),
    col(Issue.regressed),
    col(Issue.resolved_at),
    col(Issue.assignee),
)


def _line(row: Any, w: Window) -> IssueLine:
    first_seen = _aware(row.first_seen)
    resolved_at = _aware(row.resolved_at) if row.resolved_at is not None else None
    return IssueLine(
        id=int(row.id),
        title=str(row.title),
        category=str(row.category),
        priority=str(row.priority),
        status=str(row.status),
        count=int(row.count),
        services=tuple(str(s) for s in (row.services or [])),
        first_seen=first_seen,
        last_seen=_aware(row.last_seen),
        new=w.start <= first_seen < w.end,
        regressed=bool(row.regressed) and row.status == "open",
        resolved_in_period=resolved_at is not None and w.start <= resolved_at < w.end,
        assignee=row.assignee,
    )


def _aware(value: Any) -> datetime:
    """Window functions and raw selects bypass the column type on SQLite: make the value aware UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sections(q: _Counted, w: Window) -> tuple[dict[str, tuple[IssueLine, ...]], dict[str, int]]:
    """Per category, the issues worth a look: new, seen, regressed or resolved in the period; open ones
    first, by priority. Cut at SECTION_LIMIT per category inside the query."""
    is_open = col(Issue.status) == "open"
    notable = sa.or_(
        _between(col(Issue.first_seen), w.start, w.end),
        sa.and_(is_open, col(Issue.last_seen) >= w.start),
        sa.and_(is_open, col(Issue.regressed)),
        _between(col(Issue.resolved_at), w.start, w.end),
    )
    rank = (
        sa.func.row_number()
        .over(
            partition_by=col(Issue.category),
            order_by=(sa.case((is_open, 0), else_=1), col(Issue.priority_score).desc(), col(Issue.id)),
        )
        .label("rank")
    )
    total = sa.func.count().over(partition_by=col(Issue.category)).label("total")
    ranked = sa.select(*_LINE_COLUMNS, rank, total).where(notable).subquery()
    rows = q.rows(sa.select(ranked).where(ranked.c.rank <= SECTION_LIMIT).order_by(ranked.c.rank))
    sections: dict[str, list[IssueLine]] = defaultdict(list)
    totals: dict[str, int] = {}
    for row in rows:
        sections[row.category].append(_line(row, w))
        totals[row.category] = int(row.total)
    order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    keys = sorted(sections, key=lambda c: (order.get(c, len(order)), c))
    return {c: tuple(sections[c]) for c in keys}, {c: totals[c] for c in keys}


def _top(q: _Counted, w: Window) -> tuple[IssueLine, ...]:
    rows = q.rows(
        sa.select(*_LINE_COLUMNS)
        .where(col(Issue.status) == "open")
        .order_by(col(Issue.priority_score).desc(), col(Issue.last_seen).desc(), col(Issue.id))
        .limit(TOP)
    )
    return tuple(_line(row, w) for row in rows)


def _occurrences(q: _Counted, w: Window) -> Delta:
    at = col(Occurrence.at)
    (row,) = q.rows(
        sa.select(_count_if(at >= w.start), _count_if(at < w.start)).where(
            _between(at, w.previous_start, w.end)
        )
    )
    return Delta(int(row[0]), int(row[1]))


def _feedback(q: _Counted, w: Window) -> dict[str, Delta]:
    at = col(Feedback.at)
    rows = q.rows(
        sa.select(col(Feedback.category), _count_if(at >= w.start), _count_if(at < w.start))
        .where(_between(at, w.previous_start, w.end))
        .group_by(col(Feedback.category))
    )
    found = {str(category): Delta(int(now), int(before)) for category, now, before in rows}
    order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    return {c: found[c] for c in sorted(found, key=lambda c: (order.get(c, len(order)), c))}


def _releases(q: _Counted, w: Window) -> tuple[ReleaseLine, ...]:
    rows = q.rows(
        sa.select(col(Release.service), col(Release.version), col(Release.first_seen))
        .where(_between(col(Release.first_seen), w.start, w.end))
        .order_by(col(Release.first_seen), col(Release.service))
    )
    return tuple(ReleaseLine(str(s), str(v), _aware(at)) for s, v, at in rows)


def _services(q: _Counted, w: Window, services: Sequence[str]) -> tuple[ServiceLine, ...]:
    if not services:
        return ()
    names = list(services)
    event = LifecycleEvent
    ranked = (
        sa.select(
            col(event.service),
            col(event.data),
            sa.func.row_number()
            .over(partition_by=col(event.service), order_by=(col(event.at).desc(), col(event.id).desc()))
            .label("rank"),
        )
        .where(col(event.kind) == _STATE_CHANGED, col(event.service).in_(names), col(event.at) < w.start)
        .subquery()
    )
    before = {
        str(s): _state(data, "new")
        for s, data in q.rows(sa.select(ranked.c.service, ranked.c.data).where(ranked.c.rank == 1))
    }
    changes: dict[str, list[Change]] = defaultdict(list)
    for service, at, data in q.rows(
        sa.select(col(event.service), col(event.at), col(event.data))
        .where(
            col(event.kind) == _STATE_CHANGED,
            col(event.service).in_(names),
            _between(col(event.at), w.start, w.end),
        )
        .order_by(col(event.service), col(event.at), col(event.id))
    ):
        changes[str(service)].append(Change(_aware(at), _state(data, "old") or "", _state(data, "new") or ""))
    return tuple(service_line(n, before.get(n), changes.get(n, []), w.start, w.end) for n in names)


def _state(data: Any, key: str) -> str | None:
    if isinstance(data, str):  # a JSON column read through a subquery on SQLite comes back as text
        data = json.loads(data)
    value = data.get(key) if isinstance(data, dict) else None
    return str(value) if value else None
