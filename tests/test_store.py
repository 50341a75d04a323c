"""The SQL store: the same suite on SQLite (a WAL file) and on a real PostgreSQL.

Migrations against the models, ingest (idempotence, grouping, regressions and their compare-and-set,
feedback near-duplicates, audit, releases, priority), and the writer thread with its disk spool through
a database outage (a TCP proxy in front of PostgreSQL that is cut and brought back).
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, select

from manager.store import migrate
from manager.store.db import Database, normalize_url
from manager.store.ingest import apply, apply_batch, reopen_as_regression
from manager.store.models import AuditEntry, Feedback, Issue, LifecycleEvent, Occurrence, Release, metadata
from manager.store.runtime import claim_key, load_state, prune_keys, save_state
from manager.store.spool import Spool
from manager.store.writer import StoreWriter
from tests.conftest import free_port, wait_until
from tests.dbs import Background, PostgresServer, TcpProxy, empty_tables, lock_waiters

M = TypeVar("M", bound=SQLModel)
Record = dict[str, Any]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FAST = {"retry_min": 0.05, "retry_max": 0.2}

# -- databases --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.check()
    yield server
    server.admin.dispose()


@pytest.fixture(scope="module")
def pg_store(pg_server: PostgresServer) -> Iterator[str]:
    """One migrated PostgreSQL database for this module, dropped at its end."""
    name = pg_server.create()
    try:
        database = pg_server.database(name)
        database.upgrade()
        database.dispose()
        yield name
    finally:
        pg_server.drop(name)


@contextlib.contextmanager
def clean_pg(server: PostgresServer, name: str) -> Iterator[Database]:
    """The module's PostgreSQL database with no other session and every table empty (a DELETE is
    milliseconds, a CREATE DATABASE a quarter of a second)."""
    database = server.database(name)
    empty_tables(database, metadata)
    try:
        yield database
    finally:
        database.dispose()


def _database(request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'svcbot.db'}")
        if migrated:
            database.upgrade()
        yield database
        database.dispose()
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    if migrated:
        with clean_pg(server, request.getfixturevalue("pg_store")) as database:
            yield database
        return
    name = server.create()
    database = server.database(name)
    try:
        yield database
    finally:
        database.dispose()
        server.drop(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database with empty tables that no other test uses: a SQLite file, or PostgreSQL."""
    yield from _database(request, tmp_path, migrated=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no tables at all, for the migrations."""
    yield from _database(request, tmp_path, migrated=False)


@pytest.fixture
def pg_db(pg_server: PostgresServer, pg_store: str) -> Iterator[Database]:
    """The migrated, empty PostgreSQL database alone (for what only a server shows: real concurrency)."""
    with clean_pg(pg_server, pg_store) as database:
        yield database


@pytest.fixture
def writers() -> Iterator[Callable[..., StoreWriter]]:
    """Start store writers (fast retries) and stop every one of them at the end of the test."""
    started: list[StoreWriter] = []

    def make(database: Database, spool: Spool, **kwargs: Any) -> StoreWriter:
        writer = StoreWriter(database, spool, apply_batch, **{**FAST, **kwargs})
        writer.start()
        started.append(writer)
        return writer

    yield make
    for writer in started:
        writer.stop(timeout=10)


# -- records and reads ------------------------------------------------------------------------------


def _uid() -> str:
    return uuid.uuid4().hex


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def occurrence(fingerprint: str = "fp-crash", *, seconds: float = 0, **fields: Any) -> Record:
    record: Record = {
        "op": "occurrence",
        "uid": _uid(),
        "at": _at(seconds).isoformat(),
        "fingerprint": fingerprint,
        "title": "web: ZeroDivisionError: division by zero",
        "kind": "crash",
        "service": "web",
        "version": "1.0",
        "run_id": "run-1",
        "summary": "exited: exit code 1 after 0.3s",
        "severity": "normal",
        "exit_code": 1,
        "signal": None,
        "oom_likely": False,
        "exception": {
            "type": "ZeroDivisionError",
            "value": "division by zero",
            "frames": [{"file": "app.py", "line": 3, "function": "main"}],
        },
        "stderr_tail": ["Traceback (most recent call last):", "ZeroDivisionError: division by zero"],
        "environment": {"host": "test", "env": {"PYTHONUNBUFFERED": "1"}},
        "sample": {"rss": 1024},
        "grouping_method": "exception",
        "grouping": ["ZeroDivisionError", "app.py main"],
    }
    record.update(fields)
    return record


def event(kind: str = "service_exited", *, seconds: float = 0, **fields: Any) -> Record:
    record: Record = {
        "op": "event",
        "uid": _uid(),
        "at": _at(seconds).isoformat(),
        "kind": kind,
        "service": "web",
        "run_id": "run-1",
        "data": {"exit_code": 1},
    }
    record.update(fields)
    return record


def feedback(text: str, *, seconds: float = 0, **fields: Any) -> Record:
    record: Record = {
        "op": "feedback",
        "uid": _uid(),
        "at": _at(seconds).isoformat(),
        "text": text,
        "reporter": "U0ALICE",
        "source": "slack",
        "service": "web",
        "category": "bug",
        "rules": ["crash"],
        "confidence": 0.8,
        "severity": "normal",
    }
    record.update(fields)
    return record


def ingest(database: Database, *records: Record) -> None:
    """Apply records in one write transaction, as the writer does."""
    with database.session(write=True) as session:
        for record in records:
            apply(session, record)


def rows(database: Database, model: type[M]) -> list[M]:
    with database.session() as session:
        return list(session.exec(select(model).order_by(sa.text("id"))).all())


def issue(database: Database, fingerprint: str) -> Issue:
    with database.session() as session:
        return session.exec(select(Issue).where(Issue.fingerprint == fingerprint)).one()


def resolve(database: Database, fingerprint: str, version: str | None) -> None:
    with database.session(write=True) as session:
        session.execute(
            sa.update(Issue)
            .where(Issue.fingerprint == fingerprint)  # type: ignore[arg-type]
            .values(status="resolved", resolved_in_version=version, resolved_at=_at(3600))
        )


# -- the databases themselves -----------------------------------------------------------------------


def test_normalize_url_picks_psycopg3():
    """Plain postgresql:// and postgres:// URLs use the psycopg 3 driver; others are left alone."""
    assert normalize_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_database_answers_and_sqlite_runs_in_wal_mode(db):
    """ping() works on both databases; SQLite runs in WAL mode with foreign keys enforced."""
    db.ping()
    if db.dialect == "sqlite":
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    else:
        assert db.dialect == "postgresql"


def test_timestamps_are_stored_and_read_as_aware_utc(db):
    """An offset timestamp comes back as the same instant in UTC; a naive datetime is refused."""
    ingest(db, event(at="2026-03-02T11:00:00+02:00"))
    (stored,) = rows(db, LifecycleEvent)
    assert stored.at == T0
    assert stored.at.utcoffset() == timedelta(0)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), db.session(write=True) as session:
        session.add(LifecycleEvent(uid=_uid(), at=datetime(2026, 3, 2, 9, 0), kind="x"))
        session.flush()


