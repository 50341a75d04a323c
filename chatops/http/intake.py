"""`POST /alertmanager`: Prometheus Alertmanager's webhook (payload version 4) as svcbot reports.

The bearer token in SVCBOT_ALERTMANAGER_TOKEN is required (compared in constant time); without one
configured the endpoint refuses everything. Firing alerts become occurrences keyed by Alertmanager's
fingerprint, through the store's writer (spooled if the database is away), idempotent because
Alertmanager delivers at least once; resolved alerts resolve their issues. Both also go to the alert
channel through the same policy as svcbot's own alerts (`notify`): grouped, deduplicated (a re-delivery
of a firing alert is a repeat of its incident), and a resolved alert updates its message in place.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from manager.triage.alertmanager import Webhook, occurrence_records, parse_webhook, resolved_fingerprints

if TYPE_CHECKING:
    from manager.store.store import Store

__all__ = ["AlertmanagerIntake"]

log = logging.getLogger("svcbot.alertmanager")

MAX_BODY = 16 * 1024 * 1024


class AlertmanagerIntake:
    def __init__(
        self,
        token: str | None,
        store: Callable[[], Store | None],
        notify: Callable[[Webhook], None] = lambda _webhook: None,
    ) -> None:
        self._token = token
        self._store = store
        self._notify = notify  # the alert channel: firing alerts posted, resolved ones updated in place

    def _authorized(self, request: web.Request) -> bool:
        if not self._token:
            return False
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self._token}".encode())

    async def __call__(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        store = self._store()
        if store is None:
            return web.json_response({"ok": False, "error": "store not open yet"}, status=503)
        try:
            webhook = parse_webhook(await request.read())
        except ValueError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        records = occurrence_records(webhook)
        for record in records:
            store.submit(record)
        self._notify(webhook)
        resolved = resolved_fingerprints(webhook)
        if resolved:
            from manager.store.queries import resolve_by_fingerprint  # noqa: PLC0415

            await asyncio.to_thread(store.writer.flush, 10.0)  # its firing occurrences first
            closed = await asyncio.to_thread(resolve_by_fingerprint, store.db, resolved)
            log.info(
                "alertmanager: %d firing, %d resolved (%d issues closed)", len(records), len(resolved), closed
            )
        return web.json_response({"ok": True, "firing": len(records), "resolved": len(resolved)})
