"""Reading issues and changing their triage state: what `svcbot issues` and Slack's buttons run.

Every function takes a `Database` and runs in the caller's thread (the CLI's, or a worker thread
of the daemon): never on the event loop. `issue_detail` makes a fixed number of statements however
long the issue's history is (no N+1); the store benchmark counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from manager.store.db import Database
from manager.store.ingest import refresh_priority
from manager.store.models import Alert, Feedback, Issue, LifecycleEvent, Occurrence, Release

__all__ = [
    "IssueFilter",
    "IssueNotFound",
    "assign_issue",
    "issue_detail",
    "issue_dict",
    "list_issues",
    "metrics_counts",
    "resolve_by_fingerprint",
    "set_issue_status",
]

STATUSES = ("open", "resolved", "ignored")
PRIORITIES = ("P1", "P2", "P3", "P4")
TIMELINE_KINDS = (
    "service_started",
    "service_version",
    "service_exited",
    "health_changed",
    "crash_loop",
    "crash_loop_ended",
    "resource_breach",
    "manager_error",
)
TIMELINE_MARGIN = timedelta(hours=1)  # context before the first and after the last occurrence
MAX_OCCURRENCES = 50
MAX_TIMELINE = 500
MAX_FEEDBACK = 50


class IssueNotFound(LookupError):
    def __init__(self, issue_id: int) -> None:
        super().__init__(f"no issue #{issue_id}")
        self.issue_id = issue_id


@dataclass(frozen=True)
class IssueFilter:
    status: str | None = "open"
    category: str | None = None
    service: str | None = None
    priority: str | None = None
    limit: int = 50


def issue_dict(issue: Issue) -> dict[str, Any]:
    data = issue.model_dump()
    for key in ("first_seen", "last_seen", "resolved_at", "updated_at"):
        value = data.get(key)
        data[key] = value.isoformat() if isinstance(value, datetime) else value
    return data


def list_issues(db: Database, flt: IssueFilter) -> list[dict[str, Any]]:
    """Issues by priority score (highest first), then most recently seen; one statement."""
    query = select(Issue)
    if flt.status:
        query = query.where(Issue.status == flt.status)
    if flt.category:
        query = query.where(Issue.category == flt.category)
    if flt.priority:
        query = query.where(Issue.priority == flt.priority)
    if flt.service:
        query = query.where(_has_service(flt.service))
    query = query.order_by(col(Issue.priority_score).desc(), col(Issue.last_seen).desc()).limit(flt.limit)
    with db.session() as session:
        return [issue_dict(issue) for issue in session.exec(query).all()]


def _has_service(service: str) -> sa.ColumnElement[bool]:
    """Issue.services is a JSON list; a LIKE on its text is portable across SQLite and PostgreSQL
    (service names cannot contain a double quote, so the quoted name matches exactly)."""
    return sa.cast(Issue.services, sa.Text).like(f'%"{service}"%')


def issue_detail(db: Database, issue_id: int) -> dict[str, Any]:
    """The issue with what root-cause analysis needs, as one time-ordered timeline: its
    occurrences (with the resource sample before each crash), the lifecycle of its services
    around them (starts with versions, exits, health changes, crash loops, breaches), releases of
    those services, and related feedback. Five statements in all."""
    with db.session() as session:
        issue = session.get(Issue, issue_id)
        if issue is None:
            raise IssueNotFound(issue_id)
        occurrences = _occurrences(session, issue_id)
        services = list(issue.services)
        since, until = issue.first_seen - TIMELINE_MARGIN, issue.last_seen + TIMELINE_MARGIN
        events = _events(session, services, since, until)
        releases = _releases(session, services)
        feedback = _feedback(session, issue_id, services)
    timeline = sorted(
        [
            *(_occurrence_entry(o) for o in occurrences),
            *(_event_entry(e) for e in events),
            *(_release_entry(r) for r in releases if since <= r.first_seen <= until),
            *(_feedback_entry(f) for f in feedback),
        ],
        key=lambda entry: entry["at"],
    )
    return {
        "issue": issue_dict(issue),
        "occurrences": [_occurrence_dict(o) for o in occurrences],
        "releases": [
            {"service": r.service, "version": r.version, "first_seen": r.first_seen.isoformat()}
            for r in releases
        ],
        "feedback": [_feedback_dict(f) for f in feedback],
        "timeline": timeline,
    }


def _occurrences(session: Session, issue_id: int) -> Sequence[Occurrence]:
    query = (
        select(Occurrence)
        .where(Occurrence.issue_id == issue_id)
        .order_by(col(Occurrence.at).desc())
        .limit(MAX_OCCURRENCES)
    )
    return list(reversed(session.exec(query).all()))


def _events(
    session: Session, services: list[str], since: datetime, until: datetime
) -> Sequence[LifecycleEvent]:
    if not services:
        return []
    query = (
        select(LifecycleEvent)
        .where(
            col(LifecycleEvent.service).in_(services),
            col(LifecycleEvent.kind).in_(TIMELINE_KINDS),
            LifecycleEvent.at >= since,
            LifecycleEvent.at <= until,
        )
        .order_by(col(LifecycleEvent.at).desc())
        .limit(MAX_TIMELINE)
    )
    return session.exec(query).all()


def _releases(session: Session, services: list[str]) -> Sequence[Release]:
    if not services:
        return []
    query = select(Release).where(col(Release.service).in_(services)).order_by(col(Release.first_seen))
    return session.exec(query).all()


def _feedback(session: Session, issue_id: int, services: list[str]) -> Sequence[Feedback]:
    related: sa.ColumnElement[bool] = col(Feedback.issue_id) == issue_id
    if services:
        related = or_(related, col(Feedback.service).in_(services))
    query = select(Feedback).where(related).order_by(col(Feedback.at).desc()).limit(MAX_FEEDBACK)
    return session.exec(query).all()


def _occurrence_dict(o: Occurrence) -> dict[str, Any]:
    data = o.model_dump()
    data["at"] = o.at.isoformat()
    return data


def _feedback_dict(f: Feedback) -> dict[str, Any]:
    data = f.model_dump()
    data["at"] = f.at.isoformat()
    return data


def _occurrence_entry(o: Occurrence) -> dict[str, Any]:
    detail = o.summary
    if o.sample:
        rss = o.sample.get("rss")
        cpu = o.sample.get("cpu_percent")
        if rss is not None:
            detail += f"; before it: {rss / (1024 * 1024):.0f} MiB RSS, {cpu or 0:.0f} % CPU"
    return {"at": o.at, "type": "occurrence", "service": o.service, "version": o.version, "text": detail}


def _event_entry(e: LifecycleEvent) -> dict[str, Any]:
    return {"at": e.at, "type": e.kind, "service": e.service, "text": _event_text(e)}


def _event_text(e: LifecycleEvent) -> str:
    data = e.data
    texts = {
        "service_started": lambda: (
            f"started pid {data.get('pid')}"
            + (f", version {data['version']}" if data.get("version") else "")
            + (" (adopted)" if data.get("adopted") else "")
        ),
        "service_exited": lambda: (
            ("stopped" if data.get("expected") else "exited")
            + f" ({_status(data)}) after {float(data.get('runtime') or 0):.1f}s"
        ),
        "health_changed": lambda: (
            ("healthy" if data.get("healthy") else "unhealthy")
            + f": {data.get('check', '')}: {data.get('output', '')}"
        ),
        "service_version": lambda: f"version {data.get('version')} (was {data.get('previous') or 'unknown'})",
        "crash_loop": lambda: f"crash loop: {data.get('exits')} exits; quarantined",
        "crash_loop_ended": lambda: f"crash loop ended ({data.get('reason', '')})",
        "resource_breach": lambda: f"{data.get('resource')} over limit ({data.get('action')})",
        "manager_error": lambda: f"svcbot error in {data.get('where')}: {data.get('message', '')}",
    }
    make = texts.get(e.kind)
    return make() if make else e.kind


def _status(data: dict[str, Any]) -> str:
    if data.get("signal"):
        return f"killed by {data['signal']}"
    if data.get("exit_code") is None:
        return "exit status unknown"
    return f"exit code {data['exit_code']}"


def _release_entry(r: Release) -> dict[str, Any]:
    return {
        "at": r.first_seen,
        "type": "release",
        "service": r.service,
        "text": f"version {r.version} first seen",
    }


def _feedback_entry(f: Feedback) -> dict[str, Any]:
    return {
        "at": f.at,
        "type": "feedback",
        "service": f.service,
        "text": f"{f.category} from {f.reporter}: {f.text}",
    }


# -- triage changes -----------------------------------------------------------------------------------


def set_issue_status(
    db: Database, issue_id: int, status: str, *, version: str | None = None
) -> dict[str, Any]:
    """open / resolved (optionally in a version) / ignored. Resolving clears the regression flag;
    a later occurrence in that version or after reopens it (see ingest)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    now = datetime.now(UTC)
    with db.session(write=True) as session:
        issue = _locked(session, issue_id)
        issue.status = status
        issue.resolved_in_version = version if status == "resolved" else None
        issue.resolved_at = now if status == "resolved" else None
        if status == "resolved":
            issue.regressed = False
        issue.updated_at = now
        refresh_priority(session, issue, now)
        session.add(issue)
        session.flush()
        return issue_dict(issue)