# -- migrations -------------------------------------------------------------------------------------


def _drift(database: Database, target: sa.MetaData) -> list[Any]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, target))


def test_migrations_match_the_models(empty_db):
    """The Alembic migrations applied to an empty database give exactly the models' schema."""
    migrate.upgrade(empty_db.engine)
    assert _drift(empty_db, metadata) == []
    # ...and the comparison does see a difference when there is one (a changed column type).
    changed = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["issue"].c.title.type = sa.String(length=400)
    assert [diff[0][0] for diff in _drift(empty_db, changed)] == ["modify_type"]


def test_upgrade_is_idempotent_and_reaches_head(empty_db):
    """upgrade() on an empty database reaches head; running it again changes nothing and keeps data."""
    assert migrate.current_revision(empty_db.engine) is None
    migrate.upgrade(empty_db.engine)
    assert migrate.current_revision(empty_db.engine) == migrate.head_revision() is not None
    ingest(empty_db, event())
    tables = set(sa.inspect(empty_db.engine).get_table_names())
    empty_db.upgrade()
    assert migrate.current_revision(empty_db.engine) == migrate.head_revision()
    assert set(sa.inspect(empty_db.engine).get_table_names()) == tables
    assert len(rows(empty_db, LifecycleEvent)) == 1


def test_head_constant_names_the_newest_migration():
    """migrate.HEAD (the fast "nothing to migrate" check) is Alembic's head of the scripts."""
    assert migrate.head_revision() == migrate.HEAD


