"""The pure transition function, driven on plain data: no processes, no clock."""

from __future__ import annotations

import pytest

from manager.config.spec import RestartPolicy
from manager.supervision import states as st

POLICY = st.Policy(restart_delay=0.1, max_restart_delay=2.0, stable_after=10.0, burst=3, interval=60.0)


def ctx(now: float = 100.0, policy: st.Policy = POLICY, rand: float = 0.5) -> st.Context:
    return st.Context(policy, now, rand)


def kinds(actions: list[st.Action]) -> list[str]:
    return [a.kind if a.timer is None else f"{a.kind}:{a.timer}" for a in actions]


def run(machine: st.Machine, *inputs: st.Input, now: float = 100.0, policy: st.Policy = POLICY) -> st.Machine:
    for event in inputs:
        machine, _ = st.step(machine, event, ctx(now, policy))
    return machine


UP = st.Machine(state=st.State.RUNNING)


@pytest.mark.parametrize(
    ("state", "event", "expected_state", "expected_actions"),
    [
        (st.State.STOPPED, st.Start(), st.State.STARTING, ["spawn", "set_timer:stable"]),
        (st.State.STOPPED, st.Start(deps_ready=False), st.State.WAITING, []),
        (st.State.WAITING, st.DepsReady(), st.State.STARTING, ["spawn", "set_timer:stable"]),
        (st.State.WAITING, st.Stop(), st.State.STOPPED, []),
        (st.State.STARTING, st.Ready(), st.State.RUNNING, []),
        (st.State.RUNNING, st.Start(), st.State.RUNNING, []),
        (st.State.RUNNING, st.Unhealthy(), st.State.UNHEALTHY, []),
        (st.State.UNHEALTHY, st.Ready(), st.State.RUNNING, []),
        (
            st.State.RUNNING,
            st.Stop(),
            st.State.STOPPING,
            ["cancel_timer:stable", "signal_stop", "set_timer:kill"],
        ),
        (st.State.STOPPING, st.TimerFired("kill"), st.State.STOPPING, ["kill"]),
        (st.State.STOPPING, st.Exited(failed=True), st.State.STOPPED, ["cancel_timer:kill"]),
        (st.State.BACKOFF, st.Stop(), st.State.STOPPED, ["cancel_timer:restart"]),
        (st.State.BACKOFF, st.TimerFired("restart"), st.State.STARTING, ["spawn", "set_timer:stable"]),
        (st.State.EXITED, st.Restart(), st.State.STARTING, ["spawn", "set_timer:stable"]),
        (st.State.STOPPED, st.Adopted(), st.State.STARTING, ["set_timer:stable"]),
        (st.State.STOPPED, st.Exited(failed=True), st.State.STOPPED, []),
        (st.State.STOPPED, st.TimerFired("kill"), st.State.STOPPED, []),
    ],
)
def test_transition_table(state, event, expected_state, expected_actions) -> None:
    """Each (state, input) pair gives the documented next state and actions."""
    machine, actions = st.step(st.Machine(state=state), event, ctx())
    assert machine.state == expected_state
    assert kinds(actions) == expected_actions


@pytest.mark.parametrize(
    ("policy", "failed", "expected"),
    [
        (RestartPolicy.ALWAYS, False, st.State.BACKOFF),
        (RestartPolicy.ALWAYS, True, st.State.BACKOFF),
        (RestartPolicy.ON_FAILURE, False, st.State.EXITED),
        (RestartPolicy.ON_FAILURE, True, st.State.BACKOFF),
        (RestartPolicy.NEVER, True, st.State.EXITED),
        (RestartPolicy.NEVER, False, st.State.EXITED),
    ],
)
def test_restart_policy(policy, failed, expected) -> None:
    """always / on-failure / never decide what an unexpected exit leads to."""
    p = st.Policy(restart=policy)
    machine, _ = st.step(UP, st.Exited(failed=failed), ctx(policy=p))
    assert machine.state == expected


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    """restart_delay first, then doubling with +-20% jitter, never above max_restart_delay."""
    assert st.backoff_delay(1, POLICY, rand=0.99) == pytest.approx(0.1)
    assert st.backoff_delay(2, POLICY, rand=0.5) == pytest.approx(0.2)
    assert st.backoff_delay(3, POLICY, rand=0.0) == pytest.approx(0.4 * 0.8)
    assert st.backoff_delay(3, POLICY, rand=1.0) == pytest.approx(0.4 * 1.2)
    assert st.backoff_delay(50, POLICY, rand=1.0) == pytest.approx(2.0)
    assert st.backoff_delay(10_000, POLICY, rand=0.0) == pytest.approx(1.6)


def test_zero_restart_delay_restarts_immediately() -> None:
    """With restart_delay 0 the restart timer is set to 0, however many failures came before."""
    p = st.Policy(restart_delay=0.0, max_restart_delay=0.0, burst=100)
    machine = UP
    for n in range(5):
        machine, actions = st.step(machine, st.Exited(failed=True), ctx(now=float(n), policy=p))
        assert [a.delay for a in actions if a.kind == "set_timer"] == [0.0]
        machine, _ = st.step(machine, st.TimerFired("restart"), ctx(now=float(n), policy=p))


