"""Bench program: record the start, run for 0.1 s, record the exit, exit with status 1.

Usage: crasher.py EVENTS_FILE. Each record is one line, `start PID TIME` or `exit PID TIME`
(TIME from time.time()), appended with a single os.write on an O_APPEND descriptor so that lines
from successive runs never interleave.
"""

from __future__ import annotations

import os
import sys
import time


def record(fd: int, what: str, when: float) -> None:
    os.write(fd, f"{what} {os.getpid()} {when:.6f}\n".encode())


def main() -> None:
    started = time.time()
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    record(fd, "start", started)
    time.sleep(0.1)
    record(fd, "exit", time.time())
    sys.exit(1)


if __name__ == "__main__":
    main()
