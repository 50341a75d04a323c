"""The `forward_delivery` table as a queue: claim the due rows of a target, then mark each one.

Synchronous database work for the forwarder's thread. Order is per target: only the oldest pending
row of a target (by occurrence id) decides whether the target is due, and a claim takes rows from
there on. A claim leases its rows (`next_attempt_at` moves a lease ahead), so a second svcbot on
the same PostgreSQL database, or this one after a crash, waits for the lease to run out instead of
sending them too: the head row of the target is locked (SELECT ... FOR UPDATE) while it is claimed,
and SQLite's write transactions take its lock up front.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, func, select

from manager.store.db import Database
from manager.store.models import ForwardDelivery, Issue, Occurrence

__all__ = ["Claim", "Delivery", "claim", "mark", "pending", "release"]

MAX_ERROR = 1000  # the column's width


@dataclass(frozen=True)
class Delivery:
    """A claimed row with what it delivers (detached copies, read in the claim's transaction)."""

    id: int
    uid: str
    target: str
    attempts: int
    occurrence: Occurrence
    issue: Issue


@dataclass(frozen=True)
class Claim:
    """Rows to deliver now, in order; or, when the target's oldest row waits, when it is due."""

    deliveries: list[Delivery]
    due_at: datetime | None = None


def claim(db: Database, target: str, now: datetime, *, limit: int, lease: float) -> Claim:
    with db.session(write=True) as session:
        query = (
            select(ForwardDelivery)
            .where(ForwardDelivery.status == "pending", ForwardDelivery.target == target)
            .order_by(col(ForwardDelivery.occurrence_id), col(ForwardDelivery.id))
            .limit(limit)
            .with_for_update()
        )
        rows = list(session.exec(query).all())
        if not rows:
            return Claim([])
        head = rows[0].next_attempt_at
        if head is not None and head > now:
            return Claim([], head)
        ids = [row.id for row in rows]
        session.execute(
            sa.update(ForwardDelivery)
            .where(col(ForwardDelivery.id).in_(ids))
            .values(next_attempt_at=now + timedelta(seconds=lease))
        )
        occurrences = {
            o.id: o
            for o in session.exec(
                select(Occurrence).where(col(Occurrence.id).in_([r.occurrence_id for r in rows]))
            ).all()
        }
        issue_ids = {o.issue_id for o in occurrences.values()}
        issues = {i.id: i for i in session.exec(select(Issue).where(col(Issue.id).in_(issue_ids))).all()}
        deliveries = []
        for row in rows:
            assert row.id is not None
            occurrence = occurrences[row.occurrence_id]
            issue = issues[occurrence.issue_id]
            deliveries.append(Delivery(row.id, row.uid, row.target, row.attempts, occurrence, issue))
        return Claim(deliveries)


def mark(
    db: Database,
    delivery_id: int,
    now: datetime,
    *,
    status: str,
    error: str | None = None,
    retry_in: float | None = None,
    release: Sequence[int] = (),
) -> None:
    """Record one attempt: sent, failed for good, or pending again (due in `retry_in` seconds).

    `release` names claimed rows that were not attempted (the ones behind a delivery that must be
    retried): their lease ends in the same transaction."""
    values: dict[str, object] = {
        "status": status,
        "attempts": ForwardDelivery.attempts + 1,
        "error": error[:MAX_ERROR] if error else None,
        "next_attempt_at": now + timedelta(seconds=retry_in) if retry_in is not None else None,
    }
    if status == "sent":
        values["delivered_at"] = now
    with db.session(write=True) as session:
        session.execute(
            sa.update(ForwardDelivery).where(col(ForwardDelivery.id) == delivery_id).values(values)
        )
        if release:
            _release(session, release)


def release(db: Database, delivery_ids: Sequence[int]) -> None:
    """End the lease of claimed rows that were not attempted (the forwarder is stopping)."""
    if delivery_ids:
        with db.session(write=True) as session:
            _release(session, delivery_ids)


def _release(session: sa.orm.Session, delivery_ids: Sequence[int]) -> None:
    session.execute(
        sa.update(ForwardDelivery)
        .where(col(ForwardDelivery.id).in_(list(delivery_ids)), col(ForwardDelivery.status) == "pending")
        .values(next_attempt_at=None)
    )


def pending(db: Database) -> dict[str, int]:
    """Rows not yet delivered, by target (sent and failed rows are done)."""
    with db.session() as session:
        query = (
            select(ForwardDelivery.target, func.count())
            .where(ForwardDelivery.status == "pending")
            .group_by(col(ForwardDelivery.target))
        )
        return {str(target): int(count) for target, count in session.exec(query).all()}
