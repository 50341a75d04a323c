"""The Bolt app: Slack's requests in, the command center's replies out.

Every listener acknowledges at once (Slack gives three seconds) and does the work after the ack,
on a bounded number of concurrent tasks, so a slow restart never delays another user's ack. A
request is claimed by an idempotency key before it runs: Slack retries, people double-click.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from chatops.commands.access import GroupMembership
from chatops.commands.center import Caller, CommandCenter, Reply
from chatops.commands.confirm import ConfirmError
from chatops.http.server import AckGate
from chatops.slack.settings import SlackSettings
from chatops.ui import blocks, messages, modals

__all__ = ["SlackApp", "make_client"]

log = logging.getLogger(__name__)

MAX_CONCURRENT = 8  # commands running at once; acks are never behind this
Claim = Callable[[str, str], Awaitable[bool]]


class _TokenFromClient(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and then warns that the client's token
    wins, which is what svcbot wants (the client carries SLACK_API_URL): not worth a line at start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_BOLT_LOG = logging.getLogger("svcbot.slack")
_BOLT_LOG.addFilter(_TokenFromClient())


def make_client(settings: SlackSettings) -> AsyncWebClient:
    """The Web API client: SLACK_API_URL as its base, Retry-After honoured on 429s."""
    client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url, timeout=10)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=5))
    return client


class SlackApp:
    def __init__(
        self,
        settings: SlackSettings,
        center: CommandCenter,
        *,
        claim: Claim,
        groups: Callable[[], frozenset[str]],
        services: Callable[[], Sequence[str]],
        client: AsyncWebClient | None = None,
    ) -> None:
        self.settings = settings
        self.center = center
        self.client = client or make_client(settings)
        self._claim = claim
        self._groups = groups
        self._services = services
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        self.gate = AckGate()
        self.membership = GroupMembership(self._fetch_group)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.signing_secret,
            request_verification_enabled=not settings.socket_mode,
            process_before_response=False,
            logger=_BOLT_LOG,
        )
        self._register()

    def _register(self) -> None:
        self.app.command("/svc")(self._svc)
        self.app.command("/feedback")(self._feedback)
        self.app.action(blocks.ACTION_CONFIRM)(self._confirm)
        self.app.action(blocks.ACTION_CANCEL)(self._cancel)
        self.app.view(modals.FEEDBACK_CALLBACK)(self._feedback_submit)

    # -- helpers --------------------------------------------------------------------------------------

    async def _fetch_group(self, group: str) -> list[str]:
        response = await self.client.usergroups_users_list(usergroup=group)
        return list(response.get("users") or [])

    async def caller(self, user_id: str, channel_id: str) -> Caller:
        member_of = await self.membership.member_of(user_id, self._groups())
        return Caller(user_id=user_id, channel_id=channel_id, source="slack", member_of=member_of)

    async def first(self, kind: str, key: str) -> bool:
        if await self._claim(f"{kind}:{key}", kind):
            return True
        log.info("ignoring a repeated %s (%s)", kind, key)
        return False

    @staticmethod
    async def send(respond: Any, reply: Reply, *, replace: bool = False) -> None:
        kwargs: dict[str, Any] = {
            "text": reply.text if not reply.blocks else _fallback(reply.text),
            "response_type": "in_channel" if reply.public else "ephemeral",
        }
        if reply.blocks:
            kwargs["blocks"] = reply.blocks
        if replace:
            kwargs["replace_original"] = True
        await respond(**kwargs)

    # -- /svc -----------------------------------------------------------------------------------------

    async def _svc(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await self.gate.after_acks()
        if not await self.first("command", str(body.get("trigger_id") or "")):
            return
        async with self._slots:
            caller = await self.caller(str(body.get("user_id", "")), str(body.get("channel_id", "")))
            reply = await self.center.svc(caller, str(body.get("text", "")))
        await self.send(respond, reply)

    async def _confirm(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        await self.gate.after_acks()
        value = str(action.get("value", ""))
        user = str((body.get("user") or {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id", ""))
        try:
            pending = self.center.signer.check(value, user)
        except ConfirmError as exc:  # someone else's, expired or forged: it claims nothing
            await respond(
                text=messages.usage_error_text(str(exc)), response_type="ephemeral", replace_original=False
            )
            return
        if not await self.first("confirm", pending.nonce):  # runs once, however often it is clicked
            return
        async with self._slots:
            await respond(text=messages.working_text(), replace_original=True)
            reply = await self.center.confirmed(await self.caller(user, channel), value)
        if reply.public:
            await respond(delete_original=True)
        await self.send(respond, reply)

    async def _cancel(self, ack: Any, respond: Any) -> None:
        await ack()
        await respond(delete_original=True)

    # -- /feedback ------------------------------------------------------------------------------------

    async def _feedback(self, ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await ack()
        text = str(body.get("text", "")).strip()
        user, channel = str(body.get("user_id", "")), str(body.get("channel_id", ""))
        if not text:
            metadata = json.dumps({"channel": channel})
            view = modals.feedback_modal(list(self._services()), metadata)
            await client.views_open(trigger_id=body["trigger_id"], view=view)
            return
        if not await self.first("command", str(body.get("trigger_id") or "")):
            return
        async with self._slots:
            reply = await self.center.feedback(await self.caller(user, channel), text)
        await self.send(respond, reply)

    async def _feedback_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        fields = _view_values(view)
        errors = modals.feedback_errors(fields.get("description") or "")
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        if not await self.first("view", str(view.get("id", "")) + ":" + str(view.get("hash", ""))):
            return
        user = str((body.get("user") or {}).get("id", ""))
        channel = str(json.loads(view.get("private_metadata") or "{}").get("channel", ""))
        caller = await self.caller(user, channel)
        reply = await self.center.feedback(
            caller,
            fields.get("description") or "",
            category=fields.get("category"),
            severity=fields.get("severity"),
            service=fields.get("service"),
        )
        target = channel or user
        await self.client.chat_postEphemeral(channel=target, user=user, text=reply.text)


def _view_values(view: dict[str, Any]) -> dict[str, str | None]:
    """block_id -> the submitted value (text input or selected option), None when empty."""
    out: dict[str, str | None] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for element in actions.values():
            selected = element.get("selected_option")
            value = selected.get("value") if selected else element.get("value")
            out[block_id] = value or None
    return out


def _fallback(text: str) -> str:
    return text if len(text) <= 300 else text[:297] + "..."
