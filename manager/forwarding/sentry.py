"""Sentry: every occurrence becomes one Sentry error event, sent as an envelope to the DSN's project.

The event is built from the stored rows (`sentry_event`, pure): the exception with the parsed frames
as its stacktrace, or the issue's title as the message when there was no traceback; level from the
kind (a crash loop is fatal, a failing health check a warning, an alert follows its severity); tags
`service`, `version`, `kind` and `host`; svcbot's fingerprint, so that Sentry groups exactly as
svcbot does; the stderr tail and the resource sample as extra data; the occurrence's own time. The
event id is derived from the occurrence uid, so a retried delivery is one event in Sentry.

sentry-sdk makes the envelope (its serializer, size limits and key scrubber included) through a
`sentry_sdk.Client` whose transport only keeps what it is given; svcbot then POSTs it itself,
synchronously, because the SDK's own transport sends from a background queue and never says
whether Sentry accepted the event, and a delivery must know that to be marked sent. The client is
never bound to a scope (no `sentry_sdk.init`) and has no integrations: it cannot hook svcbot's
logging, excepthook or threads, nor report svcbot's own exceptions.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any, cast

import sentry_sdk
from sentry_sdk.consts import VERSION as SDK_VERSION
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport
from sentry_sdk.utils import BadDsn, Dsn

from manager.forwarding.delivery import Outcome, post, scrub
from manager.store.models import Issue, Occurrence

if TYPE_CHECKING:
    from sentry_sdk._types import Event

__all__ = ["SentryTarget", "event_id", "sentry_event"]

_NAMESPACE = uuid.UUID("5c2b7f0e-6a51-4d8e-9a0c-1f3e2d4b5a69")  # svcbot's: event ids are uuid5 in it
MAX_TAG = 200  # Sentry's limit on a tag value
LEVELS = {"crash": "error", "crash_loop": "fatal", "health": "warning", "resource": "warning"}
ALERT_LEVELS = {"critical": "fatal", "high": "error", "normal": "warning", "low": "info"}


def event_id(occurrence_uid: str) -> str:
    """The event's id: 32 hex digits, the same for every delivery of one occurrence."""
    return uuid.uuid5(_NAMESPACE, occurrence_uid).hex


def _level(occurrence: Occurrence, issue: Issue) -> str:
    if occurrence.kind == "alert":
        return ALERT_LEVELS.get(issue.severity, "warning")
    return LEVELS.get(occurrence.kind, "error")


def _frame(frame: dict[str, Any]) -> dict[str, Any]:
    filename = frame.get("filename")
    out = {
        "filename": filename,
        "abs_path": filename,
        "lineno": frame.get("lineno"),
        "function": frame.get("function"),  # empty for the line a SyntaxError points at
        "module": frame.get("module"),
        "in_app": frame.get("in_app"),
        "context_line": frame.get("source"),
    }
    return {key: value for key, value in out.items() if value not in (None, "")}


def _tags(occurrence: Occurrence) -> dict[str, str]:
    tags = {
        "service": occurrence.service,
        "version": occurrence.version,
        "kind": occurrence.kind,
        "host": occurrence.environment.get("host"),
    }
    return {key: " ".join(str(value).split())[:MAX_TAG] for key, value in tags.items() if value}


def _contexts(occurrence: Occurrence, issue: Issue) -> dict[str, Any]:
    svcbot = {
        "occurrence": occurrence.uid,
        "issue_id": issue.id,
        "summary": occurrence.summary,
        "exit_code": occurrence.exit_code,
        "signal": occurrence.signal,
        "oom_likely": occurrence.oom_likely,
        "run_id": occurrence.run_id,
    }
    contexts: dict[str, Any] = {"svcbot": {k: v for k, v in svcbot.items() if v is not None}}
    system = str(occurrence.environment.get("os") or "")
    if system:
        name, _, version = system.partition(" ")
        contexts["os"] = {"name": name, "version": version} if version else {"name": name}
    return contexts


