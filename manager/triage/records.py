"""The records the store ingests that people make: feedback and audit entries.

Pure builders (no database import), shared by the CLI, `svcbot shell` and Slack, so that every
front end stores the same shapes: `manager.store.ingest` applies them, idempotent on `uid`.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from manager.triage.categorize import categorize, severity_hint

__all__ = ["Record", "audit_record", "feedback_record"]

Record = dict[str, Any]


def _uid() -> str:
    return os.urandom(16).hex()


def feedback_record(
    text: str,
    *,
    reporter: str,
    source: str,
    service: str | None = None,
    category: str | None = None,
    severity: str | None = None,
    at: datetime | None = None,
) -> Record:
    """A feedback record, categorized by the rules (an explicit category always wins).

    Raises ValueError for empty text or an unknown explicit category."""
    text = text.strip()
    if not text:
        raise ValueError("feedback text is empty")
    verdict = categorize(text, category)
    return {
        "op": "feedback",
        "uid": _uid(),
        "at": (at or datetime.now(UTC)).isoformat(),
        "text": text,
        "reporter": reporter,
        "source": source,
        "service": service,
        "category": str(verdict.category),
        "rules": list(verdict.rules),
        "confidence": verdict.confidence,
        "severity": severity or severity_hint(text),
    }


def audit_record(
    *,
    actor: str,
    source: str,
    command: str,
    arguments: dict[str, Any],
    result: str,
    ok: bool,
    duration_ms: float,
    channel: str | None = None,
) -> Record:
    """Who did what, where, with which arguments, how it ended and how long it took."""
    return {
        "op": "audit",
        "uid": _uid(),
        "at": datetime.now(UTC).isoformat(),
        "actor": actor,
        "source": source,
        "channel": channel,
        "command": command,
        "arguments": arguments,
        "result": result,
        "ok": ok,
        "duration_ms": duration_ms,
    }
