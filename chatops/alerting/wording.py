"""What the alert policy's notifications say: titles, reply lines and heads, in plain unescaped text (the
renderer escapes it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from manager.core.units import plural

if TYPE_CHECKING:
    from chatops.alerting.policy import _Incident

__all__ = ["MAX_LINES", "human", "or_default", "reply_text", "title"]

PHRASES: Final = {  # (one service, several services)
    "down": ("is down", "are down"),
    "health": ("is unhealthy", "are unhealthy"),
    "resource": ("is over its resource limits", "are over their resource limits"),
    "manager": ("has a manager error", "have manager errors"),
    "alert": ("is firing", "are firing"),
}
HEADS: Final = {
    "escalated": "{n} alerts escalated:",
    "reopened": "{n} alerts firing again:",
    "repeat": "{n} alerts still firing:",
    "recovered": "{n} alerts recovered:",
    "resolved": "{n} alerts resolved:",
    "reminder": "Reminder: {n} alerts still firing and not acknowledged:",
}
MAX_LINES: Final = 20  # per reply; the view always lists everything


def or_default(value: float | None, default: float) -> float:
    """`value or default` for times, where 0.0 is a valid time."""
    return default if value is None else value


def human(seconds: float) -> str:
    """A short duration: 45s, 3m, 2h 5m, 1d 3h."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h}h {m}m" if m else f"{h}h"
    d, h = divmod(s // 3600, 24)
    return f"{d}d {h}h" if h else f"{d}d"


def line(reason: str, inc: _Incident, now: float) -> str:
    phrase = PHRASES[inc.family][0]
    if reason == "recovered":
        return f"{inc.service} recovered after {human(or_default(inc.recovered_at, now) - inc.first_at)}"
    if reason == "resolved":
        quiet = or_default(inc.closed_at, now) - inc.last_seen
        return f"{inc.service}: nothing reported for {human(quiet)}, resolved"
    if reason == "escalated":
        return f"{inc.service} is now {inc.kind.replace('_', ' ')} ({inc.severity}): {inc.summary}"
    if reason == "reopened":
        return f"{inc.service} {phrase} again ({inc.reopened + 1} times): {inc.summary}"
    if reason == "reminder":
        return f"{inc.service} {phrase} for {human(now - inc.first_at)}, not acknowledged"
    return f"{inc.service} still failing: {inc.summary} ({plural(inc.count, 'signal')})"


def reply_text(reason: str, incidents: list[_Incident], now: float) -> str:
    lines = [line(reason, inc, now) for inc in incidents[:MAX_LINES]]
    if len(incidents) == 1:
        return ("Reminder: " if reason == "reminder" else "") + lines[0]
    more = len(incidents) - len(lines)
    tail = [f"...and {more} more"] if more else []
    return "\n".join([HEADS[reason].format(n=len(incidents)), *(f"- {x}" for x in lines), *tail])


def title(incidents: list[_Incident]) -> str:
    names = list(dict.fromkeys(inc.service for inc in incidents))
    families = list(dict.fromkeys(inc.family for inc in incidents))
    if not names:
        return "no alerts yet"
    if len(families) == 1:
        one, several = PHRASES[families[0]]
        return f"{names[0]} {one}" if len(names) == 1 else f"{len(names)} services {several}"
    if len(names) == 1:
        return f"{names[0]} has {len(incidents)} problems"
    return f"{len(names)} services have problems"
