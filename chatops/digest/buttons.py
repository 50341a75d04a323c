"""Resolve, Ignore and Assign on the issues of a digest thread.

Each is acknowledged at once, authorized like the `/svc` verb it stands for (operators and admins),
claimed once (a double click or a retried payload runs nothing twice), written to the store, audited, and
shown in place: the message is updated with a line under the issue saying who did what. A denial is
answered privately and audited too.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from chatops.digest import blocks as digest_blocks
from chatops.ui import messages
from chatops.ui.text import escape

if TYPE_CHECKING:
    from chatops.slack.app import SlackApp
    from manager.store.db import Database

__all__ = ["DigestButtons"]

log = logging.getLogger("svcbot.digest")

_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,30}")  # what a users_select returns; anything else is dropped


class DigestButtons:
    def __init__(self, slack: SlackApp, db: Database) -> None:
        self.slack = slack
        self.db = db

    def register(self) -> None:
        app = self.slack.app
        app.action(digest_blocks.ACTION_DIGEST_RESOLVE)(self.resolve)
        app.action(digest_blocks.ACTION_DIGEST_IGNORE)(self.ignore)
        app.action(digest_blocks.ACTION_DIGEST_ASSIGN)(self.assign)

    async def resolve(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        await self._triage(body, action, respond, "resolve", None)

    async def ignore(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        await self._triage(body, action, respond, "ignore", None)

    async def assign(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        chosen = str(action.get("selected_user") or "")
        if _SLACK_USER.fullmatch(chosen):
            await self._triage(body, action, respond, "assign", chosen)

    async def _triage(
        self, body: dict[str, Any], action: dict[str, Any], respond: Any, verb: str, assignee: str | None
    ) -> None:
        user = str((body.get("user") or {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id", ""))
        issue_id = digest_blocks.issue_of_block(str(action.get("block_id") or ""))
        if issue_id is None:
            return
        began = time.monotonic()
        caller = await self.slack.caller(user, channel)
        arguments: dict[str, Any] = {"issue": issue_id, **({"assignee": assignee} if assignee else {})}
        decision = self.slack.center.policy().decide(caller.user_id, caller.member_of, channel, verb)
        if not decision.allowed:
            await self.slack.center.record(
                caller, verb, arguments, f"denied: {decision.reason}", ok=False, began=began
            )
            await respond(
                text=messages.denied_text(decision.reason), response_type="ephemeral", replace_original=False
            )
            return
        message = body.get("message") or {}
        if not await self.slack.first("digest", f"{verb}:{issue_id}:{assignee}:{message.get('ts')}:{user}"):
            return
        try:
            outcome = await asyncio.to_thread(self._apply, verb, issue_id, assignee)
        except Exception as exc:
            log.warning("digest %s of issue %s failed: %s", verb, issue_id, exc)
            await self.slack.center.record(caller, verb, arguments, f"failed: {exc}", ok=False, began=began)
            await respond(
                text=f"Could not {verb} issue #{issue_id}: {escape(str(exc))}",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        await self.slack.center.record(caller, verb, arguments, outcome, ok=True, began=began)
        note = {
            "resolve": f"✅ Resolved by <@{user}>",
            "ignore": f"🔕 Ignored by <@{user}>",
            "assign": f"👤 Assigned to <@{assignee}> by <@{user}>",
        }[verb]
        blocks = digest_blocks.triaged_blocks(
            list(message.get("blocks") or []), issue_id, note, keep_buttons=verb == "assign"
        )
        await self.slack.client.chat_update(
            channel=channel,
            ts=str(message.get("ts")),
            text=str(message.get("text") or "digest"),
            blocks=blocks,
        )

    def _apply(self, verb: str, issue_id: int, assignee: str | None) -> str:
        from manager.store import queries  # noqa: PLC0415

        if verb == "assign":
            queries.assign_issue(self.db, issue_id, assignee)
            return f"assigned to {assignee}"
        queries.set_issue_status(self.db, issue_id, "resolved" if verb == "resolve" else "ignored")
        return "resolved" if verb == "resolve" else "ignored"
