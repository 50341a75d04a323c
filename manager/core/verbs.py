"""The verbs: every command a person can give svcbot, in one table.

Each entry says how the verb is written (its arguments), what it does (its one-line help), who may run it
from chat, whether it asks for a confirmation, whether it changes state, where it is offered and what
carries it out. Everything that offers verbs reads this table: the argparse CLI builds its sub-commands
from it, the Slack `/svc` grammar (and so `svcbot shell`, which speaks it) its verbs and usage lines,
`/svc help` its list, access control its roles, the buttons their rights, and tests hold manifest.yml's
slash-command hints to it. Adding a verb is one entry here plus its handler; `tests/test_verbs.py` checks
that the CLI, the shell and Slack accept exactly the verbs this table offers them.

Roles matter where the caller is a chat user. On the command line the local user is trusted: whoever can
run `svcbot` there can reach the 0600 control socket and the database anyway.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "BUTTON",
    "CLI",
    "CLI_VERBS",
    "SLASH_COMMANDS",
    "SVC",
    "SVC_VERBS",
    "VERBS",
    "Arg",
    "Role",
    "SlashCommand",
    "Verb",
    "chat_roles",
    "required_role",
    "walk",
]


class Role(enum.IntEnum):
    """What a chat user may do; a higher role may do everything a lower one may."""

    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


Surface = Literal["cli", "svc", "button"]
CLI: Surface = "cli"  # a `svcbot VERB` sub-command
SVC: Surface = "svc"  # a `/svc VERB` command, in Slack and in `svcbot shell`
BUTTON: Surface = "button"  # a button on a message svcbot posted (an alert, a digest line)

#: What carries a verb out: the running svcbot over its control socket, the database directly (with or
#: without a running svcbot), this very process, or the front end (chatops) when it is installed.
Runner = Literal["daemon", "store", "local", "frontend", "chat"]

ArgKind = Literal["service", "count", "id", "text", "user"]


@dataclass(frozen=True)
class Arg:
    """One positional argument, as usage lines show it (`NAME`, `N`, `ID`).

    `cli` says how the command line spells it: `same` (a positional, as required as in chat),
    `optional` (a positional the CLI may leave out, as `logs --all` does) or `option` (the handler adds
    it as an option instead, as `logs -n` is)."""

    name: str
    kind: ArgKind
    required: bool = True
    help: str = ""
    cli: Literal["same", "optional", "option"] = "same"

    @property
    def usage(self) -> str:
        return self.name if self.required else f"[{self.name}]"


@dataclass(frozen=True)
class Verb:
    """One verb (or one action of a verb, such as `issues resolve`)."""

    name: str
    summary: str
    args: tuple[Arg, ...] = ()
    role: Role = Role.ADMIN  # who may run it from chat; anything not reachable from chat stays ADMIN
    changes_state: bool = False  # audited, and posted to the channel when run from chat
    confirm: bool = False  # chat asks "are you sure?" first
    surfaces: frozenset[Surface] = frozenset({CLI})
    runs: Runner = "local"
    actions: tuple[Verb, ...] = ()  # sub-commands: `issues list|show|...`
    action_required: bool = False
    example: str = ""  # for a usage hint: `restart web`

    def offered(self, surface: Surface) -> bool:
        return surface in self.surfaces

    @property
    def usage(self) -> str:
        """The verb with its arguments, as `/svc help` and usage errors show it: `logs NAME [N]`."""
        return " ".join((self.name, *(arg.usage for arg in self.args)))

    def action(self, name: str) -> Verb:
        return next(a for a in self.actions if a.name == name)


@dataclass(frozen=True)
class SlashCommand:
    """A Slack slash command as manifest.yml declares it (tests hold the manifest to these)."""

    command: str
    description: str
    usage_hint: str


_NAME = Arg("NAME", "service", help="the service")
_ID = Arg("ID", "id", help="the issue's number")


def _operator(
    name: str,
    summary: str,
    args: tuple[Arg, ...],
    where: frozenset[Surface],
    runs: Runner,
    *,
    confirm: bool = False,
    example: str = "",
) -> Verb:
    """A verb that changes state and that chat users need operator rights for."""
    return Verb(name, summary, args, Role.OPERATOR, True, confirm, where, runs, example=example)


def _viewer(name: str, summary: str, args: tuple[Arg, ...], example: str) -> Verb:
    """A verb any chat user may run, on the command line and in `/svc`, by the running svcbot."""
    return Verb(name, summary, args, Role.VIEWER, surfaces=_CHAT_AND_CLI, runs="daemon", example=example)


_CHAT_AND_CLI = frozenset({CLI, SVC})
_CLI_AND_BUTTON = frozenset({CLI, BUTTON})
_BUTTON_ONLY = frozenset({BUTTON})


def _verbs() -> tuple[Verb, ...]:
    return (
        Verb(
            "help",
            "show the commands you may run",
            (),
            Role.VIEWER,
            surfaces=frozenset({SVC}),
            runs="chat",
            example="help",
        ),
        _viewer(
            "status",
            "state, pid and health of one service, or of all",
            (Arg("NAME", "service", required=False),),
            "status",
        ),
        _operator("start", "start a service", (_NAME,), _CHAT_AND_CLI, "daemon"),
        _operator(
            "stop",
            "stop a service and its whole process tree",
            (_NAME,),
            _CHAT_AND_CLI,
            "daemon",
            confirm=True,
        ),
        _operator(
            "restart",
            "stop a service, then start it again",
            (_NAME,),
            _CHAT_AND_CLI,
            "daemon",
            confirm=True,
            example="restart web",
        ),
        _viewer(
            "logs",
            "the last N lines of a service's log",
            (
                Arg("NAME", "service", cli="optional"),
                Arg("N", "count", required=False, help="how many lines", cli="option"),
            ),
            "logs web 50",
        ),
        Verb("reload", "re-read the config file; restart what changed", changes_state=True, runs="daemon"),
        Verb("run", "run the manager in the foreground"),
        Verb("check-config", "validate the config file and exit"),
        Verb(
            "feedback",
            "send feedback (stored and categorized)",
            (Arg("TEXT", "text", help="what you want to tell the team"),),
            runs="store",
        ),
        Verb(
            "issues",
            "list, show and triage issues",
            runs="store",
            actions=(
                Verb("list", "issues by priority (default: open ones)", runs="store"),
                Verb("show", "an issue with its timeline", (_ID,), runs="store"),
                _operator(
                    "resolve", "mark resolved (optionally in a version)", (_ID,), _CLI_AND_BUTTON, "store"
                ),
                _operator("ignore", "ignore an issue", (_ID,), _CLI_AND_BUTTON, "store"),
                Verb("reopen", "open an issue again", (_ID,), changes_state=True, runs="store"),
                Verb("export", "an issue as GitHub or plain markdown", (_ID,), runs="store"),
                _operator(
                    "assign",
                    "assign an issue to someone",
                    (_ID, Arg("USER", "user", help="who takes it ('-' to unassign)")),
                    _CLI_AND_BUTTON,
                    "store",
                ),
            ),
        ),
        Verb(
            "report",
            "reports: charts from the database (--html), errors in the logs",
            runs="store",
            actions=(Verb("errors", "top error patterns in the services' logs", runs="store"),),
        ),
        Verb(
            "db",
            "database maintenance",
            runs="store",
            actions=(Verb("upgrade", "apply schema migrations now", changes_state=True, runs="store"),),
            action_required=True,
        ),
        Verb("shell", "type /svc and /feedback commands as in Slack (no workspace needed)", runs="frontend"),
        Verb("digest", "print the digest, or post it to Slack now", runs="frontend"),
        _operator("ack", "acknowledge an alert: its incident stops re-alerting", (), _BUTTON_ONLY, "chat"),
        _operator("silence", "silence a service's alerts for a while", (), _BUTTON_ONLY, "chat"),
    )


VERBS: Mapping[str, Verb] = MappingProxyType({verb.name: verb for verb in _verbs()})
"""Every top-level verb by name; `/svc` verbs in the order `/svc help` lists them."""


def walk(verbs: Mapping[str, Verb] = VERBS) -> Iterator[Verb]:
    """Every verb and every action of one."""
    for verb in verbs.values():
        yield verb
        yield from verb.actions


SVC_VERBS: Mapping[str, Verb] = MappingProxyType({v.name: v for v in VERBS.values() if v.offered(SVC)})
"""The `/svc` verbs, in help order (the contract's order in docs/design.md)."""

CLI_VERBS: Mapping[str, Verb] = MappingProxyType({v.name: v for v in VERBS.values() if v.offered(CLI)})
"""The `svcbot` sub-commands, in `svcbot --help` order."""


def chat_roles() -> Mapping[str, Role]:
    """The role each chat action needs (a `/svc` verb or a button); chat offers nothing else."""
    return MappingProxyType(
        {verb.name: verb.role for verb in walk() if verb.offered(SVC) or verb.offered(BUTTON)}
    )


_CHAT_ROLES = chat_roles()


def required_role(action: str) -> Role:
    """The role `action` needs from a chat user; what chat does not offer needs ADMIN (deny by default)."""
    return _CHAT_ROLES.get(action, Role.ADMIN)


SLASH_COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand(
        "/svc",
        "Status, start, stop, restart and logs of the services svcbot runs",
        # examples, most used first; tests/test_verbs.py parses each with the /svc grammar
        " | ".join(SVC_VERBS[verb].example for verb in ("status", "restart", "logs", "help")),
    ),
    SlashCommand(
        "/feedback",
        "Tell the svcbot team what works, what breaks, what you miss",
        "[what you want to tell us]",
    ),
)
"""The slash commands, with the description and usage hint manifest.yml gives each."""
