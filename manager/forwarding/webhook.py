"""The generic JSON webhook: one POST per occurrence, in a documented, versioned payload.

Payload version 1 (`Content-Type: application/json`, UTF-8)::

    {
      "version": 1,
      "occurrence": {
        "uid": "...", "id": 12, "at": "2026-03-02T09:00:00+00:00",
        "service": "web", "version": "1.4.2", "kind": "crash",
        "summary": "exited: exit code 1 after 0.3s",
        "exit_code": 1, "signal": null, "oom_likely": false,
        "exception": {"type": "ZeroDivisionError", "value": "division by zero",
                      "frames": [{"filename": "...", "lineno": 3, "function": "main",
                                  "module": "app", "in_app": true, "source": "1 / 0"}]},
        "stderr_tail": ["..."], "run_id": "...",
        "environment": {"host": "...", "os": "...", "python": "...", "command": ["..."], "cwd": "..."},
        "sample": {...}
      },
      "issue": {
        "id": 3, "fingerprint": "...", "title": "web: ZeroDivisionError: division by zero",
        "kind": "crash", "category": "bug", "severity": "normal", "status": "open",
        "priority": "P3", "count": 7, "first_seen": "...", "last_seen": "...", "regressed": false
      }
    }

`exception` is null when no traceback was found; `kind` is one of crash, crash_loop, health,
resource, manager_error, alert. A later version may add keys; a change that removes or changes
one gets a new `version`.

Headers: `Idempotency-Key` is the occurrence uid, the same on every retry (delivery is at least
once: deduplicate on it). With `forward.secret_env` set, `X-Svcbot-Signature: sha256=<hex>` is the
HMAC-SHA256 of the exact body bytes with that secret; compare it in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from manager.forwarding.delivery import Outcome, post, scrub
from manager.store.models import Issue, Occurrence

__all__ = ["PAYLOAD_VERSION", "WebhookTarget", "payload", "signature"]

PAYLOAD_VERSION = 1
SIGNATURE_HEADER = "X-Svcbot-Signature"


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _environment(occurrence: Occurrence) -> dict[str, Any]:
    """Where it ran, without the service's environment variables (they stay in svcbot)."""
    return {key: value for key, value in occurrence.environment.items() if key != "env"}


def payload(occurrence: Occurrence, issue: Issue) -> dict[str, Any]:
    """The version 1 payload, from the stored rows only, every string redacted once more."""
    exception = None
    if occurrence.exception_type:
        exception = {
            "type": occurrence.exception_type,
            "value": occurrence.exception_value or "",
            "frames": occurrence.frames,
        }
    return {
        "version": PAYLOAD_VERSION,
        "occurrence": scrub(
            {
                "uid": occurrence.uid,
                "id": occurrence.id,
                "at": _time(occurrence.at),
                "service": occurrence.service,
                "version": occurrence.version,
                "kind": occurrence.kind,
                "summary": occurrence.summary,
                "exit_code": occurrence.exit_code,
                "signal": occurrence.signal,
                "oom_likely": occurrence.oom_likely,
                "exception": exception,
                "stderr_tail": occurrence.stderr_tail,
                "run_id": occurrence.run_id,
                "environment": _environment(occurrence),
                "sample": occurrence.sample,
            }
        ),
        "issue": scrub(
            {
                "id": issue.id,
                "fingerprint": issue.fingerprint,
                "title": issue.title,
                "kind": issue.kind,
                "category": issue.category,
                "severity": issue.severity,
                "status": issue.status,
                "priority": issue.priority,
                "count": issue.count,
                "first_seen": _time(issue.first_seen),
                "last_seen": _time(issue.last_seen),
                "regressed": issue.regressed,
            }
        ),
    }


def signature(secret: str, body: bytes) -> str:
    """The `X-Svcbot-Signature` value: GitHub's scheme, `sha256=` and the hex HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookTarget:
    name = "webhook"

    def __init__(self, url: str, *, secret: str | None = None, timeout: float = 5.0) -> None:
        self._url = url
        self._secret = secret
        self.timeout = timeout

    def __repr__(self) -> str:  # the URL may carry a credential in its path: never shown
        return f"WebhookTarget(signed={self._secret is not None})"

    def deliver(self, occurrence: Occurrence, issue: Issue) -> Outcome:
        body = json.dumps(payload(occurrence, issue), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": occurrence.uid}
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        return post(self._url, body, headers, self.timeout)
