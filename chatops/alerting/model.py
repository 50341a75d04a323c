"""The alert policy's vocabulary: what comes in (`Signal`, its kinds, severities and families) and what
goes out (`Post`, `Update`, `Reply`, `Suppressed`). `chatops.alerting.policy` documents the rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, TypeAlias

__all__ = [
    "FAMILIES",
    "FAMILY_OF",
    "KINDS",
    "RECOVERIES",
    "SEVERITIES",
    "Action",
    "Post",
    "Reply",
    "Signal",
    "Suppressed",
    "Update",
    "family_of",
]

KINDS: Final = (
    "crash",
    "crash_loop",
    "unhealthy",
    "resource",
    "manager_error",
    "alert",
    "recovered",
    "alert_resolved",
)
RECOVERIES: Final = {
    "recovered": ("down", "health"),
    "alert_resolved": ("alert",),
}  # kind -> families it ends
SEVERITIES: Final = ("info", "warning", "critical")  # ascending
FAMILIES: Final = ("down", "health", "resource", "manager", "alert")

FAMILY_OF: Final = {
    "crash": "down",
    "crash_loop": "down",
    "unhealthy": "health",
    "resource": "resource",
    "manager_error": "manager",
    "alert": "alert",  # from Prometheus Alertmanager; its `service` names the alert too
}


def family_of(kind: str) -> str | None:
    """The incident family of a signal kind; None for a recovery. ValueError for an unknown kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown signal kind {kind!r}; expected one of {', '.join(KINDS)}")
    return FAMILY_OF.get(kind)


@dataclass(frozen=True)
class Signal:
    """One observation about a service, already routed to its channel (alert_channel or the default)."""

    service: str
    kind: str  # one of KINDS
    severity: str  # one of SEVERITIES
    summary: str
    channel: str
    owners: tuple[str, ...]
    at: float  # when it happened, on the policy's clock

    def __post_init__(self) -> None:
        family_of(self.kind)
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}; expected one of {', '.join(SEVERITIES)}")
        if not self.service:
            raise ValueError("a signal needs a service")
        if not self.channel and self.kind not in RECOVERIES:
            raise ValueError("a signal needs a channel")
        object.__setattr__(self, "owners", tuple(self.owners))


@dataclass(frozen=True)
class Post:
    """Send a new top-level message for a notification; report its ts with posted()."""

    notification_id: str
    channel: str
    incidents: tuple[str, ...]  # incident ids shown
    services: tuple[str, ...]  # their services, de-duplicated
    view: dict[str, Any]  # incident_view() when decided


@dataclass(frozen=True)
class Update:
    """Re-render a notification's message in place (chat.update) from `view`."""

    notification_id: str
    channel: str
    ts: str | None  # None: not reported yet; take it from the Post delivered before
    view: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """A reply in a notification's thread, about one or more of its incidents.

    reason: "escalated" | "reopened" | "repeat" | "recovered" | "resolved" | "reminder". Reminders have
    `reminder=True` and `broadcast=True` (suggests Slack's reply_broadcast: also show it in the channel).
    """

    notification_id: str
    channel: str
    ts: str | None
    incidents: tuple[str, ...]
    text: str  # plain text, not escaped
    reason: str
    reminder: bool = False
    broadcast: bool = False


@dataclass(frozen=True)
class Suppressed:
    """A signal that was counted but sent nothing now.

    reason: "duplicate" (within dedup_window), "throttled" (thread_throttle), "acknowledged" (a plain
    repeat of an acknowledged incident), "pending" (the incident's Post is not sent yet and will show it)
    or "silenced".
    """

    incident: str
    service: str
    reason: str
    count: int  # the incident's signal count, this one included
    notification_id: str | None


Action: TypeAlias = Post | Update | Reply | Suppressed
