"""Error reports: what the supervisor's events become before they reach the store.

Every unexpected exit, crash loop, failed health check, resource breach and manager error becomes an
*occurrence* record: the service, its exit code or signal, whether an OOM kill is likely, the stderr
tail, the Python traceback parsed out of it, the service's version and the environment it ran in
(host, OS, Python, command, cwd, environment variables, the last resource sample). Every event also
becomes a lifecycle *event* record, the raw material of an issue's timeline.

Redaction happens here, once, before anything is stored, logged or shown: the stderr tail, the
traceback, the command line and the environment all go through `manager.core.redact`. The fingerprint is
computed on the redacted text (redaction is idempotent, so it is stable).

Everything is pure: records are plain JSON-ready dicts with a fresh `uid`, so the store can spool
them to disk and apply each exactly once.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from manager.config.spec import ServiceSpec
from manager.core.redact import redact_argv, redact_env, redact_event_data, redact_lines, redact_text
from manager.supervision import events as ev
from manager.triage.fingerprint import group
from manager.triage.tracebacks import ParsedException, parse_traceback

__all__ = ["Host", "Record", "event_record", "occurrence_record", "oom_likely"]

Record = dict[str, Any]
MANAGER_SERVICE = "svcbot"  # the service name of the manager's own errors
OOM_EXIT_CODE = 137  # 128 + SIGKILL, what a shell wrapper reports for a killed child


def _memory_total() -> int:
    try:
        import psutil  # noqa: PLC0415 - only where reports are made (the store's writer thread)

        return int(psutil.virtual_memory().total)
    except Exception:
        return 0


@dataclass(frozen=True)
class Host:
    """Where svcbot runs: recorded with every report."""

    hostname: str = field(default_factory=socket.gethostname)
    system: str = field(default_factory=lambda: f"{platform.system()} {platform.release()}")
    python: str = field(default_factory=platform.python_version)
    svcbot_pid: int = field(default_factory=os.getpid)
    cpus: int = field(default_factory=lambda: os.cpu_count() or 0)
    memory: int = field(default_factory=_memory_total)  # bytes of RAM, 0 if unknown


def _uid() -> str:
    return uuid.uuid4().hex


def event_record(event: ev.Event) -> Record:
    """A lifecycle event for the timeline, with every text field redacted."""
    data = redact_event_data(event.to_dict())
    data.pop("at", None)
    data.pop("kind", None)
    service = data.pop("service", None)
    run_id = data.pop("run_id", None)
    record: Record = {
        "op": "event",
        "uid": _uid(),
        "at": event.at.isoformat(),
        "kind": event.kind,
        "service": service,
        "run_id": run_id,
        "data": data,
    }
    if isinstance(event, ev.ServiceStarted | ev.ServiceVersion) and event.version:
        record["version"] = event.version
    return record


def oom_likely(event: ev.ServiceExited) -> bool:
    """An unrequested SIGKILL is what the kernel's OOM killer sends (exit code 137 is how a shell
    wrapper passes it on). svcbot's own SIGKILLs follow a stop it asked for, which is `expected`."""
    if event.expected:
        return False
    return event.signal == "SIGKILL" or event.exit_code == OOM_EXIT_CODE


def occurrence_record(event: ev.Event, spec: ServiceSpec | None, host: Host) -> Record | None:
    """The error report for an event, or None when the event is not an error."""
    if isinstance(event, ev.ServiceExited):
        return None if event.expected else _exited(event, spec, host)
    if isinstance(event, ev.CrashLoop):
        return _crash_loop(event, spec, host)
    if isinstance(event, ev.HealthChanged):
        return None if event.healthy else _unhealthy(event, spec, host)
    if isinstance(event, ev.ResourceBreach):
        return _breach(event, spec, host)
    if isinstance(event, ev.ManagerError):
        return _manager_error(event, host)
    return None


def _exited(event: ev.ServiceExited, spec: ServiceSpec | None, host: Host) -> Record:
    tail = redact_lines(event.stderr_tail)
    exception = parse_traceback(tail)
    oom = oom_likely(event)
    status = event.status_text + (" (likely out of memory)" if oom else "")
    title = f"{event.service}: {_headline(exception, tail, status)}"
    record = _base(
        "crash", event, spec, host, title=title, summary=f"exited: {status} after {event.runtime:.1f}s"
    )
    record.update(exit_code=event.exit_code, signal=event.signal, oom_likely=oom, stderr_tail=list(tail))
    record["version"] = event.version or (spec.version if spec else None)
    record["sample"] = _sample(event.last_sample)
    record["environment"]["command"] = list(redact_argv(event.argv)) or record["environment"]["command"]
    record["environment"]["cwd"] = event.cwd or record["environment"]["cwd"]
    return _grouped(record, spec, exception, tail, event.status_text)


