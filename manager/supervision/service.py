"""One service's runner: carries out what `states.step` decides, and feeds it what happens.

The runner is the imperative shell around the pure state machine: it spawns, signals, keeps timers,
runs the health check loop and turns process exits into inputs and domain events. All of it runs on
the event loop; nothing here blocks or waits for the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
import secrets
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from manager.config.spec import HealthSpec, ServiceSpec
from manager.supervision import events as ev
from manager.supervision import states as st
from manager.supervision.health import CheckResult, describe, run_check
from manager.supervision.logs import ServiceLogs
from manager.supervision.process import (
    RUN_ID_VAR,
    SERVICE_VAR,
    ExitStatus,
    Reaper,
    find_tagged,
    group_exists,
    kill_tree,
    own_children,
    pidfd_exit,
    process_start_time,
    spawn,
    wait_gone,
)
from manager.supervision.version_command import run_version_command

__all__ = ["Host", "RunInfo", "ServiceRunner"]

log = logging.getLogger(__name__)

KILL_GRACE = 5.0  # after SIGKILL, how long to wait for the tree to disappear before giving up
START_PROBE_INTERVAL = 0.2  # health probes while a service has not passed its check yet
# svcbot's own credentials never reach the services it runs.
PRIVATE_ENV_PREFIXES = ("SLACK_", "SVCBOT_", "SENTRY_")
_TAGS = (SERVICE_VAR, RUN_ID_VAR)
# Spawns a run's process: the process and its start time, or the OSError that spawning raised.
_Spawned = tuple["subprocess.Popen[bytes]", int | None] | OSError
_Start = Callable[[], _Spawned]


@dataclass
class Host:
    """What every runner shares: the loop, the reaper, the bus, the clocks, the state dir."""

    loop: asyncio.AbstractEventLoop
    reaper: Reaper
    bus: ev.EventBus
    state_dir: Path
    instance: str  # identifies this state dir in run IDs
    clock: Callable[[], float] = time.monotonic
    rand: Callable[[], float] = random.random
    base_env: dict[str, str] = field(default_factory=dict)


@dataclass
class RunInfo:
    """One run of a service's main process."""

    pid: int
    run_id: str
    start_time: int | None  # /proc start time in ticks: with the PID, the process's identity
    started: float  # monotonic
    started_at: datetime  # wall clock, UTC
    adopted: bool = False
    pgid: int | None = None


def service_env(host: Host, spec: ServiceSpec, run_id: str) -> dict[str, str]:
    env = {k: v for k, v in host.base_env.items() if not k.startswith(PRIVATE_ENV_PREFIXES)}
    env.update(spec.env)
    env[SERVICE_VAR] = spec.name
    env[RUN_ID_VAR] = run_id
    return env


