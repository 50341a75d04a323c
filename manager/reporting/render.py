"""Plain-text rendering of command results for people (the CLI and `svcbot shell`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from manager.core.commands import Result
from manager.core.units import format_duration, format_size

__all__ = ["render_result", "render_status", "table"]

STATUS_COLUMNS = ("NAME", "STATE", "PID", "UPTIME", "RESTARTS", "HEALTH", "CPU", "MEM", "NOTE")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def _note(service: Mapping[str, Any]) -> str:
    if service.get("waiting_for"):
        return "waiting for " + ", ".join(service["waiting_for"])
    if service.get("state") in ("exited", "backoff", "quarantined") and service.get("last_exit"):
        return f"last: {service['last_exit']}"
    if service.get("health") == "unhealthy" and service.get("health_output"):
        return str(service["health_output"])[:60]
    return "adopted" if service.get("adopted") else ""


def render_status(services: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for s in services:
        rows.append(
            [
                str(s["name"]),
                str(s["state"]),
                str(s["pid"] or "-"),
                format_duration(s["uptime"]) if s["uptime"] is not None else "-",
                str(s["restarts"]),
                str(s["health"]),
                f"{s['cpu_percent']:.1f}%" if s["cpu_percent"] is not None else "-",
                format_size(s["rss"]) if s["rss"] is not None else "-",
                _note(s),
            ]
        )
    return table(STATUS_COLUMNS, rows)


def render_result(verb: str, result: Result) -> str:
    if not result.ok:
        return f"svcbot: {result.message}"
    if verb == "status":
        return render_status(result.data)
    if verb == "logs":
        return "\n".join(result.data["lines"])
    return result.message
