"""`svcbot report --html`: the chart data read from the database (SQLite and PostgreSQL), the page
that embeds it (read back from its JSON blocks, as a reader's tools would), escaping, the empty
page, and the CLI end to end.

Crashes and restarts go in the way the daemon writes them: real events through
`manager.triage.reports` and `manager.store.ingest`. Issues are inserted as rows, because the chart
depends on their priority and resolution times, which ingest computes from the clock.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from manager.cli.main import main
from manager.config.loader import load_config
from manager.reporting.html import render_html
from manager.store.db import Database
from manager.store.ingest import apply
from manager.store.models import Issue, metadata
from manager.store.report_data import ReportData, collect, crashes_per_day, day_start, utc_days
from manager.store.store import Store
from manager.supervision import events as ev
from manager.triage.records import feedback_record
from manager.triage.reports import Host, Record, event_record, occurrence_record
from tests.conftest import write_config

HOST = Host(hostname="box", system="Linux 6.1", python="3.11.7", svcbot_pid=42, cpus=2, memory=1 << 30)
SINCE = datetime(2026, 3, 4, tzinfo=UTC)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAYS = [f"2026-03-{d:02d}" for d in range(4, 11)]  # seven UTC days, today (the 10th) included
HOSTILE_SERVICE = '</script><script>alert("svc")</script>'
HOSTILE_CATEGORY = "<img src=x onerror=alert(1)>&amp;"


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


# -- databases --------------------------------------------------------------------------------------


@pytest.fixture
def db(dual_db: Database) -> Database:
    """A migrated database with empty tables: a SQLite file, then the real PostgreSQL (tests/conftest.py)."""
    return dual_db


def ingest(db: Database, *records: Record | None) -> None:
    with db.session(write=True) as session:
        for record in records:
            if record is not None:
                apply(session, record)


# -- what goes in -----------------------------------------------------------------------------------


def crash(service: str, when: datetime) -> Record | None:
    event = ev.ServiceExited(
        at=when, service=service, run_id="r", pid=7, exit_code=1, signal=None, expected=False, runtime=1.0
    )
    return occurrence_record(event, None, HOST)


def crash_loop(service: str, when: datetime) -> Record | None:
    event = ev.CrashLoop(at=when, service=service, run_id="r", exits=5, interval=60, retry_in=300)
    return occurrence_record(event, None, HOST)


def unhealthy(service: str, when: datetime) -> Record | None:
    event = ev.HealthChanged(
        at=when, service=service, healthy=False, check="tcp x:1", output="no", failures=3
    )
    return occurrence_record(event, None, HOST)


def started(service: str, when: datetime, restarts: int, *, adopted: bool = False) -> Record:
    event = ev.ServiceStarted(at=when, service=service, run_id="r", pid=7, restarts=restarts, adopted=adopted)
    return event_record(event)


def feedback(category: str, when: datetime) -> Record:
    return feedback_record(
        f"about {category} at {when}", reporter="U0ALICE", source="cli", category=category, at=when
    )


def raw_feedback(category: str, when: datetime) -> Record:
    """A row as the table may hold it: ingest does not check the category (older rules, imports)."""
    record = feedback("bug", when)
    record["category"] = category
    return record


def issue(
    priority: str, first_seen: datetime, *, resolved_at: datetime | None = None, status: str = "open"
) -> Issue:
    return Issue(
        fingerprint=f"fp-{priority}-{first_seen.isoformat()}-{status}",
        title=f"{priority} issue",
        kind="crash",
        status="resolved" if resolved_at else status,
        resolved_at=resolved_at,
        first_seen=first_seen,
        last_seen=first_seen,
        priority=priority,
    )


def seed(db: Database) -> None:
    """A week of history with its edges: midnight, the day before the window, after `now`."""
    ingest(
        db,
        crash("web", at(3, 23, 59, 59)),  # the day before the window: left out
        crash("web", at(5, 0, 0, 0)),
        crash("web", at(5, 23, 59, 59)),
        crash("web", at(7, 0, 0, 0)),
        crash_loop("worker", at(5, 12)),
        crash("worker", at(9, 8)),
        unhealthy("web", at(6)),  # an occurrence, but not a crash
        crash("web", at(10, 12, 0, 1)),  # after `now`
        started("web", at(2), restarts=1),  # before the window: the count to compare with
        started("web", at(5, 0, 0, 1), restarts=2),  # automatic
        started("web", at(6), restarts=2),  # by a person: the count did not move
        started("web", at(7, 0, 0, 1), restarts=3),  # automatic
        started("worker", at(5), restarts=0),  # the first start
        started("worker", at(9, 8, 0, 1), restarts=1),  # automatic
        started("worker", at(9, 9), restarts=1, adopted=True),  # adopted by a new svcbot
        feedback("bug", at(4)),
        feedback("bug", at(6)),
        feedback("bug", at(10, 11)),
        feedback("praise", at(8)),
        feedback("praise", at(9)),
        feedback("feature", at(5)),
        feedback("feature", at(3)),  # before the window
    )
    with db.session(write=True) as session:
        # The crashes above made issues with computed priorities; triage ignored them, so the
        # open-issue chart shows only these (and ignored issues are left out of it, as documented).
        session.execute(sa.update(metadata.tables["issue"]).values(status="ignored"))
        session.add_all(
            [
                issue("P1", at(2)),  # open since before the window
                issue("P1", at(5, 10), resolved_at=at(7, 9)),
                issue("P2", at(10, 11)),  # first seen today, before `now`
                issue("P3", at(10, 13)),  # after `now`
                issue("P4", at(6), status="ignored"),
                issue("P2", at(1), resolved_at=at(3)),  # resolved before the window
                issue("P3", at(6, 12), resolved_at=at(7, 12)),
            ]
        )


EXPECTED: dict[str, Any] = {
    "crashes": {"days": DAYS, "series": {"web": [0, 2, 0, 1, 0, 0, 0], "worker": [0, 1, 0, 0, 0, 1, 0]}},
    "restarts": {"days": DAYS, "series": {"web": [0, 1, 0, 1, 0, 0, 0], "worker": [0, 0, 0, 0, 0, 1, 0]}},
    "open_issues": {
        "days": DAYS,
        "series": {
            "P1": [1, 2, 2, 1, 1, 1, 1],
            "P2": [0, 0, 0, 0, 0, 0, 1],
            "P3": [0, 0, 1, 0, 0, 0, 0],
            "P4": [0, 0, 0, 0, 0, 0, 0],
        },
    },
    "feedback": {"categories": {"bug": 3, "praise": 2, "feature": 1}},
}


# -- reading the page back --------------------------------------------------------------------------


class Page(HTMLParser):
    """The parts of the page a test checks: JSON blocks, chart SVGs, empty notes, every script."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.data: dict[str, Any] = {}
        self.charts: list[str] = []
        self.empty: dict[str, str] = {}
        self.scripts: list[dict[str, str | None]] = []
        self.tables = 0
        self._script: str | None = None
        self._empty: str | None = None
        self._text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
            self._script = attributes.get("id")
            self._text = []
        elif tag == "svg" and attributes.get("data-chart"):
            self.charts.append(str(attributes["data-chart"]))
        elif tag == "p" and attributes.get("class") == "empty":
            self._empty = attributes.get("data-chart")
            self._text = []
        elif tag == "table":
            self.tables += 1

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script:
            self.data[self._script.removeprefix("data-")] = json.loads("".join(self._text))
            self._script = None
        elif tag == "p" and self._empty:
            self.empty[self._empty] = "".join(self._text)
            self._empty = None


