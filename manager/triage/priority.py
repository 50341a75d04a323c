"""One documented priority score for every issue, so triage order is explainable and stable.

Issues come from very different places (a crash, a crash loop, a failing health check, a resource
breach, an Alertmanager alert, a person's feedback), and on-call needs one ordering across all of
them, with the reasons spelled out: "P1 because crash loop, regression, seen 40 times in 24h". The
score is a pure function of a `PriorityInput`; nothing here reads a clock or a database.

Formula
-------
    score = severity x kind x category x frequency x reach x regression x decay

    severity    low 1, normal 2, high 4, critical 8
    kind        crash_loop 4, crash 1.5, manager_error 1.5, health 1.25, resource 1, alert 1, feedback 1
    category    (feedback only) bug 1, usability 0.75, feature 0.5, question 0.5, praise 0.25, other 0.25;
                any other kind, or no category: 1
    frequency   1 + log2(1 + count_24h) + 0.5 x log2(1 + count)
    reach       1 + 0.5 x log2(max(1, services + reporters))
    regression  1.5 if the issue was resolved and came back, else 1
    decay       0.5 ** (last_seen_age / 7 days): the score halves for every week since last seen

    P1 >= 20 > P2 >= 10 > P3 >= 4 > P4

Landmarks (each seen once, just now, on one service or by one reporter):
    crash loop, normal          2 x 4 x 2.5 = 20     -> P1 (a quarantined service is down, whatever
                                                        severity it was given)
    critical regression         8 x 2.5 x 1.5 = 30   -> P1
    critical alert              8 x 2.5 = 20         -> P1 (exactly on the line)
    high bug feedback           4 x 2.5 = 10         -> P2
    normal bug feedback         2 x 2.5 = 5          -> P3
    low feedback, 30 days old   1 x 1.5 x 0.05       -> P4 (never seen in the last 24h)

Every factor is monotonic: more occurrences, services or reporters never lower the score; a longer
time since last seen never raises it; a regression never lowers it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from manager.core.units import plural

__all__ = [
    "CATEGORY_WEIGHT",
    "DECAY_HALF_LIFE",
    "KIND_WEIGHT",
    "REGRESSION_FACTOR",
    "SEVERITY_WEIGHT",
    "THRESHOLDS",
    "Kind",
    "Level",
    "Priority",
    "PriorityInput",
    "Severity",
    "score",
]

Severity = Literal["low", "normal", "high", "critical"]
Kind = Literal["crash", "crash_loop", "health", "resource", "manager_error", "alert", "feedback"]
Level = Literal["P1", "P2", "P3", "P4"]

SEVERITY_WEIGHT: dict[Severity, float] = {"low": 1.0, "normal": 2.0, "high": 4.0, "critical": 8.0}
KIND_WEIGHT: dict[Kind, float] = {
    "crash_loop": 4.0,
    "crash": 1.5,
    "manager_error": 1.5,
    "health": 1.25,
    "resource": 1.0,
    "alert": 1.0,
    "feedback": 1.0,
}
#: Applies to feedback only: a bug report outranks a feature request of the same severity and reach.
CATEGORY_WEIGHT: dict[str, float] = {
    "bug": 1.0,
    "usability": 0.75,
    "feature": 0.5,
    "question": 0.5,
    "praise": 0.25,
    "other": 0.25,
}
REGRESSION_FACTOR = 1.5
DECAY_HALF_LIFE = 7 * 24 * 3600.0  # seconds
#: Lowest score for each level, highest level first; below the last one is P4.
THRESHOLDS: tuple[tuple[Level, float], ...] = (("P1", 20.0), ("P2", 10.0), ("P3", 4.0))

_DAY = 24 * 3600.0
_KIND_REASON: dict[Kind, str] = {
    "crash_loop": "crash loop",
    "crash": "crash",
    "manager_error": "manager error",
    "health": "failing health check",
    "resource": "resource limit breached",
    "alert": "alert",
    "feedback": "feedback",
}


@dataclass(frozen=True)
class PriorityInput:
    """What the score is computed from; counts are occurrences of the issue, not of its kind."""

    severity: Severity
    kind: Kind
    count: int
    count_24h: int
    services: int
    reporters: int
    regression: bool
    last_seen_age: float  # seconds since the issue was last seen; negative (clock skew) counts as 0
    category: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITY_WEIGHT:
            raise ValueError(
                f"severity must be one of {', '.join(get_args(Severity))}, got {self.severity!r}"
            )
        if self.kind not in KIND_WEIGHT:
            raise ValueError(f"kind must be one of {', '.join(get_args(Kind))}, got {self.kind!r}")
        for name in ("count", "count_24h", "services", "reporters"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if math.isnan(self.last_seen_age):
            raise ValueError("last_seen_age must be a number of seconds, got NaN")


@dataclass(frozen=True)
class Priority:
    """The score, its level, and the human-readable factors behind it, most important first."""

    score: float
    level: Level
    reasons: tuple[str, ...]


def _category_weight(inp: PriorityInput) -> float:
    if inp.kind != "feedback" or inp.category is None:
        return 1.0
    return CATEGORY_WEIGHT.get(inp.category, 1.0)


def _frequency(inp: PriorityInput) -> float:
    return 1.0 + math.log2(1 + inp.count_24h) + 0.5 * math.log2(1 + inp.count)


def _reach(inp: PriorityInput) -> float:
    return 1.0 + 0.5 * math.log2(max(1, inp.services + inp.reporters))


def _decay(inp: PriorityInput) -> float:
    return math.pow(0.5, max(0.0, inp.last_seen_age) / DECAY_HALF_LIFE)


def _reasons(inp: PriorityInput) -> tuple[str, ...]:
    reasons = [f"{inp.severity} severity"]
    if inp.kind != "feedback":
        reasons.insert(0, _KIND_REASON[inp.kind])
    elif inp.category is not None:
        reasons.append(f"{inp.category} feedback")
    if inp.regression:
        reasons.insert(0, "regression")
    if inp.count_24h > 1:
        reasons.append(f"seen {plural(inp.count_24h, 'time')} in 24h")
    if inp.count > max(1, inp.count_24h):
        reasons.append(f"seen {plural(inp.count, 'time')} in total")
    if inp.services > 1:
        reasons.append(plural(inp.services, "service"))
    if inp.reporters > 1:
        reasons.append(plural(inp.reporters, "reporter"))
    if inp.last_seen_age >= _DAY:
        reasons.append(f"last seen {int(inp.last_seen_age // _DAY)}d ago")
    return tuple(reasons)


def _level(value: float) -> Level:
    for level, floor in THRESHOLDS:
        if value >= floor:
            return level
    return "P4"


def score(inp: PriorityInput) -> Priority:
    """The priority of an issue: see the module docstring for the formula and the thresholds."""
    value = (
        SEVERITY_WEIGHT[inp.severity]
        * KIND_WEIGHT[inp.kind]
        * _category_weight(inp)
        * _frequency(inp)
        * _reach(inp)
        * (REGRESSION_FACTOR if inp.regression else 1.0)
        * _decay(inp)
    )
    value = round(value, 6)  # stable across platforms, and exact on the landmark thresholds
    return Priority(value, _level(value), _reasons(inp))