class ServiceRunner:
    _counter = itertools.count(1)

    def __init__(
        self, spec: ServiceSpec, host: Host, on_change: Callable[[ServiceRunner], None] | None = None
    ) -> None:
        self.spec = spec
        self.host = host
        self.policy = st.Policy.from_spec(spec)
        self.machine = st.Machine()
        self.logs = ServiceLogs(spec.name, host.state_dir, spec.logs)
        self.run: RunInfo | None = None
        self.restarts = 0
        self.last_exit: ev.ServiceExited | None = None
        self.last_sample: ev.ResourceSample | None = None
        self.last_check: CheckResult | None = None
        self.healthy: bool | None = None
        self.reported_version: str | None = None  # what version_command said at the latest start
        self.waiting_for: tuple[str, ...] = ()
        self._on_change = on_change
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._inputs: deque[st.Input] = deque()
        self._busy = False
        self._health_task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stop_began: float | None = None
        self._killed = False
        self._early_spawn: tuple[str, _Start] | None = None
        self.logs.start(host.loop)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str | None:
        """The version `version_command` reported, else the configured one."""
        return self.reported_version or self.spec.version

    @property
    def state(self) -> st.State:
        return self.machine.state

    # -- feeding the state machine ------------------------------------------------------------------

    def feed(self, event: st.Input) -> None:
        """Queue an input and run the machine; inputs raised while applying actions queue behind."""
        self._inputs.append(event)
        self._drain()

    def _drain(self) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            while self._inputs:
                self._step(self._inputs.popleft())
        finally:
            self._busy = False

    def _step(self, event: st.Input) -> None:
        before = self.machine
        ctx = st.Context(self.policy, self.host.clock(), self.host.rand())
        self.machine, actions = st.step(before, event, ctx)
        for action in actions:
            self._apply(action, before)
        if self.machine.state != before.state:
            self._publish(
                ev.ServiceStateChanged(
                    service=self.name, run_id=self._run_id, old=before.state, new=self.machine.state
                )
            )
            self._changed.set()
            self._changed = asyncio.Event()
            if self._on_change is not None:
                self._on_change(self)

    def _apply(self, action: st.Action, before: st.Machine) -> None:
        if action.kind == "spawn":
            self._spawn(automatic=before.state in st.PENDING_RESTART)
        elif action.kind == "signal_stop":
            self._stop_began = self.host.clock()
            self._killed = False
            self._signal(self.spec.stop.signal)
        elif action.kind == "kill":
            self._killed = True
            self._signal(signal.SIGKILL)
        elif action.kind == "set_timer" and action.timer is not None:
            self._cancel_timer(action.timer)
            self._timers[action.timer] = self.host.loop.call_later(
                action.delay, self.feed, st.TimerFired(action.timer)
            )
        elif action.kind == "cancel_timer" and action.timer is not None:
            self._cancel_timer(action.timer)
        elif action.kind == "notify":
            self._notify(action.note)

    def _cancel_timer(self, timer: str) -> None:
        handle = self._timers.pop(timer, None)
        if handle is not None:
            handle.cancel()

    def _notify(self, note: str) -> None:
        if note == "crash_loop":
            last = self.last_exit
            self._publish(
                ev.CrashLoop(
                    service=self.name,
                    run_id=self._run_id,
                    exits=len(self.machine.restart_times),
                    interval=self.policy.interval,
                    retry_in=self.policy.quarantine_retry,
                    last_exit=last.status_text if last else "",
                    stderr_tail=last.stderr_tail if last else (),
                )
            )
        elif note.startswith("crash_loop_ended:"):
            reason = note.partition(":")[2]
            self._publish(ev.CrashLoopEnded(service=self.name, run_id=self._run_id, reason=reason))

    @property
    def _run_id(self) -> str:
        return self.run.run_id if self.run else ""

    def _publish(self, event: ev.Event) -> None:
        self.host.bus.publish(event)

    # -- spawning -----------------------------------------------------------------------------------

    def _new_run_id(self) -> str:
        return f"{self.host.instance}.{self.name}.{next(self._counter)}.{secrets.token_hex(4)}"

    def _prepare_spawn(self) -> tuple[str, _Start]:
        """A new run ID, and the call that spawns that run: it needs no event loop, so it may run
        in another thread (see `spawn_early`); what the FIFOs raise, it raises."""
        run_id = self._new_run_id()
        argv, cwd, env = self.spec.argv, self.spec.cwd, service_env(self.host, self.spec, run_id)

        def start() -> _Spawned:
            out_fd, err_fd = self.logs.child_fds()
            try:
                popen = spawn(argv, cwd=cwd, env=env, stdout=out_fd, stderr=err_fd)
            except OSError as exc:
                return exc
            finally:
                os.close(out_fd)
                os.close(err_fd)
            return popen, process_start_time(popen.pid)  # our child: its PID is ours until reaped

        return run_id, start

    def spawn_early(self, executor: Executor) -> None:
        """Spawn the process of the next `spawn` action now, in one of `executor`'s threads.

        At start-up the supervisor spawns services this way a few ahead of the one it is starting:
        opening the FIFOs and waiting for the child's exec (a millisecond, far more on a busy
        machine) then overlap with the bookkeeping of the previous start, on another core. The run
        itself (its record, events, log line, the reaper's watch) still begins when the state
        machine spawns, in the same order as ever; and the loop does not run in between, so no exit
        can be reaped before it is watched."""
        if self._early_spawn is None:
            run_id, start = self._prepare_spawn()
            self._early_spawn = (run_id, executor.submit(start).result)

    def drop_early_spawn(self) -> None:
        """Kill the process of an early spawn that no spawn action took, and leave it to the reaper.
        (Start-up only spawns early the services it then starts: this is a safety net.)"""
        early, self._early_spawn = self._early_spawn, None
        if early is None:
            return
        with contextlib.suppress(Exception):  # it is already the way out of an error, if any
            spawned = early[1]()
            if not isinstance(spawned, OSError):
                popen = spawned[0]
                kill_tree(popen.pid, [popen.pid], signal.SIGKILL)
                self.host.reaper.watch(popen)

    def _spawn(self, automatic: bool) -> None:
        early, self._early_spawn = self._early_spawn, None
        run_id, start = early if early is not None else self._prepare_spawn()
        spawned = start()
        self.logs.attach()
        if isinstance(spawned, OSError):
            self._spawn_failed(spawned)
            return
        popen, start_time = spawned
        if automatic:
            self.restarts += 1
        now = datetime.now(UTC)
        self.run = run = RunInfo(popen.pid, run_id, start_time, self.host.clock(), now, pgid=popen.pid)
        self.host.reaper.watch(popen).add_done_callback(lambda fut: self._on_exit(run, fut.result()))
        self._started(run)

    def _started(self, run: RunInfo) -> None:
        self.healthy = None
        self.last_check = None
        self._publish(
            ev.ServiceStarted(
                service=self.name,
                run_id=run.run_id,
                pid=run.pid,
                version=self.version,
                argv=self.spec.argv,
                restarts=self.restarts,
                adopted=run.adopted,
            )
        )
        if self.spec.version_command:
            self._spawn_task(self._ask_version(run))
        if self.spec.health is None:
            self._inputs.append(st.Ready())
        else:
            self._health_task = self._spawn_task(self._health_loop(run, self.spec.health))

    async def _ask_version(self, run: RunInfo) -> None:
        """Run `version_command` next to the service; a version unlike the last one is published."""
        # Not tagged as the run's: a leftover scan must never take it for one of the service's processes.
        env = {k: v for k, v in service_env(self.host, self.spec, run.run_id).items() if k not in _TAGS}
        found = await run_version_command(
            self.name, self.spec.version_command, self.spec.cwd, env, self.host.reaper
        )
        if found is None:
            return
        previous, self.reported_version = self.version, found
        if found != previous:
            self._publish(
                ev.ServiceVersion(service=self.name, run_id=run.run_id, version=found, previous=previous)
            )

    def _spawn_failed(self, exc: OSError) -> None:
        """Treat a failed exec like a run that crashed at once (on the next loop turn, as an exit)."""
        message = f"svcbot: cannot start {self.spec.argv[0]!r} in {self.spec.cwd}: {exc.strerror or exc}"
        log.error("%s: %s", self.name, message)
        self.logs.stderr_tail.append(message)
        self.host.loop.call_soon(self._exited, None, ExitStatus(None, None))

    def adopt(self, run: RunInfo) -> bool:
        """Take over a process a previous svcbot started (PID and start time already verified)."""
        self.logs.attach()  # its output waits in the FIFOs
        exited = pidfd_exit(self.host.loop, run.pid)
        if exited is None:
            return False
        self.run = run
        exited.add_done_callback(lambda _: self._on_exit(run, ExitStatus(None, None)))
        self.feed(st.Adopted())
        self._started(run)
        self._drain()
        return True

    # -- signals and exits --------------------------------------------------------------------------

    def _signal(self, sig: int) -> None:
        run = self.run
        if run is None:
            return
        tagged = find_tagged([run.run_id])
        kill_tree(run.pgid, [run.pid, *tagged], sig)

    def _on_exit(self, run: RunInfo, status: ExitStatus) -> None:
        if self.run is not run:
            return
        self.logs.drain()
        self._stop_health()
        if self.machine.state == st.State.STOPPING:
            self._spawn_task(self._finish_stop(run, status))
            return
        self.run = None
        self._exited(run, status)
        self._spawn_task(self._reap_leftovers(run))

    def _exited(self, run: RunInfo | None, status: ExitStatus) -> None:
        self.feed(st.Exited(failed=status.failed))
        will_restart = self.machine.state in st.PENDING_RESTART
        self.last_exit = self._exit_event(run, status, expected=False, will_restart=will_restart)
        self._publish(self.last_exit)

    async def _finish_stop(self, run: RunInfo, status: ExitStatus) -> None:
        """The main process is gone; the stop is complete when the rest of the tree is too.

        As after a crash, the usual case (the group is empty, no unknown orphan came back to us)
        needs no scan of /proc: stopping 100 services at shutdown no longer scans it 100 times."""
        members = self._members(run) if self._may_have_leftovers(run) else set()
        deadline = self.policy.stop_timeout + KILL_GRACE - (self.host.clock() - (self._stop_began or 0.0))
        alive = await wait_gone(members, deadline) if members else set()
        if alive:
            log.error("%s: %d processes survived SIGKILL: %s", self.name, len(alive), sorted(alive))
        killed = self._killed
        self.run = None
        self.feed(st.Exited(failed=status.failed))
        self.last_exit = self._exit_event(run, status, expected=True)
        self._publish(self.last_exit)
        self._publish(
            ev.ServiceStopped(service=self.name, run_id=run.run_id, killed=killed, leftovers=len(alive))
        )

    async def _reap_leftovers(self, run: RunInfo) -> None:
        """After an unexpected exit, stop what the run left behind (systemd's control-group mode).

        This runs between a crash and the respawn, so the usual case (nothing left: the group is
        empty and no unknown orphan came back to us) costs two syscalls, not a scan of /proc.
        """
        if not self._may_have_leftovers(run):
            return
        members = self._members(run)
        if not members:
            return
        log.info("%s: stopping %d leftover processes of the exited run", self.name, len(members))
        kill_tree(run.pgid, members, self.spec.stop.signal)
        alive = await wait_gone(members, self.spec.stop.timeout)
        if alive:
            kill_tree(run.pgid, alive, signal.SIGKILL)
            await wait_gone(alive, KILL_GRACE)

    def _may_have_leftovers(self, run: RunInfo) -> bool:
        if run.adopted or (run.pgid is not None and group_exists(run.pgid)):
            return True
        return bool(own_children() - self.host.reaper.watched)

    def _members(self, run: RunInfo) -> set[int]:
        """Live processes of a run: its process group and everything carrying its tag."""
        members = set(find_tagged([run.run_id]))
        if run.pgid is not None:
            members.update(_group_members(run.pgid))
        members.discard(os.getpid())
        return members

    def _exit_event(
        self,
        run: RunInfo | None,
        status: ExitStatus,
        *,
        expected: bool,
        will_restart: bool = False,
    ) -> ev.ServiceExited:
        return ev.ServiceExited(
            service=self.name,
            run_id=run.run_id if run else "",
            pid=run.pid if run else 0,
            exit_code=status.code,
            signal=status.signal,
            expected=expected,
            runtime=self.host.clock() - run.started if run else 0.0,
            stderr_tail=tuple(self.logs.stderr_tail),
            last_sample=self.last_sample,
            version=self.version,
            argv=self.spec.argv,
            cwd=str(self.spec.cwd),
            will_restart=will_restart,
        )

    # -- health -------------------------------------------------------------------------------------

    async def _health_loop(self, run: RunInfo, spec: HealthSpec) -> None:
        """Probe forever; a failure counts at most once per interval, so the fast probing done
        while a service starts only speeds up noticing that it is ready."""
        env = service_env(self.host, self.spec, run.run_id)
        started = self.host.clock()
        failures = 0
        next_count = started + spec.grace
        while self.run is run:
            result = await run_check(spec, self.host.reaper, self.spec.cwd, env)
            if self.run is not run:
                return
            self.last_check = result
            now = self.host.clock()
            if result.ok:
                failures = 0
                self._health_ok(run, spec, result)
            elif now >= next_count:
                failures += 1
                next_count = now + spec.interval * 0.9
                if failures >= spec.failures:
                    self._health_failed(run, spec, result, failures)
            fast = self.healthy is None
            await asyncio.sleep(min(spec.interval, START_PROBE_INTERVAL) if fast else spec.interval)

    def _health_ok(self, run: RunInfo, spec: HealthSpec, result: CheckResult) -> None:
        if self.healthy is True:
            return
        if self.healthy is False:
            self._publish(self._health_event(run, spec, result, True, 0))
        self.healthy = True
        self.feed(st.Ready())

    def _health_failed(self, run: RunInfo, spec: HealthSpec, result: CheckResult, failures: int) -> None:
        if self.healthy is False:
            return
        self.healthy = False
        self._publish(self._health_event(run, spec, result, False, failures))
        self.feed(st.Unhealthy())
        if spec.on_unhealthy == "restart":
            self.feed(st.FailRestart())

    def _health_event(
        self, run: RunInfo, spec: HealthSpec, result: CheckResult, healthy: bool, failures: int
    ) -> ev.HealthChanged:
        return ev.HealthChanged(
            service=self.name,
            run_id=run.run_id,
            healthy=healthy,
            check=describe(spec),
            output=result.output,
            failures=failures,
            status=result.status,
        )

    def _stop_health(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            self._health_task = None

    # -- helpers --------------------------------------------------------------------------------------

    def _spawn_task(self, coro: Any) -> asyncio.Task[Any]:
        task = self.host.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.host.loop.call_exception_handler(
                {
                    "message": f"task of service {self.name} failed",
                    "exception": task.exception(),
                    "task": task,
                }
            )

    async def wait_for(self, predicate: Callable[[ServiceRunner], bool], timeout: float) -> bool:
        """Wait until predicate(self) holds after a state change, or the timeout passes."""
        loop = self.host.loop
        deadline = loop.time() + timeout
        while not predicate(self):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True

    def close(self) -> None:
        for timer in list(self._timers):
            self._cancel_timer(timer)
        self._stop_health()
        for task in list(self._tasks):
            task.cancel()
        self.logs.close()


def _group_members(pgid: int) -> set[int]:
    members = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2 :].split(maxsplit=3)
        if int(fields[2]) == pgid and fields[0] != b"Z":
            members.add(int(entry.name))
    return members
