"""The buttons of an alert message: Acknowledge, Silence (a modal with a duration), Restart, Logs.

Each is acknowledged at once, authorized like the `/svc` command it stands for (ack and silence need
operator rights), claimed once (double clicks), audited, and answered privately; the alert message
itself changes through the outbox (acknowledged by whom, silenced until when).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from chatops.alerting.service import AlertService
from chatops.ui import blocks, messages, modals
from manager.core.units import parse_duration

if TYPE_CHECKING:
    from chatops.slack.app import SlackApp

__all__ = ["AlertButtons", "register"]


def _value(action: dict[str, Any]) -> dict[str, str]:
    try:
        value = json.loads(str(action.get("value") or "{}"))
    except ValueError:
        return {}
    return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _who(body: dict[str, Any]) -> tuple[str, str]:
    user = str((body.get("user") or {}).get("id", ""))
    channel = str((body.get("channel") or {}).get("id", ""))
    return user, channel


class AlertButtons:
    def __init__(self, slack: SlackApp, alerts: AlertService) -> None:
        self.slack = slack
        self.alerts = alerts

    def register(self) -> None:
        app = self.slack.app
        app.action(blocks.ACTION_ALERT_ACK)(self.acknowledge)
        app.action(blocks.ACTION_ALERT_SILENCE)(self.silence_form)
        app.view(modals.SILENCE_CALLBACK)(self.silence)
        app.action(blocks.ACTION_ALERT_RESTART)(self.restart)
        app.action(blocks.ACTION_ALERT_LOGS)(self.logs)

    async def _allowed(self, user: str, channel: str, verb: str, respond: Any) -> bool:
        caller = await self.slack.caller(user, channel)
        decision = self.slack.center.policy().decide(caller.user_id, caller.member_of, channel, verb)
        if decision.allowed:
            return True
        reason = f"denied: {decision.reason}"
        await self.slack.center.record(caller, verb, {}, reason, ok=False, began=time.monotonic())
        await respond(
            text=messages.denied_text(decision.reason), response_type="ephemeral", replace_original=False
        )
        return False

    async def acknowledge(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        user, channel = _who(body)
        nid = _value(action).get("incident", "")
        if not await self._allowed(user, channel, "ack", respond):
            return
        if not await self.slack.first("ack", f"{nid}:{user}"):
            return
        began = time.monotonic()
        changed = await self.alerts.acknowledge(nid, user)
        caller = await self.slack.caller(user, channel)
        result = "acknowledged" if changed else "already acknowledged"
        await self.slack.center.record(caller, "ack", {"incident": nid}, result, ok=True, began=began)

    async def silence_form(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any
    ) -> None:
        await ack()
        user, channel = _who(body)
        if not await self._allowed(user, channel, "silence", respond):
            return
        value = _value(action)
        view = modals.silence_modal(value.get("incident", ""), value.get("service"))
        view["private_metadata"] = json.dumps({**value, "channel": channel})
        await self.slack.client.views_open(trigger_id=body["trigger_id"], view=view)

    async def silence(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id", ""))
        meta = json.loads(view.get("private_metadata") or "{}")
        duration = _chosen_duration(view)
        began = time.monotonic()
        nid = str(meta.get("incident", ""))
        services = [str(meta["service"])] if meta.get("service") else _services(self.alerts, nid)
        for service in services:
            await self.alerts.silence(service, parse_duration(duration), user)
        caller = await self.slack.caller(user, str(meta.get("channel", "")))
        arguments = {"services": services, "duration": duration}
        await self.slack.center.record(
            caller, "silence", arguments, f"silenced for {duration}", ok=True, began=began
        )

    async def restart(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        await self._svc(body, f"restart {_value(action).get('service', '')}", respond)

    async def logs(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        await self._svc(body, f"logs {_value(action).get('service', '')} 50", respond)

    async def _svc(self, body: dict[str, Any], text: str, respond: Any) -> None:
        user, channel = _who(body)
        reply = await self.slack.center.svc(await self.slack.caller(user, channel), text)
        await self.slack.send(respond, reply)


def _chosen_duration(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    block: dict[str, Any] = values.get(modals.SILENCE_DURATION_BLOCK) or {}
    chosen: dict[str, Any] = next(iter(block.values()), {})
    return str((chosen.get("selected_option") or {}).get("value") or "1h")


def register(slack: SlackApp, alerts: AlertService) -> None:
    AlertButtons(slack, alerts).register()


def _services(alerts: AlertService, nid: str) -> list[str]:
    try:
        view = alerts.policy.incident_view(nid)
    except KeyError:
        return []
    return sorted({str(s["name"]) for s in view.get("services", []) if s.get("state") == "firing"})