def test_failures_grow_the_delay_and_a_stable_run_resets_them() -> None:
    """Each crash raises the exponent; the stable timer puts it back to zero."""
    machine = UP
    delays = []
    for n in range(3):
        machine, actions = st.step(machine, st.Exited(failed=True), ctx(now=float(n)))
        delays += [a.delay for a in actions if a.kind == "set_timer"]
        machine, _ = st.step(machine, st.TimerFired("restart"), ctx(now=float(n)))
    assert delays == sorted(delays) and delays[0] < delays[-1]
    machine, _ = st.step(machine, st.TimerFired("stable"), ctx())
    assert machine.failures == 0 and machine.restart_times == (0.0, 1.0, 2.0)  # the window ages by time


def test_runs_longer_than_stable_after_still_count_toward_the_start_limit() -> None:
    """burst 5 in 60 s, stable_after 10 s: a service that crashes after every 11 s run is quarantined
    at the sixth restart inside a minute (the README's promise), not restarted forever."""
    p = st.Policy(stable_after=10.0, burst=5, interval=60.0)
    machine, now, notes = UP, 0.0, []
    for _ in range(6):
        now += 11.0
        machine, _ = st.step(machine, st.TimerFired("stable"), ctx(now=now - 1.0, policy=p))
        machine, actions = st.step(machine, st.Exited(failed=True), ctx(now=now, policy=p))
        notes += [a.note for a in actions if a.kind == "notify"]
        if machine.state == st.State.BACKOFF:
            machine, _ = st.step(machine, st.TimerFired("restart"), ctx(now=now, policy=p))
    assert machine.state == st.State.QUARANTINED and notes == ["crash_loop"]


def test_burst_exceeded_quarantines_with_one_notification() -> None:
    """The (burst+1)th exit inside the interval quarantines; a further failed retry notifies no more."""
    machine = UP
    notes = []
    for n in range(4):
        machine, actions = st.step(machine, st.Exited(failed=True), ctx(now=float(n)))
        notes += [a.note for a in actions if a.kind == "notify"]
        machine, _ = st.step(machine, st.TimerFired("restart"), ctx(now=float(n)))
    assert notes == ["crash_loop"]
    assert machine.quarantined and machine.state == st.State.STARTING
    machine, actions = st.step(machine, st.Exited(failed=True), ctx(now=5.0))
    assert machine.state == st.State.QUARANTINED
    assert [a for a in actions if a.kind == "notify"] == []
    assert [a.delay for a in actions if a.kind == "set_timer"] == [POLICY.quarantine_retry]


def test_exits_outside_the_interval_do_not_count_toward_the_limit() -> None:
    """The start limit is a sliding window: old restarts drop out of it."""
    machine = UP
    for n in range(10):
        machine, _ = st.step(machine, st.Exited(failed=True), ctx(now=n * 61.0))
        assert machine.state == st.State.BACKOFF
        machine, _ = st.step(machine, st.TimerFired("restart"), ctx(now=n * 61.0))


def test_stable_run_ends_quarantine() -> None:
    """A retry that stays up stable_after leaves quarantine, with a notification."""
    machine = st.Machine(state=st.State.RUNNING, quarantined=True, failures=7)
    machine, actions = st.step(machine, st.TimerFired("stable"), ctx())
    assert not machine.quarantined and machine.failures == 0
    assert [a.note for a in actions] == ["crash_loop_ended:stable run"]


def test_explicit_start_ends_quarantine_and_spawns_now() -> None:
    """Starting a quarantined service cancels the slow retry and spawns at once."""
    machine = st.Machine(state=st.State.QUARANTINED, quarantined=True, failures=4, restart_times=(1.0, 2.0))
    machine, actions = st.step(machine, st.Start(explicit=True), ctx())
    assert machine.state == st.State.STARTING and not machine.quarantined and machine.failures == 0
    assert kinds(actions) == ["notify", "cancel_timer:restart", "spawn", "set_timer:stable"]


def test_restart_of_a_running_service_stops_then_spawns() -> None:
    """restart = stop, then a fresh spawn once the old process has exited."""
    machine, actions = st.step(UP, st.Restart(), ctx())
    assert machine.state == st.State.STOPPING and machine.after_stop == "start"
    machine, actions = st.step(machine, st.Exited(failed=True), ctx())
    assert machine.state == st.State.STARTING
    assert kinds(actions) == ["cancel_timer:kill", "spawn", "set_timer:stable"]


def test_fail_restart_counts_as_a_failure() -> None:
    """An unhealthy or over-limit restart goes through backoff and the start limit."""
    machine, _ = st.step(UP, st.FailRestart(), ctx())
    assert machine.after_stop == "restart_failed"
    machine, actions = st.step(machine, st.Exited(failed=False), ctx())
    assert machine.state == st.State.BACKOFF and machine.failures == 1
    assert "set_timer:restart" in kinds(actions)


def test_stop_during_stopping_wins_over_a_pending_restart() -> None:
    """restart, then stop before the old process exited: it ends stopped."""
    machine = run(UP, st.Restart(), st.Stop(), st.Exited(failed=False))
    assert machine.state == st.State.STOPPED


def test_start_during_stopping_restarts_after_exit() -> None:
    """stop, then start before the exit: it comes back up."""
    machine = run(UP, st.Stop(), st.Start(), st.Exited(failed=False))
    assert machine.state == st.State.STARTING
