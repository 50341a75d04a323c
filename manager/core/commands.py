"""The command model: one typed command per verb, one typed result, whatever the front end.

The CLI (through the control socket), `svcbot shell` and Slack all build these commands and get a
`Result` back; only the rendering differs. `parse_command` validates a JSON request into a command.
Running one is `manager.supervision.execute`'s job: importing the model loads no supervisor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "Command",
    "CommandError",
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


@dataclass(frozen=True)
class Status(Command):
    verb: ClassVar[str] = "status"
    name: str | None = None


@dataclass(frozen=True)
class Start(Command):
    verb: ClassVar[str] = "start"
    name: str = ""


@dataclass(frozen=True)
class Stop(Command):
    verb: ClassVar[str] = "stop"
    name: str = ""


@dataclass(frozen=True)
class Restart(Command):
    verb: ClassVar[str] = "restart"
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
