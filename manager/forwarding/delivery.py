"""What the targets share: the outcome of one delivery, one HTTP POST, and the last redaction.

Only the status code decides what happens to a delivery: 2xx sent; 408, 429 and 5xx (and no answer
at all) retried later; anything else (a 3xx, since redirects are not followed, or a 4xx) failed for
good, because sending the same request again cannot change the answer.
"""

from __future__ import annotations

import email.utils
import http.client
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from manager import __version__
from manager.core.redact import redact_lines, redact_text

if TYPE_CHECKING:
    from manager.store.models import Issue, Occurrence

__all__ = ["USER_AGENT", "Outcome", "Target", "post", "scrub"]

USER_AGENT = f"svcbot/{__version__}"
MAX_ERROR = 300  # characters of a refusal's body kept in `forward_delivery.error`
RETRYABLE = frozenset({408, 429})


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to; `retry_after` is the remote's own Retry-After, in seconds."""

    status: Literal["sent", "retry", "failed"]
    error: str | None = None
    retry_after: float | None = None


class Target(Protocol):
    """A remote service that receives occurrences (`name` is the outbox row's `target`)."""

    name: str

    def deliver(self, occurrence: Occurrence, issue: Issue) -> Outcome: ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib would turn a redirected POST into a GET without its body: refuse instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Outcome:
    """POST `body` and classify the answer. Never raises for network trouble, and the URL (which
    may hold a credential) is never part of the error text."""
    request = urllib.request.Request(url, data=body, method="POST", headers={"User-Agent": USER_AGENT})
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return Outcome("sent")
    except urllib.error.HTTPError as exc:
        return _refused(exc)
    except urllib.error.URLError as exc:
        return Outcome("retry", redact_text(f"unreachable: {exc.reason}"))
    except (OSError, http.client.HTTPException) as exc:  # a reset, a timeout while reading
        return Outcome("retry", redact_text(f"{type(exc).__name__}: {exc}"))


def _refused(exc: urllib.error.HTTPError) -> Outcome:
    try:
        detail = exc.read(4096).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        detail = ""
    finally:
        exc.close()
    detail = " ".join(detail.split())
    error = redact_text(f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else ""))[:MAX_ERROR]
    if exc.code in RETRYABLE or exc.code >= 500:
        return Outcome("retry", error, _retry_after(exc.headers.get("Retry-After")))
    return Outcome("failed", error)


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def scrub(value: Any) -> Any:
    """`value` with every string redacted once more: what leaves svcbot passes the redactor at its
    last boundary too, whatever path it took to the database (redaction is idempotent)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if value and all(isinstance(item, str) for item in value):
            return list(redact_lines(value))  # a key spread over lines is caught as one block
        return [scrub(item) for item in value]
    return value
