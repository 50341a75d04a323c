"""Prometheus Alertmanager webhooks (payload version "4") turned into svcbot occurrence records.

Everything here is pure: `parse_webhook` validates a request body into a `Webhook`,
`occurrence_records` makes one occurrence record per firing alert for `manager.store.ingest`, and
`resolved_fingerprints` names the svcbot issues whose alerts resolved, for the caller to close.

Identity
--------
Alertmanager delivers at least once and re-sends firing alerts every `repeat_interval`. An alert
*instance* is its Alertmanager fingerprint plus its `startsAt`, so the record's `uid` is derived from
both: a re-delivery lands once (ingest is idempotent on `uid`), and a new firing after a resolve (a new
`startsAt`) is a new occurrence of the same issue. The issue fingerprint is `am:` plus 32 hex digits of
a SHA-256 of Alertmanager's fingerprint, so it never collides with svcbot's own fingerprints.

Severity
--------
Prometheus' convention has `critical` (pages someone) and `warning` (opens a ticket). svcbot's
severities are low, normal, high and critical, where `normal` is what an ordinary crash gets and `high`
is kept for crash loops and svcbot's own errors. So: critical, page, emergency and fatal map to
critical; error, high and major to high; warning, warn and medium to normal; info, low, none and debug
to low; a missing or unknown severity to normal.

Redaction
---------
Labels, annotations and URLs come from other systems and may carry tokens: titles and summaries go
through `redact_text`, labels through `redact_env` (a secret-named label loses its whole value).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from manager.core.redact import redact_env, redact_text

__all__ = [
    "MAX_ALERTS",
    "MAX_LABEL_VALUE",
    "Alert",
    "Webhook",
    "issue_fingerprint",
    "occurrence_records",
    "parse_webhook",
    "resolved_fingerprints",
]

Record = dict[str, Any]

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_ALERTS = 1000
MAX_LABEL_VALUE = 1000
MAX_ANNOTATION_VALUE = 10_000
MAX_SERVICE = 200  # the store's column width
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)  # Go's zero time: Alertmanager's "no end yet"

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_HEX = re.compile(r"[0-9a-fA-F]{1,64}")
_STATUSES = ("firing", "resolved")
_SEVERITIES = {
    "critical": "critical",
    "page": "critical",
    "emergency": "critical",
    "fatal": "critical",
    "error": "high",
    "high": "high",
    "major": "high",
    "warning": "normal",
    "warn": "normal",
    "medium": "normal",
    "info": "low",
    "low": "low",
    "none": "low",
    "debug": "low",
}


@dataclass(frozen=True)
class Alert:
    """One alert of a webhook, validated; `ends_at` is None while Alertmanager knows no end."""

    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    fingerprint: str  # Alertmanager's, lower-case hex
    generator_url: str


@dataclass(frozen=True)
class Webhook:
    """A validated Alertmanager webhook payload (version "4")."""

    version: str
    receiver: str
    status: str
    external_url: str
    group_key: str
    alerts: tuple[Alert, ...]


def parse_webhook(body: bytes) -> Webhook:
    """Validate an Alertmanager webhook body; raise `ValueError` naming the offending field."""
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"body: {len(body)} bytes is over the limit of {MAX_BODY_BYTES}")
    try:
        data = json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ValueError(f"body: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("body: must be a JSON object")
    if data.get("version") != "4":
        raise ValueError(f'version: must be "4", got {data.get("version")!r}')
    if "alerts" not in data:
        raise ValueError("alerts: missing")
    alerts = data["alerts"]
    if not isinstance(alerts, list):
        raise ValueError("alerts: must be a list")
    if len(alerts) > MAX_ALERTS:
        raise ValueError(f"alerts: {len(alerts)} alerts is over the limit of {MAX_ALERTS}")
    return Webhook(
        version="4",
        receiver=_optional_str(data, "receiver"),
        status=_optional_str(data, "status"),
        external_url=_optional_str(data, "externalURL"),
        group_key=_optional_str(data, "groupKey"),
        alerts=tuple(_alert(f"alerts[{i}]", alert) for i, alert in enumerate(alerts)),
    )


def occurrence_records(webhook: Webhook) -> list[Record]:
    """One occurrence record per firing alert, ready for `manager.store.ingest.apply_batch`."""
    return [_occurrence(alert, webhook) for alert in webhook.alerts if alert.status == "firing"]


def resolved_fingerprints(webhook: Webhook) -> list[str]:
    """The svcbot issue fingerprints of the resolved alerts, in order, without repeats."""
    found = [issue_fingerprint(a.fingerprint) for a in webhook.alerts if a.status == "resolved"]
    return list(dict.fromkeys(found))


def issue_fingerprint(alertmanager_fingerprint: str) -> str:
    """svcbot's issue fingerprint for an Alertmanager fingerprint: `am:` and 32 hex digits."""
    digest = hashlib.sha256(f"alertmanager\0{alertmanager_fingerprint.lower()}".encode()).hexdigest()
    return f"am:{digest[:32]}"