def render(data: ReportData) -> str:
    return render_html(data, title="svcbot report", generated_at=NOW + timedelta(minutes=1))


# -- the data, on both databases --------------------------------------------------------------------


def test_chart_data_matches_the_database_on_both_dialects(db: Database) -> None:
    """Crashes and restarts per service and UTC day (zeros included, edges at midnight), open issues
    per priority day by day, and feedback per category: the same on SQLite and PostgreSQL, and
    the same again once read back from the HTML page's JSON blocks."""
    seed(db)
    data = collect(db, SINCE, NOW)

    assert data.crashes.as_dict() == EXPECTED["crashes"]
    assert data.restarts.as_dict() == EXPECTED["restarts"]
    assert data.open_issues.as_dict() == EXPECTED["open_issues"]
    assert {c.category: c.count for c in data.feedback} == EXPECTED["feedback"]["categories"]
    assert [c.category for c in data.feedback] == ["bug", "praise", "feature"]

    page = Page(render(data))
    assert page.data == EXPECTED
    assert list(page.data["feedback"]["categories"]) == ["bug", "praise", "feature"]  # order kept
    assert sorted(page.charts) == ["crashes", "feedback", "open_issues", "restarts"]
    assert page.tables == 4  # one accessible table per chart


def test_days_are_utc_whatever_the_session_time_zone(db: Database) -> None:
    """PostgreSQL buckets `timestamptz` in the session's zone unless told otherwise: a crash at
    23:30 UTC stays on its UTC day when the connection runs in Pacific/Auckland."""
    ingest(db, crash("web", at(5, 23, 30)))
    if db.dialect == "postgresql":
        db.dispose()  # new connections from here on run in Auckland (UTC+13 in March)
        sa.event.listen(db.engine, "connect", _auckland)
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SHOW TIME ZONE")).scalar() == "Pacific/Auckland"
    assert crashes_per_day(db, SINCE, NOW).series == {"web": (0, 1, 0, 0, 0, 0, 0)}


