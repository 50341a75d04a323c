"""The alert outbox: every alert message is a row of the `alert` table before it goes to Slack.

Rows are delivered oldest first, in order per channel: a row that cannot be delivered yet (Slack
down, rate limited) holds back the rows behind it in its channel, so when Slack comes back the
channel reads in the order things happened. Synchronous database work, for a worker thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from manager.store.db import Database
from manager.store.models import Alert

__all__ = ["OutboxRow", "enqueue", "mark", "pending", "pending_channels"]

OutboxRow = dict[str, Any]


def enqueue(db: Database, rows: Sequence[OutboxRow]) -> None:
    now = datetime.now(UTC)
    with db.session(write=True) as session:
        for row in rows:
            session.add(
                Alert(
                    uid=uuid.uuid4().hex,
                    created_at=now,
                    group_key=str(row["notification_id"])[:300],
                    service=row.get("service"),
                    severity=str(row.get("severity") or "warning")[:16],
                    title=str(row.get("title") or "")[:500],
                    body=row["body"],
                    channel=row["channel"],
                )
            )


def pending(db: Database, limit: int = 200, channel: str | None = None) -> list[Alert]:
    """Undelivered rows, oldest first (including ones waiting for a retry: order needs them); with
    `channel`, only that channel's."""
    with db.session() as session:
        query = select(Alert).where(Alert.status == "pending")
        if channel is not None:
            query = query.where(Alert.channel == channel)
        return list(session.exec(query.order_by(col(Alert.id)).limit(limit)).all())


def pending_channels(db: Database) -> list[str]:
    """The channels with undelivered rows."""
    with db.session() as session:
        query = select(Alert.channel).where(Alert.status == "pending").distinct()
        return [channel for channel in session.exec(query).all() if channel is not None]


def mark(
    db: Database,
    alert_id: int,
    *,
    status: str,
    ts: str | None = None,
    error: str | None = None,
    retry_in: float | None = None,
) -> None:
    """Record a delivery attempt: sent (with the message ts), failed for good, or retry later."""
    now = datetime.now(UTC)
    with db.session(write=True) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            return
        alert.status = status
        alert.attempts += 1
        alert.error = error[:1000] if error else None
        if ts is not None:
            alert.message_ts = ts
        if status == "sent":
            alert.delivered_at = now
        alert.next_attempt_at = now + timedelta(seconds=retry_in) if retry_in is not None else None
        session.add(alert)
