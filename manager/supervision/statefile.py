"""The state file: which processes svcbot is running, so a new svcbot can adopt them.

Written atomically (temporary file, fsync, rename, fsync of the folder) on every start and exit, so a
`kill -9` at any moment leaves either the old or the new version, never half of one. A process is
adopted only if its PID, its start time and its run tag all still match, so a recycled PID is never
mistaken for a service.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from manager.config.spec import ServiceSpec
from manager.supervision.process import RUN_ID_VAR, process_start_time, read_environ

__all__ = ["SavedRun", "load_runs", "matches_process", "save_runs", "spec_digest"]

log = logging.getLogger(__name__)
VERSION = 1


@dataclass(frozen=True)
class SavedRun:
    service: str
    pid: int
    start_time: int | None
    run_id: str
    spec_digest: str
    started_at: str  # ISO 8601 UTC
    restarts: int = 0


def spec_digest(spec: ServiceSpec) -> str:
    """Changes exactly when the service's definition does (dataclass reprs are deterministic)."""
    return hashlib.sha256(repr(spec).encode()).hexdigest()[:16]


def save_runs(path: Path, runs: list[SavedRun]) -> None:
    payload = {"version": VERSION, "manager_pid": os.getpid(), "runs": [asdict(r) for r in runs]}
    fd, tmp = tempfile.mkstemp(prefix=".state.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_runs(path: Path) -> list[SavedRun]:
    """The runs recorded by the last svcbot; an unreadable file is reported and treated as empty."""
    try:
        payload = json.loads(path.read_text())
        return [SavedRun(**item) for item in payload["runs"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable state file %s: %s", path, exc)
        return []


def matches_process(run: SavedRun) -> bool:
    """True when run.pid is still the very process that was recorded (start time and tag)."""
    if run.start_time is None or process_start_time(run.pid) != run.start_time:
        return False
    environ = read_environ(run.pid)
    return environ is not None and f"{RUN_ID_VAR}={run.run_id}".encode() in environ.split(b"\0")
