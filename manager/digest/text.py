"""`svcbot digest --print`: the digest as plain text, and the small wordings Slack's layout shares.

The Slack rendering (chatops) arranges the same figures in Block Kit; both take their phrasing of a period,
an uptime and a repair time from here so that the terminal and the channel say the same thing.
"""

from __future__ import annotations

from datetime import datetime

from manager.core.units import format_duration, plural
from manager.digest.model import Delta, Digest, IssueLine, ServiceLine

__all__ = ["format_mttr", "format_uptime", "issue_flags", "period_title", "render_digest", "service_text"]


def period_title(digest: Digest) -> str:
    """Like "Digest 2026-W48 · 16 Nov 09:00 to 23 Nov 09:00 UTC"."""
    return f"Digest {digest.period_key} · {_when(digest.start)} to {_when(digest.end)} UTC"


def _when(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %H:%M}"


def format_uptime(line: ServiceLine) -> str:
    if line.uptime is None:
        return "not running"
    percent = line.uptime * 100
    return f"{percent:.0f}%" if percent in (0.0, 100.0) else f"{min(percent, 99.99):.2f}%"


def format_mttr(line: ServiceLine) -> str:
    return "-" if line.mttr is None else format_duration(max(1, round(line.mttr)))


def service_text(line: ServiceLine) -> str:
    """ "web: 99.52% up · 3 restarts · 2 failures, MTTR 41s"."""
    parts = [f"{format_uptime(line)} up" if line.uptime is not None else "not running"]
    parts.append(f"{line.restarts} restart{'' if line.restarts == 1 else 's'}")
    if line.failures:
        parts.append(f"{line.failures} failure{'' if line.failures == 1 else 's'}, MTTR {format_mttr(line)}")
    return f"{line.name}: " + " · ".join(parts)


def issue_flags(issue: IssueLine) -> list[str]:
    flags = []
    if issue.new:
        flags.append("new")
    if issue.regressed:
        flags.append("regressed")
    if issue.resolved_in_period:
        flags.append("resolved")
    elif issue.status == "ignored":
        flags.append("ignored")
    if issue.assignee:
        flags.append(f"assigned to {issue.assignee}")
    return flags


def _figure(label: str, delta: Delta) -> str:
    return f"{label}: {delta.current} ({delta.arrow()} vs {delta.previous} the period before)"


def _issue(issue: IssueLine) -> str:
    flags = issue_flags(issue)
    services = ", ".join(issue.services) or "-"
    extra = f" [{', '.join(flags)}]" if flags else ""
    seen = plural(issue.count, "time")
    return f"  #{issue.id} {issue.priority} {issue.title} ({services}, seen {seen}){extra}"


def render_digest(digest: Digest) -> str:
    lines = [period_title(digest), ""]
    if digest.quiet:
        lines.append("A quiet period: no new issues, no occurrences, no feedback, nothing open.")
    lines += [
        _figure("New issues", digest.new),
        f"Regressed: {digest.regressed}",
        _figure("Resolved", digest.resolved),
        f"Still open: {digest.open} ("
        + ", ".join(f"{p} {n}" for p, n in digest.open_by_priority.items())
        + ")",
        _figure("Occurrences", digest.occurrences),
        _figure("Feedback", digest.feedback_total)
        + (
            ": " + ", ".join(f"{c} {d.current}" for c, d in digest.feedback.items() if d.current)
            if digest.feedback_total.current
            else ""
        ),
    ]
    if digest.top:
        lines += ["", f"Top {len(digest.top)} by priority:"] + [_issue(i) for i in digest.top]
    if digest.services:
        lines += ["", "Services:"] + [f"  {service_text(s)}" for s in digest.services]
    if digest.releases:
        lines += ["", "Releases:"] + [
            f"  {r.service} {r.version} ({_when(r.first_seen)})" for r in digest.releases
        ]
    for category, issues in digest.sections.items():
        total = digest.section_totals.get(category, len(issues))
        lines += ["", f"{category.capitalize()} ({total}):"] + [_issue(i) for i in issues]
        if total > len(issues):
            lines.append(f"  … and {total - len(issues)} more: svcbot issues list --category {category}")
    return "\n".join(lines)
