"""The `/svc` grammar: slash-command text in, a validated request (plain data) out.

`/svc help|status [NAME]|start NAME|stop NAME|restart NAME|logs NAME [N]` is part of svcbot's interface
contract (docs/design.md). Parsing is pure and separate from execution so every typo gets a precise answer
(did-you-mean for verbs and services, the usage line, the arguments that were not expected) before any
permission check or I/O, and so the result can only ever be data: words are looked up in fixed tables
and the configured service names, never handed to a shell. `to_command` maps a request onto the same
command model the CLI uses.

Error messages are plain text that may echo what the user typed: escape them (`chatops.ui.text.escape`)
when rendering them into a Slack message.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from chatops.ui.text import normalize, truncate
from manager.core.commands import Command, CommandError, Logs, Status, parse_command
from manager.core.verbs import SVC_VERBS, Role, Verb

__all__ = [
    "DEFAULT_LINES",
    "MAX_LINES",
    "USAGE",
    "VERBS",
    "SvcRequest",
    "UsageError",
    "VerbSpec",
    "parse_svc",
    "to_command",
]

DEFAULT_LINES = 20
MAX_LINES = 500
_MAX_KNOWN_SHOWN = 10
_ECHO_LIMIT = 40  # how much of an unrecognized word an error message repeats
_QUOTE_CHARS = "\"'`"
_DIGITS = re.compile(r"[0-9]+")

NameArg = Literal["none", "optional", "required"]


@dataclass(frozen=True)
class SvcRequest:
    """A parsed `/svc` command: the verb, the service it names (if any), and N for `logs`."""

    verb: str
    name: str | None = None
    lines: int | None = None


class UsageError(Exception):
    """The text is not a valid `/svc` command. `message` is for the user; `suggestion` is the verb or
    service name they probably meant, when there is one."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion


@dataclass(frozen=True)
class VerbSpec:
    """One `/svc` verb: how it is written, what it does, who may run it, and what arguments it takes."""

    verb: str
    usage: str
    summary: str
    role: Role
    name_arg: NameArg
    takes_lines: bool = False

    @property
    def max_args(self) -> int:
        return (self.name_arg != "none") + self.takes_lines


def _spec(verb: Verb) -> VerbSpec:
    name = verb.args[0] if verb.args and verb.args[0].kind == "service" else None
    name_arg: NameArg = "none" if name is None else "required" if name.required else "optional"
    takes_lines = any(arg.kind == "count" for arg in verb.args)
    limits = f" (default {DEFAULT_LINES}, at most {MAX_LINES})" if takes_lines else ""
    return VerbSpec(verb.name, f"/svc {verb.usage}", verb.summary + limits, verb.role, name_arg, takes_lines)


VERBS: Mapping[str, VerbSpec] = MappingProxyType({name: _spec(verb) for name, verb in SVC_VERBS.items()})
"""The `/svc` verbs of the registry (`manager.core.verbs`) in help order, each with its usage line, summary,
required role and the arguments the grammar parses."""

USAGE = "usage: /svc " + "|".join(spec.usage.removeprefix("/svc ") for spec in VERBS.values())
"""The one-line usage of the whole command."""


def parse_svc(text: str, services: Sequence[str]) -> SvcRequest:
    """Parse `/svc` text against the configured service names; raise `UsageError` if it is not valid."""
    words = _words(normalize(text))
    if not words:
        return SvcRequest("help")
    spec = VERBS[_verb(words[0], services)]
    args = words[1:]
    if len(args) > spec.max_args:
        extra = args[spec.max_args :]
        plural = "s" if len(extra) > 1 else ""
        raise UsageError(f"unexpected argument{plural} {_quoted(extra)}\nusage: {spec.usage}")
    if spec.name_arg == "required" and not args:
        raise UsageError(f"usage: {spec.usage}")
    name = _service(args[0], services) if args else None
    if not spec.takes_lines:
        return SvcRequest(spec.verb, name)
    lines = _lines(args[1]) if len(args) > 1 else DEFAULT_LINES
    return SvcRequest(spec.verb, name, lines)


def to_command(req: SvcRequest) -> Command | None:
    """The manager command a request stands for; `help` has none (it is answered by chatops itself)."""
    if req.verb == "help":
        return None
    if req.verb == "status":
        return Status(req.name)
    name = _required_name(req)
    if req.verb == "logs":
        lines = DEFAULT_LINES if req.lines is None else req.lines
        _check_lines(lines, str(lines))
        return Logs(name, lines)
    if req.verb not in VERBS:
        raise UsageError(f"unknown command {_quoted([req.verb])}\n{USAGE}")
    try:  # the verbs left take a service name and nothing else
        return parse_command({"verb": req.verb, "args": {"name": name}})
    except CommandError as exc:
        raise UsageError(str(exc)) from None


def _words(text: str) -> list[str]:
    """Whitespace-separated words with surrounding quotes (or backticks) removed; empty ones dropped."""
    stripped = (word.strip(_QUOTE_CHARS) for word in text.split())
    return [word for word in stripped if word]


def _verb(word: str, services: Sequence[str]) -> str:
    verb = word.lower()
    if verb in VERBS:
        return verb
    if word in services:  # `/svc web`: they probably wanted its status
        suggestion: str | None = f"status {word}"
    else:
        suggestion = _closest(verb, VERBS)
    hint = f"; did you mean {_quoted([suggestion])}?" if suggestion else ""
    raise UsageError(f"unknown command {_quoted([word])}{hint}\n{USAGE}", suggestion)


def _service(word: str, services: Sequence[str]) -> str:
    if word in services:
        return word
    suggestion = _closest(word, services)
    hint = f"; did you mean {_quoted([suggestion])}?" if suggestion else "."
    raise UsageError(f"no service {_quoted([word])}{hint} {_known(services)}", suggestion)


def _closest(word: str, choices: Sequence[str] | Mapping[str, object]) -> str | None:
    """The choice `word` most likely meant: a unique case-insensitive match, else the closest spelling."""
    by_lower: dict[str, list[str]] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), []).append(choice)
    same = by_lower.get(word.lower(), [])
    if len(same) == 1:
        return same[0]
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1)
    return by_lower[close[0]][0] if close else None


def _known(services: Sequence[str]) -> str:
    if not services:
        return "No services are configured."
    shown = ", ".join(services[:_MAX_KNOWN_SHOWN])
    more = len(services) - _MAX_KNOWN_SHOWN
    return f"Known: {shown}" + (f" and {more} more" if more > 0 else "")


def _lines(word: str) -> int:
    # not int(word) alone: it accepts "+5", "1_0" and non-ASCII digits, and raises on huge digit strings
    lines = int(word) if _DIGITS.fullmatch(word) and len(word) <= 9 else 0
    _check_lines(lines, word)
    return lines


def _check_lines(lines: int, word: str) -> None:
    if not 1 <= lines <= MAX_LINES:
        raise UsageError(
            f"N is how many log lines to show, a whole number from 1 to {MAX_LINES}; got {_quoted([word])}"
        )


def _required_name(req: SvcRequest) -> str:
    if not req.name:
        raise UsageError(f"usage: {VERBS[req.verb].usage}" if req.verb in VERBS else USAGE)
    return req.name


def _quoted(words: Sequence[str]) -> str:
    return ", ".join(f"'{truncate(word, _ECHO_LIMIT)}'" for word in words)
