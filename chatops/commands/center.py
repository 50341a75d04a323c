"""The command center: `/svc` and `/feedback` for every front end (Slack and `svcbot shell`).

One path for every request: normalize and parse the text, decide access on IDs, ask for
confirmation where a command is dangerous, run the manager's typed command, audit anything that
changes state (and every denial), and answer with a `Reply` that each front end renders its own
way (Block Kit in Slack, plain text in the shell). Nothing here talks to Slack.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatops.commands.access import AccessPolicy
from chatops.commands.confirm import ConfirmError, Pending, Signer
from chatops.commands.grammar import VERBS, SvcRequest, UsageError, parse_svc, to_command
from chatops.ui import blocks, messages
from manager.core.commands import Command, Result
from manager.core.verbs import SVC_VERBS, Role
from manager.reporting.render import render_status
from manager.triage.records import Record, audit_record, feedback_record

__all__ = ["Caller", "CommandCenter", "Reply"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """Who asks, from where. `trusted` callers (the local shell, whose user can reach the 0600
    control socket anyway) are admins without a lookup."""

    user_id: str
    channel_id: str
    source: str  # "slack" or "shell"
    member_of: frozenset[str] = frozenset()
    trusted: bool = False


@dataclass(frozen=True)
class Reply:
    """An answer: `text` for a terminal and as Slack's notification fallback, `blocks` for Slack.

    `public` answers go to the channel (outcomes of state changes: the team sees who did what);
    the others only to the caller. `confirm` is set when the command waits for a confirmation."""

    text: str
    blocks: list[dict[str, Any]] | None = None
    public: bool = False
    ok: bool = True
    confirm: Pending | None = None
    confirm_value: str | None = None
    data: Any = field(default=None, compare=False)
    #: False when `text` is not Slack mrkdwn but a terminal rendering or a service's own output (logs):
    #: a terminal prints it exactly as it is.
    markup: bool = True


Execute = Callable[[Command], Awaitable[Result]]
Audit = Callable[[Record], Awaitable[None]]
FeedbackSink = Callable[[Record], Awaitable[dict[str, Any]]]


class CommandCenter:
    def __init__(
        self,
        *,
        services: Callable[[], Sequence[str]],
        policy: Callable[[], AccessPolicy],
        execute: Execute,
        audit: Audit,
        feedback: FeedbackSink,
        signer: Signer,
    ) -> None:
        self._services = services
        self._policy = policy
        self._execute = execute
        self._audit = audit
        self._feedback = feedback
        self.signer = signer

    def policy(self) -> AccessPolicy:
        """The access rules in force now (they follow config reloads)."""
        return self._policy()

    # -- /svc -----------------------------------------------------------------------------------------

    async def svc(self, caller: Caller, text: str) -> Reply:
        try:
            request = parse_svc(text, self._services())
        except UsageError as exc:
            return Reply(messages.usage_error_text(exc.message), ok=False)
        role, denied = await self._authorize(caller, request.verb, {"text": text})
        if denied is not None:
            return denied
        if request.verb == "help":
            return self._help(role)
        if SVC_VERBS[request.verb].confirm:
            return self._ask(caller, request)
        return await self._run(caller, request)

    async def confirmed(self, caller: Caller, value: str) -> Reply:
        """The Confirm button (or the shell's "y"): check the signed request, then run it."""
        try:
            pending = self.signer.check(value, caller.user_id)
        except ConfirmError as exc:
            return Reply(str(exc), ok=False)
        _, denied = await self._authorize(caller, pending.verb, {"service": pending.service})
        if denied is not None:  # rights can change between the question and the answer
            return denied
        return await self._run(caller, SvcRequest(pending.verb, pending.service))

    async def _authorize(
        self, caller: Caller, verb: str, arguments: dict[str, Any]
    ) -> tuple[Role, Reply | None]:
        if caller.trusted:
            return Role.ADMIN, None
        decision = self._policy().decide(caller.user_id, caller.member_of, caller.channel_id, verb)
        if decision.allowed:
            return decision.role, None
        reason = f"denied: {decision.reason}"
        await self.record(caller, verb, arguments, reason, ok=False, began=time.monotonic())
        return decision.role, Reply(messages.denied_text(decision.reason), ok=False)

    def _help(self, role: Role) -> Reply:
        verbs = [(VERBS[v].usage, VERBS[v].summary) for v in self._policy().allowed_verbs(role)]
        message = blocks.help_message(verbs)
        text = "\n".join(f"{usage:<24} {summary}" for usage, summary in verbs)
        return Reply(text, message.blocks)

    def _ask(self, caller: Caller, request: SvcRequest) -> Reply:
        assert request.name is not None
        value = self.signer.issue(request.verb, request.name, caller.user_id, caller.channel_id)
        pending = self.signer.check(value, caller.user_id)
        message = blocks.confirm_message(request.verb, request.name, caller.user_id, value, self.signer.ttl)
        return Reply(message.text, message.blocks, confirm=pending, confirm_value=value)

    async def _run(self, caller: Caller, request: SvcRequest) -> Reply:
        command = to_command(request)
        assert command is not None
        began = time.monotonic()
        result = await self._execute(command)
        if SVC_VERBS[request.verb].changes_state:
            await self.record(
                caller, request.verb, {"service": request.name}, result.message, ok=result.ok, began=began
            )
            return self._outcome(caller, request, result, time.monotonic() - began)
        if not result.ok:
            return Reply(messages.usage_error_text(result.message), ok=False)
        if request.verb == "status":
            message = blocks.status_message(result.data)
            return Reply(render_status(result.data), message.blocks, data=result.data, markup=False)
        lines = result.data["lines"]
        message = blocks.logs_message(request.name or "", lines, request.lines or len(lines))
        return Reply("\n".join(lines), message.blocks, data=result.data, markup=False)

    def _outcome(self, caller: Caller, request: SvcRequest, result: Result, duration: float) -> Reply:
        assert request.name is not None
        message = blocks.outcome_message(
            caller.user_id, request.verb, request.name, result.ok, result.message, duration
        )
        return Reply(result.message, message.blocks, public=True, ok=result.ok)

    async def record(
        self, caller: Caller, verb: str, arguments: dict[str, Any], result: str, *, ok: bool, began: float
    ) -> None:
        record = audit_record(
            actor=caller.user_id,
            source=caller.source,
            channel=caller.channel_id or None,
            command=verb,
            arguments=arguments,
            result=result,
            ok=ok,
            duration_ms=(time.monotonic() - began) * 1000,
        )
        try:
            await self._audit(record)
        except Exception:
            log.exception("could not record the audit entry for %s by %s", verb, caller.user_id)

    # -- /feedback ------------------------------------------------------------------------------------

    async def feedback(
        self,
        caller: Caller,
        text: str,
        *,
        category: str | None = None,
        severity: str | None = None,
        service: str | None = None,
    ) -> Reply:
        try:
            record = feedback_record(
                text,
                reporter=caller.user_id,
                source=caller.source,
                service=service,
                category=category,
                severity=severity,
            )
        except ValueError as exc:
            return Reply(messages.usage_error_text(str(exc)), ok=False)
        receipt = await self._feedback(record)
        return Reply(messages.feedback_receipt_text(receipt), data=receipt)