def _auckland(dbapi_connection: Any, _record: Any) -> None:
    with contextlib.closing(dbapi_connection.cursor()) as cursor:
        cursor.execute("SET TIME ZONE 'Pacific/Auckland'")
    dbapi_connection.commit()


def test_the_window_starts_at_midnight_and_lists_every_day() -> None:
    """`--since 30d` starts at midnight UTC, so every day but today is whole; days are contiguous."""
    now = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)
    since = day_start(now - timedelta(days=30))
    assert since == datetime(2026, 2, 8, tzinfo=UTC)
    days = utc_days(since, now)
    assert len(days) == 31 and days[0].isoformat() == "2026-02-08" and days[-1].isoformat() == "2026-03-10"
    with pytest.raises(ValueError, match="starts after"):
        utc_days(now, since)


# -- the page ---------------------------------------------------------------------------------------


def test_database_text_is_escaped_everywhere(tmp_path: Path) -> None:
    """A service or category made of markup is text on the page: escaped in the legend, tables and
    tooltips, and \\u-escaped in the JSON blocks, which still give back the exact original."""
    db = Database(f"sqlite:///{tmp_path / 'svcbot.db'}")
    db.upgrade()
    try:
        ingest(
            db,
            crash(HOSTILE_SERVICE, at(6)),
            started(HOSTILE_SERVICE, at(6, 0, 0, 1), restarts=1),
            raw_feedback(HOSTILE_CATEGORY, at(6)),
        )
        text = render(collect(db, SINCE, NOW))
    finally:
        db.dispose()

    assert HOSTILE_SERVICE not in text and "<img" not in text and "alert(" in text
    assert "&lt;/script&gt;&lt;script&gt;alert(&quot;svc&quot;)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;amp;" in text
    page = Page(text)
    assert all(script.get("type") == "application/json" for script in page.scripts)
    assert len(page.scripts) == 4  # nothing in the data opened a script of its own
    assert page.data["crashes"]["series"] == {HOSTILE_SERVICE: [0, 0, 1, 0, 0, 0, 0]}
    assert page.data["restarts"]["series"] == {HOSTILE_SERVICE: [0, 0, 1, 0, 0, 0, 0]}
    assert page.data["feedback"]["categories"] == {HOSTILE_CATEGORY: 1}


