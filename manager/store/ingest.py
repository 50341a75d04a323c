"""Applying records to the database: the writer thread calls `apply` once per record.

Every apply is idempotent on the record's `uid` (spool replays and repeated deliveries land once).
Records come in batches (`apply_batch`), and the per-record work is kept small so that a batch of
500 crash reports costs about two statements each: one query finds which uids are already stored,
issues are looked up once per batch, and priorities are recomputed once per touched issue at the
end of the batch with two grouped counts.
Grouping into issues happens here, in the same transaction as the insert: find the issue by
fingerprint (creating it if new, with a savepoint in case another writer won the race), update its
counters, and reopen it as a regression with a compare-and-set when it was resolved in a version
at or before the one that just failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from manager.store.models import (
    AuditEntry,
    Feedback,
    ForwardDelivery,
    Issue,
    LifecycleEvent,
    Occurrence,
    Release,
)
from manager.triage.priority import PriorityInput, score
from manager.triage.similarity import find_duplicate
from manager.triage.versions import at_or_after

__all__ = ["apply", "apply_batch", "refresh_priority"]

Record = dict[str, Any]
FEEDBACK_LOOKBACK = timedelta(days=90)
FEEDBACK_CANDIDATES = 500


def _time(value: str | datetime) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass
class _Batch:
    """What one batch has learned so far: stored uids, issues by fingerprint, issues to re-score."""

    stored: set[str] = field(default_factory=set)
    issues: dict[str, Issue] = field(default_factory=dict)
    touched: dict[int, tuple[Issue, datetime]] = field(default_factory=dict)
    # rows that need no ORM object, inserted with one executemany per table at the end
    rows: dict[sa.Table, list[dict[str, Any]]] = field(default_factory=dict)
    # (occurrence uid, target): outbox rows, inserted once the occurrences have their ids
    forwards: list[tuple[str, str]] = field(default_factory=list)

    def insert(self, model: Any, row: dict[str, Any]) -> None:
        self.rows.setdefault(model.__table__, []).append(row)

    def is_new(self, record: Record) -> bool:
        uid = str(record["uid"])
        if uid in self.stored:
            return False
        self.stored.add(uid)
        return True

    def touch(self, issue: Issue, at: datetime) -> None:
        assert issue.id is not None
        _, latest = self.touched.get(issue.id, (issue, at))
        self.touched[issue.id] = (issue, max(latest, at))


_MODELS: dict[str, Any] = {
    "event": LifecycleEvent,
    "occurrence": Occurrence,
    "feedback": Feedback,
    "audit": AuditEntry,
}


def _stored_uids(session: Session, records: list[Record]) -> set[str]:
    """The uids of the batch that are already in the database: one query per record kind."""
    by_op: dict[str, list[str]] = {}
    for record in records:
        by_op.setdefault(str(record.get("op")), []).append(str(record.get("uid")))
    stored: set[str] = set()
    for op, uids in by_op.items():
        model = _MODELS.get(op)
        if model is not None:
            stored.update(session.exec(select(model.uid).where(col(model.uid).in_(uids))).all())
    return stored


def apply_event(session: Session, record: Record, batch: _Batch) -> None:
    if not batch.is_new(record):
        return
    batch.insert(
        LifecycleEvent,
        {
            "uid": record["uid"],
            "at": _time(record["at"]),
            "service": record.get("service"),
            "kind": record["kind"],
            "run_id": record.get("run_id") or None,
            "data": record.get("data") or {},
        },
    )
    if record["kind"] in ("service_started", "service_version") and record.get("version"):
        _release(session, record["service"], record["version"], _time(record["at"]))


def _release(session: Session, service: str, version: str, at: datetime) -> None:
    found = session.exec(
        select(Release.id).where(Release.service == service, Release.version == version)
    ).first()
    if found is not None:
        return
    try:
        with session.begin_nested():
            session.add(Release(service=service, version=version, first_seen=at))
    except IntegrityError:
        pass  # another writer recorded it first


def _issue_for(session: Session, record: Record, at: datetime, batch: _Batch) -> Issue:
    """The issue with this fingerprint, locked for update; created if it does not exist."""
    cached = batch.issues.get(record["fingerprint"])
    if cached is not None:
        return cached
    issue = _find_or_create_issue(session, record, at)
    batch.issues[issue.fingerprint] = issue
    return issue


def _find_or_create_issue(session: Session, record: Record, at: datetime) -> Issue:
    query = select(Issue).where(Issue.fingerprint == record["fingerprint"]).with_for_update()
    issue = session.exec(query).first()
    if issue is not None:
        return issue
    issue = Issue(
        fingerprint=record["fingerprint"],
        title=record["title"][:500],
        kind=record["kind"],
        category=record.get("category") or "bug",
        severity=record.get("severity") or "normal",
        first_seen=at,
        last_seen=at,
        grouping_method=record.get("grouping_method", ""),
        grouping=list(record.get("grouping") or []),
    )
    try:
        with session.begin_nested():
            session.add(issue)
    except IntegrityError:  # created meanwhile by another svcbot sharing this database
        return session.exec(query).one()
    return issue


def apply_occurrence(session: Session, record: Record, batch: _Batch) -> None:
    if not batch.is_new(record):
        return
    at = _time(record["at"])
    issue = _issue_for(session, record, at, batch)
    _count(issue, at, record.get("service"), record.get("version"))
    if issue.id is None:
        session.flush()
    assert issue.id is not None
    exception = record.get("exception") or {}
    batch.insert(
        Occurrence,
        {
            "uid": record["uid"],
            "issue_id": issue.id,
            "at": at,
            "service": record["service"],
            "version": record.get("version"),
            "kind": record["kind"],
            "summary": record["summary"][:1000],
            "exit_code": record.get("exit_code"),
            "signal": record.get("signal"),
            "oom_likely": bool(record.get("oom_likely")),
            "exception_type": exception.get("type"),
            "exception_value": (exception.get("value") or None) and exception["value"][:2000],
            "frames": list(exception.get("frames") or []),
            "stderr_tail": list(record.get("stderr_tail") or []),
            "environment": record.get("environment") or {},
            "sample": record.get("sample") or {},
            "run_id": record.get("run_id") or None,
        },
    )
    if issue.status == "resolved" and at_or_after(record.get("version"), issue.resolved_in_version):
        reopen_as_regression(session, issue)
    batch.touch(issue, at)
    # The Store names the remote targets in the record; ingest itself knows no configuration.
    batch.forwards.extend((record["uid"], str(target)) for target in record.get("forward") or ())


def _count(issue: Issue, at: datetime, service: str | None, version: str | None) -> None:
    issue.count += 1
    issue.last_seen = max(issue.last_seen, at)
    issue.first_seen = min(issue.first_seen, at)
    if service and service not in issue.services:
        issue.services = [*issue.services, service]
    if version and version not in issue.versions:
        issue.versions = [*issue.versions, version]
    issue.updated_at = datetime.now(UTC)


def reopen_as_regression(session: Session, issue: Issue) -> bool:
    """Compare-and-set: only one writer turns a resolved issue into a regression."""
    session.flush()  # the refresh below must not lose this batch's pending counts
    result = session.execute(
        sa.update(Issue)
        .where(col(Issue.id) == issue.id, col(Issue.status) == "resolved")
        .values(status="open", regressed=True, regressions=Issue.regressions + 1, resolved_at=None)
    )
    won = bool(getattr(result, "rowcount", 0))
    session.refresh(issue)
    return won


def refresh_priority(session: Session, issue: Issue, now: datetime) -> None:
    refresh_priorities(session, [(issue, now)])


def refresh_priorities(session: Session, issues: list[tuple[Issue, datetime]]) -> None:
    """Re-score issues, each as of its own `now`; two grouped counts whatever their number.

    "Seen in the last 24 hours" counts from 24 hours before the earliest `now` of the batch: one
    query serves every issue, and a batch spans seconds, not days."""
    if not issues:
        return
    ids = [issue.id for issue, _ in issues]
    since = min(now for _, now in issues) - timedelta(hours=24)
    recent = dict(
        session.exec(
            select(Occurrence.issue_id, func.count())
            .where(col(Occurrence.issue_id).in_(ids), Occurrence.at >= since)
            .group_by(col(Occurrence.issue_id))
        ).all()
    )
    reporters = dict(
        session.exec(
            select(Feedback.issue_id, func.count(func.distinct(Feedback.reporter)))
            .where(col(Feedback.issue_id).in_(ids))
            .group_by(col(Feedback.issue_id))
        ).all()
    )
    for issue, now in issues:
        key = issue.id or 0  # every issue here was flushed and has an id
        _score(issue, now, int(recent.get(key, 0)), int(reporters.get(key, 0)))


def _score(issue: Issue, now: datetime, count_24h: int, reporters: int) -> None:
    result = score(
        PriorityInput(
            severity=issue.severity,  # type: ignore[arg-type]
            kind=issue.kind,  # type: ignore[arg-type]
            count=issue.count,
            count_24h=count_24h,
            services=len(issue.services),
            reporters=reporters,
            regression=issue.regressed and issue.status == "open",
            last_seen_age=max((now - issue.last_seen).total_seconds(), 0.0),
            category=issue.category,
        )
    )
    issue.priority = result.level
    issue.priority_score = round(result.score, 4)


def apply_feedback(session: Session, record: Record, batch: _Batch) -> None:
    if not batch.is_new(record):
        return
    at = _time(record["at"])
    issue = _feedback_issue(session, record, at, batch)
    _count(issue, at, record.get("service"), None)
    session.flush()
    session.add(
        Feedback(
            uid=record["uid"],
            at=at,
            text=record["text"],
            reporter=record["reporter"],
            source=record["source"],
            service=record.get("service"),
            category=record["category"],
            category_rules=list(record.get("rules") or []),
            confidence=float(record.get("confidence") or 0.0),
            severity=record.get("severity") or "normal",
            issue_id=issue.id,
        )
    )
    session.flush()
    batch.touch(issue, at)


def _feedback_issue(session: Session, record: Record, at: datetime, batch: _Batch) -> Issue:
    """Near-duplicate feedback (same category and service) joins the issue of its twin."""
    query = (
        select(Feedback.issue_id, Feedback.text)
        .join(Issue, col(Issue.id) == Feedback.issue_id)
        .where(
            Feedback.category == record["category"],
            Feedback.service == record.get("service"),
            Feedback.at >= at - FEEDBACK_LOOKBACK,
            col(Issue.status) != "ignored",
        )
        .order_by(col(Feedback.at).desc())
        .limit(FEEDBACK_CANDIDATES)
    )
    candidates = [(issue_id, text) for issue_id, text in session.exec(query).all() if issue_id is not None]
    twin = find_duplicate(record["text"], candidates)
    if twin is not None:
        issue = session.exec(select(Issue).where(Issue.id == twin).with_for_update()).one()
        if issue.status == "resolved":
            reopen_as_regression(session, issue)
        return issue
    digest = hashlib.sha256(f"feedback:{record['uid']}".encode()).hexdigest()[:32]
    title = " ".join(record["text"].split())
    fields = {
        "fingerprint": digest,
        "title": title if len(title) <= 120 else title[:117] + "...",
        "kind": "feedback",
        "category": record["category"],
        "severity": record.get("severity") or "normal",
        "grouping_method": "feedback",
        "grouping": [f"feedback {record['uid']}"],
    }
    return _issue_for(session, fields, at, batch)


def apply_audit(session: Session, record: Record, batch: _Batch) -> None:
    if not batch.is_new(record):
        return
    batch.insert(
        AuditEntry,
        {
            "uid": record["uid"],
            "at": _time(record["at"]),
            "actor": record["actor"],
            "source": record["source"],
            "channel": record.get("channel"),
            "command": record["command"],
            "arguments": record.get("arguments") or {},
            "result": str(record.get("result", ""))[:1000],
            "ok": bool(record.get("ok")),
            "duration_ms": float(record.get("duration_ms") or 0.0),
        },
    )


APPLY: dict[str, Callable[[Session, Record, _Batch], None]] = {
    "event": apply_event,
    "occurrence": apply_occurrence,
    "feedback": apply_feedback,
    "audit": apply_audit,
}


def apply_batch(session: Session, records: list[Record]) -> None:
    """Apply records in order in the session's transaction; raise on the first bad one (the
    writer then retries them one by one to set the bad one aside)."""
    for record in records:
        if record.get("op") not in APPLY:
            raise ValueError(f"unknown record op {record.get('op')!r}")
    batch = _Batch(stored=_stored_uids(session, records))
    # Issue counters change with every report: flush them once per batch, not before every query.
    # Code that needs the database to see pending changes flushes explicitly.
    with session.no_autoflush:
        for record in records:
            APPLY[record["op"]](session, record, batch)
    session.flush()
    for table, rows in batch.rows.items():
        session.execute(sa.insert(table), rows)
    _insert_forwards(session, batch.forwards)
    refresh_priorities(session, list(batch.touched.values()))


def _insert_forwards(session: Session, forwards: list[tuple[str, str]]) -> None:
    """The outbox rows of the batch's new occurrences, in the same transaction (two statements):
    an occurrence is never stored without its deliveries, nor delivered without being stored."""
    if not forwards:
        return
    uids = list({uid for uid, _ in forwards})
    ids = dict(session.exec(select(Occurrence.uid, Occurrence.id).where(col(Occurrence.uid).in_(uids))).all())
    now = datetime.now(UTC)
    rows = [
        {
            "uid": f"{target}:{uid}",
            "target": target,
            "occurrence_id": ids[uid],
            "created_at": now,
            "status": "pending",
            "attempts": 0,
        }
        for uid, target in forwards
    ]
    session.execute(sa.insert(ForwardDelivery.__table__), rows)  # type: ignore[attr-defined]


def apply(session: Session, record: Record) -> None:
    """One record in its own small batch (direct writes: feedback from the CLI or Slack)."""
    apply_batch(session, [record])
