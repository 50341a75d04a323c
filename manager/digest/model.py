"""The digest's content as plain frozen data: what `build` reads from the database and what the text and
Block Kit renderers arrange. Nothing here touches a database, a clock or Slack."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "CATEGORY_ORDER",
    "Delta",
    "Digest",
    "IssueLine",
    "ReleaseLine",
    "ServiceLine",
]

# The order of the thread replies: what needs fixing first, what people asked for next.
CATEGORY_ORDER = ("bug", "usability", "feature", "question", "praise", "other")


@dataclass(frozen=True)
class Delta:
    """A figure for this period and the one before it ("change against the previous week")."""

    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous

    def arrow(self) -> str:
        """ "▲3", "▼2" or "=": how the figure moved, for a person skimming the digest."""
        if self.change > 0:
            return f"▲{self.change}"
        if self.change < 0:
            return f"▼{-self.change}"
        return "±0"


@dataclass(frozen=True)
class IssueLine:
    """One issue as the digest lists it."""

    id: int
    title: str
    category: str
    priority: str
    status: str  # open, resolved, ignored
    count: int  # occurrences in all time
    services: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    new: bool  # first seen in the period
    regressed: bool
    resolved_in_period: bool
    assignee: str | None = None


@dataclass(frozen=True)
class ServiceLine:
    """A service's availability in the period, from its state changes.

    `uptime` is the share of supervised time spent running: time a service was deliberately stopped
    (stopped, waiting, stopping) counts neither way, so a planned stop does not spoil the figure.
    `uptime` is None when the service had no supervised time at all in the period."""

    name: str
    uptime: float | None  # 0.0 .. 1.0
    restarts: int  # automatic and requested restarts (a start that follows a run)
    failures: int  # episodes of being down (crash, failed health, quarantine)
    mttr: float | None  # mean seconds from going down to running again; None without a recovery


@dataclass(frozen=True)
class ReleaseLine:
    service: str
    version: str
    first_seen: datetime


@dataclass(frozen=True)
class Digest:
    """Everything one digest says about the period [start, end)."""

    start: datetime
    end: datetime
    period_key: str
    new: Delta  # issues first seen in the period
    resolved: Delta  # issues resolved in the period
    regressed: int  # open issues that came back after being resolved and were seen in the period
    open: int  # open issues now
    open_by_priority: dict[str, int]
    occurrences: Delta
    feedback: dict[str, Delta]  # category -> feedback received
    top: tuple[IssueLine, ...]  # the five open issues with the highest priority
    sections: dict[str, tuple[IssueLine, ...]]  # category -> notable issues, most urgent first
    section_totals: dict[str, int]  # category -> how many notable issues (sections may be cut)
    services: tuple[ServiceLine, ...]
    releases: tuple[ReleaseLine, ...] = ()
    statements: int = field(default=0, compare=False)  # SQL statements it took (the bench reads it)

    @property
    def feedback_total(self) -> Delta:
        return Delta(
            sum(d.current for d in self.feedback.values()), sum(d.previous for d in self.feedback.values())
        )

    @property
    def quiet(self) -> bool:
        """Nothing happened and nothing is open: the digest says so in one line."""
        return (
            not self.open
            and not self.new.current
            and not self.resolved.current
            and not self.occurrences.current
            and not self.feedback_total.current
        )
