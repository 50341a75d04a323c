"""Alerts from the manager's events to Slack: policy decisions, outbox, paced delivery, buttons.

The bus handler only queues the event (it runs on the supervision path). One task turns events into
signals, asks the policy what to say, writes that to the outbox table first, then has it delivered
from the table by one sender task per channel: at most about one message per second per channel,
each channel in order, retrying while Slack is down or rate limiting, so nothing is lost and nothing
arrives out of order. A channel's wait (its pace, a Retry-After, a retry, a slow Slack) holds up
neither the other channels nor the decisions. The policy's state (incidents, silences, message
timestamps) is saved in the database after changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from chatops.alerting.model import Action, Post, Reply, Signal, Suppressed, Update
from chatops.alerting.pacing import ChannelPacer
from chatops.alerting.policy import AlertPolicy
from chatops.alerting.signals import signal_for
from chatops.ui import blocks
from chatops.ui.text import escape
from manager.config.spec import Config
from manager.store import alert_outbox as outbox
from manager.supervision import events as ev

if TYPE_CHECKING:
    from manager.store.store import Store

__all__ = ["AlertService"]

log = logging.getLogger("svcbot.alerts")

STATE_NAME = "alert_policy"
RETRY_MIN, RETRY_MAX = 1.0, 60.0
PERMANENT_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "invalid_blocks", "msg_too_long"}
)
IDLE_WAKE = 30.0


class AlertService:
    def __init__(
        self,
        config: Callable[[], Config],
        store: Store,
        client: AsyncWebClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._store = store
        self._client = client
        self._clock = clock
        self._events: asyncio.Queue[ev.Event] = asyncio.Queue(maxsize=100_000)
        self._signals: deque[Signal] = deque(maxlen=100_000)  # from outside monitoring (Alertmanager)
        self._back = asyncio.Event()  # set (and replaced) when Slack answers again after an outage
        self._wake = asyncio.Event()
        self._pacer = ChannelPacer()
        self._retry: dict[int, float] = {}  # alert id -> monotonic time of its next attempt
        self._senders: dict[str, asyncio.Task[None]] = {}  # channel -> its sender, while it has work
        self._saving = asyncio.Lock()  # senders and decisions save the state: one at a time, in order
        self._dropped: set[str] = set()  # notifications whose Post failed for good
        self.policy = AlertPolicy(**self._settings())
        self._unrecorded: list[outbox.OutboxRow] = []
        self.delivered = 0

    def _settings(self) -> dict[str, Any]:
        alerts = self._config().alerts
        return {"group_wait": alerts.group_wait, "repeat_interval": alerts.repeat_interval}

    async def load(self) -> None:
        """The policy's saved state; with the database away, a fresh policy (alerts still work)."""
        from manager.store.runtime import load_state  # noqa: PLC0415

        try:
            await asyncio.to_thread(self._store.ensure_schema)  # a fresh database has no tables yet
            state = await asyncio.to_thread(load_state, self._store.db, STATE_NAME)
        except Exception as exc:
            log.warning("alert state not loaded (%s): starting afresh", type(exc).__name__)
            return
        if state:
            self.policy = AlertPolicy.from_state(state, **self._settings())

    def on_event(self, event: ev.Event) -> None:
        """Bus handler: queue and wake the task; never blocks."""
        with contextlib.suppress(asyncio.QueueFull):
            self._events.put_nowait(event)
            self._wake.set()

    def on_signals(self, signals: Iterable[Signal]) -> None:
        """Signals made outside the bus (Alertmanager's alerts): queued like events; never blocks."""
        self._signals.extend(signals)
        self._wake.set()

    def slack_back(self) -> None:
        """Slack answers again: rows waiting out a retry backoff (up to a minute) go now."""
        self._retry.clear()
        back, self._back = self._back, asyncio.Event()
        back.set()

    # -- the task ---------------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while True:
                await self._sleep()
                try:
                    await self.step()
                except Exception:
                    log.exception("alert delivery failed; retrying")
                    await asyncio.sleep(RETRY_MIN)
        finally:
            for task in list(self._senders.values()):
                task.cancel()

    async def _sleep(self) -> None:
        now = self._clock()
        waits = [IDLE_WAKE]
        deadline = self.policy.next_deadline()
        if deadline is not None:
            waits.append(deadline - now)
        timeout = max(0.0, min(waits))  # retries are the senders' business
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def step(self) -> None:
        """Decide (events and timers), record, deliver what can be delivered now."""
        actions: list[Action] = []
        config = self._config()
        while not self._events.empty():
            signal = signal_for(self._events.get_nowait(), config, self._clock())
            if signal is not None:
                actions += self.policy.receive(signal, self._clock())
        while self._signals:
            actions += self.policy.receive(self._signals.popleft(), self._clock())
        actions += self.policy.tick(self._clock())
        await self.record(actions)
        await self.deliver()

    async def record(self, actions: list[Action]) -> None:
        """Write the decided messages to the outbox. While the database is away they wait here, in
        memory and in order, and go in first when it answers again."""
        rows = self._unrecorded + [row for row in (_row(a) for a in actions) if row is not None]
        self._unrecorded = rows
        if rows:
            await asyncio.to_thread(outbox.enqueue, self._store.db, rows)
            self._unrecorded = []
        if rows or any(not isinstance(a, Suppressed) for a in actions):
            await self._save()

    async def _save(self) -> None:
        from manager.store.runtime import save_state  # noqa: PLC0415

        async with self._saving:  # the snapshot is taken in turn, so an older one never lands last
            await asyncio.to_thread(save_state, self._store.db, STATE_NAME, self.policy.to_state())

    # -- delivery ---------------------------------------------------------------------------------------

    async def deliver(self) -> None:
        """Give every channel with rows waiting a sender, unless it has one; returns without waiting."""
        for channel in await asyncio.to_thread(outbox.pending_channels, self._store.db):
            if channel not in self._senders:
                self._senders[channel] = asyncio.create_task(self._sender(channel))

    async def _sender(self, channel: str) -> None:
        """Deliver one channel's rows oldest first, each after the one before it: a row that cannot go
        yet (Slack down, rate limited) holds back the rest of its channel, and the sender waits for its
        retry. Ends when the channel has nothing left; the decision task starts a new one for new rows."""
        try:
            while rows := await asyncio.to_thread(outbox.pending, self._store.db, channel=channel):
                for row in rows:
                    if not await self._deliver_one(row):
                        assert row.id is not None
                        wait = max(0.0, self._retry.get(row.id, 0.0) - time.monotonic())
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._back.wait(), wait)  # or at once if Slack is back
                        break
        except Exception:
            log.exception("alert delivery to %s failed; retrying", channel)
            await asyncio.sleep(RETRY_MIN)
        finally:
            del self._senders[channel]
            self._wake.set()  # rows written while this sender was finishing get a new one

    async def _deliver_one(self, row: Any) -> bool:
        assert row.id is not None
        if self._retry.get(row.id, 0.0) > time.monotonic():
            return False
        body = dict(row.body)
        nid = row.group_key
        if nid in self._dropped and body["action"] != "post":
            await asyncio.to_thread(outbox.mark, self._store.db, row.id, status="failed", error="post failed")
            return True
        await asyncio.sleep(self._pacer.delay(row.channel or "", time.monotonic()))
        try:
            ts = await self._send(row.channel or "", nid, body)
        except SlackApiError as exc:
            self._rate_limited(row.channel or "", exc)
            return await self._failed(row, exc.response.get("error") if exc.response else str(exc), nid, body)
        except Exception as exc:
            return await self._failed(row, f"{type(exc).__name__}: {exc}", nid, body)
        self._pacer.sent(row.channel or "", time.monotonic())
        self._retry.pop(row.id, None)
        await asyncio.to_thread(outbox.mark, self._store.db, row.id, status="sent", ts=ts)
        if body["action"] == "post" and ts:
            self.policy.posted(nid, row.channel or "", ts)
            await self._save()
        self.delivered += 1
        return True

    def _rate_limited(self, channel: str, exc: SlackApiError) -> None:
        """A 429 slack_sdk gave up waiting out: the channel still waits its Retry-After, however long."""
        response = exc.response
        if response is None or response.status_code != 429:
            return
        with contextlib.suppress(TypeError, ValueError):
            retry_after = float(response.headers.get("Retry-After", RETRY_MIN))
            self._pacer.rate_limited(channel, retry_after, time.monotonic())

    async def _failed(self, row: Any, error: str, nid: str, body: dict[str, Any]) -> bool:
        if error in PERMANENT_ERRORS:
            log.error("alert %s to %s failed for good: %s", row.id, row.channel, error)
            if body["action"] == "post":
                self._dropped.add(nid)
            await asyncio.to_thread(outbox.mark, self._store.db, row.id, status="failed", error=error)
            return True
        delay = min(RETRY_MAX, RETRY_MIN * 2 ** min(row.attempts, 6))
        log.warning("alert %s to %s not delivered (%s); retry in %.0fs", row.id, row.channel, error, delay)
        self._retry[row.id] = time.monotonic() + delay
        await asyncio.to_thread(
            outbox.mark, self._store.db, row.id, status="pending", error=error, retry_in=delay
        )
        return False

    async def _send(self, channel: str, nid: str, body: dict[str, Any]) -> str | None:
        action = body["action"]
        if action == "post":
            message = blocks.alert_message(body["view"])
            response = await self._client.chat_postMessage(
                channel=channel, text=message.text, blocks=message.blocks
            )
            return str(response["ts"])
        ts = self._ts(nid, body)
        if ts is None:
            raise RuntimeError(f"no message yet for notification {nid}")
        if action == "update":
            message = blocks.alert_message(body["view"])
            await self._client.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)
            return ts
        await self._client.chat_postMessage(
            channel=channel,
            thread_ts=ts,
            text=escape(body["text"]),
            reply_broadcast=bool(body.get("broadcast")),
        )
        return None

    def _ts(self, nid: str, body: dict[str, Any]) -> str | None:
        if body.get("ts"):
            return str(body["ts"])
        with contextlib.suppress(KeyError):
            ts = self.policy.incident_view(nid).get("ts")
            return str(ts) if ts else None
        return None

    # -- buttons ------------------------------------------------------------------------------------------

    async def acknowledge(self, notification_id: str, user_id: str) -> bool:
        actions = self.policy.acknowledge(notification_id, user_id, self._clock())
        await self.record(actions)
        self._wake.set()
        return bool(actions)

    async def silence(self, service: str, seconds: float, user_id: str) -> None:
        now = self._clock()
        await self.record(self.policy.silence(service, now + seconds, user_id, now))
        self._wake.set()


def _row(action: Action) -> outbox.OutboxRow | None:
    if isinstance(action, Post):
        return _view_row("post", action.notification_id, action.channel, action.view)
    if isinstance(action, Update):
        row = _view_row("update", action.notification_id, action.channel, action.view)
        row["body"]["ts"] = action.ts
        return row
    if isinstance(action, Reply):
        body = {"action": "reply", "ts": action.ts, "text": action.text, "broadcast": action.broadcast}
        return {"notification_id": action.notification_id, "channel": action.channel, "body": body}
    return None


def _view_row(kind: str, nid: str, channel: str, view: dict[str, Any]) -> outbox.OutboxRow:
    names = [s.get("name") for s in view.get("services", [])]
    return {
        "notification_id": nid,
        "channel": channel,
        "service": names[0] if len(names) == 1 else None,
        "severity": view.get("severity"),
        "title": view.get("title"),
        "body": {"action": kind, "view": json.loads(json.dumps(view, default=str))},
    }
