"""The SQL tables of the feedback loop (SQLModel; SQLite by default, PostgreSQL in production).

Every table that ingests from the outside world has a `uid` with a unique constraint: a spooled
write replayed after an outage, or a delivery repeated by a sender, lands once. Timestamps are
timezone-aware UTC on both databases (`UTCDateTime`). The migrations in `migrations/` must match
these models exactly; a test compares them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "Alert",
    "AuditEntry",
    "DigestRun",
    "Feedback",
    "ForwardDelivery",
    "IdempotencyKey",
    "Issue",
    "LifecycleEvent",
    "Occurrence",
    "Release",
    "StateEntry",
    "UTCDateTime",
    "metadata",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware UTC datetimes (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _json(default: Any = None) -> Any:
    factory = (lambda: list(default)) if isinstance(default, list) else (lambda: dict(default or {}))
    return Field(default_factory=factory, sa_type=sa.JSON, nullable=False)


class LifecycleEvent(SQLModel, table=True):
    """Every domain event from the supervisor: the raw material of an issue's timeline."""

    __tablename__ = "lifecycle_event"
    __table_args__ = (sa.Index("ix_lifecycle_event_service_at", "service", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=64, unique=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    service: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=64)
    run_id: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = _json()


class Issue(SQLModel, table=True):
    """Occurrences grouped by fingerprint, with their lifecycle and triage."""

    __tablename__ = "issue"
    __table_args__ = (
        sa.Index("ix_issue_status_priority", "status", "priority_score"),
        sa.Index("ix_issue_category_status", "category", "status"),
        sa.Index("ix_issue_last_seen", "last_seen"),
    )

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=500)
    kind: str = Field(max_length=32)  # crash, crash_loop, health, resource, manager_error, alert, feedback
    category: str = Field(default="bug", max_length=32)
    severity: str = Field(default="normal", max_length=16)
    status: str = Field(default="open", max_length=16)  # open, resolved, ignored
    resolved_in_version: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    regressed: bool = False
    regressions: int = 0
    first_seen: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime)
    count: int = 0
    services: list[str] = _json([])
    versions: list[str] = _json([])
    grouping_method: str = Field(default="", max_length=32)
    grouping: list[str] = _json([])
    priority: str = Field(default="P4", max_length=2)
    priority_score: float = 0.0
    assignee: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)


class Occurrence(SQLModel, table=True):
    """One error report: a crash, crash loop, failed health check, breach, manager error or alert."""

    __tablename__ = "occurrence"
    __table_args__ = (
        sa.Index("ix_occurrence_issue_at", "issue_id", "at"),
        sa.Index("ix_occurrence_service_at", "service", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=64, unique=True)
    issue_id: int = Field(foreign_key="issue.id")
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    service: str = Field(max_length=200)
    version: str | None = Field(default=None, max_length=100)
    kind: str = Field(max_length=32)
    summary: str = Field(max_length=1000)
    exit_code: int | None = None
    signal: str | None = Field(default=None, max_length=16)
    oom_likely: bool = False
    exception_type: str | None = Field(default=None, max_length=300)
    exception_value: str | None = Field(default=None, max_length=2000)
    frames: list[dict[str, Any]] = _json([])
    stderr_tail: list[str] = _json([])
    environment: dict[str, Any] = _json()
    sample: dict[str, Any] = _json()
    run_id: str | None = Field(default=None, max_length=200)


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"
    __table_args__ = (sa.Index("ix_feedback_category_at", "category", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=64, unique=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    text: str
    reporter: str = Field(max_length=200)
    source: str = Field(max_length=32)  # cli, slack, shell
    service: str | None = Field(default=None, max_length=200, index=True)
    category: str = Field(max_length=32)
    category_rules: list[str] = _json([])
    confidence: float = 0.0
    severity: str = Field(default="normal", max_length=16)
    issue_id: int | None = Field(default=None, foreign_key="issue.id", index=True)


class Alert(SQLModel, table=True):
    """An alert and its delivery state: written first, delivered from here (an outbox)."""

    __tablename__ = "alert"
    __table_args__ = (
        sa.Index("ix_alert_status_next_attempt", "status", "next_attempt_at"),
        sa.Index("ix_alert_group_key", "group_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    group_key: str = Field(max_length=300)
    service: str | None = Field(default=None, max_length=200)
    severity: str = Field(default="warning", max_length=16)
    title: str = Field(max_length=500)
    body: dict[str, Any] = _json()
    channel: str | None = Field(default=None, max_length=64)
    status: str = Field(default="pending", max_length=16)  # pending, sent, failed, resolved, silenced
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_ts: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=1000)


class ForwardDelivery(SQLModel, table=True):
    """One occurrence to send to one remote target (Sentry, a webhook): an outbox row.

    It is inserted in the occurrence's own transaction, so a stored occurrence always has its
    deliveries and a spool replay cannot make a second one (`uid` is `target:occurrence uid`).
    Rows are delivered at least once, in occurrence order per target; `failed` is final (the
    remote end refused the report for good), `pending` rows wait for `next_attempt_at`.
    """

    __tablename__ = "forward_delivery"
    __table_args__ = (sa.Index("ix_forward_delivery_status_target", "status", "target", "occurrence_id"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=100, unique=True)
    target: str = Field(max_length=16)  # sentry, webhook
    occurrence_id: int = Field(foreign_key="occurrence.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="pending", max_length=16)  # pending, sent, failed
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=1000)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_actor_at", "actor", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=64, unique=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=200)
    source: str = Field(max_length=32)  # cli, slack, shell
    channel: str | None = Field(default=None, max_length=64)
    command: str = Field(max_length=64)
    arguments: dict[str, Any] = _json()
    result: str = Field(max_length=1000)
    ok: bool
    duration_ms: float = 0.0


class Release(SQLModel, table=True):
    """A (service, version) pair, first seen at: the base of regression detection."""

    __tablename__ = "release"
    __table_args__ = (sa.UniqueConstraint("service", "version", name="uq_release_service_version"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=200)
    version: str = Field(max_length=100)
    first_seen: datetime = Field(sa_type=UTCDateTime)


class DigestRun(SQLModel, table=True):
    """One digest period, claimed before posting so that it goes out exactly once."""

    __tablename__ = "digest_run"

    id: int | None = Field(default=None, primary_key=True)
    period_key: str = Field(max_length=64, unique=True)
    claimed_at: datetime = Field(sa_type=UTCDateTime)
    claimed_by: str = Field(max_length=200)
    lease_until: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="claimed", max_length=16)  # claimed, posted, failed
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_ts: str | None = Field(default=None, max_length=64)


class IdempotencyKey(SQLModel, table=True):
    """A request already handled: Slack retries events and people double-click buttons; the first
    to insert the key runs the command, the others see the unique constraint and do nothing."""

    __tablename__ = "idempotency_key"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    kind: str = Field(max_length=32)  # command, action, view, event
    at: datetime = Field(sa_type=UTCDateTime, index=True)


class StateEntry(SQLModel, table=True):
    """Small named state that must survive a restart (the alert policy's incidents and silences)."""

    __tablename__ = "state_entry"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    value: dict[str, Any] = _json()
    updated_at: datetime = Field(sa_type=UTCDateTime)


metadata = SQLModel.metadata