def test_concurrent_migrations_of_a_new_database_both_succeed(empty_db):
    """Two processes starting on a new database at once: one migrates, the other waits, none fails."""
    others = [Database(empty_db.url) for _ in range(3)]
    try:
        runs = [Background(partial(migrate.upgrade, d.engine)) for d in others]
        for run in runs:
            run.join(60)
    finally:
        for other in others:
            other.dispose()
    assert migrate.current_revision(empty_db.engine) == migrate.HEAD


def test_up_to_date_check_skips_alembic(empty_db):
    """is_current is False on an empty database and True once upgraded."""
    assert not migrate.is_current(empty_db.engine)
    migrate.upgrade(empty_db.engine)
    assert migrate.is_current(empty_db.engine)


# -- ingest: occurrences and issues -----------------------------------------------------------------


def test_occurrence_is_idempotent_on_uid(db):
    """The same record applied twice (a spool replay, a repeated delivery) is one row, counted once."""
    record = occurrence()
    ingest(db, record)
    ingest(db, record)
    ingest(db, dict(record))
    assert len(rows(db, Occurrence)) == 1
    assert issue(db, "fp-crash").count == 1


def test_occurrences_with_one_fingerprint_group_into_one_issue(db):
    """N occurrences of a fingerprint make one issue: count N, first/last seen, services and versions."""
    ingest(
        db,
        occurrence(seconds=60, service="web", version="1.0"),
        occurrence(seconds=0, service="api", version="1.1"),  # older, arriving late
        occurrence(seconds=120, service="web", version="1.1"),
    )
    ingest(db, occurrence(seconds=30, service="api", version="1.0"))
    (only,) = rows(db, Issue)
    assert (only.fingerprint, only.count) == ("fp-crash", 4)
    assert (only.first_seen, only.last_seen) == (_at(0), _at(120))
    assert only.services == ["web", "api"]
    assert only.versions == ["1.0", "1.1"]
    assert (only.kind, only.status, only.title) == (
        "crash",
        "open",
        "web: ZeroDivisionError: division by zero",
    )
    assert (only.grouping_method, only.grouping) == ("exception", ["ZeroDivisionError", "app.py main"])
    stored = rows(db, Occurrence)
    assert [o.issue_id for o in stored] == [only.id] * 4
    first = stored[0]
    assert (first.exception_type, first.exception_value) == ("ZeroDivisionError", "division by zero")
    assert first.frames == [{"file": "app.py", "line": 3, "function": "main"}]
    assert first.stderr_tail[-1] == "ZeroDivisionError: division by zero"
    assert (first.environment["env"], first.sample, first.exit_code) == (
        {"PYTHONUNBUFFERED": "1"},
        {"rss": 1024},
        1,
    )


def test_different_fingerprints_make_different_issues(db):
    """Occurrences with different fingerprints land in different issues, each with its own count."""
    ingest(db, occurrence("fp-a"), occurrence("fp-b"), occurrence("fp-a", seconds=5))
    assert {i.fingerprint: i.count for i in rows(db, Issue)} == {"fp-a": 2, "fp-b": 1}
    assert len({o.issue_id for o in rows(db, Occurrence)}) == 2


@pytest.mark.parametrize(
    ("seen_in", "reopens"),
    [("1.1", True), ("1.2", True), ("v2.0", True), (None, True), ("1.0", False), ("1.1rc1", False)],
)
def test_resolved_issue_reopens_only_when_seen_at_or_after_the_fix(db, seen_in, reopens):
    """Resolved in 1.1: seen in 1.1 or later (or unversioned) reopens it as a regression; older does not."""
    ingest(db, occurrence(version="1.0"))
    resolve(db, "fp-crash", "1.1")
    ingest(db, occurrence(seconds=7200, version=seen_in))
    found = issue(db, "fp-crash")
    assert found.count == 2
    if reopens:
        assert (found.status, found.regressed, found.regressions, found.resolved_at) == (
            "open",
            True,
            1,
            None,
        )
        ingest(db, occurrence(seconds=7300, version=seen_in))  # already open: no second regression
        assert issue(db, "fp-crash").regressions == 1
    else:
        assert (found.status, found.regressed, found.regressions) == ("resolved", False, 0)


