"""The CLI verbs that work on the store directly, with or without a running svcbot:
`feedback`, `issues list|show|resolve|ignore|reopen|assign`, `report errors`, `report --html` and
`db upgrade`.

State changes (resolve, ignore, reopen, assign) are recorded in the audit table with the local
user as the actor.
"""

from __future__ import annotations

import argparse
import difflib
import getpass
import json
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from manager.config.spec import Config
from manager.core.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from manager.core.units import parse_duration
from manager.reporting.issues import render_feedback_receipt, render_issue, render_issue_list

if TYPE_CHECKING:
    from manager.store.store import Store

__all__ = ["OPTIONS", "local_user", "run"]

CATEGORIES = ("bug", "feature", "usability", "question", "praise", "other")
SEVERITIES = ("low", "normal", "high", "critical")
MAX_REPORT_DAYS = 3660  # `report --html` draws a bar per day: ten years is already a blur


def _feedback_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--service", help="the service it is about")
    parser.add_argument("--category", choices=CATEGORIES, help="skip the automatic categorization")
    parser.add_argument("--severity", choices=SEVERITIES)
    parser.add_argument("--reporter", help="who sends it (default: the local user)")


def _list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=("open", "resolved", "ignored", "all"), default="open")
    parser.add_argument("--category", choices=CATEGORIES)
    parser.add_argument("--service")
    parser.add_argument("--priority", choices=("P1", "P2", "P3", "P4"))
    parser.add_argument("--limit", type=int, default=50)


def _resolve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", help="the version that fixes it: seen again at or after it reopens it")


def _export_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("github", "markdown"), default="github")


def _report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", default="30d", help="how far back for --html, from midnight UTC (default 30d)"
    )
    parser.add_argument("--html", metavar="FILE", help="write a self-contained HTML page of charts to FILE")


def _report_errors_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="7d", help="how far back (default 7d)")
    parser.add_argument("--service", action="append", help="only this service (repeatable)")
    parser.add_argument("--top", type=int, default=10, help="how many patterns (default 10)")
    parser.add_argument("--grep", metavar="PATTERN", help="only error lines matching this regular expression")


#: The options of each store verb (and action) beyond the arguments manager.core.verbs gives it.
OPTIONS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "feedback": _feedback_options,
    "issues list": _list_options,
    "issues resolve": _resolve_options,
    "issues export": _export_options,
    "report": _report_options,
    "report errors": _report_errors_options,
}


