"""From what happened to what the store keeps: tracebacks parsed, crashes fingerprinted and grouped,
duplicate feedback found, categories and priorities given, versions ordered, and the records written to
the store (`reports` for events, `records` for feedback and audit, `alertmanager` for Alertmanager's
webhooks). Pure: no I/O, no database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manager.core.lazy import lazy_exports

if TYPE_CHECKING:
    from manager.triage.alertmanager import Webhook, occurrence_records, parse_webhook, resolved_fingerprints
    from manager.triage.categorize import Category, Severity
    from manager.triage.fingerprint import parameterize
    from manager.triage.priority import PriorityInput, score
    from manager.triage.records import audit_record, feedback_record
    from manager.triage.reports import Host, Record, event_record, occurrence_record
    from manager.triage.similarity import find_duplicate
    from manager.triage.tracebacks import parse_traceback
    from manager.triage.versions import at_or_after

_EXPORTS = {
    "Category": "categorize",
    "Host": "reports",
    "PriorityInput": "priority",
    "Record": "reports",
    "Severity": "categorize",
    "Webhook": "alertmanager",
    "at_or_after": "versions",
    "audit_record": "records",
    "event_record": "reports",
    "feedback_record": "records",
    "find_duplicate": "similarity",
    "occurrence_record": "reports",
    "occurrence_records": "alertmanager",
    "parameterize": "fingerprint",
    "parse_traceback": "tracebacks",
    "parse_webhook": "alertmanager",
    "resolved_fingerprints": "alertmanager",
    "score": "priority",
}
__all__ = [
    "Category",
    "Host",
    "PriorityInput",
    "Record",
    "Severity",
    "Webhook",
    "at_or_after",
    "audit_record",
    "event_record",
    "feedback_record",
    "find_duplicate",
    "occurrence_record",
    "occurrence_records",
    "parameterize",
    "parse_traceback",
    "parse_webhook",
    "resolved_fingerprints",
    "score",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
