"""A bounded, disk-backed spool for writes the database could not take.

When the database is unreachable, reports, feedback and events go here (JSON lines, one write per
record, appended under an exclusive lock so `svcbot feedback` and `svcbot run` can share it) and are
replayed in order when it comes back. It lives on disk, not only in memory, so a restart of svcbot
during an outage loses nothing. Every record carries a `uid` and every apply is idempotent on it,
so a replay that is interrupted half-way can simply start again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["Spool"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class Spool:
    def __init__(self, directory: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / "pending.jsonl"
        self.rejected_path = directory / "rejected.jsonl"
        self.max_bytes = max_bytes
        self.dropped = 0

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)

    def append(self, records: list[dict[str, Any]]) -> int:
        """Append records; returns how many were kept (the rest, past max_bytes, are counted as
        dropped and logged, because the disk must not fill up during a long outage)."""
        kept = 0
        with self._locked() as fd:
            size = os.fstat(fd).st_size
            for record in records:
                data = (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode()
                if size + len(data) > self.max_bytes:
                    self.dropped += 1
                    continue
                os.write(fd, data)
                size += len(data)
                kept += 1
            os.fsync(fd)
        if kept < len(records):
            log.error(
                "spool %s is full (%d bytes): dropped %d records",
                self.path,
                self.max_bytes,
                len(records) - kept,
            )
        return kept

    def __len__(self) -> int:
        try:
            with open(self.path, "rb") as fh:
                return sum(1 for _ in fh)
        except FileNotFoundError:
            return 0

    def pending(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    @contextlib.contextmanager
    def draining(self) -> Iterator[list[dict[str, Any]]]:
        """Hold the lock, yield every spooled record in order; on a clean exit the spool is
        emptied. If the body raises (the database went away again), the records stay."""
        with self._locked() as fd:
            with open(self.path, "rb") as fh:
                records = [_decode(line) for line in fh if line.strip()]
            yield [r for r in records if r is not None]
            os.ftruncate(fd, 0)
            os.fsync(fd)

    def reject(self, record: dict[str, Any], reason: str) -> None:
        """Keep a record that the database refused for good (bad data), for a person to look at."""
        with open(self.rejected_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"reason": reason, "record": record}, default=str) + "\n")


def _decode(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        log.error("skipping a corrupt spool line: %r", line[:200])
        return None
    return record if isinstance(record, dict) else None
