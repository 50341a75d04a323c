"""The manager's own log: JSON lines in `state_dir/svcbot.log` (for Vector, Filebeat, jq) and a
short human line on stderr.

Each JSON line has `ts` (ISO 8601 UTC), `level`, `logger`, `msg`, and, where present, `event` (a
domain event's dict), `service` and `exc` (the formatted traceback).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["JsonFormatter", "RotatingFileHandler", "setup_logging"]

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class RotatingFileHandler(logging.FileHandler):
    """`logging.handlers.RotatingFileHandler`, as far as svcbot uses it: appends to FILE and, before a
    record would take it to `max_bytes`, renames it to FILE.1 (FILE.1 to FILE.2, ... up to `backups`).

    Written out because importing logging.handlers (pickle, queue, socket) took 5 ms of every start,
    and because the stock handler formats each record twice, once only to measure it. Like the stock
    one, it never rotates what is not a regular file (/dev/null, a FIFO)."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        super().__init__(path, mode="a")
        self.max_bytes = max_bytes
        self.backups = backups
        self._rotates = max_bytes > 0 and os.path.isfile(self.baseFilename)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + self.terminator
            if not self.stream or self.stream.closed:  # closed at exit, or by a rollover that failed
                self.stream = self._open()
            if self._rotates:
                self.stream.seek(0, os.SEEK_END)
                if self.stream.tell() + len(text) >= self.max_bytes:
                    self._rollover()
            self.stream.write(text)
            self.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _rollover(self) -> None:
        if self.stream:
            self.stream.close()
        base = self.baseFilename
        if self.backups > 0:
            for n in range(self.backups - 1, 0, -1):
                if os.path.exists(f"{base}.{n}"):
                    os.replace(f"{base}.{n}", f"{base}.{n + 1}")
            if os.path.exists(base):
                os.replace(base, f"{base}.1")
        self.stream = self._open()


def setup_logging(log_file: Path, *, verbose: bool = False, max_bytes: int = 20 * 1024 * 1024) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    file_handler = RotatingFileHandler(log_file, max_bytes=max_bytes, backups=3)
    file_handler.setFormatter(JsonFormatter())
    root.addHandler(file_handler)
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(asctime)s svcbot %(levelname)s %(message)s", "%H:%M:%S"))
    root.addHandler(console)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines describe every migration step