def test_an_empty_database_gives_a_readable_page(tmp_path: Path) -> None:
    """No rows at all: every chart says so in words, the JSON still has every day (zeros for the
    priorities), and the page is self-contained (no script to run, nothing to fetch)."""
    db = Database(f"sqlite:///{tmp_path / 'svcbot.db'}")
    db.upgrade()
    try:
        text = render(collect(db, SINCE, NOW))
    finally:
        db.dispose()

    page = Page(text)
    assert page.data == {
        "crashes": {"days": DAYS, "series": {}},
        "restarts": {"days": DAYS, "series": {}},
        "open_issues": {"days": DAYS, "series": {p: [0] * 7 for p in ("P1", "P2", "P3", "P4")}},
        "feedback": {"categories": {}},
    }
    assert page.empty == {
        "crashes": "No crashes in this period.",
        "restarts": "No restarts in this period.",
        "open_issues": "No open issues in this period.",
        "feedback": "No feedback in this period.",
    }
    assert page.charts == []
    assert "2026-03-04 00:00 UTC to 2026-03-10 12:00 UTC (7 days)" in text
    assert "generated 2026-03-10 12:01 UTC" in text
    for outside in ("http://", "https://", "src=", "@import", "url("):
        assert outside not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_many_services_fold_into_others_in_the_chart_only(tmp_path: Path) -> None:
    """More services than colors: the smallest share one gray "(others)" bar in the drawing, while
    the JSON and the table keep every service."""
    db = Database(f"sqlite:///{tmp_path / 'svcbot.db'}")
    db.upgrade()
    services = [f"svc{i:02d}" for i in range(12)]
    try:
        ingest(db, *(crash(name, at(6, i)) for i, name in enumerate(services)))
        text = render(collect(db, SINCE, NOW))
    finally:
        db.dispose()
    page = Page(text)
    assert sorted(page.data["crashes"]["series"]) == services
    assert "(others)" in text
    assert text.count("<th>svc11</th>") == 1  # in the crashes table


# -- the CLI ----------------------------------------------------------------------------------------


def test_cli_writes_the_report_and_summarizes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`svcbot report --since 7d --html FILE` writes the page (atomically, no temporary left), says
    where and what; `--json` gives the totals; the store is the config's database."""
    monkeypatch.delenv("SVCBOT_DATABASE_URL", raising=False)
    config = write_config(tmp_path, {"web": {"command": "sleep 1"}})
    store = Store.for_config(load_config(config))
    store.ensure_schema()
    recent = datetime.now(UTC) - timedelta(minutes=5)
    ingest(store.db, crash("web", recent), started("web", recent, restarts=1), feedback("bug", recent))
    store.db.dispose()
    out = tmp_path / "reports" / "week.html"
    out.parent.mkdir()
    out.write_text("an older report")

    assert main(["report", "--since", "7d", "--html", str(out), "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(out)
    # the crash and the feedback each opened an issue
    assert lines[1] == "1 crash, 1 restart, 2 open issues, 1 feedback over 8 days"
    assert [p.name for p in out.parent.iterdir()] == ["week.html"]
    page = Page(out.read_text(encoding="utf-8"))
    assert sum(page.data["crashes"]["series"]["web"]) == 1
    assert len(page.data["crashes"]["days"]) == 8  # seven days back from midnight, and today

    assert main(["report", "--html", str(out), "--json", "--config", str(config)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["path"] == str(out) and summary["days"] == 31
    assert summary["crashes"] == {"total": 1, "by_service": {"web": 1}}
    assert summary["feedback"] == {"total": 1, "by_category": {"bug": 1}}


def test_cli_usage_errors_and_report_errors_still_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`svcbot report` alone, a bad --since, or --html with a kind are usage errors (exit 2) and
    touch nothing; `svcbot report errors` works as before; an unwritable FILE fails (exit 1)."""
    config = write_config(tmp_path, {"web": {"command": "sleep 1"}})
    out = tmp_path / "r.html"

    assert main(["report", "--config", str(config)]) == 2
    assert "--html" in capsys.readouterr().err
    assert main(["report", "--since", "soon", "--html", str(out), "--config", str(config)]) == 2
    assert "--since" in capsys.readouterr().err
    assert main(["report", "--html", str(out), "errors", "--config", str(config)]) == 2
    assert "cannot be combined" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "state").exists()

    assert main(["report", "errors", "--since", "1h", "--json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out) == []

    missing = tmp_path / "no" / "such" / "dir" / "r.html"
    assert main(["report", "--html", str(missing), "--config", str(config)]) == 1
    assert "cannot write" in capsys.readouterr().err
