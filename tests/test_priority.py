"""The priority score: realistic cases land on the documented levels, and every factor is monotonic."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from manager.triage.priority import THRESHOLDS, Kind, Priority, PriorityInput, Severity, score

DAY = 24 * 3600.0
LEVEL_RANK = {"P1": 1, "P2": 2, "P3": 3, "P4": 4}


def inp(**overrides) -> PriorityInput:
    """A fresh, single, normal-severity crash on one service; override what a case is about."""
    base = {
        "severity": "normal",
        "kind": "crash",
        "count": 1,
        "count_24h": 1,
        "services": 1,
        "reporters": 0,
        "regression": False,
        "last_seen_age": 0.0,
        "category": None,
    }
    return PriorityInput(**{**base, **overrides})


@pytest.mark.parametrize(
    ("case", "expected_level"),
    [
        # P1
        (inp(kind="crash_loop"), "P1"),  # a quarantined service, fresh
        (inp(kind="crash_loop", severity="high", count=6, count_24h=6), "P1"),
        (inp(severity="critical", regression=True), "P1"),  # a critical thing came back
        (inp(kind="alert", severity="critical"), "P1"),  # exactly on the P1 line: 8 x 2.5 = 20
        (inp(count=120, count_24h=40, services=3), "P1"),  # crashing 40 times a day on 3 services
        (inp(kind="feedback", severity="critical", services=0, reporters=1, category="bug"), "P1"),
        # P2
        (inp(kind="crash_loop", severity="low"), "P2"),
        (inp(kind="feedback", severity="high", services=0, reporters=1, category="bug"), "P2"),
        (inp(kind="health", count=3, count_24h=3), "P2"),
        (inp(kind="manager_error", severity="high", last_seen_age=2 * DAY), "P2"),
        (inp(kind="crash_loop", last_seen_age=7 * DAY), "P2"),  # a week-old crash loop halves
        # P3
        (inp(kind="feedback", services=1, reporters=1, category="bug", last_seen_age=60), "P3"),
        (inp(kind="resource", count=3, count_24h=1, last_seen_age=600), "P3"),
        (
            inp(kind="feedback", count=5, count_24h=2, reporters=5, category="feature", last_seen_age=3600),
            "P3",
        ),
        # P4
        (
            inp(kind="feedback", severity="normal", services=0, reporters=1, category="usability"),
            "P4",
        ),  # 3.75: just under P3
        (
            inp(
                kind="feedback", severity="low", count_24h=0, services=0, reporters=1, last_seen_age=30 * DAY
            ),
            "P4",
        ),
        (inp(kind="feedback", severity="low", services=0, reporters=1, category="praise"), "P4"),
        (inp(kind="alert", severity="high", count=2, count_24h=0, last_seen_age=60 * DAY), "P4"),
    ],
)
def test_realistic_cases_land_on_their_level(case, expected_level):
    """Typical issues get the level an on-call person would give them."""
    result = score(case)
    assert result.level == expected_level, result


def test_landmark_scores_from_the_docstring():
    """The worked examples in the module docstring are exact."""
    assert score(inp(kind="crash_loop")).score == 20.0
    assert score(inp(severity="critical", kind="alert", regression=True)).score == 30.0
    assert score(inp(severity="critical", kind="alert")).score == 20.0
    fb = {"kind": "feedback", "services": 0, "reporters": 1, "category": "bug"}
    assert score(inp(severity="high", **fb)).score == 10.0
    assert score(inp(severity="normal", **fb)).score == 5.0


def test_thresholds_are_inclusive():
    """A score exactly on a threshold gets the higher level."""
    assert dict(THRESHOLDS) == {"P1": 20.0, "P2": 10.0, "P3": 4.0}
    assert score(inp(kind="alert", severity="critical")) == Priority(
        20.0, "P1", ("alert", "critical severity")
    )
    assert score(inp(kind="feedback", severity="high", services=0, reporters=1)).level == "P2"


@pytest.mark.parametrize(
    ("case", "reasons"),
    [
        (inp(kind="crash_loop", severity="high"), ("crash loop", "high severity")),
        (
            inp(severity="critical", regression=True, count=120, count_24h=40, services=3),
            (
                "regression",
                "crash",
                "critical severity",
                "seen 40 times in 24h",
                "seen 120 times in total",
                "3 services",
            ),
        ),
        (
            inp(
                kind="feedback",
                services=0,
                reporters=4,
                count=4,
                count_24h=0,
                category="feature",
                last_seen_age=9 * DAY,
            ),
            (
                "normal severity",
                "feature feedback",
                "seen 4 times in total",
                "4 reporters",
                "last seen 9d ago",
            ),
        ),
        (inp(kind="feedback", services=0, reporters=1), ("normal severity",)),
    ],
)
def test_reasons_name_the_factors(case, reasons):
    """Reasons list the kind, regression, severity, frequency, reach and age that shaped the score."""
    assert score(case).reasons == reasons


def test_category_only_weighs_feedback():
    """A category lowers feedback that is not a bug, and is ignored for machine-detected kinds."""
    fb = {"kind": "feedback", "services": 0, "reporters": 1}
    bug = score(inp(category="bug", **fb)).score
    assert score(inp(category="feature", **fb)).score == bug / 2
    assert score(inp(category="praise", **fb)).score == bug / 4
    assert score(inp(category=None, **fb)).score == bug
    assert score(inp(category="unheard-of", **fb)).score == bug
    assert score(inp(kind="crash", category="praise")).score == score(inp(kind="crash")).score


def test_negative_age_counts_as_now():
    """A last_seen_age below zero (clock skew) is treated as just now, never as a boost."""
    assert score(inp(last_seen_age=-3600)).score == score(inp(last_seen_age=0)).score


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("severity", "blocker", "severity must be one of low, normal, high, critical"),
        ("kind", "oops", "kind must be one of crash, crash_loop"),
        ("count", -1, "count must not be negative"),
        ("services", -2, "services must not be negative"),
        ("last_seen_age", float("nan"), "NaN"),
    ],
)
def test_invalid_input_is_rejected(field, value, message):
    """Unknown severities or kinds, negative counts and NaN ages raise ValueError."""
    with pytest.raises(ValueError, match=message):
        inp(**{field: value})


def test_input_is_frozen():
    """PriorityInput is immutable, so a score can be cached against it."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        inp().count = 5  # type: ignore[misc]