def _crash_loop(event: ev.CrashLoop, spec: ServiceSpec | None, host: Host) -> Record:
    tail = redact_lines(event.stderr_tail)
    summary = (
        f"crash loop: {event.exits} exits within {event.interval:g}s, last {event.last_exit or 'unknown'}; "
        f"quarantined, retry in {event.retry_in:g}s"
    )
    record = _base("crash_loop", event, spec, host, title=f"{event.service}: crash loop", summary=summary)
    record["stderr_tail"] = list(tail)
    record["severity"] = "high"
    # One issue per service's crash loop: the crashes themselves are grouped by their own cause.
    return _grouped(record, spec, None, (), "crash loop")


def _unhealthy(event: ev.HealthChanged, spec: ServiceSpec | None, host: Host) -> Record:
    output = redact_text(event.output)
    status = f" {event.status}" if event.status else ""
    summary = f"health check failing{status}: {event.check}: {output} ({event.failures} in a row)"
    title = f"{event.service}: health check failing ({redact_text(event.check)})"
    record = _base("health", event, spec, host, title=title, summary=summary)
    # The output's parameterized text groups: "connection refused" and "HTTP 503" are two issues.
    return _grouped(record, spec, None, (f"health {event.check}: {output}",), "unhealthy")


def _breach(event: ev.ResourceBreach, spec: ServiceSpec | None, host: Host) -> Record:
    value, limit = _amount(event.resource, event.value), _amount(event.resource, event.limit)
    summary = f"{event.resource} {value} over limit {limit}"
    title = f"{event.service}: {event.resource} over limit"
    record = _base("resource", event, spec, host, title=title, summary=f"{summary} (action: {event.action})")
    record["sample"] = _sample(event.sample)
    return _grouped(record, spec, None, (), f"{event.resource} over limit")


def _manager_error(event: ev.ManagerError, host: Host) -> Record:
    lines = redact_lines(event.traceback.splitlines())
    exception = parse_traceback(lines)
    message = redact_text(event.message)
    title = f"svcbot: {event.error_type}: {message}" if message else f"svcbot: {event.error_type}"
    record = _base("manager_error", event, None, host, title=title, summary=f"in {event.where}: {message}")
    record["service"] = event.service or MANAGER_SERVICE
    record["stderr_tail"] = list(lines)
    record["severity"] = "high"
    return _grouped(record, None, exception, lines, event.error_type, service=MANAGER_SERVICE)


def _base(
    kind: str, event: ev.Event, spec: ServiceSpec | None, host: Host, *, title: str, summary: str
) -> Record:
    service = getattr(event, "service", None) or MANAGER_SERVICE
    return {
        "op": "occurrence",
        "uid": _uid(),
        "at": event.at.isoformat(),
        "kind": kind,
        "service": service,
        "run_id": getattr(event, "run_id", None) or None,
        "version": spec.version if spec else None,
        "title": redact_text(title)[:500],
        "summary": redact_text(summary)[:1000],
        "severity": "normal",
        "exit_code": None,
        "signal": None,
        "oom_likely": False,
        "stderr_tail": [],
        "sample": {},
        "exception": None,
        "environment": _environment(spec, host),
    }


def _environment(spec: ServiceSpec | None, host: Host) -> dict[str, Any]:
    env: Mapping[str, str] = spec.env_dict if spec else {}
    return {
        "host": host.hostname,
        "os": host.system,
        "python": host.python,
        "svcbot_pid": host.svcbot_pid,
        "cpus": host.cpus,
        "memory": host.memory,
        "command": list(redact_argv(spec.argv)) if spec else [sys.executable],
        "cwd": str(spec.cwd) if spec else os.getcwd(),
        "env": redact_env(env),
    }


def _grouped(
    record: Record,
    spec: ServiceSpec | None,
    exception: ParsedException | None,
    tail: Sequence[str],
    exit_text: str,
    *,
    service: str | None = None,
) -> Record:
    grouping = group(
        service=service or record["service"],
        explicit=spec.fingerprint if spec else None,
        exception=exception,
        stderr_tail=tail,
        exit_text=exit_text,
    )
    record["fingerprint"] = grouping.fingerprint
    record["grouping_method"] = grouping.method
    record["grouping"] = list(grouping.components)
    if exception is not None:
        record["exception"] = _exception(exception)
    return record


def _exception(exception: ParsedException) -> dict[str, Any]:
    return {
        "type": exception.type,
        "value": exception.value,
        "frames": [asdict(frame) for frame in exception.frames],
        "chained": [{"type": c.type, "value": c.value} for c in exception.chained],
    }


def _headline(exception: ParsedException | None, tail: Sequence[str], status: str) -> str:
    if exception is not None:
        return f"{exception.type}: {exception.value}" if exception.value else exception.type
    last = next((line.strip() for line in reversed(tail) if line.strip()), "")
    return f"{status}: {last}" if last else status


def _sample(sample: ev.ResourceSample | None) -> dict[str, Any]:
    if sample is None:
        return {}
    data = asdict(sample)
    data["sampled_at"] = sample.sampled_at.isoformat()
    return data


def _amount(resource: str, value: float) -> str:
    if resource == "memory":
        return f"{value / (1024 * 1024):.0f} MiB"
    return f"{value:.0f} %"
