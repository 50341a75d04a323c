"""The Slack front end as an extension of `svcbot run`.

With no Slack token it says so once and still serves `/healthz`; with a token Slack rejects, it
says which token and why, once, and svcbot goes on supervising. Commands go through the daemon
(`Daemon.execute`), audit entries and feedback through the store, idempotency keys into the
database (or, while the database is away, into memory: a retried request must still not run twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from chatops.commands.access import AccessPolicy
from chatops.commands.center import CommandCenter
from chatops.commands.confirm import Signer, load_or_create_key
from chatops.http.intake import AlertmanagerIntake
from chatops.http.server import HttpServer
from chatops.slack.app import SlackApp
from chatops.slack.settings import SettingsError, SlackSettings
from chatops.ui import messages
from manager.config.spec import Config
from manager.triage.records import Record

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from chatops.alerting.service import AlertService
    from chatops.digest.schedule import DigestScheduler
    from manager.cli.daemon import Daemon
    from manager.store.store import Store
    from manager.triage.alertmanager import Webhook

__all__ = ["SlackFrontEnd"]

log = logging.getLogger("svcbot.slack")

HEALTH_DB_TIMEOUT = 2.0
SLACK_QUIET_AFTER = 180.0  # seconds without a successful Slack call before /healthz fails
PROBE_INTERVAL = 60.0
MEMORY_KEYS = 10_000


class SlackFrontEnd:
    name = "slack"

    def __init__(self, config: Config, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.environ = dict(os.environ if environ is None else environ)
        self.daemon: Daemon | None = None
        self.slack: SlackApp | None = None
        self.server: HttpServer | None = None
        self.socket: AsyncSocketModeHandler | None = None
        self.center: CommandCenter | None = None
        self.alerts: AlertService | None = None
        self.digest: DigestScheduler | None = None
        self.last_slack_ok: float | None = None
        self._down_since: float | None = None  # monotonic time of the first failed probe
        self._policy: tuple[Any, AccessPolicy] | None = None
        self._seen: dict[str, None] = {}  # idempotency keys while the database is away
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle --------------------------------------------------------------------------------------

    async def start(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.center = CommandCenter(
            services=lambda: daemon.config.service_names,
            policy=self.policy,
            execute=daemon.execute,
            audit=self._audit,
            feedback=self._feedback,
            signer=Signer(load_or_create_key(daemon.config.state_dir)),
        )
        settings = self._settings()
        if settings is not None and settings.enabled:
            await self._connect(settings, self.center)
        if self.slack is not None:
            await self._start_alerts(daemon, self.slack)
            self._start_digest(self.slack)
        listen = daemon.config.http
        self.server = HttpServer(
            listen.host,
            listen.port,
            self.health,
            app=self.slack.app if self.slack and not self.slack.settings.socket_mode else None,
            gate=self.slack.gate if self.slack else None,
            metrics=self.metrics,
            alertmanager=AlertmanagerIntake(
                self.environ.get("SVCBOT_ALERTMANAGER_TOKEN"), self._store, self._alertmanager_alerts
            ),
        )
        try:
            await self.server.start()
        except OSError as exc:
            log.error("cannot listen on %s:%d: %s; /healthz is off", listen.host, listen.port, exc.strerror)
            self.server = None

    def _settings(self) -> SlackSettings | None:
        try:
            settings = SlackSettings.from_env(self.environ)
        except SettingsError as exc:
            log.error("Slack is off: %s", exc)
            return None
        if not settings.enabled:
            log.warning("no SLACK_BOT_TOKEN: Slack is off; supervision, reports and the CLI work as usual")
        return settings

    async def _connect(self, settings: SlackSettings, center: CommandCenter) -> None:
        slack = SlackApp(
            settings,
            center,
            claim=self.claim,
            groups=lambda: self.policy().groups_to_check(),
            services=lambda: self.config_now().service_names,
        )
        try:
            auth = await slack.client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else str(exc)
            log.error("SLACK_BOT_TOKEN was rejected by Slack (%s): Slack is off", error)
            return
        except Exception as exc:
            log.error("cannot reach Slack at %s (%s): Slack is off", settings.api_url, exc)
            return
        self.slack = slack
        self.last_slack_ok = time.monotonic()
        mode = "Socket Mode" if settings.socket_mode else "HTTP mode at POST /slack/events"
        log.info("connected to Slack as %s in %s (%s)", auth.get("user_id"), auth.get("team"), mode)
        if settings.socket_mode:
            await self._open_socket(slack, settings)
        self._tasks.append(asyncio.create_task(self._probe_forever(slack)))

    async def _start_alerts(self, daemon: Daemon, slack: SlackApp) -> None:
        """Alerts go through the store's outbox table: without a store there are none."""
        store = self._store()
        if store is None:
            log.error("the store is not open: alerts to Slack are off")
            return
        from chatops.alerting.buttons import register  # noqa: PLC0415
        from chatops.alerting.service import AlertService  # noqa: PLC0415

        alerts = AlertService(self.config_now, store, slack.client)
        await alerts.load()
        register(slack, alerts)
        daemon.subscribe(alerts.on_event)
        self.alerts = alerts
        self._tasks.append(asyncio.create_task(alerts.run()))
        if not self.config_now().slack.alert_channel:
            log.warning("no slack.alert_channel: only services with their own alert_channel send alerts")

    def _start_digest(self, slack: SlackApp) -> None:
        """The weekly digest and its buttons; both need the store (the digest table, the issues)."""
        store = self._store()
        if store is None:
            return
        from chatops.digest.buttons import DigestButtons  # noqa: PLC0415
        from chatops.digest.post import DigestPoster, owner_name  # noqa: PLC0415
        from chatops.digest.release_post import ReleaseAnnouncer  # noqa: PLC0415
        from chatops.digest.schedule import DigestScheduler  # noqa: PLC0415

        DigestButtons(slack, store.db).register()
        if not self.config_now().slack.digest_channel:
            log.warning("no slack.digest_channel: the weekly digest is off")
            return
        poster = DigestPoster(self.config_now, store.db, slack.client, prepare=store.ensure_schema)
        releases = ReleaseAnnouncer(self.config_now, store.db, slack.client, owner_name())
        self.digest = DigestScheduler(poster, lambda: self.config_now().digest, releases=releases)
        self.digest.start()

    async def _open_socket(self, slack: SlackApp, settings: SlackSettings) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler  # noqa: PLC0415

        self.socket = AsyncSocketModeHandler(slack.app, settings.app_token, web_client=slack.client)
        await self.socket.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        if self.digest is not None:
            self.digest.stop()
        for task in self._tasks:
            task.cancel()
        if self.socket is not None:
            await self.socket.close_async()  # type: ignore[no-untyped-call]
        if self.server is not None:
            await self.server.stop()

    # -- what the center and the app need -----------------------------------------------------------

    def config_now(self) -> Config:
        return self.daemon.config if self.daemon is not None else self.config

    def policy(self) -> AccessPolicy:
        """The access rules of the current config (rebuilt after a reload)."""
        access = self.config_now().access
        if self._policy is None or self._policy[0] is not access:
            self._policy = (access, AccessPolicy(access))
        return self._policy[1]

    def _store(self) -> Store | None:
        return self.daemon.store if self.daemon is not None else None

    def _alertmanager_alerts(self, webhook: Webhook) -> None:
        if self.alerts is None:
            return
        from chatops.alerting.signals import alertmanager_signals  # noqa: PLC0415

        self.alerts.on_signals(alertmanager_signals(webhook, self.config_now(), time.time()))

    async def _audit(self, record: Record) -> None:
        store = self._store()
        if store is None:
            log.warning("audit (no store): %s", record)
            return
        store.submit(record)  # through the writer: spooled to disk if the database is away

    async def _feedback(self, record: Record) -> dict[str, Any]:
        store = self._store()
        if store is None:
            raise RuntimeError("the store is not open yet; try again in a moment")
        receipt = await asyncio.to_thread(store.add_feedback, record)
        return receipt.to_dict()

    async def claim(self, key: str, kind: str) -> bool:
        """First time this key is seen? In the database when it answers, else in memory."""
        store = self._store()
        if store is not None:
            from manager.store.db import is_outage  # noqa: PLC0415
            from manager.store.runtime import claim_key  # noqa: PLC0415

            try:
                return await asyncio.to_thread(claim_key, store.db, key, kind)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                log.warning("database away: idempotency key %s kept in memory", key)
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > MEMORY_KEYS:
            self._seen.pop(next(iter(self._seen)))
        return True

    async def metrics(self) -> bytes:
        from chatops.http.metrics import render_metrics  # noqa: PLC0415

        supervisor = self.daemon.supervisor if self.daemon is not None else None
        services = supervisor.status(None) if supervisor is not None else []
        return await render_metrics(services, self._store())

    # -- health -----------------------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        checks = {"database": await self._database_health(), "slack": await self._slack_health()}
        ok = all(value in ("ok", "off") for value in checks.values())
        return {"ok": ok, **checks}

    async def _database_health(self) -> str:
        store = self._store()
        if store is None:
            return "not open yet"
        try:
            await asyncio.wait_for(asyncio.to_thread(store.db.ping), HEALTH_DB_TIMEOUT)
        except Exception as exc:
            return f"unreachable: {type(exc).__name__}"
        return "ok"

    async def _slack_health(self) -> str:
        if self.slack is None:
            return "off"
        if self.socket is not None and not await self.socket.client.is_connected():
            return "socket disconnected"
        quiet = time.monotonic() - (self.last_slack_ok or 0.0)
        return "ok" if quiet <= SLACK_QUIET_AFTER else f"quiet for {quiet:.0f}s"

    async def _probe_forever(self, slack: SlackApp) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL)
            await self.probe(slack)

    async def probe(self, slack: SlackApp) -> None:
        """One call to Slack. After an outage, the first success posts a notice to the alert channel:
        the team should know that alerts may have arrived late (the outbox held them)."""
        try:
            await slack.client.auth_test()
        except Exception as exc:
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning("Slack did not answer: %s", exc)
            return
        self.last_slack_ok = time.monotonic()
        if self._down_since is None:
            return
        outage, self._down_since = time.monotonic() - self._down_since, None
        log.info("Slack answers again after %.0fs", outage)
        if self.alerts is not None:
            self.alerts.slack_back()
        channel = self.config_now().slack.alert_channel
        if channel:
            with contextlib.suppress(Exception):
                await slack.client.chat_postMessage(channel=channel, text=messages.reconnected_text(outage))
