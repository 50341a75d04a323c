"""The supervisor: every service's runner, dependency order, sampling, reload and shutdown.

It owns the set of runners and the rules that span services (a dependent starts once what it
depends on is ready; shutdown goes in reverse dependency order). Per-service behaviour lives in
`service.ServiceRunner`, and the decisions in the pure `states` module.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from manager.config.order import start_order
from manager.config.spec import Config, ServiceSpec
from manager.supervision import events as ev
from manager.supervision import states as st
from manager.supervision.logs import make_fifos
from manager.supervision.process import RUN_ID_VAR, Reaper, kill_tree, read_environ, wait_gone
from manager.supervision.sampler import Run, Sampler
from manager.supervision.service import Host, RunInfo, ServiceRunner
from manager.supervision.statefile import SavedRun, load_runs, matches_process, save_runs, spec_digest

__all__ = ["ReloadResult", "Supervisor", "UnknownService"]

log = logging.getLogger(__name__)

SAVE_DELAY = 0.02  # coalesce state-file writes; never on the crash -> respawn path
SPAWN_THREADS = 2  # at start-up, spawns in flight while the loop records the previous starts
SPAWN_AHEAD = 4  # ... and how many services ahead of the one being started they may be
WANTED = frozenset(
    {
        st.State.WAITING,
        st.State.STARTING,
        st.State.RUNNING,
        st.State.UNHEALTHY,
        st.State.BACKOFF,
        st.State.QUARANTINED,
    }
)


class UnknownService(LookupError):
    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(f"no service named {name!r}; known services: {', '.join(self.known) or '(none)'}")


@dataclass
class ReloadResult:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def instance_id(state_dir: Path) -> str:
    """Short, stable name of a state dir: run IDs start with it, so one svcbot never touches
    another's processes."""
    return hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:10]