def test_regression_compare_and_set_lets_one_writer_win(db):
    """Two sessions that both saw the issue resolved race to reopen it: regressions goes up exactly once."""
    ingest(db, occurrence())
    resolve(db, "fp-crash", "1.0")
    with db.session(write=True) as first:
        mine = first.exec(select(Issue)).one()
        if db.dialect == "postgresql":
            # Two real connections: the loser's UPDATE waits for the winner's row lock, then finds
            # the row no longer resolved.
            with db.session(write=True) as second:
                stale = second.exec(select(Issue)).one()
                assert stale.status == "resolved"
                assert reopen_as_regression(first, mine)
                loser = Background(lambda: reopen_as_regression(second, stale))
                wait_until(lambda: lock_waiters(db) == 1, 10, "the second UPDATE to wait for the row lock")
                first.commit()
                assert loser.join() is False
        else:
            # SQLite has one writer at a time: the loser read the issue before, and writes after.
            with db.session() as second:
                stale = second.exec(select(Issue)).one()
                second.commit()  # end the read transaction, keep the stale object
                assert reopen_as_regression(first, mine)
                first.commit()
                assert stale.status == "resolved"
                assert reopen_as_regression(second, stale) is False
    found = issue(db, "fp-crash")
    assert (found.status, found.regressed, found.regressions) == ("open", True, 1)


def test_concurrent_occurrences_on_a_resolved_issue_count_one_regression(pg_db):
    """Two writers applying occurrences of one resolved issue at once: one regression, both counted."""
    ingest(pg_db, occurrence(version="1.0"))
    resolve(pg_db, "fp-crash", "1.1")

    def second() -> None:
        ingest(pg_db, occurrence(seconds=7300, version="1.2"))

    with pg_db.session(write=True) as first:
        apply(first, occurrence(seconds=7200, version="1.1"))
        other = Background(second)
        wait_until(lambda: lock_waiters(pg_db) == 1, 10, "the second writer to wait for the issue row")
    other.join()
    found = issue(pg_db, "fp-crash")
    assert (found.count, found.status, found.regressed, found.regressions) == (3, "open", True, 1)
    assert found.versions == ["1.0", "1.1", "1.2"]


def test_concurrent_first_occurrences_of_a_fingerprint_make_one_issue(pg_db):
    """Two writers creating the same new fingerprint at once end with one issue holding both."""

    def second() -> None:
        ingest(pg_db, occurrence("fp-new", seconds=1, service="api"))

    with pg_db.session(write=True) as first:
        apply(first, occurrence("fp-new", seconds=0, service="web"))
        other = Background(second)
        wait_until(
            lambda: lock_waiters(pg_db) == 1, 10, "the second writer to wait on the unique fingerprint"
        )
    other.join()
    (only,) = rows(pg_db, Issue)
    assert (only.fingerprint, only.count, only.services) == ("fp-new", 2, ["web", "api"])
    assert [o.issue_id for o in rows(pg_db, Occurrence)] == [only.id, only.id]


def test_priority_is_set_from_the_issue(db):
    """Every issue gets a priority in P1..P4 and a score: a fresh crash loop is P1, a single crash P3."""
    ingest(db, occurrence("fp-crash"), occurrence("fp-loop", kind="crash_loop", title="web: crash loop"))
    crash, loop = issue(db, "fp-crash"), issue(db, "fp-loop")
    assert (crash.priority, crash.priority_score) == ("P3", 7.5)
    assert (loop.priority, loop.priority_score) == ("P1", 20.0)
    assert {i.priority for i in rows(db, Issue)} <= {"P1", "P2", "P3", "P4"}


# -- ingest: feedback, audit, events ----------------------------------------------------------------


