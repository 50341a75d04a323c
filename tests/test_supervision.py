"""Supervision with real subprocesses: restarts, backoff, quarantine, stop, process trees."""

from __future__ import annotations

import time
from pathlib import Path

from manager.supervision import events as ev
from tests.conftest import await_until, pid_alive, program


def fast(**extra: object) -> dict[str, object]:
    """Service settings that keep restart tests quick."""
    return {"restart_delay": "20ms", "max_restart_delay": "200ms", **extra}


async def test_crash_on_start_backs_off_then_quarantines_once(make_harness) -> None:
    """A program that always crashes is restarted with growing delays, then quarantined with one event."""
    h = await make_harness(
        {
            "bad": {
                "command": program("crash_on_start", 3),
                **fast(max_restart_delay="1s", quarantine_retry="1h"),
                "start_limit": {"burst": 3, "interval": "60s"},
            }
        }
    )
    loop_event = await h.wait_event(ev.CrashLoop, "bad")
    await h.wait_state("bad", "quarantined")
    exits = h.of(ev.ServiceExited, "bad")
    starts = h.of(ev.ServiceStarted, "bad")
    assert len(exits) == 4 and len(starts) == 4
    assert all(e.exit_code == 3 and not e.expected for e in exits)
    assert exits[-1].will_restart and loop_event.exits == 4
    assert "fatal: cannot open /etc/fixture.conf" in loop_event.stderr_tail
    gaps = [(s.at - e.at).total_seconds() for e, s in zip(exits, starts[1:], strict=False)]
    assert gaps[0] < gaps[2], f"backoff did not grow: {gaps}"
    assert len(h.of(ev.CrashLoop)) == 1
    assert h.supervisor.status("bad")[0]["restarts"] == 3


async def test_explicit_start_ends_quarantine(make_harness) -> None:
    """A person starting a quarantined service ends the quarantine and resets the start limit."""
    h = await make_harness(
        {
            "bad": {
                "command": program("crash_on_start"),
                **fast(quarantine_retry="1h"),
                "start_limit": {"burst": 1, "interval": "60s"},
            }
        }
    )
    await h.wait_state("bad", "quarantined")
    await h.supervisor.start_service("bad", timeout=0.1)
    ended = await h.wait_event(ev.CrashLoopEnded, "bad")
    assert ended.reason == "explicit start"


async def test_quarantine_retries_slowly_and_ends_after_a_stable_run(make_harness, tmp_path: Path) -> None:
    """Quarantine is not terminal: a slow retry that stays up `stable_after` ends it by itself."""
    counter = tmp_path / "starts"
    h = await make_harness(
        {
            "svc": {
                "command": program("crash_n_times", counter, 3),
                **fast(quarantine_retry="300ms", stable_after="500ms"),
                "start_limit": {"burst": 1, "interval": "60s"},
            }
        }
    )
    await h.wait_event(ev.CrashLoop, "svc")
    ended = await h.wait_event(ev.CrashLoopEnded, "svc", timeout=15)
    assert ended.reason == "stable run"
    assert h.supervisor.runner("svc").state == "running"
    assert counter.read_text() == "4"


async def test_restart_policies(make_harness) -> None:
    """on-failure leaves a clean exit alone, never leaves a crash alone, always restarts a clean exit."""
    clean = program("crash_on_start", 0)
    h = await make_harness(
        {
            "onfail_clean": {"command": clean, "restart": "on-failure", **fast()},
            "never_crash": {"command": program("crash_on_start", 2), "restart": "never", **fast()},
            "always_clean": {"command": clean, "restart": "always", **fast()},
        }
    )
    await h.wait_event(ev.ServiceStarted, "always_clean", count=3)
    await h.wait_state("onfail_clean", "exited")
    await h.wait_state("never_crash", "exited")
    assert len(h.of(ev.ServiceStarted, "onfail_clean")) == 1
    assert len(h.of(ev.ServiceStarted, "never_crash")) == 1
    assert h.of(ev.ServiceExited, "never_crash")[0].exit_code == 2


