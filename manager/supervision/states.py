"""Service states and the one transition function that moves between them.

This module is pure: `step(machine, input, ctx)` returns the next machine and the actions the runner
must carry out (spawn, signal, set or cancel a timer, notify). It does no I/O and reads no clock, so
every rule below is tested on plain data.

States
------
stopped      not running, not wanted (initial state, and after a stop)
waiting      wanted, waiting for the services it depends on to be ready
starting     spawned, not ready yet: its health check has not passed once
running      up and ready (healthy, or it has no health check)
unhealthy    up, but its health check has failed `failures` times in a row
stopping     the stop signal was sent; waiting for the process tree to exit
backoff      exited unexpectedly; the restart is scheduled after a delay
exited       exited, and its restart policy says not to restart it
quarantined  restarted more than `start_limit.burst` times within `start_limit.interval`: one
             CrashLoop event, then a slow retry every `quarantine_retry`. Never terminal (unlike
             supervisord's FATAL): a retry that stays up `stable_after` ends it, so does a start.

Rules worth knowing
-------------------
- An unexpected exit restarts per policy (always | on-failure | never); on-failure means a non-zero
  exit code or death by a signal, as in systemd.
- Every unexpected exit raises the backoff exponent; a run of `stable_after` resets it.
- The start limit counts automatic restarts within the sliding `start_limit.interval`, however long
  each run lasted, as systemd's StartLimitBurst does; explicit starts and restarts by a person reset
  it, and so does the stable run that ends a quarantine.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from manager.config.spec import RestartPolicy, ServiceSpec

__all__ = [
    "Action",
    "Context",
    "Input",
    "Machine",
    "Policy",
    "State",
    "backoff_delay",
    "step",
]


class State(enum.StrEnum):
    STOPPED = "stopped"
    WAITING = "waiting"
    STARTING = "starting"
    RUNNING = "running"
    UNHEALTHY = "unhealthy"
    STOPPING = "stopping"
    BACKOFF = "backoff"
    EXITED = "exited"
    QUARANTINED = "quarantined"


UP = frozenset({State.STARTING, State.RUNNING, State.UNHEALTHY})
DOWN = frozenset({State.STOPPED, State.EXITED, State.WAITING})
PENDING_RESTART = frozenset({State.BACKOFF, State.QUARANTINED})

AfterStop = Literal["stop", "start", "restart_failed"]
TimerKind = Literal["restart", "kill", "stable"]


@dataclass(frozen=True)
class Policy:
    """The part of a ServiceSpec the transition function needs."""

    restart: RestartPolicy = RestartPolicy.ON_FAILURE
    restart_delay: float = 0.1
    max_restart_delay: float = 30.0
    stable_after: float = 10.0
    quarantine_retry: float = 300.0
    burst: int = 5
    interval: float = 60.0
    stop_timeout: float = 10.0

    @classmethod
    def from_spec(cls, spec: ServiceSpec) -> Policy:
        return cls(
            restart=spec.restart,
            restart_delay=spec.restart_delay,
            max_restart_delay=spec.max_restart_delay,
            stable_after=spec.stable_after,
            quarantine_retry=spec.quarantine_retry,
            burst=spec.start_limit.burst,
            interval=spec.start_limit.interval,
            stop_timeout=spec.stop.timeout,
        )


@dataclass(frozen=True)
class Context:
    policy: Policy
    now: float  # monotonic seconds
    rand: float = 0.5  # uniform in [0, 1): the jitter source, injected so tests are exact


@dataclass(frozen=True)
class Machine:
    state: State = State.STOPPED
    failures: int = 0  # unexpected exits since the last stable run: the backoff exponent
    restart_times: tuple[float, ...] = ()  # automatic restarts inside the start-limit interval
    quarantined: bool = False
    after_stop: AfterStop = "stop"


# -- inputs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    pass


@dataclass(frozen=True)
class Start(Input):
    """A start: explicit (a person) or automatic (manager start, reload, dependency order)."""

    explicit: bool = True
    deps_ready: bool = True


@dataclass(frozen=True)
class DepsReady(Input):
    pass


@dataclass(frozen=True)
class Stop(Input):
    pass


@dataclass(frozen=True)
class Restart(Input):
    pass


@dataclass(frozen=True)
class Adopted(Input):
    """A process started by an earlier svcbot was found alive and taken over."""


@dataclass(frozen=True)
class Ready(Input):
    """The health check passed (sent right after the spawn when there is no health check)."""


@dataclass(frozen=True)
class Unhealthy(Input):
    pass


@dataclass(frozen=True)
class FailRestart(Input):
    """Restart because the service is unhealthy or over a limit: counts as a failed run."""


@dataclass(frozen=True)
class Exited(Input):
    failed: bool  # non-zero exit code or killed by a signal (or the spawn itself failed)


@dataclass(frozen=True)
class TimerFired(Input):
    timer: TimerKind


# -- actions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    kind: Literal["spawn", "signal_stop", "kill", "set_timer", "cancel_timer", "notify"]
    timer: TimerKind | None = None
    delay: float = 0.0
    note: str = ""  # for notify: "crash_loop", "crash_loop_ended:<reason>"


SPAWN = Action("spawn")
SIGNAL_STOP = Action("signal_stop")
KILL = Action("kill")


def set_timer(timer: TimerKind, delay: float) -> Action:
    return Action("set_timer", timer=timer, delay=delay)


def cancel_timer(timer: TimerKind) -> Action:
    return Action("cancel_timer", timer=timer)


def notify(note: str) -> Action:
    return Action("notify", note=note)


Result = tuple[Machine, list[Action]]


def backoff_delay(failures: int, policy: Policy, rand: float) -> float:
    """Delay before restart number `failures` (1-based): restart_delay, then doubling up to the cap.

    From the second restart on, the delay is jittered by +-20% so that services which failed
    together (a shared dependency went away) do not come back in lockstep.
    """
    if failures <= 1:
        return min(policy.restart_delay, policy.max_restart_delay)
    base = policy.restart_delay * float(2 ** min(failures - 1, 62))
    jittered = min(base, policy.max_restart_delay) * (0.8 + 0.4 * rand)
    return min(jittered, policy.max_restart_delay)


# -- transitions ------------------------------------------------------------------------------------


def step(m: Machine, event: Input, ctx: Context) -> Result:
    """The one transition function: (machine, input) -> (machine, actions)."""
    handler = _HANDLERS.get(type(event))
    if handler is None:  # pragma: no cover - every Input subclass is registered below
        raise TypeError(f"unknown input {event!r}")
    return handler(m, event, ctx)


def _spawn(m: Machine, ctx: Context, *extra: Action) -> Result:
    """Spawn now; a run that lasts `stable_after` resets the failure history (the stable timer)."""
    actions = [*extra, SPAWN, set_timer("stable", ctx.policy.stable_after)]
    return replace(m, state=State.STARTING, after_stop="stop"), actions


def _fresh(m: Machine) -> tuple[Machine, list[Action]]:
    """A person asked for a start: forget the failure history, end any quarantine."""
    actions = [notify("crash_loop_ended:explicit start")] if m.quarantined else []
    return replace(m, failures=0, restart_times=(), quarantined=False), actions


def _on_start(m: Machine, event: Any, ctx: Context) -> Result:
    if m.state in UP:
        return m, []
    if m.state == State.STOPPING:
        return replace(m, after_stop="start"), []
    fresh, actions = _fresh(m) if event.explicit else (m, [])
    if m.state in PENDING_RESTART:
        return _spawn(fresh, ctx, *actions, cancel_timer("restart"))
    if not event.deps_ready:
        return replace(fresh, state=State.WAITING), actions
    return _spawn(fresh, ctx, *actions)


def _on_deps_ready(m: Machine, event: Any, ctx: Context) -> Result:
    if m.state == State.WAITING:
        return _spawn(m, ctx)
    return m, []


def _stop_up(m: Machine, after: AfterStop, ctx: Context) -> Result:
    actions = [cancel_timer("stable"), SIGNAL_STOP, set_timer("kill", ctx.policy.stop_timeout)]
    return replace(m, state=State.STOPPING, after_stop=after), actions


def _on_stop(m: Machine, event: Any, ctx: Context) -> Result:
    if m.state in UP:
        return _stop_up(m, "stop", ctx)
    if m.state == State.STOPPING:
        return replace(m, after_stop="stop"), []
    actions = [notify("crash_loop_ended:stopped")] if m.quarantined else []
    if m.state in PENDING_RESTART:
        actions.append(cancel_timer("restart"))
    return replace(m, state=State.STOPPED, quarantined=False), actions


def _on_restart(m: Machine, event: Any, ctx: Context) -> Result:
    if m.state in UP:
        return _stop_up(m, "start", ctx)
    if m.state == State.WAITING:
        return m, []
    return _on_start(m, Start(explicit=True), ctx)


def _on_adopted(m: Machine, event: Any, ctx: Context) -> Result:
    if m.state in DOWN:
        return replace(m, state=State.STARTING), [set_timer("stable", ctx.policy.stable_after)]
    return m, []


def _on_ready(m: Machine, event: Any, ctx: Context) -> Result:
    if m.state in (State.STARTING, State.UNHEALTHY):
        return replace(m, state=State.RUNNING), []
    return m, []


def _on_unhealthy(m: Machine, event: Any, ctx: Context) -> Result:
    if m.state in (State.STARTING, State.RUNNING):
        return replace(m, state=State.UNHEALTHY), []
    return m, []


def _on_fail_restart(m: Machine, event: Any, ctx: Context) -> Result:
    if m.state in UP:
        return _stop_up(m, "restart_failed", ctx)
    return m, []


def _schedule_restart(m: Machine, ctx: Context) -> Result:
    """After an unexpected exit the policy allows restarting: backoff, or quarantine past the limit."""
    p = ctx.policy
    failures = m.failures + 1
    recent = (*(t for t in m.restart_times if ctx.now - t < p.interval), ctx.now)
    if m.quarantined or len(recent) > p.burst:
        actions = [] if m.quarantined else [notify("crash_loop")]
        actions.append(set_timer("restart", p.quarantine_retry))
        state = replace(m, state=State.QUARANTINED, failures=failures, restart_times=recent)
        return replace(state, quarantined=True), actions
    delay = backoff_delay(failures, p, ctx.rand)
    nxt = replace(m, state=State.BACKOFF, failures=failures, restart_times=recent)
    return nxt, [set_timer("restart", delay)]


def _on_exited(m: Machine, event: Any, ctx: Context) -> Result:
    if m.state == State.STOPPING:
        return _after_stop(m, ctx)
    if m.state not in UP:
        return m, []
    policy = ctx.policy.restart
    again = policy == RestartPolicy.ALWAYS or (policy == RestartPolicy.ON_FAILURE and event.failed)
    cancel = cancel_timer("stable")
    if not again:
        return replace(m, state=State.EXITED), [cancel]
    nxt, actions = _schedule_restart(m, ctx)
    return nxt, [cancel, *actions]


def _after_stop(m: Machine, ctx: Context) -> Result:
    cancel = cancel_timer("kill")
    if m.after_stop == "start":
        fresh, actions = _fresh(m)
        return _spawn(fresh, ctx, cancel, *actions)
    if m.after_stop == "restart_failed":
        nxt, actions = _schedule_restart(m, ctx)
        return nxt, [cancel, *actions]
    return replace(m, state=State.STOPPED, quarantined=False), [cancel]


def _on_timer(m: Machine, event: Any, ctx: Context) -> Result:
    timer: TimerKind = event.timer
    if timer == "restart" and m.state in PENDING_RESTART:
        return _spawn(m, ctx)
    if timer == "kill" and m.state == State.STOPPING:
        return m, [KILL]
    if timer == "stable" and m.state in UP:
        if m.quarantined:  # the retry stayed up: the crash loop is over, its history with it
            return replace(m, failures=0, restart_times=(), quarantined=False), [
                notify("crash_loop_ended:stable run")
            ]
        # The backoff starts over, but the start limit keeps counting: restarts age out of its window
        # by time alone, so a service that runs 10 s and crashes, again and again, is still a crash loop.
        return replace(m, failures=0), []
    return m, []


_HANDLERS: dict[type[Input], Callable[[Machine, Any, Context], Result]] = {
    Start: _on_start,
    DepsReady: _on_deps_ready,
    Stop: _on_stop,
    Restart: _on_restart,
    Adopted: _on_adopted,
    Ready: _on_ready,
    Unhealthy: _on_unhealthy,
    FailRestart: _on_fail_restart,
    Exited: _on_exited,
    TimerFired: _on_timer,
}
