"""Plain-text rendering of issues, their timelines and feedback receipts (the CLI and `svcbot shell`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from manager.core.units import format_duration, plural
from manager.reporting.render import table

__all__ = ["render_feedback_receipt", "render_issue", "render_issue_list"]

ISSUE_COLUMNS = ("ID", "PRI", "STATUS", "CATEGORY", "COUNT", "LAST SEEN", "SERVICES", "TITLE")
TITLE_WIDTH = 70


def _age(iso: str | None, now: datetime) -> str:
    if not iso:
        return "-"
    seconds = max((now - datetime.fromisoformat(iso)).total_seconds(), 0.0)
    return format_duration(round(seconds)) + " ago" if seconds >= 1 else "just now"


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _status(issue: Mapping[str, Any]) -> str:
    status = str(issue["status"])
    if status == "resolved" and issue.get("resolved_in_version"):
        return f"resolved in {issue['resolved_in_version']}"
    if status == "open" and issue.get("regressed"):
        return "regressed"
    return status


def render_issue_list(issues: Sequence[Mapping[str, Any]], now: datetime | None = None) -> str:
    if not issues:
        return "no issues match"
    now = now or datetime.now(UTC)
    rows = [
        [
            f"#{issue['id']}",
            str(issue["priority"]),
            _status(issue),
            str(issue["category"]),
            str(issue["count"]),
            _age(issue["last_seen"], now),
            ",".join(issue["services"]),
            _short(str(issue["title"]), TITLE_WIDTH),
        ]
        for issue in issues
    ]
    return table(ISSUE_COLUMNS, rows)


def render_issue(detail: Mapping[str, Any], now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    issue = detail["issue"]
    lines = [
        f"#{issue['id']} {issue['title']}",
        f"  {issue['priority']} · {_status(issue)} · {issue['category']} · {issue['kind']}"
        + (f" · assigned to {issue['assignee']}" if issue.get("assignee") else ""),
        f"  seen {plural(issue['count'], 'time')}, first {_age(issue['first_seen'], now)}, "
        f"last {_age(issue['last_seen'], now)}",
        f"  services: {', '.join(issue['services']) or '-'}; versions: {', '.join(issue['versions']) or '-'}",
        f"  grouped by {issue['grouping_method']}: " + "; ".join(issue["grouping"]),
    ]
    if issue.get("regressions"):
        lines.append(f"  regressions: {issue['regressions']}")
    latest = detail["occurrences"][-1] if detail["occurrences"] else None
    if latest is not None:
        lines += _latest(latest)
    lines += ["", "Timeline:"]
    lines += [_timeline_line(entry) for entry in detail["timeline"]]
    return "\n".join(lines)


def _latest(occurrence: Mapping[str, Any]) -> list[str]:
    lines = ["", "Latest occurrence:", f"  {occurrence['summary']}"]
    if occurrence.get("oom_likely"):
        lines.append("  likely killed by the kernel's OOM killer")
    if occurrence.get("exception_type"):
        lines.append(f"  {occurrence['exception_type']}: {occurrence.get('exception_value') or ''}".rstrip())
        for frame in occurrence.get("frames") or []:
            mark = "" if frame.get("in_app") else " (library)"
            lines.append(
                f"    {frame.get('filename')}:{frame.get('lineno')} in {frame.get('function') or '?'}{mark}"
            )
    tail = occurrence.get("stderr_tail") or []
    if tail and not occurrence.get("exception_type"):
        lines.append("  stderr:")
        lines += [f"    {line}" for line in tail[-10:]]
    env = occurrence.get("environment") or {}
    if env:
        command = " ".join(env.get("command") or [])
        lines.append(f"  on {env.get('host')} ({env.get('os')}, Python {env.get('python')}): {command}")
    return lines


def _timeline_line(entry: Mapping[str, Any]) -> str:
    at = entry["at"]
    stamp = at.strftime("%Y-%m-%d %H:%M:%S") if isinstance(at, datetime) else str(at)
    service = entry.get("service") or "-"
    return f"  {stamp}  {entry['type']:<16} {service:<12} {entry['text']}"


def render_feedback_receipt(receipt: Mapping[str, Any]) -> str:
    rules = ", ".join(receipt.get("rules") or []) or "no rule fired"
    if receipt.get("spooled"):
        return (
            f"Thanks! Filed as {receipt['category']} ({rules}). The database is unreachable: it is "
            f"kept in the spool and will be stored when the database is back."
        )
    return (
        f"Thanks! Feedback #{receipt['id']} filed as {receipt['category']} ({rules}), "
        f"linked to issue #{receipt['issue_id']}."
    )
