"""Runs the command model (`manager.core.commands`) against the supervisor: the daemon's side of the
control socket."""

from __future__ import annotations

import asyncio
import heapq
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from manager.core import commands as c
from manager.supervision.logs import parse_line, read_lines, tail
from manager.supervision.supervisor import Supervisor, UnknownService

__all__ = ["Executor", "collect_logs"]

Reloader = Callable[[], Awaitable[c.Result]]


@dataclass
class Executor:
    supervisor: Supervisor
    reload: Reloader
    handlers: dict[type[c.Command], Callable[[Any], Awaitable[c.Result]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.handlers = {
            c.Status: self._status,
            c.Start: self._start,
            c.Stop: self._stop,
            c.Restart: self._restart,
            c.Logs: self._logs,
            c.Reload: lambda _: self.reload(),
        }

    async def execute(self, command: c.Command) -> c.Result:
        try:
            return await self.handlers[type(command)](command)
        except UnknownService as exc:
            return c.Result(False, str(exc), {"known": exc.known}, c.EXIT_USAGE)

    async def _status(self, cmd: c.Status) -> c.Result:
        return c.Result(True, data=self.supervisor.status(cmd.name))

    async def _start(self, cmd: c.Start) -> c.Result:
        runner = await self.supervisor.start_service(cmd.name)
        return _outcome(self.supervisor, cmd.name, "started", runner.state in ("running", "unhealthy"))

    async def _stop(self, cmd: c.Stop) -> c.Result:
        runner = await self.supervisor.stop_service(cmd.name)
        return _outcome(self.supervisor, cmd.name, "stopped", runner.state in ("stopped", "exited"))

    async def _restart(self, cmd: c.Restart) -> c.Result:
        runner = await self.supervisor.restart_service(cmd.name)
        return _outcome(self.supervisor, cmd.name, "restarted", runner.state in ("running", "unhealthy"))

    async def _logs(self, cmd: c.Logs) -> c.Result:
        paths = self._log_paths(cmd.name)
        lines = await asyncio.to_thread(collect_logs, paths, cmd)
        return c.Result(True, data={"lines": lines, "services": list(paths)})

    def _log_paths(self, name: str | None) -> dict[str, Any]:
        if name is not None:
            return {name: self.supervisor.runner(name).logs.path}
        return {n: r.logs.path for n, r in self.supervisor.runners.items()}


def _outcome(supervisor: Supervisor, name: str, verb: str, ok: bool) -> c.Result:
    status = supervisor.status(name)[0]
    if ok:
        return c.Result(True, f"{name} {verb}: {status['state']} (pid {status['pid']})", status)
    waiting = supervisor.runner(name).waiting_for if status["state"] == "waiting" else ()
    if waiting:
        detail = f" for {', '.join(waiting)} to be ready"
    else:
        detail = f", last exit: {status['last_exit']}" if status["last_exit"] else ""
    message = f"{name} is {status['state']}{detail} (see: svcbot logs {name})"
    return c.Result(False, message, status, c.EXIT_FAILED)


def collect_logs(paths: dict[str, Any], cmd: c.Logs) -> list[str]:
    """The last `cmd.lines` matching lines; with several services, merged by time and prefixed."""
    pattern = re.compile(cmd.grep) if cmd.grep else None
    cutoff = datetime.now(UTC) - timedelta(seconds=cmd.since) if cmd.since is not None else None
    if len(paths) == 1 and pattern is None and cutoff is None:
        return tail(next(iter(paths.values())), cmd.lines)
    streams = [_filtered(name, path, pattern, cutoff, prefix=len(paths) > 1) for name, path in paths.items()]
    merged = heapq.merge(*streams, key=lambda item: item[0])
    out = [line for _, line in merged]
    return out[-cmd.lines :] if cmd.lines > 0 else out


def _filtered(
    name: str, path: Any, pattern: re.Pattern[str] | None, cutoff: datetime | None, prefix: bool
) -> Iterator[tuple[datetime, str]]:
    last = datetime.min.replace(tzinfo=UTC)
    for line in read_lines(path):
        parsed = parse_line(line)
        at = parsed[0] if parsed else last
        last = at
        if cutoff is not None and at < cutoff:
            continue
        if pattern is not None and not pattern.search(parsed[2] if parsed else line):
            continue
        yield at, (f"{name} | {line}" if prefix else line)
