"""The command model: one typed command per verb, one typed result, whatever the front end.

The CLI (through the control socket), `svcbot shell` and Slack all build these commands and get a
`Result` back; only the rendering differs. `parse_command` validates a JSON request into a command and
`execute` runs one against the supervisor.
"""

from __future__ import annotations

import asyncio
import heapq
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from manager.logs import parse_line, read_lines, tail
from manager.supervisor import Supervisor, UnknownService

__all__ = [
    "Command",
    "CommandError",
    "Executor",
    "Logs",
    "Reload",
    "Restart",
    "Result",
    "Start",
    "Status",
    "Stop",
    "parse_command",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class Result:
    ok: bool
    message: str = ""
    data: Any = None
    code: int = EXIT_OK  # the CLI's exit code: 0 ok, 1 failed, 2 usage or config error

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "message": self.message, "data": self.data, "code": self.code}


class CommandError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Command:
    verb: ClassVar[str] = ""
    changes_state: ClassVar[bool] = False


@dataclass(frozen=True)
class Status(Command):
    verb: ClassVar[str] = "status"
    name: str | None = None


@dataclass(frozen=True)
class Start(Command):
    verb: ClassVar[str] = "start"
    changes_state: ClassVar[bool] = True
    name: str = ""


@dataclass(frozen=True)
class Stop(Command):
    verb: ClassVar[str] = "stop"
    changes_state: ClassVar[bool] = True
    name: str = ""


@dataclass(frozen=True)
class Restart(Command):
    verb: ClassVar[str] = "restart"
    changes_state: ClassVar[bool] = True
    name: str = ""


@dataclass(frozen=True)
class Logs(Command):
    """Stored lines of one service (or all, each line prefixed with its service)."""

    verb: ClassVar[str] = "logs"
    name: str | None = None
    lines: int = 50
    grep: str | None = None
    since: float | None = None  # seconds back from now
    follow: bool = False


@dataclass(frozen=True)
class Reload(Command):
    verb: ClassVar[str] = "reload"
    changes_state: ClassVar[bool] = True


COMMANDS: dict[str, type[Command]] = {c.verb: c for c in (Status, Start, Stop, Restart, Logs, Reload)}


def parse_command(request: dict[str, Any]) -> Command:
    """Build a command from a control-socket request {"verb": ..., "args": {...}}."""
    verb = request.get("verb")
    cls = COMMANDS.get(verb) if isinstance(verb, str) else None
    if cls is None:
        raise CommandError(f"unknown verb {verb!r}; known: {', '.join(sorted(COMMANDS))}")
    args = request.get("args") or {}
    if not isinstance(args, dict):
        raise CommandError("args must be an object")
    try:
        command = cls(**args)
    except TypeError as exc:
        raise CommandError(f"bad arguments for {verb}: {exc}") from None
    if cls in (Start, Stop, Restart) and not getattr(command, "name", ""):
        raise CommandError(f"{verb} needs a service name")
    if isinstance(command, Logs) and command.grep is not None:
        try:
            re.compile(command.grep)
        except re.error as exc:
            raise CommandError(f"bad --grep pattern {command.grep!r}: {exc}") from None
    return command


Reloader = Callable[[], Awaitable[Result]]


@dataclass
class Executor:
    supervisor: Supervisor
    reload: Reloader
    handlers: dict[type[Command], Callable[[Any], Awaitable[Result]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.handlers = {
            Status: self._status,
            Start: self._start,
            Stop: self._stop,
            Restart: self._restart,
            Logs: self._logs,
            Reload: lambda _: self.reload(),
        }

    async def execute(self, command: Command) -> Result:
        try:
            return await self.handlers[type(command)](command)
        except UnknownService as exc:
            return Result(False, str(exc), {"known": exc.known}, EXIT_USAGE)

    async def _status(self, cmd: Status) -> Result:
        return Result(True, data=self.supervisor.status(cmd.name))

    async def _start(self, cmd: Start) -> Result:
        runner = await self.supervisor.start_service(cmd.name)
        return _outcome(self.supervisor, cmd.name, "started", runner.state in ("running", "unhealthy"))

    async def _stop(self, cmd: Stop) -> Result:
        runner = await self.supervisor.stop_service(cmd.name)
        return _outcome(self.supervisor, cmd.name, "stopped", runner.state in ("stopped", "exited"))

    async def _restart(self, cmd: Restart) -> Result:
        runner = await self.supervisor.restart_service(cmd.name)
        return _outcome(self.supervisor, cmd.name, "restarted", runner.state in ("running", "unhealthy"))

    async def _logs(self, cmd: Logs) -> Result:
        paths = self._log_paths(cmd.name)
        lines = await asyncio.to_thread(collect_logs, paths, cmd)
        return Result(True, data={"lines": lines, "services": list(paths)})

    def _log_paths(self, name: str | None) -> dict[str, Any]:
        if name is not None:
            return {name: self.supervisor.runner(name).logs.path}
        return {n: r.logs.path for n, r in self.supervisor.runners.items()}


def _outcome(supervisor: Supervisor, name: str, verb: str, ok: bool) -> Result:
    status = supervisor.status(name)[0]
    if ok:
        return Result(True, f"{name} {verb}: {status['state']} (pid {status['pid']})", status)
    waiting = supervisor.runner(name).waiting_for if status["state"] == "waiting" else ()
    if waiting:
        detail = f" for {', '.join(waiting)} to be ready"
    else:
        detail = f", last exit: {status['last_exit']}" if status["last_exit"] else ""
    message = f"{name} is {status['state']}{detail} (see: svcbot logs {name})"
    return Result(False, message, status, EXIT_FAILED)


def collect_logs(paths: dict[str, Any], cmd: Logs) -> list[str]:
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
