"""Health checks: http (status < 400), tcp (connect), command (Nagios plugin exit codes).

A check is one async call returning a `CheckResult`; the runner owns the schedule (interval, grace,
consecutive failures). Command checks are spawned through the reaper like everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from manager.config.spec import HealthSpec
from manager.supervision.process import Reaper, run_captured

__all__ = ["NAGIOS_STATUS", "CheckResult", "run_check"]

NAGIOS_STATUS = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
MAX_OUTPUT = 4096


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    output: str  # one line: HTTP status line, connection error or the plugin's first line
    status: str = ""  # Nagios status name for command checks
    duration: float = 0.0


def describe(spec: HealthSpec) -> str:
    return f"{spec.kind} {spec.target}"


async def run_check(spec: HealthSpec, reaper: Reaper, cwd: Path, env: Mapping[str, str]) -> CheckResult:
    started = time.monotonic()
    try:
        if spec.kind == "http":
            result = await asyncio.wait_for(_http(spec.target), spec.timeout)
        elif spec.kind == "tcp":
            result = await asyncio.wait_for(_tcp(spec.target), spec.timeout)
        else:
            result = await _command(spec, reaper, cwd, env)
    except TimeoutError:
        result = CheckResult(False, f"timed out after {spec.timeout:g}s", "CRITICAL")
    except OSError as exc:
        result = CheckResult(False, f"{type(exc).__name__}: {exc.strerror or exc}", "CRITICAL")
    return CheckResult(result.ok, result.output, result.status, time.monotonic() - started)


async def _http(url: str) -> CheckResult:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    host = parts.hostname or "127.0.0.1"
    context = None
    if secure:
        import ssl  # noqa: PLC0415 - 10 ms of start-up that only https checks need

        context = ssl.create_default_context()
    reader, writer = await asyncio.open_connection(host, port, ssl=context)
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        request = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: svcbot-health\r\n"
        writer.write((request + "Connection: close\r\n\r\n").encode("latin-1"))
        await writer.drain()
        line = (await reader.readline()).decode("latin-1").strip()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    pieces = line.split(" ", 2)
    if len(pieces) < 2 or not pieces[1].isdigit():
        return CheckResult(False, f"not an HTTP response: {line[:200]!r}", "CRITICAL")
    ok = int(pieces[1]) < 400
    return CheckResult(ok, line, "OK" if ok else "CRITICAL")


async def _tcp(target: str) -> CheckResult:
    host, _, port = target.rpartition(":")
    _, writer = await asyncio.open_connection(host.strip("[]"), int(port))
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return CheckResult(True, f"connected to {target}", "OK")


async def _command(spec: HealthSpec, reaper: Reaper, cwd: Path, env: Mapping[str, str]) -> CheckResult:
    """Run a Nagios-style plugin: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; only OK passes."""
    status, output = await run_captured(
        spec.argv, cwd=cwd, env=env, reaper=reaper, timeout=spec.timeout, limit=MAX_OUTPUT
    )
    first = output.decode("utf-8", "replace").strip().splitlines()
    text = first[0] if first else ""
    code = status.code if status.code is not None else 3
    name = NAGIOS_STATUS.get(code, "UNKNOWN")
    return CheckResult(code == 0, text or f"exit {status.returncode}", name)