def run(config: Config, args: argparse.Namespace) -> int:
    if args.verb == "feedback" and args.service is not None and args.service not in config.service_names:
        known = ", ".join(config.service_names) or "none"
        hint = difflib.get_close_matches(args.service, config.service_names, n=1)
        mean = f"; did you mean {hint[0]!r}?" if hint else ""
        print(
            f"svcbot: feedback: --service {args.service!r} is not a service of {config.path}{mean} "
            f"(known: {known}). Nothing was sent.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.verb == "report":
        usage = _report_usage(args)
        if usage:
            print(f"svcbot: report: {usage}", file=sys.stderr)
            return EXIT_USAGE
        if args.action == "errors":
            return _report_errors(config, args)
    from manager.store.db import is_outage  # noqa: PLC0415 - SQLAlchemy only for verbs that need it
    from manager.store.store import Store  # noqa: PLC0415

    store = Store.for_config(config)
    try:
        return _dispatch(store, args)
    except Exception as exc:
        if not is_outage(exc):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"svcbot: database {store.db.safe_url} unreachable: {first}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.db.dispose()


def _dispatch(store: Store, args: argparse.Namespace) -> int:
    if args.verb == "feedback":
        return _feedback(store, args)
    if args.verb == "db":
        store.ensure_schema()
        return _emit(args, {"ok": True, "database": store.db.safe_url}, "database schema is up to date")
    if args.verb == "report":
        return _report_html(store, args)
    store.ensure_schema()
    action = args.action or "list"
    if action == "list":
        return _list(store, args)
    if action == "show":
        return _show(store, args)
    if action == "export":
        return _export(store, args)
    return _change(store, args, action)


def local_user() -> str:
    """Who runs this command: the actor of its audit entries and the reporter of its feedback."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _emit(args: argparse.Namespace, data: Any, text: str) -> int:
    print(json.dumps(data, default=str, indent=2) if args.json else text)
    return EXIT_OK


def _feedback(store: Store, args: argparse.Namespace) -> int:
    from manager.triage.records import feedback_record  # noqa: PLC0415 - 30 ms of regexes, only for this verb

    try:
        record = feedback_record(
            args.text,
            reporter=args.reporter or local_user(),
            source="cli",
            service=args.service,
            category=args.category,
            severity=args.severity,
        )
    except ValueError as exc:
        print(f"svcbot: feedback: {exc}", file=sys.stderr)
        return EXIT_USAGE
    receipt = store.add_feedback(record).to_dict()
    return _emit(args, receipt, render_feedback_receipt(receipt))


def _list(store: Store, args: argparse.Namespace) -> int:
    from manager.store.queries import IssueFilter, list_issues  # noqa: PLC0415

    status = getattr(args, "status", "open")
    flt = IssueFilter(
        status=None if status == "all" else status,
        category=getattr(args, "category", None),
        service=getattr(args, "service", None),
        priority=getattr(args, "priority", None),
        limit=getattr(args, "limit", 50),
    )
    issues = list_issues(store.db, flt)
    return _emit(args, issues, render_issue_list(issues))


def _show(store: Store, args: argparse.Namespace) -> int:
    from manager.store.queries import IssueNotFound, issue_detail  # noqa: PLC0415

    try:
        detail = issue_detail(store.db, args.id)
    except IssueNotFound as exc:
        print(f"svcbot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return _emit(args, detail, render_issue(detail))


def _export(store: Store, args: argparse.Namespace) -> int:
    from manager.reporting.export import export_issue  # noqa: PLC0415
    from manager.store.queries import IssueNotFound, issue_detail  # noqa: PLC0415

    try:
        detail = issue_detail(store.db, args.id)
    except IssueNotFound as exc:
        print(f"svcbot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(export_issue(json.loads(json.dumps(detail, default=str)), args.format), end="")
    return EXIT_OK


def _change(store: Store, args: argparse.Namespace, action: str) -> int:
    from manager.store.queries import IssueNotFound, assign_issue, set_issue_status  # noqa: PLC0415

    began = time.monotonic()
    arguments: dict[str, Any] = {"id": args.id}
    try:
        if action == "assign":
            user = None if args.user == "-" else args.user
            arguments["user"] = user
            issue = assign_issue(store.db, args.id, user)
            message = f"#{args.id} assigned to {user}" if user else f"#{args.id} unassigned"
        else:
            status = {"resolve": "resolved", "ignore": "ignored", "reopen": "open"}[action]
            version = getattr(args, "version", None)
            arguments["version"] = version
            issue = set_issue_status(store.db, args.id, status, version=version)
            message = f"#{args.id} {status}" + (f" in {version}" if version else "")
    except IssueNotFound as exc:
        _audit(store, action, arguments, str(exc), ok=False, began=began)
        print(f"svcbot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    _audit(store, action, arguments, message, ok=True, began=began)
    return _emit(args, issue, message)


def _audit(
    store: Store, action: str, arguments: dict[str, Any], result: str, *, ok: bool, began: float
) -> None:
    from manager.triage.records import audit_record  # noqa: PLC0415

    duration = (time.monotonic() - began) * 1000
    store.apply_now(
        audit_record(
            actor=local_user(),
            source="cli",
            command=f"issues {action}",
            arguments=arguments,
            result=result,
            ok=ok,
            duration_ms=duration,
        )
    )


def _report_errors(config: Config, args: argparse.Namespace) -> int:
    from manager.reporting import errors as errorreport  # noqa: PLC0415

    try:
        since = datetime.fromtimestamp(time.time() - parse_duration(args.since), UTC)
    except ValueError as exc:
        print(f"svcbot: --since: {exc}", file=sys.stderr)
        return EXIT_USAGE
    stats = errorreport.ScanStats()
    try:
        errors = errorreport.iter_errors(
            config.state_dir / "logs", since, args.service, args.grep, stats=stats
        )
    except LookupError as exc:
        print(f"svcbot: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return EXIT_FAILED
    except re.error as exc:
        print(f"svcbot: --grep: {exc}", file=sys.stderr)
        return EXIT_USAGE
    patterns = errorreport.summarize(errors, top=args.top)
    text = errorreport.render_text(patterns, since, stats.lines_scanned, total_errors=stats.errors)
    return _emit(args, errorreport.to_json(patterns), text)


def _report_usage(args: argparse.Namespace) -> str | None:
    """Why `svcbot report ...` cannot run as given, checked before the database is opened."""
    if args.action is None and not args.html:
        return "needs --html FILE (charts from the database) or a kind: errors"
    if args.action is not None and args.html:
        return f"--html cannot be combined with `report {args.action}`"
    if args.action is None:
        try:
            seconds = parse_duration(args.since)
        except ValueError as exc:
            return f"--since: {exc}"
        if seconds > MAX_REPORT_DAYS * 86400:
            return f"--since: at most {MAX_REPORT_DAYS}d (one bar per day)"
    return None


def _report_html(store: Store, args: argparse.Namespace) -> int:
    """Charts of the last `--since` (from midnight UTC, so that every day but today is whole)."""
    from manager.reporting import html as report_html  # noqa: PLC0415 - SQLAlchemy only for verbs that need it
    from manager.store import report_data  # noqa: PLC0415

    store.ensure_schema()
    now = datetime.now(UTC)
    since = report_data.day_start(now - timedelta(seconds=parse_duration(args.since)))
    data = report_data.collect(store.db, since, now)
    page = report_html.render_html(data, title="svcbot report", generated_at=now)
    path = Path(args.html)
    try:
        report_html.write_atomic(path, page)
    except OSError as exc:
        print(f"svcbot: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    return _emit(args, {"path": str(path), **data.summary()}, f"{path}\n{data.headline()}")