def test_near_duplicate_feedback_shares_an_issue(db):
    """Near-duplicate feedback (same category and service) joins one issue; other texts get their own."""
    original = feedback("The web dashboard crashes every time I open the settings page")
    ingest(
        db,
        original,
        feedback("web dashboard crashed every time i open the settings page!!", seconds=60, reporter="U0BOB"),
        feedback("Please add a dark mode to the status page", seconds=120, category="feature"),
        feedback("The web dashboard crashes every time I open the settings page", seconds=180, service="api"),
        feedback(
            "The web dashboard crashes every time I open the settings page", seconds=240, category="usability"
        ),
    )
    ingest(db, original)  # idempotent on uid
    stored = rows(db, Feedback)
    assert len(stored) == 5
    first, dup, other, other_service, other_category = (f.issue_id for f in stored)
    assert first == dup
    assert len({first, other, other_service, other_category}) == 4
    shared = next(i for i in rows(db, Issue) if i.id == first)
    assert (shared.kind, shared.category, shared.count, shared.services) == ("feedback", "bug", 2, ["web"])
    assert shared.title == "The web dashboard crashes every time I open the settings page"
    assert shared.priority in {"P1", "P2", "P3", "P4"} and shared.priority_score > 0
    assert stored[0].category_rules == ["crash"] and stored[0].reporter == "U0ALICE"


def test_audit_entries_are_stored_once(db):
    """An audit record becomes one audit_entry row with its fields, idempotent on uid."""
    record: Record = {
        "op": "audit",
        "uid": _uid(),
        "at": T0,
        "actor": "U0ADMIN",
        "source": "slack",
        "channel": "C0OPS",
        "command": "restart",
        "arguments": {"service": "web"},
        "result": "web restarted",
        "ok": True,
        "duration_ms": 12.5,
    }
    ingest(db, record)
    ingest(db, record)
    (entry,) = rows(db, AuditEntry)
    assert (entry.actor, entry.source, entry.channel, entry.command) == (
        "U0ADMIN",
        "slack",
        "C0OPS",
        "restart",
    )
    assert (entry.arguments, entry.result, entry.ok, entry.duration_ms, entry.at) == (
        {"service": "web"},
        "web restarted",
        True,
        12.5,
        T0,
    )


def test_releases_are_recorded_once_per_service_and_version(db):
    """service_started events with a version record a release once per (service, version); others don't."""
    ingest(
        db,
        event("service_started", version="1.0"),
        event("service_started", seconds=10, version="1.0"),
        event("service_started", seconds=20, service="api", version="1.0"),
        event("service_started", seconds=30),  # no version
        event("service_exited", seconds=40, version="9.9"),  # not a start
    )
    ingest(db, event("service_started", seconds=50, version="1.1"))
    assert [(r.service, r.version, r.first_seen) for r in rows(db, Release)] == [
        ("web", "1.0", _at(0)),
        ("api", "1.0", _at(20)),
        ("web", "1.1", _at(50)),
    ]
    assert len(rows(db, LifecycleEvent)) == 6


def test_unknown_op_is_refused():
    """apply() refuses a record whose op it does not know, before touching the session."""
    with pytest.raises(ValueError, match="unknown record op 'bogus'"):
        apply(None, {"op": "bogus", "uid": "x"})  # type: ignore[arg-type]


# -- the writer -------------------------------------------------------------------------------------


def test_writer_writes_a_thousand_records(db, tmp_path, writers):
    """1,000 submitted records are all written after flush(), grouped, with nothing spooled."""
    spool = Spool(tmp_path / "spool")
    writer = writers(db, spool)
    for i in range(1000):
        writer.submit(occurrence(f"fp-{i // 10 % 5}", seconds=i) if i % 10 == 0 else event(seconds=i))
    assert writer.flush(30)
    assert (writer.written, writer.rejected, writer.healthy) == (1000, 0, True)
    assert len(rows(db, LifecycleEvent)) == 900
    assert len(rows(db, Occurrence)) == 100
    assert sorted(i.count for i in rows(db, Issue)) == [20] * 5
    assert not spool.pending()


def test_writer_sets_aside_records_the_database_refuses(db, tmp_path, writers):
    """A record refused for good goes to rejected.jsonl and the records after it are still written."""
    spool = Spool(tmp_path / "spool")
    writer = writers(db, spool)
    broken = occurrence("fp-x", seconds=1)
    del broken["summary"]
    records = [
        event(),
        broken,
        {"op": "bogus", "uid": _uid()},
        occurrence("fp-x", seconds=2),
        event(seconds=3),
    ]
    for record in records:
        writer.submit(record)
    assert writer.flush(10)
    assert (writer.rejected, writer.healthy) == (2, True)
    assert len(rows(db, LifecycleEvent)) == 2
    assert [o.uid for o in rows(db, Occurrence)] == [records[3]["uid"]]
    assert issue(db, "fp-x").count == 1  # the refused record's half-done changes were rolled back
    rejected = [json.loads(line) for line in spool.rejected_path.read_text().splitlines()]
    assert [r["record"]["uid"] for r in rejected] == [broken["uid"], records[2]["uid"]]
    assert rejected[0]["reason"] == "KeyError: 'summary'"
    assert rejected[1]["reason"].startswith("ValueError: unknown record op")
    assert not spool.pending()


