"""Typed domain events and the in-process bus that carries them.

The events are the seam between supervision and everything that reacts to it (the store, triage,
alerting, metrics): those subscribe here and are never called by the supervisor directly. Events are
frozen, carry plain data only and serialize with `to_dict()`, so a subscriber may persist, forward or
render them without importing the supervisor.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from manager.core.units import format_size

__all__ = [
    "CrashLoop",
    "CrashLoopEnded",
    "Event",
    "EventBus",
    "HealthChanged",
    "ManagerError",
    "ResourceBreach",
    "ResourceSample",
    "ServiceExited",
    "ServiceStarted",
    "ServiceStateChanged",
    "ServiceStopped",
    "ServiceVersion",
]

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ResourceSample:
    """One psutil sample of a service's whole process tree."""

    cpu_percent: float
    rss: int
    threads: int
    open_files: int
    processes: int
    sampled_at: datetime = field(default_factory=_now)


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    at: datetime = field(default_factory=_now)

    def describe(self) -> str:
        """What happened, in words, for a person reading svcbot's log (the kind is for machines)."""
        return self.kind.replace("_", " ")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: datetimes as ISO 8601 UTC, nested dataclasses as dicts."""
        out: dict[str, Any] = {"kind": self.kind}
        out.update(_fields(self))
        return out


def _fields(obj: Any) -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies every value, which made logging an event cost more
    # than spawning the service it was about. Events hold immutable values, so no copy is needed.
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class ServiceEvent(Event):
    service: str
    run_id: str = ""


@dataclass(frozen=True, kw_only=True)
class ServiceStarted(ServiceEvent):
    kind: ClassVar[str] = "service_started"
    pid: int
    version: str | None = None
    argv: tuple[str, ...] = ()
    restarts: int = 0  # automatic restarts of this service since the manager started it
    adopted: bool = False  # found still running after a manager restart

    def describe(self) -> str:
        return f"{'adopted' if self.adopted else 'started'} pid {self.pid}"


@dataclass(frozen=True, kw_only=True)
class ServiceVersion(ServiceEvent):
    """`version_command` named the version of a run (published when it differs from the one before)."""

    kind: ClassVar[str] = "service_version"
    version: str
    previous: str | None = None

    def describe(self) -> str:
        return f"version {self.version} (was {self.previous or 'unknown'})"


@dataclass(frozen=True, kw_only=True)
class ServiceExited(ServiceEvent):
    """The main process of a service ended.

    `expected` is true when svcbot asked it to stop (stop, restart, reload, shutdown). An adopted
    process is not svcbot's child, so its exit status cannot be read: both fields are None then.
    """

    kind: ClassVar[str] = "service_exited"
    pid: int
    exit_code: int | None
    signal: str | None  # "SIGKILL", ...
    expected: bool
    runtime: float  # seconds the run lasted
    stderr_tail: tuple[str, ...] = ()
    last_sample: ResourceSample | None = None
    version: str | None = None
    argv: tuple[str, ...] = ()
    cwd: str = ""
    will_restart: bool = False

    @property
    def status_text(self) -> str:
        if self.signal:
            return f"killed by {self.signal}"
        if self.exit_code is None:
            return "exit status unknown"
        return f"exit code {self.exit_code}"

    def describe(self) -> str:
        how = "stopped" if self.expected else "exited"
        again = ", restarting" if self.will_restart else ""
        return f"{how} ({self.status_text}) after {self.runtime:.2f}s{again}"


@dataclass(frozen=True, kw_only=True)
class ServiceStopped(ServiceEvent):
    """A stop that svcbot was asked for has completed."""

    kind: ClassVar[str] = "service_stopped"
    killed: bool  # the stop timeout ran out and the tree was SIGKILLed
    leftovers: int = 0  # processes still alive after SIGKILL (should be 0)

    def describe(self) -> str:
        how = (
            "stop complete: the stop timeout ran out, so its processes were killed"
            if self.killed
            else ("stop complete")
        )
        left = f"; {self.leftovers} still alive after SIGKILL" if self.leftovers else ""
        return how + left


@dataclass(frozen=True, kw_only=True)
class ServiceStateChanged(ServiceEvent):
    kind: ClassVar[str] = "service_state_changed"
    old: str
    new: str

    def describe(self) -> str:
        return f"{self.old} -> {self.new}"


@dataclass(frozen=True, kw_only=True)
class HealthChanged(ServiceEvent):
    kind: ClassVar[str] = "health_changed"
    healthy: bool
    check: str  # "http http://...", "tcp host:port", "command check_x ..."
    output: str  # status line, error or the first line of a plugin's output
    failures: int  # consecutive failures when the change happened
    status: str = ""  # "OK", "WARNING", "CRITICAL", "UNKNOWN" for command checks

    def describe(self) -> str:
        return f"{'healthy' if self.healthy else 'unhealthy'}: {self.check}: {self.output}"


@dataclass(frozen=True, kw_only=True)
class CrashLoop(ServiceEvent):
    """The start limit was hit: the service is quarantined and retried slowly."""

    kind: ClassVar[str] = "crash_loop"
    exits: int  # unexpected exits inside the start-limit interval, the last one included
    interval: float
    retry_in: float
    last_exit: str = ""
    stderr_tail: tuple[str, ...] = ()

    def describe(self) -> str:
        retry = f"quarantined, retry in {self.retry_in:g}s"
        return f"crash loop: {self.exits} exits within {self.interval:g}s; {retry}"


@dataclass(frozen=True, kw_only=True)
class CrashLoopEnded(ServiceEvent):
    kind: ClassVar[str] = "crash_loop_ended"
    reason: str  # "stable run", "explicit start" or "stopped"

    def describe(self) -> str:
        return f"crash loop over ({self.reason})"


@dataclass(frozen=True, kw_only=True)
class ResourceBreach(ServiceEvent):
    kind: ClassVar[str] = "resource_breach"
    resource: str  # "memory" or "cpu"
    value: float
    limit: float
    action: str  # "alert" or "restart"
    sample: ResourceSample | None = None

    def describe(self) -> str:
        if self.resource == "memory":
            shown = f"{format_size(int(self.value))} of {format_size(int(self.limit))} allowed"
        else:
            shown = f"{self.value:.0f}% of {self.limit:.0f}% allowed"
        then = "restarting" if self.action == "restart" else "alerting"
        return f"{self.resource} over its limit: {shown}; {then}"


@dataclass(frozen=True, kw_only=True)
class ManagerError(Event):
    """An unexpected exception inside svcbot itself (logged with its traceback, never fatal)."""

    kind: ClassVar[str] = "manager_error"
    where: str
    error_type: str
    message: str
    traceback: str = ""
    service: str | None = None

    def describe(self) -> str:
        return f"internal error in {self.where}: {self.error_type}: {self.message}"


Handler = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out to handlers.

    Handlers run inline and must be quick; one that raises is logged and the others still run.
    Consumers that do I/O hand the event on to a thread or task of their own (the store's writer, the
    alert outbox), so nothing they do can delay supervision.
    """

    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler)

    def publish(self, event: Event) -> None:
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %s", handler, event.kind)