# --- validation ----------------------------------------------------------------------------------


def _optional_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"{key}: must be a string")
    return value


def _alert(where: str, data: Any) -> Alert:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: must be an object")
    status = data.get("status")
    if status not in _STATUSES:
        raise ValueError(f"{where}.status: must be 'firing' or 'resolved', got {status!r}")
    fingerprint = data.get("fingerprint")
    if not isinstance(fingerprint, str) or not _HEX.fullmatch(fingerprint):
        raise ValueError(f"{where}.fingerprint: must be a hex string, got {fingerprint!r}")
    starts_at = _time(f"{where}.startsAt", data.get("startsAt"))
    if starts_at is None:
        raise ValueError(f"{where}.startsAt: must be set, got the zero time")
    return Alert(
        status=status,
        labels=_strings(f"{where}.labels", data.get("labels"), MAX_LABEL_VALUE),
        annotations=_strings(f"{where}.annotations", data.get("annotations", {}), MAX_ANNOTATION_VALUE),
        starts_at=starts_at,
        ends_at=_time(f"{where}.endsAt", data.get("endsAt")),
        fingerprint=fingerprint.lower(),
        generator_url=_optional_str(data, "generatorURL"),
    )


def _strings(where: str, value: Any, limit: int) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: must be an object of strings")
    for key, item in value.items():
        if not isinstance(item, str):
            raise ValueError(f"{where}.{key}: must be a string, got {type(item).__name__}")
        if len(item) > limit or len(key) > limit:
            raise ValueError(f"{where}.{key[:100]}: longer than {limit} characters")
    return dict(value)


def _time(where: str, value: Any) -> datetime | None:
    """An RFC 3339 time in UTC, or None for Go's zero time."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(f"{where}: must be an RFC 3339 time, got {value!r}")
    try:
        at = datetime.fromisoformat(value.upper()).astimezone(UTC)
    except ValueError:
        raise ValueError(f"{where}: must be an RFC 3339 time, got {value!r}") from None
    return None if at == ZERO_TIME else at


# --- records --------------------------------------------------------------------------------------


def _occurrence(alert: Alert, webhook: Webhook) -> Record:
    labels = alert.labels
    name = labels.get("alertname") or "alert"
    service = (labels.get("service") or labels.get("job") or "alertmanager")[:MAX_SERVICE]
    headline = alert.annotations.get("summary", "")
    title = f"{service}: {name}: {headline}" if headline else f"{service}: {name}"
    details = [alert.annotations.get(k, "") for k in ("summary", "description")]
    summary = " - ".join(part for part in details if part) or f"{name} firing"
    fingerprint = issue_fingerprint(alert.fingerprint)
    return {
        "op": "occurrence",
        "uid": _uid(alert),
        "at": alert.starts_at.isoformat(),
        "fingerprint": fingerprint,
        "title": redact_text(title)[:500],
        "kind": "alert",
        "service": redact_text(service)[:MAX_SERVICE],
        "version": redact_text(labels.get("version", ""))[:100] or None,
        "summary": redact_text(summary)[:1000],
        "severity": _SEVERITIES.get(labels.get("severity", "").lower(), "normal"),
        "exit_code": None,
        "signal": None,
        "oom_likely": False,
        "exception": None,
        "stderr_tail": [],
        "sample": {},
        "run_id": None,
        "grouping_method": "alertmanager",
        "grouping": [f"alertmanager fingerprint: {alert.fingerprint}", f"alertname: {redact_text(name)}"],
        "environment": {
            "source": "alertmanager",
            "labels": redact_env(labels),
            "generator_url": redact_text(alert.generator_url),
            "external_url": redact_text(webhook.external_url),
            "receiver": redact_text(webhook.receiver),
        },
    }


def _uid(alert: Alert) -> str:
    """The same for every delivery of one alert instance (fingerprint and start), new for a new firing."""
    key = f"alertmanager\0{alert.fingerprint}\0{alert.starts_at.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()
