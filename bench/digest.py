"""The weekly digest's build time and SQL statement count, on SQLite and on PostgreSQL, in one run.

The database holds 10,000 issues (all categories and priorities, a third new in the period, some
regressed or resolved), 100,000 occurrences spread over two weeks, 5,000 feedback items and the state
changes of 100 services (a crash and a recovery every few hours each). The digest for the latest week is
built as `svcbot run` builds it (`manager.store.digest_data.build_digest`), median of 5, and the SQL
statements it runs are counted on the engine; the same is done on a database with a tenth of the issues
to show that the count does not depend on the number of issues.

Target: <= 1 s with 10,000 issues and 100,000 occurrences; statement count independent of the issues.

Run with `make bench`, or `PYTHONPATH=. python bench/digest.py [--quick]`. PostgreSQL comes from
SVCBOT_BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test), in a throwaway
database. Exit 1 when a figure could not be measured or a target is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from manager.digest.period import Window
from manager.store.db import Database
from manager.store.digest_data import build_digest
from manager.store.models import Feedback, Issue, LifecycleEvent, Occurrence

END = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
START = END - timedelta(days=7)
WINDOW = Window(START, END, "2026-W48", scheduled=True)
SERVICES = [f"svc-{n:03d}" for n in range(100)]
CATEGORIES = ("bug", "bug", "bug", "feature", "usability", "question", "praise", "other")
TARGET_S = 1.0
PG_URL = os.environ.get("SVCBOT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass
class Figures:
    database: str
    issues: int
    occurrences: int
    median_s: float
    statements: int


def _uid() -> str:
    return uuid.uuid4().hex


def fill(db: Database, issues: int, occurrences: int, rng: random.Random) -> None:
    """Bulk rows through SQLAlchemy Core (the bench measures the digest, not the ingest)."""
    two_weeks = (END - START).total_seconds() * 2
    issue_rows = []
    for n in range(issues):
        first = END - timedelta(seconds=rng.uniform(0, two_weeks * 3))
        status = rng.choices(("open", "resolved", "ignored"), (6, 3, 1))[0]
        issue_rows.append(
            {
                "fingerprint": f"fp{n}",
                "title": f"issue {n}: KeyError in handler {n % 97}",
                "kind": "crash",
                "category": CATEGORIES[n % len(CATEGORIES)],
                "severity": "normal",
                "status": status,
                "resolved_in_version": None,
                "resolved_at": END - timedelta(hours=rng.uniform(0, 300)) if status == "resolved" else None,
                "regressed": status == "open" and n % 50 == 0,
                "regressions": 1 if n % 50 == 0 else 0,
                "first_seen": first,
                "last_seen": min(END, first + timedelta(hours=rng.uniform(0, 400))),
                "count": 10,
                "services": [SERVICES[n % len(SERVICES)]],
                "versions": ["1.0"],
                "grouping_method": "bench",
                "grouping": [],
                "priority": f"P{1 + n % 4}",
                "priority_score": rng.uniform(0, 100),
                "assignee": None,
                "updated_at": END,
            }
        )
    with db.engine.begin() as conn:
        conn.execute(sa.insert(Issue.__table__), issue_rows)  # type: ignore[attr-defined]
        ids = [row[0] for row in conn.execute(sa.select(Issue.__table__.c.id))]  # type: ignore[attr-defined]
        for chunk in range(0, occurrences, 10_000):
            conn.execute(
                sa.insert(Occurrence.__table__),  # type: ignore[attr-defined]
                [
                    {
                        "uid": _uid(),
                        "issue_id": ids[(chunk + k) % len(ids)],
                        "at": END - timedelta(seconds=rng.uniform(0, two_weeks)),
                        "service": SERVICES[k % len(SERVICES)],
                        "version": "1.0",
                        "kind": "crash",
                        "summary": "exit code 1",
                        "frames": [],
                        "stderr_tail": [],
                        "environment": {},
                        "sample": {},
                    }
                    for k in range(min(10_000, occurrences - chunk))
                ],
            )
        conn.execute(
            sa.insert(Feedback.__table__),  # type: ignore[attr-defined]
            [
                {
                    "uid": _uid(),
                    "at": END - timedelta(seconds=rng.uniform(0, two_weeks)),
                    "text": "feedback",
                    "reporter": "U1",
                    "source": "cli",
                    "category": CATEGORIES[k % len(CATEGORIES)],
                    "category_rules": [],
                    "severity": "normal",
                }
                for k in range(occurrences // 20)
            ],
        )
        conn.execute(sa.insert(LifecycleEvent.__table__), list(_state_changes(rng)))  # type: ignore[attr-defined]


def _state_changes(rng: random.Random) -> Iterator[dict[str, Any]]:
    for service in SERVICES:
        at = START - timedelta(days=8)
        while at < END:
            for old, new, gap in (
                ("starting", "running", 2.0),
                ("running", "backoff", rng.uniform(3, 9) * 3600),
                ("backoff", "starting", 1.0),
            ):
                at += timedelta(seconds=gap)
                yield {
                    "uid": _uid(),
                    "at": at,
                    "service": service,
                    "kind": "service_state_changed",
                    "run_id": None,
                    "data": {"old": old, "new": new},
                }


def measure(name: str, url: str, issues: int, occurrences: int) -> Figures:
    db = Database(url)
    try:
        db.upgrade()
        fill(db, issues, occurrences, random.Random(42))
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        times = []
        for _ in range(5):
            statements.clear()
            sa.event.listen(db.engine, "before_cursor_execute", count)
            began = time.perf_counter()
            digest = build_digest(db, WINDOW, SERVICES)
            times.append(time.perf_counter() - began)
            sa.event.remove(db.engine, "before_cursor_execute", count)
        selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
        assert digest.statements == len(selects), (digest.statements, len(selects))
        return Figures(name, issues, occurrences, statistics.median(times), len(selects))
    finally:
        db.dispose()


@contextmanager
def throwaway_pg(base: str) -> Iterator[str]:
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"svcbot_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(sa.make_url(base).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(sizes: Sequence[tuple[int, int]]) -> list[Figures]:
    rows = []
    for issues, occurrences in sizes:
        with tempfile.TemporaryDirectory() as folder:
            rows.append(measure("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", issues, occurrences))
        with throwaway_pg(PG_URL) as url:
            rows.append(measure("PostgreSQL", url, issues, occurrences))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 issues and 10,000 occurrences only")
    args = parser.parse_args(argv)
    sizes = [(1_000, 10_000)] if args.quick else [(1_000, 10_000), (10_000, 100_000)]
    rows = run(sizes)
    print("Digest build (median of 5) and SQL statements, latest week of 100 services:")
    print(f"{'database':<11} {'issues':>7} {'occurrences':>12} {'build':>9} {'statements':>11}")
    for r in rows:
        build = f"{r.median_s * 1000:>7.0f}ms"
        print(f"{r.database:<11} {r.issues:>7,} {r.occurrences:>12,} {build} {r.statements:>11}")
    failed = False
    for name in ("SQLite", "PostgreSQL"):
        mine = [r for r in rows if r.database == name]
        largest = max(mine, key=lambda r: r.issues)
        fast = largest.median_s <= TARGET_S
        constant = len({r.statements for r in mine}) == 1
        failed |= not (fast and constant)
        print(
            f"{name}: {largest.median_s:.3f} s with {largest.issues:,} issues (target <= {TARGET_S:.0f} s: "
            f"{'yes' if fast else 'NO'}); statements {'constant' if constant else 'GROW'} "
            f"({', '.join(str(r.statements) for r in mine)})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