def assign_issue(db: Database, issue_id: int, assignee: str | None) -> dict[str, Any]:
    with db.session(write=True) as session:
        issue = _locked(session, issue_id)
        issue.assignee = assignee or None
        issue.updated_at = datetime.now(UTC)
        session.add(issue)
        session.flush()
        return issue_dict(issue)


def _locked(session: Session, issue_id: int) -> Issue:
    issue = session.exec(select(Issue).where(Issue.id == issue_id).with_for_update()).first()
    if issue is None:
        raise IssueNotFound(issue_id)
    return issue


def resolve_by_fingerprint(db: Database, fingerprints: Sequence[str]) -> int:
    """Resolve the open issues with these fingerprints (an outside monitor said they are over);
    returns how many changed. A later occurrence reopens one as a regression, as for any issue."""
    if not fingerprints:
        return 0
    now = datetime.now(UTC)
    with db.session(write=True) as session:
        issues = session.exec(
            select(Issue).where(col(Issue.fingerprint).in_(list(fingerprints)), Issue.status == "open")
        ).all()
        for issue in issues:
            issue.status = "resolved"
            issue.resolved_at = now
            issue.regressed = False
            issue.updated_at = now
            session.add(issue)
        return len(issues)


def metrics_counts(db: Database) -> dict[str, Any]:
    """The database's part of a /metrics scrape (for a worker thread): three grouped counts, with
    bounded labels only (category, priority, status)."""
    with db.session() as session:
        issues = session.exec(
            select(Issue.category, Issue.priority, sa.func.count())
            .where(Issue.status == "open")
            .group_by(col(Issue.category), col(Issue.priority))
        ).all()
        feedback = session.exec(
            select(Feedback.category, sa.func.count()).group_by(col(Feedback.category))
        ).all()
        alerts = session.exec(select(Alert.status, sa.func.count()).group_by(col(Alert.status))).all()
    return {
        "issues": [(c, p, int(n)) for c, p, n in issues],
        "feedback": [(c, int(n)) for c, n in feedback],
        "alerts": {s: int(n) for s, n in alerts},
    }
