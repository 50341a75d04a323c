"""The manager's own log: JSON lines in `state_dir/svcbot.log` (for Vector, Filebeat, jq) and a
short human line on stderr.

Each JSON line has `ts` (ISO 8601 UTC), `level`, `logger`, `msg`, and, where present, `event` (a
domain event's dict), `service` and `exc` (the formatted traceback).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["JsonFormatter", "setup_logging"]

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


def setup_logging(log_file: Path, *, verbose: bool = False, max_bytes: int = 20 * 1024 * 1024) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    file_handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=max_bytes, backupCount=3)
    file_handler.setFormatter(JsonFormatter())
    root.addHandler(file_handler)
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(asctime)s svcbot %(levelname)s %(message)s", "%H:%M:%S"))
    root.addHandler(console)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines describe every migration step