def _event_uids(database: Database) -> list[str]:
    return [e.uid for e in rows(database, LifecycleEvent)]


def test_outage_spools_to_disk_and_replays_in_order(pg_server, pg_db, tmp_path, writers):
    """Through a cut connection records go to the disk spool; when it is back each lands once, in order."""
    proxy = TcpProxy(pg_server.address)
    proxy.start()
    through_proxy = Database(pg_server.url(make_url(pg_db.url).database or "", port=proxy.port))
    try:
        spool = Spool(tmp_path / "spool")
        writer = writers(through_proxy, spool)
        # `at` alternates between ISO strings and datetimes: both must survive the JSON spool.
        records = [
            (event(seconds=i) if i % 4 else occurrence("fp-outage", seconds=i, at=_at(i))) for i in range(30)
        ]
        for record in records[:10]:
            writer.submit(record)
        assert writer.flush(10)
        assert proxy.connections >= 1  # the writer does go through the proxy
        before = _event_uids(pg_db)
        assert before == [r["uid"] for r in records[:10] if r["op"] == "event"]

        proxy.cut()
        for record in records[10:20]:
            writer.submit(record)
        assert writer.flush(10), "flush() must return once the records are spooled, not wait for the database"
        assert spool.pending()
        assert len(spool) == 10
        assert not writer.healthy and writer.last_error
        for record in records[20:]:
            writer.submit(record)
        wait_until(lambda: len(spool) == 20, 10, "records submitted during the outage to reach the spool")
        assert writer.flush(10)
        assert _event_uids(pg_db) == before  # nothing more reached the database

        proxy.start()  # the same port
        wait_until(lambda: not spool.pending(), 10, "the spool to be replayed")
        assert writer.flush(10)
        assert writer.healthy and writer.last_error is None
        events = rows(pg_db, LifecycleEvent)
        assert [e.uid for e in events] == [r["uid"] for r in records if r["op"] == "event"]
        assert [e.at for e in events] == sorted(e.at for e in events)
        occurrences = rows(pg_db, Occurrence)
        assert [o.uid for o in occurrences] == [r["uid"] for r in records if r["op"] == "occurrence"]
        assert [o.at for o in occurrences] == sorted(o.at for o in occurrences)
        assert issue(pg_db, "fp-outage").count == len(occurrences) == 8
        assert len(spool) == 0
    finally:
        proxy.cut()
        through_proxy.dispose()


def test_dead_database_spools_everything_and_a_new_writer_replays_it(pg_server, pg_db, tmp_path, writers):
    """With nothing listening every record is spooled; a later writer on the same spool replays it all."""
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir)
    dead = Database(pg_server.url("nowhere", port=free_port()), connect_timeout=1)
    writer = writers(dead, spool)
    records = [event(seconds=i) for i in range(40)]
    records[7] = {"op": "bogus", "uid": _uid()}  # refused for good once the database is there
    for record in records:
        writer.submit(record)
    assert writer.flush(10)
    assert len(spool) == 40
    assert not writer.healthy and writer.last_error
    writer.stop(timeout=10)
    assert len(spool) == 40
    dead.dispose()

    replayer = Spool(spool_dir)
    fresh = writers(pg_db, replayer)
    wait_until(lambda: not replayer.pending(), 10, "the new writer to replay the spool it found")
    assert fresh.flush(10)
    assert _event_uids(pg_db) == [r["uid"] for r in records if r["op"] == "event"]
    assert (fresh.rejected, fresh.healthy) == (1, True)
    assert json.loads(replayer.rejected_path.read_text())["record"]["uid"] == records[7]["uid"]


def test_an_idle_writer_replays_what_another_process_spooled(db, tmp_path, writers):
    """`svcbot feedback` spools while the database is away; a running, idle writer picks that up
    by itself (it looks at the spool when nothing else arrives) and writes it."""
    spool = Spool(tmp_path / "spool")
    writers(db, spool, idle_wake=0.05)
    records = [event(seconds=i) for i in range(3)]
    Spool(tmp_path / "spool").append(records)  # another process, same spool file
    wait_until(lambda: not spool.pending(), 10, "the idle writer to replay the spool")
    assert _event_uids(db) == [r["uid"] for r in records]