async def test_stop_escalates_to_sigkill_for_a_program_ignoring_sigterm(make_harness) -> None:
    """stop sends the configured signal, waits the timeout, then SIGKILLs the tree."""
    h = await make_harness({"stubborn": {"command": program("ignore_term"), "stop": {"timeout": "500ms"}}})
    await h.wait_state("stubborn", "running")
    await await_until(lambda: "ready" in h.supervisor.runner("stubborn").logs.path.read_text(), what="ready")
    pid = h.supervisor.runner("stubborn").run.pid
    began = time.monotonic()
    await h.supervisor.stop_service("stubborn")
    stopped = await h.wait_event(ev.ServiceStopped, "stubborn")
    assert stopped.killed and stopped.leftovers == 0
    assert time.monotonic() - began >= 0.5
    assert h.of(ev.ServiceExited, "stubborn")[-1].signal == "SIGKILL"
    assert not pid_alive(pid)


async def test_stop_reaches_a_double_forked_daemon(make_harness, tmp_path: Path) -> None:
    """A grandchild that left the process group (and ignores SIGTERM) is still stopped."""
    pid_file = tmp_path / "daemon.pid"
    h = await make_harness(
        {"daemon": {"command": program("double_fork", pid_file, "stay"), "stop": {"timeout": "500ms"}}}
    )
    await await_until(pid_file.exists, what="the daemon's pid file")
    grandchild = int(pid_file.read_text())
    assert pid_alive(grandchild)
    await h.supervisor.stop_service("daemon")
    stopped = await h.wait_event(ev.ServiceStopped, "daemon")
    assert stopped.killed and stopped.leftovers == 0
    assert not pid_alive(grandchild)


async def test_leftovers_of_an_exited_run_are_stopped(make_harness, tmp_path: Path) -> None:
    """When the main process exits, what it left behind is stopped (systemd's control-group mode)."""
    pid_file = tmp_path / "daemon.pid"
    h = await make_harness(
        {
            "launcher": {
                "command": program("double_fork", pid_file, "exit"),
                "restart": "on-failure",
                "stop": {"timeout": "300ms"},
            }
        }
    )
    await h.wait_state("launcher", "exited")
    await await_until(pid_file.exists, what="the daemon's pid file")
    grandchild = int(pid_file.read_text())
    await await_until(lambda: not pid_alive(grandchild), timeout=5, what="the leftover daemon to go")


async def test_crash_report_carries_stderr_tail_with_traceback(make_harness) -> None:
    """The exit event of a crash has the exit code, the run time and the traceback from stderr."""
    h = await make_harness({"worker": {"command": program("crash_later", 0.2), "restart": "never"}})
    exited = await h.wait_event(ev.ServiceExited, "worker")
    assert exited.exit_code == 1 and exited.signal is None and not exited.expected
    assert exited.runtime >= 0.2
    assert exited.stderr_tail[0] == "Traceback (most recent call last):"
    assert exited.stderr_tail[-1] == "ConnectionError: database at 10.0.0.5:5432 refused the connection"
    assert exited.argv[-2].endswith("crash_later.py")


async def test_a_command_that_cannot_start_is_reported_and_retried(make_harness, tmp_path: Path) -> None:
    """A missing executable is a failed run: reported with the reason, then backoff as usual."""
    h = await make_harness({"ghost": {"command": [str(tmp_path / "no-such-program")], **fast()}})
    exited = await h.wait_event(ev.ServiceExited, "ghost", count=2)
    assert "cannot start" in exited.stderr_tail[-1] and "No such file" in exited.stderr_tail[-1]
    assert all(e.will_restart and e.exit_code is None for e in h.of(ev.ServiceExited, "ghost"))


async def test_stderr_and_stdout_are_captured_with_stream_marks(make_harness) -> None:
    """Both streams land in the service's log file, each line stamped and marked out/err."""
    h = await make_harness({"w": {"command": program("crash_later", 0.1), "restart": "never"}})
    await h.wait_state("w", "exited")
    lines = h.supervisor.runner("w").logs.path.read_text().splitlines()
    assert any(line.endswith(" out worker ready") for line in lines)
    assert any(" err ConnectionError: database at" in line for line in lines)
