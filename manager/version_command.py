"""`version_command`: ask the service's code what version it is, at each start.

A deploy changes the code on disk (a new tag for `git describe --tags`, a new VERSION file), not
svcbot.yml, so the command runs every time the service starts, next to the service (its `cwd` and its
environment without svcbot's credentials or tags). Run asynchronously: the service starts at once, and its
version is known a few milliseconds later. The first line of standard output is the version; no output,
a non-zero exit or no answer within `TIMEOUT` leaves the configured `version` in place, with a warning.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from manager.process import Reaper, kill_tree, spawn

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
    """The version the command prints, or None (and one warning saying why).

    Spawned through svcbot's reaper, like health-check plugins: svcbot reaps every child itself (it is
    a subreaper), so asyncio's own child watcher would never see this one's exit status."""
    loop = asyncio.get_running_loop()
    read_fd, write_fd = os.pipe()
    try:
        popen = spawn(argv, cwd=cwd, env=env, stdout=write_fd, stderr=subprocess.DEVNULL)
    except OSError as exc:
        os.close(read_fd)
        log.warning("%s: version_command %s cannot run: %s", service, argv[0], exc.strerror or exc)
        return None
    finally:
        os.close(write_fd)
    exited = reaper.watch(popen)
    reader = asyncio.StreamReader(limit=MAX_OUTPUT * 4)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    try:
        status = await asyncio.wait_for(asyncio.shield(exited), timeout)
        output = await asyncio.wait_for(reader.read(MAX_OUTPUT), 1.0)
    except TimeoutError:
        kill_tree(popen.pid, (), signal.SIGKILL)
        log.warning("%s: version_command gave no answer within %gs", service, timeout)
        return None
    finally:
        transport.close()
    text = output.decode(errors="replace")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if status.code != 0 or not first:
        log.warning(
            "%s: version_command failed (%s)", service, f"exit {status.returncode}" if first else "no output"
        )
        return None
    return first[:MAX_LENGTH]