def test_writer_spool_is_bounded_during_an_outage(pg_server, tmp_path, writers):
    """A long outage fills the spool only up to max_bytes; the rest is dropped and counted."""
    spool = Spool(tmp_path / "spool", max_bytes=4096)
    dead = Database(pg_server.url("nowhere", port=free_port()), connect_timeout=1)
    writer = writers(dead, spool)
    for i in range(200):
        writer.submit(event(seconds=i))
    assert writer.flush(10)
    wait_until(lambda: len(spool) + spool.dropped == 200, 10, "every record to be spooled or dropped")
    assert spool.path.stat().st_size <= 4096
    assert 0 < len(spool) < 200 and spool.dropped == 200 - len(spool)
    dead.dispose()


# -- the spool --------------------------------------------------------------------------------------


def test_spool_drops_and_counts_past_max_bytes(tmp_path):
    """Spool.append keeps records while they fit in max_bytes and counts the rest as dropped."""
    spool = Spool(tmp_path, max_bytes=1000)
    records = [{"uid": f"{i:04d}", "pad": "x" * 80} for i in range(30)]
    kept = spool.append(records)
    assert 0 < kept < 30
    assert (len(spool), spool.dropped) == (kept, 30 - kept)
    assert spool.append(records[:5]) == 0
    assert spool.dropped == 35 - kept
    assert spool.path.stat().st_size <= 1000


def test_spool_drains_in_order_and_keeps_records_when_the_replay_fails(tmp_path):
    """draining() yields records in order (skipping a corrupt line) and empties only on success."""
    spool = Spool(tmp_path)
    spool.append([{"uid": "1", "at": T0}, {"uid": "2"}])
    with spool.path.open("ab") as fh:
        fh.write(b"{not json\n")
    spool.append([{"uid": "3"}])
    with pytest.raises(RuntimeError), spool.draining() as records:
        assert [r["uid"] for r in records] == ["1", "2", "3"]
        raise RuntimeError("database went away again")
    assert len(spool) == 4
    with spool.draining() as records:
        assert records[0] == {"uid": "1", "at": str(T0)}
    assert not spool.pending() and len(spool) == 0


def test_records_submitted_from_many_threads_are_all_written(db, tmp_path, writers):
    """Records submitted from several threads at once are all written exactly once."""
    writer = writers(db, Spool(tmp_path / "spool"))
    submitted: list[str] = []
    lock = threading.Lock()

    def submit_some(offset: int) -> None:
        for i in range(50):
            record = event(seconds=offset + i)
            with lock:
                submitted.append(record["uid"])
            writer.submit(record)

    threads = [threading.Thread(target=submit_some, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert writer.flush(10)
    assert sorted(_event_uids(db)) == sorted(submitted)


# -- front-end state: idempotency keys and named state ---------------------------------------------


def test_an_idempotency_key_is_claimed_once(db):
    """The first claim of a key wins; repeats (a retried event, a double click) lose."""
    assert claim_key(db, "action:T1:trigger-1", "action")
    assert not claim_key(db, "action:T1:trigger-1", "action")
    assert claim_key(db, "action:T1:trigger-2", "action")
    assert prune_keys(db, timedelta(0)) == 2
    assert claim_key(db, "action:T1:trigger-1", "action")


def test_racing_claims_have_one_winner(pg_db):
    """Ten threads claiming the same key at once on PostgreSQL: exactly one wins."""
    runs = [Background(partial(claim_key, pg_db, "command:race", "command")) for _ in range(10)]
    assert sorted(run.join(30) for run in runs) == [False] * 9 + [True]


def test_named_state_round_trips(db):
    """Saved state comes back as saved; saving again replaces it."""
    assert load_state(db, "alerts") is None
    save_state(db, "alerts", {"incidents": [1, 2], "silences": {"web": 5.0}})
    assert load_state(db, "alerts") == {"incidents": [1, 2], "silences": {"web": 5.0}}
    save_state(db, "alerts", {"incidents": []})
    assert load_state(db, "alerts") == {"incidents": []}
