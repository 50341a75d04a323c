"""The HTTP listener on `http.listen`: Slack's requests (HTTP mode) and `/healthz`.

Slack requests go through Bolt, whose request verification answers 401 to a bad signature or a
timestamp older than five minutes before any listener runs. `/healthz` is served in both modes
and with Slack off: it answers 503 when the database is unreachable or the Slack connection has
gone quiet, with the reasons in the JSON body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

__all__ = ["AckGate", "HttpServer"]

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[dict[str, Any]]]
MAX_BODY = 1024 * 1024  # Slack payloads are far smaller; anything bigger is not Slack
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus text format 0.0.4


class AckGate:
    """Acks before work. Slack gives three seconds for an ack, and every request's work (rendering,
    answering through response_url) runs on the same event loop as the next request's ack: under a
    burst, work would delay acks. Work waits here until no request is being acknowledged (at most
    `patience` seconds, so a steady stream of requests cannot starve the work either)."""

    def __init__(self, patience: float = 0.5) -> None:
        self.in_flight = 0
        self.patience = patience

    async def after_acks(self) -> None:
        deadline = asyncio.get_running_loop().time() + self.patience
        while self.in_flight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.002)


class HttpServer:
    def __init__(
        self,
        host: str,
        port: int,
        health: Check,
        *,
        app: AsyncApp | None = None,
        gate: AckGate | None = None,
        metrics: Callable[[], Awaitable[bytes]] | None = None,
        alertmanager: Callable[[web.Request], Awaitable[web.Response]] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._health = health
        self._metrics = metrics
        self._alertmanager = alertmanager
        self._app = app
        self._gate = gate or AckGate()
        self._runner: web.AppRunner | None = None

    def routes(self) -> web.Application:
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_get("/healthz", self._healthz)
        if self._metrics is not None:
            web_app.router.add_get("/metrics", self._serve_metrics)
        if self._alertmanager is not None:
            web_app.router.add_post("/alertmanager", self._alertmanager)
        if self._app is not None:
            web_app.router.add_post("/slack/events", self._slack)
        return web_app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.routes(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        log.info("listening on http://%s:%d (%s)", self.host, self.port, self._describe())

    def _describe(self) -> str:
        paths = ["/slack/events"] if self._app is not None else []
        return ", ".join([*paths, "/healthz", *(["/metrics"] if self._metrics is not None else [])])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _slack(self, request: web.Request) -> web.Response:
        assert self._app is not None
        self._gate.in_flight += 1
        try:
            response = await self._app.async_dispatch(await to_bolt_request(request))
        finally:
            self._gate.in_flight -= 1
        return await to_aiohttp_response(response)

    async def _serve_metrics(self, _request: web.Request) -> web.Response:
        assert self._metrics is not None
        body = await self._metrics()
        return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})

    async def _healthz(self, _request: web.Request) -> web.Response:
        report = await self._health()
        return web.json_response(report, status=200 if report.get("ok") else 503)
