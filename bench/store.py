"""The store under load, on SQLite and on PostgreSQL, measured in one run.

1. ingest: 10,000 crash reports across 200 fingerprints, made by `manager.triage.reports` from real-looking
   events (tracebacks, stderr, environment) and written through the store's writer thread, the
   same path `svcbot run` takes; reports per second, from the first submit to the last commit;
2. `issues list` (the default filter: open issues by priority), median of 20;
3. `issues show` on the issue with the most occurrences, median of 20, and the number of SQL
   statements it makes (it must not grow with the issue's history: no N+1).

Targets: ingest >= 1,000 reports/s on SQLite; `issues list` <= 100 ms with 10,000 occurrences.

Run with `make bench-store`, or `PYTHONPATH=. python bench/store.py [--quick]`. PostgreSQL comes from
SVCBOT_BENCH_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test); the bench works
in a throwaway database it creates and drops. Exit 1 when a figure could not be measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from manager.config.spec import ServiceSpec
from manager.store.queries import IssueFilter, issue_detail, list_issues
from manager.store.store import Store
from manager.supervision import events as ev
from manager.triage.reports import Host, occurrence_record

PG_URL = os.environ.get("SVCBOT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FINGERPRINTS = 200
SERVICES = 20
HOST = Host(hostname="bench", system="Linux", python="3.11", svcbot_pid=1)


@dataclass(frozen=True)
class Figures:
    database: str
    reports: int
    ingest_seconds: float
    list_ms: float
    show_ms: float
    show_statements: int
    show_statements_small: int


def traceback(kind: int) -> tuple[str, ...]:
    """A traceback whose in-app frames differ per kind, so kinds group into separate issues."""
    return (
        "INFO starting",
        "Traceback (most recent call last):",
        '  File "/srv/app/main.py", line 10, in <module>',
        "    run()",
        f'  File "/srv/app/handlers.py", line {kind + 20}, in handle_{kind}',
        "    step()",
        '  File "/usr/lib/python3.11/json/decoder.py", line 337, in decode',
        "    obj, end = self.raw_decode(s, idx=_w(s, 0).end())",
        f"ValueError: bad payload {uuid.uuid4()} at offset {kind * 7}",
    )


def reports(count: int, start: datetime) -> Iterator[dict[str, Any]]:
    specs = [
        ServiceSpec(name=f"svc{i:02d}", argv=("python3", "app.py"), cwd=Path("/srv/app"), version="1.0")
        for i in range(SERVICES)
    ]
    for n in range(count):
        kind = n % FINGERPRINTS
        spec = specs[kind % SERVICES]
        event = ev.ServiceExited(
            service=spec.name,
            pid=1000 + n,
            exit_code=1,
            signal=None,
            expected=False,
            runtime=3.0,
            stderr_tail=traceback(kind),
            version="1.0",
            at=start + timedelta(milliseconds=n),
            last_sample=ev.ResourceSample(
                cpu_percent=5.0, rss=50_000_000, threads=4, open_files=9, processes=1
            ),
        )
        record = occurrence_record(event, spec, HOST)
        assert record is not None
        yield record


@contextmanager
def counting(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def measure(name: str, url: str, state_dir: Path, count: int) -> Figures:
    store = Store(url, state_dir)
    store.ensure_schema()
    records = list(reports(count, datetime.now(UTC) - timedelta(hours=1)))
    store.writer.start()
    began = time.perf_counter()
    for record in records:
        store.submit(record)
    if not store.writer.flush(timeout=600):
        raise RuntimeError(f"{name}: the writer did not finish in 600 s")
    ingest = time.perf_counter() - began
    if store.spool.pending() or store.writer.rejected:
        raise RuntimeError(
            f"{name}: {store.writer.rejected} rejected, spool pending: {store.spool.pending()}"
        )
    flt = IssueFilter(limit=50)
    listed = list_issues(store.db, flt)
    if len(list_issues(store.db, IssueFilter(limit=1000))) != FINGERPRINTS:
        raise RuntimeError(f"{name}: expected {FINGERPRINTS} issues")
    biggest = max(listed, key=lambda issue: issue["count"])["id"]
    smallest = min(listed, key=lambda issue: issue["count"])["id"]
    list_ms = median_ms(lambda: list_issues(store.db, flt), 20)
    show_ms = median_ms(lambda: issue_detail(store.db, biggest), 20)
    with counting(store.db.engine) as big:
        issue_detail(store.db, biggest)
    with counting(store.db.engine) as small:
        issue_detail(store.db, smallest)
    store.close()
    return Figures(name, count, ingest, list_ms, show_ms, len(big), len(small))


@contextmanager
def throwaway_pg(base: str) -> Iterator[str]:
    name = f"svcbot_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table(rows: Sequence[Figures]) -> list[str]:
    out = [
        "| database | reports | ingest | per report | `issues list` | `issues show` | statements per show |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for f in rows:
        out.append(
            f"| {f.database} | {f.reports:,} | {f.reports / f.ingest_seconds:,.0f}/s "
            f"| {f.ingest_seconds / f.reports * 1e3:.2f} ms | {f.list_ms:.1f} ms | {f.show_ms:.1f} ms "
            f"| {f.show_statements} (and {f.show_statements_small} for a 1-occurrence issue) |"
        )
    return out


def verdicts(rows: Sequence[Figures]) -> list[str]:
    lines = []
    for f in rows:
        rate = f.reports / f.ingest_seconds
        if f.database == "SQLite":
            lines.append(f"- SQLite ingest >= 1,000/s: {'yes' if rate >= 1000 else '**NO**'} ({rate:,.0f}/s)")
        lines.append(
            f"- {f.database} `issues list` <= 100 ms: "
            f"{'yes' if f.list_ms <= 100 else '**NO**'} ({f.list_ms:.1f} ms)"
        )
        same = f.show_statements == f.show_statements_small
        lines.append(
            f"- {f.database} `issues show` statements independent of history: {'yes' if same else '**NO**'}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 reports instead of 10,000")
    count = 1000 if parser.parse_args(argv).quick else 10_000
    rows: list[Figures] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="svcbot-bench-store-") as tmp:
        openers: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = [
            ("SQLite", lambda: _sqlite(Path(tmp))),
            ("PostgreSQL", lambda: throwaway_pg(PG_URL)),
        ]
        for name, opener in openers:
            print(f"  {name}: ingesting {count:,} reports ...", file=sys.stderr, flush=True)
            try:
                with opener() as url:
                    rows.append(measure(name, url, Path(tmp) / name, count))
            except Exception as exc:
                print(f"ERROR {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
                failed = True
    print(
        f"# svcbot store: {count:,} crash reports across {FINGERPRINTS} fingerprints "
        f"and {SERVICES} services\n"
    )
    print("\n".join(table(rows)))
    print()
    print("\n".join(verdicts(rows)))
    return 1 if failed else 0


@contextmanager
def _sqlite(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / 'bench.db'}"


if __name__ == "__main__":
    sys.exit(main())
