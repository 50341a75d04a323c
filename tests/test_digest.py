"""The digest's content from the database (SQLite and PostgreSQL), its fixed statement count, the
uptime arithmetic, the exactly-once claim of a period, and the plain-text rendering."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from manager.config.spec import DigestSpec
from manager.digest.model import Delta
from manager.digest.period import Window, adhoc_window, scheduled_window
from manager.digest.text import render_digest
from manager.digest.uptime import Change, service_line
from manager.store import digest_runs as runs
from manager.store.db import Database
from manager.store.digest_data import SECTION_LIMIT, build_digest
from manager.store.models import DigestRun, Feedback, Issue, LifecycleEvent, Occurrence, Release

END = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday: the "mon 09:00" run of 2026-W48
START = END - timedelta(days=7)
WINDOW = Window(START, END, "2026-W48", scheduled=True)
_uid = iter(range(1, 10**9))


@pytest.fixture
def db(dual_db: Database) -> Database:
    """SQLite, then PostgreSQL (tests/conftest.py)."""
    return dual_db


def _issue(db: Database, **fields: Any) -> int:
    n = next(_uid)
    row: dict[str, Any] = {
        "fingerprint": f"fp{n}",
        "title": f"issue {n}",
        "kind": "crash",
        "category": "bug",
        "status": "open",
        "first_seen": START - timedelta(days=30),
        "last_seen": START + timedelta(days=1),
        "count": 1,
        "services": ["web"],
        "priority": "P3",
        "priority_score": 10.0,
    }
    row.update(fields)
    with db.session(write=True) as session:
        issue = Issue(**row)
        session.add(issue)
        session.flush()
        assert issue.id is not None
        return issue.id


def _occurrence(db: Database, issue_id: int, at: datetime) -> None:
    with db.session(write=True) as session:
        session.add(
            Occurrence(
                uid=f"o{next(_uid)}", issue_id=issue_id, at=at, service="web", kind="crash", summary="x"
            )
        )


def _feedback(db: Database, category: str, at: datetime) -> None:
    with db.session(write=True) as session:
        session.add(
            Feedback(uid=f"f{next(_uid)}", at=at, text="t", reporter="U1", source="cli", category=category)
        )


def _state(db: Database, service: str, at: datetime, old: str, new: str) -> None:
    with db.session(write=True) as session:
        session.add(
            LifecycleEvent(
                uid=f"e{next(_uid)}",
                at=at,
                service=service,
                kind="service_state_changed",
                data={"old": old, "new": new},
            )
        )


# -- figures --------------------------------------------------------------------------------------------


def test_the_week_at_a_glance(db: Database) -> None:
    day = timedelta(days=1)
    new_p1 = _issue(db, first_seen=START + day, last_seen=START + 2 * day, priority="P1", priority_score=90)
    _issue(db, first_seen=START + 3 * day, category="usability", priority="P2", priority_score=50)
    _issue(db, first_seen=START - 2 * day)  # new the week before
    _issue(db, status="resolved", resolved_at=START + day, last_seen=START)  # resolved this week
    _issue(db, status="resolved", resolved_at=START - day)  # resolved the week before
    regressed = _issue(db, regressed=True, priority="P2", priority_score=60)
    _issue(db, status="ignored", last_seen=START + day)
    quiet_old = _issue(db, last_seen=START - 20 * day, priority="P4", priority_score=1)  # open, not seen
    for at in (START + day, START + 2 * day, END - timedelta(seconds=1)):
        _occurrence(db, new_p1, at)
    _occurrence(db, new_p1, START - day)
    _occurrence(db, new_p1, END)  # after the window: not counted
    for category in ("bug", "bug", "feature"):
        _feedback(db, category, START + day)
    _feedback(db, "question", START - day)
    with db.session(write=True) as session:
        session.add(Release(service="web", version="1.5.0", first_seen=START + 2 * day))
        session.add(Release(service="web", version="1.4.0", first_seen=START - 2 * day))

    digest = build_digest(db, WINDOW, [])

    assert digest.new == Delta(2, 1)
    assert digest.resolved == Delta(1, 1)
    assert digest.regressed == 1
    assert digest.open == 5
    assert digest.open_by_priority == {"P1": 1, "P2": 2, "P3": 1, "P4": 1}
    assert digest.occurrences == Delta(3, 1)
    assert digest.feedback == {"bug": Delta(2, 0), "feature": Delta(1, 0), "question": Delta(0, 1)}
    assert digest.feedback_total == Delta(3, 1)
    assert [i.id for i in digest.top] == [new_p1, regressed, digest.top[2].id, digest.top[3].id, quiet_old]
    assert digest.top[0].new and not digest.top[0].regressed
    assert digest.top[1].regressed
    assert list(digest.sections) == ["bug", "usability"]  # the order of the thread replies
    bug_ids = [i.id for i in digest.sections["bug"]]
    assert bug_ids[:2] == [new_p1, regressed]  # open ones first, by priority
    assert quiet_old not in bug_ids  # open but not seen in the period: in the top, not in the details
    assert any(i.resolved_in_period for i in digest.sections["bug"])
    assert [(r.service, r.version) for r in digest.releases] == [("web", "1.5.0")]
    assert not digest.quiet


def test_sections_are_cut_in_the_query_and_counted(db: Database) -> None:
    for n in range(SECTION_LIMIT + 7):
        _issue(db, first_seen=START + timedelta(minutes=n), priority_score=float(n))
    digest = build_digest(db, WINDOW, [])
    assert len(digest.sections["bug"]) == SECTION_LIMIT
    assert digest.section_totals["bug"] == SECTION_LIMIT + 7
    scores = [i.title for i in digest.sections["bug"]]
    assert scores[0] == f"issue {_last_issue_number(db)}"  # highest score first
    text = render_digest(digest)
    assert "… and 7 more: svcbot issues list --category bug" in text


def _last_issue_number(db: Database) -> int:
    with db.session() as session:
        title = session.execute(
            sa.select(col(Issue.title)).order_by(col(Issue.priority_score).desc()).limit(1)
        ).scalar_one()
    return int(title.split()[-1])


def test_an_empty_database_makes_a_quiet_digest(db: Database) -> None:
    digest = build_digest(db, WINDOW, ["web"])
    assert digest.quiet
    assert digest.services[0].uptime is None
    assert "A quiet period" in render_digest(digest)


def test_the_statement_count_does_not_grow_with_the_issues(db: Database) -> None:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        _issue(db, first_seen=START + timedelta(hours=1))
        seen.clear()
        small = build_digest(db, WINDOW, ["web", "worker"])
        small_count = len([s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))])
        for n in range(300):
            _issue(
                db, first_seen=START + timedelta(minutes=n), category=("bug", "feature", "question")[n % 3]
            )
            _state(db, "web", START + timedelta(minutes=n), "running", "backoff")
        seen.clear()
        large = build_digest(db, WINDOW, ["web", "worker"])
        large_count = len([s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert small.statements == large.statements == small_count == large_count == 8


# -- services -------------------------------------------------------------------------------------------


def test_service_availability_from_state_changes(db: Database) -> None:
    hour = timedelta(hours=1)
    _state(db, "web", START - 3 * hour, "starting", "running")  # running when the week began
    _state(db, "web", START + 10 * hour, "running", "backoff")  # a crash
    _state(db, "web", START + 10 * hour + timedelta(seconds=1), "backoff", "starting")
    _state(db, "web", START + 10 * hour + timedelta(seconds=30), "starting", "running")
    _state(db, "worker", START + hour, "stopped", "starting")
    _state(db, "worker", START + hour + timedelta(seconds=2), "starting", "running")
    digest = build_digest(db, WINDOW, ["web", "worker", "idle"])
    web, worker, idle = digest.services
    assert web.restarts == 1 and web.failures == 1
    assert web.mttr == pytest.approx(30.0)
    supervised = (END - START).total_seconds()
    assert web.uptime == pytest.approx((supervised - 30) / supervised)
    assert worker.restarts == 0  # a first start is not a restart
    assert worker.uptime is not None and worker.uptime > 0.99
    assert idle.uptime is None
    assert "web: 99.99% up · 1 restart · 1 failure, MTTR 30s" in render_digest(digest)


def test_uptime_rules_on_plain_data() -> None:
    t = START
    h = timedelta(hours=1)
    end = t + 10 * h
    # Down (quarantined) from before the window, recovered after 2 h, stopped on purpose for 4 h.
    line = service_line(
        "api",
        "quarantined",
        [
            Change(t + 2 * h, "quarantined", "starting"),
            Change(t + 2 * h, "starting", "running"),
            Change(t + 4 * h, "running", "stopping"),
            Change(t + 4 * h, "stopping", "stopped"),
            Change(t + 8 * h, "stopped", "starting"),
            Change(t + 8 * h, "starting", "running"),
        ],
        t,
        end,
    )
    assert line.failures == 1
    assert line.restarts == 1  # out of quarantine; the start after the stop is not a restart
    assert line.mttr == pytest.approx(2 * 3600)
    assert line.uptime == pytest.approx(4 / 6)  # 4 h running of 6 h supervised (4 h stopped on purpose)
    flapping = service_line(
        "db",
        "running",
        [Change(t + h, "running", "unhealthy"), Change(t + 3 * h, "unhealthy", "stopping")],
        t,
        end,
    )
    assert flapping.failures == 1 and flapping.mttr is None  # stopped before it recovered
    assert flapping.uptime == pytest.approx(1 / 3)


# -- periods ---------------------------------------------------------------------------------------------


def test_scheduled_and_adhoc_windows() -> None:
    spec = DigestSpec(schedule="mon 09:00", timezone="Europe/Paris")
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
    window = scheduled_window(spec, at)
    assert window.end == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 in Paris (UTC+1)
    assert window.start == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    assert window.key == "2026-W48"
    assert window.previous_start == datetime(2026, 11, 9, 8, 0, tzinfo=UTC)
    adhoc = adhoc_window(spec, at)
    assert (adhoc.start, adhoc.end) == (at - timedelta(days=7), at)
    assert not adhoc.scheduled and adhoc.key == "adhoc-2026-11-25T12:00:00Z"
    daily = scheduled_window(DigestSpec(schedule="weekdays 08:30"), datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert (daily.start, daily.end, daily.key) == (
        datetime(2026, 11, 20, 8, 30, tzinfo=UTC),  # Friday: Monday's digest covers the weekend
        datetime(2026, 11, 23, 8, 30, tzinfo=UTC),
        "2026-11-23",
    )


# -- exactly once ------------------------------------------------------------------------------------------


def test_a_period_is_claimed_once_and_an_expired_claim_is_taken_over(db: Database) -> None:
    now = END
    first = runs.claim(db, "2026-W48", "copy-a", now)
    assert first is not None and first.parent_ts is None
    assert runs.claim(db, "2026-W48", "copy-b", now + timedelta(minutes=1)) is None  # live lease
    runs.set_parent(db, first, "1700000000.000100")
    # copy-a dies; after the lease copy-b takes over and continues in the same thread
    later = now + runs.DEFAULT_LEASE + timedelta(seconds=1)
    second = runs.claim(db, "2026-W48", "copy-b", later)
    assert second is not None and second.parent_ts == "1700000000.000100"
    runs.finish(db, first, later)  # the dead copy's late write changes nothing: it no longer owns it
    assert runs.claim(db, "2026-W48", "copy-c", later + runs.DEFAULT_LEASE * 2) is not None
    with db.session() as session:
        row = session.execute(
            sa.select(DigestRun).where(col(DigestRun.period_key) == "2026-W48")
        ).scalar_one()
    assert row.status == "claimed" and row.claimed_by == "copy-c"


def test_a_posted_period_is_never_claimed_again_and_a_failed_one_at_once(db: Database) -> None:
    mine = runs.claim(db, "2026-W47", "a", END)
    assert mine is not None
    runs.release(db, mine, END)  # Slack was down
    again = runs.claim(db, "2026-W47", "b", END + timedelta(seconds=1))
    assert again is not None
    runs.finish(db, again, END + timedelta(seconds=2))
    assert runs.claim(db, "2026-W47", "c", END + timedelta(days=30)) is None


def test_concurrent_claims_have_one_winner(db: Database) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def race(name: str) -> None:
        barrier.wait()
        if runs.claim(db, "2026-W50", name, END) is not None:
            winners.append(name)

    threads = [threading.Thread(target=race, args=(f"copy-{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(winners) == 1


def test_a_missed_period_needs_earlier_records(db: Database) -> None:
    assert not runs.was_running_before(db, END)  # a fresh install posts no "missed" digest
    _state(db, "web", END - timedelta(days=3), "starting", "running")
    assert runs.was_running_before(db, END)
    assert not runs.was_running_before(db, END - timedelta(days=4))
