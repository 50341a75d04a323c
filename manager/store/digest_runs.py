"""Exactly once per period, across restarts and several svcbot copies sharing a database.

A copy *claims* a period by inserting its `digest_run` row: the unique `period_key` lets one insert win.
The claim is a lease: it holds until `lease_until`, and the winner records the parent message's `ts` as
soon as Slack returns it, then marks the run posted. A copy that crashed between claim and post leaves a
claim whose lease runs out; the next attempt (any copy, at its next check) takes the claim over with a
compare-and-set UPDATE and, if the parent message was already posted, continues in its thread instead of
posting a second one. A failed post gives the claim back at once (`release`), so a retry need not wait.

Whether a period was *missed* (svcbot down at its scheduled time) is the same question: at start, the
latest period that has ended is claimed like any other and posted if nobody has, provided svcbot was
already keeping records then (`was_running_before`): a fresh install does not post last week's digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from manager.store.db import Database
from manager.store.models import DigestRun, LifecycleEvent

__all__ = ["DEFAULT_LEASE", "Claim", "claim", "finish", "release", "set_parent", "was_running_before"]

DEFAULT_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Claim:
    period_key: str
    owner: str
    parent_ts: str | None  # the parent message an earlier, interrupted claim already posted


def claim(
    db: Database, period_key: str, owner: str, now: datetime, lease: timedelta = DEFAULT_LEASE
) -> Claim | None:
    """The period is ours to post (None: posted already, or someone else holds a live claim)."""
    try:
        with db.session(write=True) as session:
            session.add(
                DigestRun(
                    period_key=period_key,
                    claimed_at=now,
                    claimed_by=owner,
                    lease_until=now + lease,
                    status="claimed",
                )
            )
        return Claim(period_key, owner, None)
    except IntegrityError:
        pass
    with db.session(write=True) as session:
        taken = session.execute(
            sa.update(DigestRun)
            .where(
                col(DigestRun.period_key) == period_key,
                col(DigestRun.status) != "posted",
                sa.or_(col(DigestRun.status) == "failed", col(DigestRun.lease_until) < now),
            )
            .values(claimed_at=now, claimed_by=owner, lease_until=now + lease, status="claimed")
        )
        if not getattr(taken, "rowcount", 0):
            return None
        parent = session.exec(select(DigestRun.message_ts).where(DigestRun.period_key == period_key)).one()
        return Claim(period_key, owner, parent)


def set_parent(db: Database, mine: Claim, ts: str) -> None:
    """Remember the parent message at once: a copy taking over an expired claim continues in its thread."""
    _update(db, mine, message_ts=ts)


def finish(db: Database, mine: Claim, now: datetime) -> None:
    _update(db, mine, status="posted", posted_at=now)


def release(db: Database, mine: Claim, now: datetime) -> None:
    """Posting failed: give the claim back so that the next attempt need not wait out the lease."""
    _update(db, mine, status="failed", lease_until=now)


def _update(db: Database, mine: Claim, **values: object) -> None:
    with db.session(write=True) as session:
        session.execute(
            sa.update(DigestRun)
            .where(col(DigestRun.period_key) == mine.period_key, col(DigestRun.claimed_by) == mine.owner)
            .values(**values)
        )


def was_running_before(db: Database, moment: datetime) -> bool:
    """Did svcbot keep records before `moment`? (Then a period ending at `moment` was really missed.)"""
    with db.session() as session:
        earlier_run = session.exec(select(DigestRun.id).limit(1)).first()
        if earlier_run is not None:
            return True
        first = session.exec(select(sa.func.min(LifecycleEvent.at))).one()
    if first is None:
        return False
    first = first if isinstance(first, datetime) else datetime.fromisoformat(str(first))
    return (first if first.tzinfo else first.replace(tzinfo=UTC)) < moment
