"""`GET /metrics` in the Prometheus text format.

Built at scrape time from what svcbot already knows (the supervisor's status, the store's counts),
so nothing has to be kept in sync. Labels are bounded: service names come from the config, states,
categories and priorities from fixed sets; never a fingerprint, a user or a message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from manager.store.queries import metrics_counts
from manager.supervision.health import NAGIOS_STATUS

if TYPE_CHECKING:
    from manager.store.store import Store

__all__ = ["render_metrics"]

STATES = (
    "stopped",
    "waiting",
    "starting",
    "running",
    "unhealthy",
    "stopping",
    "backoff",
    "exited",
    "quarantined",
)

# Nagios plugin codes, which http and tcp checks share (as OK or CRITICAL). The result is the gauge's
# value, not a label: one series per service, and a rule reads `svcbot_health_check_result >= 2`.
_HEALTH_RESULT_CODES = {name: code for code, name in NAGIOS_STATUS.items()}


class _Snapshot(Collector):
    def __init__(self, services: Sequence[Mapping[str, Any]], counts: Mapping[str, Any] | None) -> None:
        self.services = services
        self.counts = counts

    def collect(self) -> Any:
        yield from self._services()
        yield from self._health_checks()
        if self.counts is not None:
            yield from self._store(self.counts)

    def _services(self) -> Any:
        up = GaugeMetricFamily(
            "svcbot_service_up", "1 when the service runs and is ready", labels=["service"]
        )
        state = GaugeMetricFamily(
            "svcbot_service_state", "1 for the service's current state", labels=["service", "state"]
        )
        restarts = CounterMetricFamily("svcbot_service_restarts", "automatic restarts", labels=["service"])
        healthy = GaugeMetricFamily(
            "svcbot_service_healthy", "last health check passed (1) or not (0)", labels=["service"]
        )
        cpu = GaugeMetricFamily(
            "svcbot_service_cpu_percent", "CPU of the whole tree, % of one core", labels=["service"]
        )
        rss = GaugeMetricFamily("svcbot_service_memory_bytes", "RSS of the whole tree", labels=["service"])
        for s in self.services:
            name = str(s["name"])
            up.add_metric([name], 1.0 if s["state"] == "running" else 0.0)
            for each in STATES:
                state.add_metric([name, each], 1.0 if s["state"] == each else 0.0)
            restarts.add_metric([name], float(s["restarts"]))
            if s.get("health") in ("healthy", "unhealthy"):
                healthy.add_metric([name], 1.0 if s["health"] == "healthy" else 0.0)
            if s.get("cpu_percent") is not None:
                cpu.add_metric([name], float(s["cpu_percent"]))
            if s.get("rss") is not None:
                rss.add_metric([name], float(s["rss"]))
        return [up, state, restarts, healthy, cpu, rss]

    def _health_checks(self) -> Any:
        """The last check of each running service with one; absent otherwise, rather than a stale 0."""
        duration = GaugeMetricFamily(
            "svcbot_health_check_duration_seconds", "how long the last health check took", labels=["service"]
        )
        result = GaugeMetricFamily(
            "svcbot_health_check_result",
            "last health check result: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (Nagios plugin codes)",
            labels=["service"],
        )
        for s in self.services:
            if s.get("health_check_result") is None:
                continue
            name = str(s["name"])
            result.add_metric([name], float(_HEALTH_RESULT_CODES.get(str(s["health_check_result"]), 3)))
            if s.get("health_check_duration") is not None:
                duration.add_metric([name], float(s["health_check_duration"]))
        return [duration, result]

    def _store(self, counts: Mapping[str, Any]) -> Any:
        issues = GaugeMetricFamily("svcbot_open_issues", "open issues", labels=["category", "priority"])
        for category, priority, n in counts["issues"]:
            issues.add_metric([category, priority], float(n))
        feedback = CounterMetricFamily("svcbot_feedback", "feedback received", labels=["category"])
        for category, n in counts["feedback"]:
            feedback.add_metric([category], float(n))
        alerts = counts["alerts"]
        sent = CounterMetricFamily("svcbot_alerts_sent", "alert messages delivered to Slack")
        sent.add_metric([], float(alerts.get("sent", 0)))
        pending = GaugeMetricFamily("svcbot_alert_deliveries_pending", "alert messages waiting in the outbox")
        pending.add_metric([], float(alerts.get("pending", 0)))
        return [issues, feedback, sent, pending]


async def render_metrics(services: Sequence[Mapping[str, Any]], store: Store | None) -> bytes:
    """One scrape: the services as given, the store's counts if it answers within a second."""
    counts = None
    if store is not None:
        try:
            counts = await asyncio.wait_for(asyncio.to_thread(metrics_counts, store.db), 1.0)
        except Exception:
            counts = None  # the database is away: the services' metrics still count
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(services, counts))
    return bytes(generate_latest(registry))