class Supervisor:
    def __init__(
        self, config: Config, loop: asyncio.AbstractEventLoop, reaper: Reaper, bus: ev.EventBus
    ) -> None:
        self.config = config
        self.bus = bus
        self.host = Host(
            loop=loop,
            reaper=reaper,
            bus=bus,
            state_dir=config.state_dir,
            instance=instance_id(config.state_dir),
            base_env=dict(os.environ),
        )
        self.runners: dict[str, ServiceRunner] = {}
        self.state_path = config.state_dir / "state.json"
        self.started_at = datetime.now(UTC)
        self._sampler = Sampler()
        self._breaches: dict[tuple[str, str], bool] = {}
        self._save_handle: asyncio.TimerHandle | None = None
        self._dependents_cache: tuple[Config | None, dict[str, list[str]]] = (None, {})
        self._sample_task: asyncio.Task[None] | None = None
        self._closed = False
        make_fifos(config.state_dir, [n for level in start_order(config) for n in level])
        for spec in config.services:
            self._add_runner(spec)

    # -- lookup ---------------------------------------------------------------------------------------

    def runner(self, name: str) -> ServiceRunner:
        try:
            return self.runners[name]
        except KeyError:
            raise UnknownService(name, self.runners) from None

    def _add_runner(self, spec: ServiceSpec) -> ServiceRunner:
        runner = ServiceRunner(spec, self.host, on_change=self._on_change)
        self.runners[spec.name] = runner
        return runner

    # -- start-up -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Adopt what an earlier svcbot left running, stop its strays, then start the rest."""
        adopted = self._adopt()
        await self._sweep_strays(adopted)
        order = [self.runners[n] for level in start_order(self.config) for n in level]
        # What depends on nothing is spawned a few services ahead, in worker threads (see
        # ServiceRunner.spawn_early); it is all started in the same order as ever.
        early = deque(r for r in order if not r.spec.depends_on and _autostarts(r))
        pending: deque[ServiceRunner] = deque()
        try:
            with ThreadPoolExecutor(SPAWN_THREADS, thread_name_prefix="svcbot-spawn") as spawner:
                for runner in order:
                    while early and len(pending) < SPAWN_AHEAD:
                        pending.append(early.popleft())
                        pending[-1].spawn_early(spawner)
                    if pending and pending[0] is runner:
                        pending.popleft()
                    if _autostarts(runner):
                        self._start(runner, explicit=False)
        finally:
            for runner in order:
                runner.drop_early_spawn()
        _open_log_files(self.runners.values())
        self._sample_task = self.host.loop.create_task(self._sample_forever())

    def _adopt(self) -> set[str]:
        adopted = set()
        for saved in load_runs(self.state_path):
            runner = self.runners.get(saved.service)
            if runner is None or saved.spec_digest != spec_digest(runner.spec) or not matches_process(saved):
                continue
            started_at = datetime.fromisoformat(saved.started_at)
            age = (datetime.now(UTC) - started_at).total_seconds()
            run = RunInfo(
                pid=saved.pid,
                run_id=saved.run_id,
                start_time=saved.start_time,
                started=self.host.clock() - max(age, 0.0),
                started_at=started_at,
                adopted=True,
                pgid=_pgid(saved.pid),
            )
            runner.restarts = saved.restarts
            if runner.adopt(run):
                adopted.add(saved.run_id)
                log.info("adopted %s (pid %d) from an earlier svcbot", saved.service, saved.pid)
        return adopted

    async def _sweep_strays(self, adopted: set[str]) -> None:
        """Stop processes of this state dir's earlier runs that were not adopted (changed or
        removed services, or runs the last svcbot had no time to record)."""
        prefix = f"{RUN_ID_VAR}={self.host.instance}.".encode()
        strays = set()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            raw = read_environ(int(entry.name))
            if raw is None or prefix not in raw:  # the usual case: no need to split its environment
                continue
            tags = [v for v in raw.split(b"\0") if v.startswith(prefix)]
            if tags and tags[0].split(b"=", 1)[1].decode() not in adopted:
                strays.add(int(entry.name))
        if strays:
            log.warning(
                "stopping %d stray processes left by an earlier svcbot: %s", len(strays), sorted(strays)
            )
            kill_tree(None, strays, signal.SIGTERM)
            alive = await wait_gone(strays, 5.0)
            kill_tree(None, alive, signal.SIGKILL)

    # -- commands ---------------------------------------------------------------------------------------

    def _waiting_for(self, runner: ServiceRunner) -> tuple[str, ...]:
        return tuple(d for d in runner.spec.depends_on if self.runners[d].state != st.State.RUNNING)

    def _start(self, runner: ServiceRunner, explicit: bool) -> None:
        for dep in runner.spec.depends_on:
            dep_runner = self.runners[dep]
            if dep_runner.state not in WANTED:
                self._start(dep_runner, explicit=False)
        runner.waiting_for = self._waiting_for(runner)
        runner.feed(st.Start(explicit=explicit, deps_ready=not runner.waiting_for))

    async def start_service(self, name: str, timeout: float = 30.0) -> ServiceRunner:
        runner = self.runner(name)
        self._start(runner, explicit=True)
        await runner.wait_for(_settled_after_start, timeout)
        return runner

    async def stop_service(self, name: str, timeout: float | None = None) -> ServiceRunner:
        runner = self.runner(name)
        runner.feed(st.Stop())
        limit = timeout if timeout is not None else runner.spec.stop.timeout + 10.0
        await runner.wait_for(lambda r: r.state in (st.State.STOPPED, st.State.EXITED), limit)
        return runner

    async def restart_service(self, name: str, timeout: float = 30.0) -> ServiceRunner:
        runner = self.runner(name)
        if runner.state == st.State.WAITING or runner.state not in WANTED | {st.State.STOPPING}:
            return await self.start_service(name, timeout)
        old_run = runner.run
        runner.feed(st.Restart())
        limit = runner.spec.stop.timeout + timeout
        await runner.wait_for(lambda r: r.run is not old_run and _settled_after_start(r), limit)
        return runner

    # -- reactions --------------------------------------------------------------------------------------

    def _on_change(self, runner: ServiceRunner) -> None:
        self._schedule_save()
        if runner.state != st.State.RUNNING:
            return
        for name in self._dependents().get(runner.name, ()):
            other = self.runners.get(name)
            if other is not None and other.state == st.State.WAITING:
                other.waiting_for = self._waiting_for(other)
                if not other.waiting_for:
                    other.feed(st.DepsReady())

    def _dependents(self) -> dict[str, list[str]]:
        """Service name -> the services that depend on it, for the current config (every state
        change asks, so this is computed once per config, not once per change)."""
        config, dependents = self._dependents_cache
        if config is not self.config:
            dependents = {}
            for spec in self.config.services:
                for dep in spec.depends_on:
                    dependents.setdefault(dep, []).append(spec.name)
            self._dependents_cache = (self.config, dependents)
        return dependents

    def _schedule_save(self) -> None:
        if self._save_handle is None:
            self._save_handle = self.host.loop.call_later(SAVE_DELAY, self._save)

    def _save(self) -> None:
        self._save_handle = None
        runs = [
            SavedRun(
                service=r.name,
                pid=r.run.pid,
                start_time=r.run.start_time,
                run_id=r.run.run_id,
                spec_digest=spec_digest(r.spec),
                started_at=r.run.started_at.isoformat(),
                restarts=r.restarts,
            )
            for r in self.runners.values()
            if r.run is not None
        ]
        try:
            save_runs(self.state_path, runs)
        except OSError:
            log.exception("cannot write the state file %s", self.state_path)

    # -- sampling ---------------------------------------------------------------------------------------

    async def _sample_forever(self) -> None:
        while True:
            await self.sample_once()
            await asyncio.sleep(self.config.sample_interval)

    async def sample_once(self) -> None:
        runs = [Run(r.name, r.run.pid, r.run.run_id) for r in self.runners.values() if r.run is not None]
        if not runs:
            return
        samples = await asyncio.to_thread(self._sampler.sample, runs)
        for name, sample in samples.items():
            runner = self.runners.get(name)
            if runner is not None and runner.run is not None:
                runner.last_sample = sample
                self._check_limits(runner, sample)

    def _check_limits(self, runner: ServiceRunner, sample: ev.ResourceSample) -> None:
        limits = runner.spec.limits
        for resource, value, limit in (
            ("memory", float(sample.rss), limits.memory),
            ("cpu", sample.cpu_percent, limits.cpu),
        ):
            key = (runner.name, resource)
            over = limit is not None and value > limit
            if over and not self._breaches.get(key):
                self.bus.publish(
                    ev.ResourceBreach(
                        service=runner.name,
                        run_id=runner.run.run_id if runner.run else "",
                        resource=resource,
                        value=value,
                        limit=float(limit or 0),
                        action=limits.on_breach,
                        sample=sample,
                    )
                )
                if limits.on_breach == "restart":
                    runner.feed(st.FailRestart())
            self._breaches[key] = over

    # -- reload and shutdown ------------------------------------------------------------------------------

    async def reload(self, new: Config) -> ReloadResult:
        """Apply a validated config: restart changed services, start added ones, stop removed ones."""
        result = ReloadResult()
        old_specs = {s.name: s for s in self.config.services}
        new_specs = {s.name: s for s in new.services}
        result.removed = [n for n in old_specs if n not in new_specs]
        result.added = [n for n in new_specs if n not in old_specs]
        result.changed = [n for n in new_specs if n in old_specs and old_specs[n] != new_specs[n]]
        result.unchanged = [n for n in new_specs if n in old_specs and old_specs[n] == new_specs[n]]
        wanted = {n for n in result.changed if self.runners[n].state in WANTED | {st.State.STOPPING}}
        await self._stop_in_order(self.config, result.removed + result.changed)
        for name in result.removed + result.changed:
            self.runners.pop(name).close()
        self.config = new
        for name in result.unchanged:  # only fields that do not affect how it runs may differ
            self.runners[name].spec = new_specs[name]
        for name in result.added + result.changed:
            self._add_runner(new_specs[name])
        for name in [n for level in start_order(new) for n in level]:
            if (name in result.added and new_specs[name].autostart) or name in wanted:
                self._start(self.runners[name], explicit=False)
        _open_log_files(self.runners[n] for n in result.added + result.changed)
        self._schedule_save()
        return result

    async def _stop_in_order(self, config: Config, names: Iterable[str]) -> None:
        chosen = set(names)
        for level in reversed(start_order(config)):
            batch = [self.runners[n] for n in level if n in chosen and n in self.runners]
            await asyncio.gather(
                *(self.stop_service(r.name) for r in batch if r.run is not None or r.state in WANTED)
            )

    async def shutdown(self) -> None:
        """Stop every service, dependents before what they depend on. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._sample_task is not None:
            self._sample_task.cancel()
        await self._stop_in_order(self.config, self.runners)
        if self._save_handle is not None:
            self._save_handle.cancel()
        self._save()
        for runner in self.runners.values():
            runner.close()

    # -- views --------------------------------------------------------------------------------------------

    def status(self, name: str | None = None) -> list[dict[str, object]]:
        runners = [self.runner(name)] if name else list(self.runners.values())
        return [service_status(r, self.host.clock()) for r in runners]


def _autostarts(runner: ServiceRunner) -> bool:
    return runner.spec.autostart and runner.state in (st.State.STOPPED, st.State.EXITED)


def _open_log_files(runners: Iterable[ServiceRunner]) -> None:
    """Create the log files once the services are started, not before (see `logs.LogFile`)."""
    for runner in runners:
        runner.logs.file.open()


def _settled_after_start(runner: ServiceRunner) -> bool:
    return runner.state not in (st.State.STARTING, st.State.WAITING, st.State.STOPPING)


def _pgid(pid: int) -> int | None:
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return None
    return pgid if pgid == pid else None


def service_status(runner: ServiceRunner, now: float) -> dict[str, object]:
    """A JSON-ready view of one service, as `svcbot status --json` prints it."""
    run = runner.run
    sample = runner.last_sample if run is not None else None
    check = runner.last_check
    last = runner.last_exit
    return {
        "name": runner.name,
        "state": str(runner.state),
        "pid": run.pid if run else None,
        "uptime": round(now - run.started, 3) if run else None,
        "restarts": runner.restarts,
        "health": _health_word(runner),
        "health_output": check.output if check else None,
        # The last check of the current run (for /metrics): its Nagios status name and its duration.
        "health_check_result": (check.status or "UNKNOWN") if check and run else None,
        "health_check_duration": round(check.duration, 6) if check and run else None,
        "cpu_percent": round(sample.cpu_percent, 1) if sample else None,
        "rss": sample.rss if sample else None,
        "threads": sample.threads if sample else None,
        "open_files": sample.open_files if sample else None,
        "processes": sample.processes if sample else None,
        "version": runner.version,
        "waiting_for": list(runner.waiting_for) if runner.state == st.State.WAITING else [],
        "last_exit": last.status_text if last else None,
        "adopted": bool(run and run.adopted),
        "log_file": str(runner.logs.path),
    }


def _health_word(runner: ServiceRunner) -> str:
    if runner.spec.health is None:
        return "-"
    if runner.run is None:
        return "-"
    return {True: "healthy", False: "unhealthy", None: "pending"}[runner.healthy]
