"""`svcbot shell`: the Slack commands in a terminal, through the same command center.

A newcomer can try `/svc status`, `/svc restart web` (with its confirmation) and `/feedback ...`
without a Slack workspace. Commands go to the running svcbot over its control socket, feedback and
audit entries to the store. The local user is trusted as an admin: whoever can run this can reach
the 0600 control socket anyway. Replies are the text a terminal shows, not Block Kit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from chatops.commands.access import AccessPolicy
from chatops.commands.center import Caller, CommandCenter, Reply
from chatops.commands.confirm import Signer
from chatops.ui.text import SVCBOT_EMOJI
from manager.cli.control import SOCKET_NAME, ControlError, request
from manager.cli.store_verbs import local_user
from manager.config.spec import Config
from manager.core.commands import EXIT_FAILED, Command, Result
from manager.core.verbs import SVC_VERBS
from manager.triage.records import Record

__all__ = ["Shell", "run_shell", "terminal_text"]

PROMPT = "svcbot> "
HELP = (
    "Type what you would type in Slack:\n"
    f"  /svc {' | '.join(verb.usage for verb in SVC_VERBS.values())}\n"
    "  /feedback TEXT\n"
    "The /svc may be left out. quit or Ctrl-D leaves."
)


class Shell:
    def __init__(self, config: Config, ask: Callable[[str], bool]) -> None:
        self.config = config
        self._ask = ask
        self._store: Any = None
        self.caller = Caller(user_id=local_user(), channel_id="shell", source="shell", trusted=True)
        self.center = CommandCenter(
            services=lambda: config.service_names,
            policy=lambda: AccessPolicy(config.access),
            execute=self._execute,
            audit=self._audit,
            feedback=self._feedback,
            signer=Signer(secrets.token_bytes(32)),
        )

    async def _execute(self, command: Command) -> Result:
        args = {f.name: getattr(command, f.name) for f in dataclasses.fields(command)}
        path = self.config.state_dir / SOCKET_NAME
        try:
            return await asyncio.to_thread(request, path, command.verb, args)
        except ControlError as exc:
            return Result(False, str(exc), code=EXIT_FAILED)

    def store(self) -> Any:
        if self._store is None:
            from manager.store.store import Store  # noqa: PLC0415 - only when feedback or audit needs it

            self._store = Store.for_config(self.config)
        return self._store

    async def _audit(self, record: Record) -> None:
        await asyncio.to_thread(self.store().apply_now, record)

    async def _feedback(self, record: Record) -> dict[str, Any]:
        receipt = await asyncio.to_thread(self.store().add_feedback, record)
        return dict(receipt.to_dict())

    async def handle(self, line: str) -> Reply | None:
        """One line typed; None for an empty line."""
        text = line.strip()
        if not text:
            return None
        if text.startswith("/feedback"):
            return await self.center.feedback(self.caller, text.removeprefix("/feedback"))
        reply = await self.center.svc(self.caller, text.removeprefix("/svc"))
        if reply.confirm is not None and reply.confirm_value is not None:
            question = f"{reply.confirm.verb} {reply.confirm.service}? [y/N] "
            if not self._ask(question):
                return Reply("cancelled")
            reply = await self.center.confirmed(self.caller, reply.confirm_value)
        return reply

    def close(self) -> None:
        if self._store is not None:
            self._store.db.dispose()


def run_shell(config: Config, lines: Iterable[str] | None = None, out: TextIO = sys.stdout) -> int:
    """The REPL; reads stdin (with a prompt on a terminal) unless `lines` are given. Exit 1 when
    the last command failed, so `echo '/svc status' | svcbot shell` works in scripts."""
    interactive = lines is None and sys.stdin.isatty()
    source = iter(lines) if lines is not None else _stdin(interactive)
    shell = Shell(config, ask=lambda q: _confirm(q, source, interactive, out))
    if interactive:
        print(HELP, file=out)
    ok = True
    try:
        for line in source:
            if line.strip() in ("quit", "exit"):
                break
            if line.strip() in ("?", "help"):
                print(HELP, file=out)
                continue
            reply = asyncio.run(shell.handle(line))
            if reply is not None:
                print(terminal_text(reply.text) if reply.markup else reply.text, file=out, flush=True)
                ok = reply.ok
    finally:
        shell.close()
    return 0 if ok else 1


_EMOJI = re.compile(r"(?<![\w:]):([a-z0-9_+-]+):(?![\w:]) ?")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_MENTION = re.compile(r"<[@#!]([^<>|]+)(?:\|([^<>]*))?>")
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)  # Slack shows code verbatim: so does the shell


def terminal_text(text: str) -> str:
    """Slack mrkdwn as a terminal shows it: no emoji codes of svcbot's own, no bold stars, mentions as
    names, Slack's escapes undone (the text was escaped for Slack, not for a terminal). Code spans keep
    their characters; only their escapes are undone."""
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):  # the even parts are outside code spans
        part = _EMOJI.sub(lambda m: "" if m.group(1) in SVCBOT_EMOJI else m.group(0), parts[i])
        part = _BOLD.sub(r"\1", part)
        parts[i] = _MENTION.sub(lambda m: "@" + (m.group(2) or m.group(1)), part)
    return "".join(parts).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _stdin(interactive: bool) -> Iterable[str]:
    while True:
        try:
            yield input(PROMPT) if interactive else next(iter(sys.stdin.readline, ""))
        except (EOFError, StopIteration):
            return


def _confirm(question: str, source: Iterable[str], interactive: bool, out: TextIO) -> bool:
    if interactive:
        print(question, end="", file=out, flush=True)
    else:
        print(question, file=out)
    answer = next(iter(source), "")
    return answer.strip().lower() in ("y", "yes")
