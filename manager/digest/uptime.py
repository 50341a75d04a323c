"""Availability of one service over a period, from its state changes: uptime %, restarts, MTTR.

Pure arithmetic on (instant, old state, new state) triples, so the rules are tested on plain data:

* Supervised time is time in any state except stopped, waiting and stopping: a service someone stopped
  on purpose is not "down". Uptime = time running / supervised time.
* A *failure* starts when the service leaves a healthy run for backoff, exited, quarantined or unhealthy
  (or starts the period in one of those) and ends at the next `running`. MTTR is the mean length of the
  failures that ended inside the period (the time to *recovery*; one still open has not recovered).
* A *restart* is a start (entering `starting`) that does not come from stopped or waiting: an automatic
  restart after a crash, a retry out of quarantine, or a requested restart.

The state at the start of the period is the `new` state of the last change before it (None: unknown,
counted as not supervised until the first change in the period).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from manager.digest.model import ServiceLine

__all__ = ["Change", "service_line"]

_UNSUPERVISED = frozenset({"stopped", "waiting", "stopping"})
_FAILING = frozenset({"backoff", "exited", "quarantined", "unhealthy"})
_NOT_A_RESTART = frozenset({"stopped", "waiting"})


@dataclass(frozen=True)
class Change:
    at: datetime
    old: str
    new: str


def service_line(
    name: str, before: str | None, changes: Iterable[Change], start: datetime, end: datetime
) -> ServiceLine:
    """`before` is the state at `start`; `changes` are the changes in [start, end), oldest first."""
    state = before
    since = start
    running = supervised = 0.0
    restarts = failures = 0
    down_since: datetime | None = start if before in _FAILING else None
    repairs: list[float] = []

    def spend(until: datetime) -> None:
        nonlocal running, supervised
        seconds = max(0.0, (until - since).total_seconds())
        if state is not None and state not in _UNSUPERVISED:
            supervised += seconds
            if state == "running":
                running += seconds

    if down_since is not None:
        failures += 1
    for change in changes:
        at = min(max(change.at, start), end)
        spend(at)
        if change.new == "starting" and change.old not in _NOT_A_RESTART:
            restarts += 1
        if change.new in _FAILING and down_since is None:
            down_since = at
            failures += 1
        elif change.new == "running" and down_since is not None:
            repairs.append((at - down_since).total_seconds())
            down_since = None
        elif change.new in _UNSUPERVISED:
            down_since = None  # stopped on purpose: the failure is over without a recovery
        state, since = change.new, at
    spend(end)
    return ServiceLine(
        name=name,
        uptime=running / supervised if supervised > 0 else None,
        restarts=restarts,
        failures=failures,
        mttr=sum(repairs) / len(repairs) if repairs else None,
    )
