"""`version_command`: ask the service's code what version it is, at each start.

A deploy changes the code on disk (a new tag for `git describe --tags`, a new VERSION file), not
svcbot.yml, so the command runs every time the service starts, next to the service (its `cwd` and its
environment without svcbot's credentials or tags). Run asynchronously: the service starts at once, and its
version is known a few milliseconds later. The first line of standard output is the version; no output,
a non-zero exit or no answer within `TIMEOUT` leaves the configured `version` in place, with a warning.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from manager.supervision.process import Reaper, run_captured

__all__ = ["MAX_LENGTH", "TIMEOUT", "run_version_command"]

log = logging.getLogger(__name__)

TIMEOUT = 5.0
MAX_LENGTH = 100  # the store's version columns
MAX_OUTPUT = 4096


async def run_version_command(
    service: str,
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    reaper: Reaper,
    *,
    timeout: float = TIMEOUT,
) -> str | None:
    """The version the command prints, or None (and one warning saying why). Run like a health-check
    plugin (`manager.supervision.process.run_captured`), through svcbot's reaper."""
    try:
        status, output = await run_captured(
            argv,
            cwd=cwd,
            env=env,
            reaper=reaper,
            timeout=timeout,
            stderr=subprocess.DEVNULL,
            limit=MAX_OUTPUT,
        )
    except OSError as exc:
        log.warning("%s: version_command %s cannot run: %s", service, argv[0], exc.strerror or exc)
        return None
    except TimeoutError:
        log.warning("%s: version_command gave no answer within %gs", service, timeout)
        return None
    text = output.decode(errors="replace")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if status.code != 0 or not first:
        log.warning(
            "%s: version_command failed (%s)", service, f"exit {status.returncode}" if first else "no output"
        )
        return None
    return first[:MAX_LENGTH]