# --- monotonicity -----------------------------------------------------------------------------------

SEVERITIES: list[Severity] = ["low", "normal", "high", "critical"]
KINDS: list[Kind] = ["crash", "crash_loop", "health", "resource", "manager_error", "alert", "feedback"]
COUNTS = [0, 1, 2, 5, 40, 1000]
AGES = [0.0, 60.0, DAY, 7 * DAY, 30 * DAY, 365 * DAY]


def bases() -> Iterator[PriorityInput]:
    """A grid of starting points across severity, kind, regression and category."""
    for severity, kind, regression in itertools.product(SEVERITIES, KINDS, [False, True]):
        category = "feature" if kind == "feedback" else None
        yield inp(
            severity=severity, kind=kind, regression=regression, category=category, count=3, count_24h=1
        )


def assert_non_decreasing(cases: list[PriorityInput]) -> None:
    results = [score(c) for c in cases]
    for before, after in itertools.pairwise(results):
        assert after.score >= before.score, (before, after)
        assert LEVEL_RANK[after.level] <= LEVEL_RANK[before.level], (before, after)


@pytest.mark.parametrize("field", ["count", "count_24h", "services", "reporters"])
def test_more_occurrences_or_reach_never_lower_the_score(field):
    """Raising a count, the services or the reporters never lowers the score or the level."""
    for base in bases():
        changes: list[dict[str, Any]] = [{field: n} for n in COUNTS]
        assert_non_decreasing([dataclasses.replace(base, **change) for change in changes])


def test_older_never_raises_the_score():
    """The longer since an issue was last seen, the lower (or equal) its score and level."""
    for base in bases():
        assert_non_decreasing([dataclasses.replace(base, last_seen_age=a) for a in reversed(AGES)])


def test_decay_halves_every_week():
    """The score halves for every 7 days since the issue was last seen."""
    fresh = score(inp(kind="crash_loop")).score
    assert score(inp(kind="crash_loop", last_seen_age=7 * DAY)).score == pytest.approx(fresh / 2)
    assert score(inp(kind="crash_loop", last_seen_age=14 * DAY)).score == pytest.approx(fresh / 4)


def test_regression_and_severity_never_lower_the_score():
    """A regression multiplies by 1.5; each severity step up doubles the score."""
    for base in bases():
        plain = score(dataclasses.replace(base, regression=False)).score
        assert score(dataclasses.replace(base, regression=True)).score == pytest.approx(plain * 1.5)
        ladder = [score(dataclasses.replace(base, severity=s)).score for s in SEVERITIES]
        assert ladder == sorted(ladder)
