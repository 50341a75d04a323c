"""svcbot's HTTP listener (`server`: /slack/events, /healthz, /metrics, /alertmanager), the Prometheus
page (`metrics`) and the Alertmanager receiver (`intake`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manager.core.lazy import lazy_exports

if TYPE_CHECKING:
    from chatops.http.intake import AlertmanagerIntake
    from chatops.http.metrics import render_metrics
    from chatops.http.server import AckGate, HttpServer

_EXPORTS = {
    "AckGate": "server",
    "AlertmanagerIntake": "intake",
    "HttpServer": "server",
    "render_metrics": "metrics",
}
__all__ = [
    "AckGate",
    "AlertmanagerIntake",
    "HttpServer",
    "render_metrics",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