def _extra(occurrence: Occurrence) -> dict[str, Any]:
    environment = {k: v for k, v in occurrence.environment.items() if k != "env"}  # its variables stay
    extra: dict[str, Any] = {"environment": environment}
    if occurrence.stderr_tail:
        extra["stderr_tail"] = "\n".join(occurrence.stderr_tail)
    if occurrence.sample:
        extra["sample"] = occurrence.sample
    return extra


def sentry_event(occurrence: Occurrence, issue: Issue) -> dict[str, Any]:
    """The Sentry event for a stored occurrence, every string redacted once more."""
    event: dict[str, Any] = {
        "event_id": event_id(occurrence.uid),
        "timestamp": occurrence.at,
        "level": _level(occurrence, issue),
        "logger": "svcbot",
        "platform": "python" if occurrence.exception_type else "other",
        "fingerprint": [issue.fingerprint],
        "tags": _tags(occurrence),
        "contexts": _contexts(occurrence, issue),
        "extra": _extra(occurrence),
    }
    host = occurrence.environment.get("host")
    if host:
        event["server_name"] = str(host)
    if occurrence.version:
        event["release"] = f"{occurrence.service}@{occurrence.version}"
    if occurrence.exception_type:
        event["exception"] = {
            "values": [
                {
                    "type": occurrence.exception_type,
                    "value": occurrence.exception_value or "",
                    "stacktrace": {"frames": [_frame(frame) for frame in occurrence.frames]},
                    "mechanism": {"type": "svcbot", "handled": False},
                }
            ]
        }
    else:
        event["message"] = {"formatted": issue.title}
    return dict(scrub(event))


class _Keep(Transport):
    """A transport that sends nothing: it keeps the envelope for svcbot to POST."""

    def __init__(self) -> None:
        super().__init__(None)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


def _without_blanks(event: Any, _hint: Any) -> Any:
    """The client fills release and server_name from its options (set to "" so that it neither
    runs git nor reports svcbot's host for an alert's): drop them again when the event had none."""
    for key in ("release", "server_name"):
        if not event.get(key):
            event.pop(key, None)
    return event


class SentryTarget:
    name = "sentry"

    def __init__(self, dsn: str, *, environment: str | None = None, timeout: float = 5.0) -> None:
        try:
            parsed = Dsn(dsn)
        except BadDsn as exc:  # the message names the part that is wrong, never the key
            raise ValueError(f"SENTRY_DSN is not a Sentry DSN: {exc}") from None
        auth = parsed.to_auth(client=f"sentry.python/{SDK_VERSION}")
        self._url = auth.get_api_url()
        self._auth = auth.to_header()
        self.timeout = timeout
        self._keep = _Keep()
        self._lock = threading.Lock()
        self._client = sentry_sdk.Client(
            dsn,
            transport=self._keep,
            default_integrations=False,
            auto_enabling_integrations=False,
            integrations=[],
            environment=environment or "production",
            release="",
            server_name="",
            before_send=_without_blanks,
            debug=False,
            spotlight=False,
            send_client_reports=False,
            enable_backpressure_handling=False,
            auto_session_tracking=False,
            attach_stacktrace=False,
            include_local_variables=False,
            include_source_context=False,
            max_breadcrumbs=0,
        )

    def __repr__(self) -> str:  # the DSN's key is a credential: never shown
        return "SentryTarget()"

    @property
    def url(self) -> str:
        """The envelope endpoint (the DSN's host and project; no key)."""
        return self._url

    def envelope(self, occurrence: Occurrence, issue: Issue) -> bytes | None:
        """The serialized envelope for this occurrence, or None if the SDK dropped the event."""
        with self._lock:
            self._keep.envelopes.clear()
            self._client.capture_event(cast("Event", sentry_event(occurrence, issue)))
            envelopes, self._keep.envelopes = self._keep.envelopes, []
        return envelopes[-1].serialize() if envelopes else None

    def deliver(self, occurrence: Occurrence, issue: Issue) -> Outcome:
        body = self.envelope(occurrence, issue)
        if body is None:
            return Outcome("failed", "sentry-sdk dropped the event")
        headers = {"Content-Type": "application/x-sentry-envelope", "X-Sentry-Auth": self._auth}
        return post(self._url, body, headers, self.timeout)
