"""Manager events as alert signals, routed to the channel of the team that owns the service.

Pure: `signal_for(event, config, now)` is None for events that are not alerts, or when no alert
channel is configured for the service. A service's own `alert_channel` overrides
`slack.alert_channel`; its `owners` are mentioned in its alerts.
"""

from __future__ import annotations

from chatops.alerting.model import Signal
from manager.config.spec import Config
from manager.core.redact import redact_text
from manager.supervision import events as ev
from manager.triage.alertmanager import Webhook

__all__ = ["alertmanager_signals", "signal_for"]

MANAGER = "svcbot"
SUMMARY_MAX = 300


def _route(config: Config, service: str) -> tuple[str | None, tuple[str, ...]]:
    spec = config.service(service)
    channel = (spec.alert_channel if spec else None) or config.slack.alert_channel
    return channel, (spec.owners if spec else ())


def _last_line(lines: tuple[str, ...]) -> str:
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def _kind(event: ev.Event) -> tuple[str, str, str] | None:
    """(kind, severity, summary) of an alert-worthy event."""
    if isinstance(event, ev.ServiceExited):
        if event.expected:
            return None
        last = _last_line(event.stderr_tail)
        return "crash", "warning", event.status_text + (f": {last}" if last else "")
    if isinstance(event, ev.CrashLoop):
        return (
            "crash_loop",
            "critical",
            f"crash loop: {event.exits} exits in {event.interval:g}s; quarantined",
        )
    if isinstance(event, ev.CrashLoopEnded):
        return "recovered", "info", f"crash loop ended ({event.reason})"
    if isinstance(event, ev.HealthChanged):
        if event.healthy:
            return "recovered", "info", "healthy again"
        return "unhealthy", "warning", f"health check failing: {event.output}"
    if isinstance(event, ev.ServiceStateChanged):
        return ("recovered", "info", "running again") if event.new == "running" else None
    if isinstance(event, ev.ResourceBreach):
        return "resource", "warning", f"{event.resource} over its limit ({event.action})"
    if isinstance(event, ev.ManagerError):
        return "manager_error", "critical", f"{event.error_type} in {event.where}: {event.message}"
    return None


def signal_for(event: ev.Event, config: Config, now: float) -> Signal | None:
    found = _kind(event)
    if found is None:
        return None
    kind, severity, summary = found
    service = getattr(event, "service", None) or MANAGER
    channel, owners = _route(config, service)
    if channel is None:
        return None
    text = redact_text(summary)
    return Signal(
        service=service,
        kind=kind,
        severity=severity,
        summary=text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…",
        channel=channel,
        owners=tuple(owners),
        at=now,
    )


# Alertmanager's severity label as the policy's: critical pages, warning tickets, the rest informs.
_ALERT_SEVERITY = {"critical": "critical", "page": "critical", "emergency": "critical", "fatal": "critical"}
_ALERT_INFO = frozenset({"info", "low", "none", "debug"})


def alertmanager_signals(webhook: Webhook, config: Config, now: float) -> list[Signal]:
    """Alertmanager's alerts as signals: each alert (service label, alertname) is an incident of its own,
    routed like the service it names when svcbot runs it (its alert_channel and owners), else to
    `slack.alert_channel`. A resolved alert is an "alert_resolved" signal, which updates its message."""
    signals = []
    for alert in webhook.alerts:
        labels = alert.labels
        service = labels.get("service") or labels.get("job") or "alertmanager"
        name = redact_text(f"{service}/{labels.get('alertname') or 'alert'}")
        channel, owners = _route(config, service)
        if channel is None:
            continue
        if alert.status == "resolved":
            signals.append(Signal(name, "alert_resolved", "info", "resolved", channel, owners, now))
            continue
        level = labels.get("severity", "").lower()
        severity = _ALERT_SEVERITY.get(level, "info" if level in _ALERT_INFO else "warning")
        summary = alert.annotations.get("summary") or alert.annotations.get("description") or "firing"
        text = redact_text(summary)
        text = text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"
        signals.append(Signal(name, "alert", severity, text, channel, owners, now))
    return signals
