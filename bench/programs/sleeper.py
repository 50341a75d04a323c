"""Bench program: record the start, then sleep until a signal ends it (no CPU while idle).

Usage: sleeper.py STARTS_FILE NAME. Appends one line `NAME PID TIME` (TIME from time.time()) with a
single os.write on an O_APPEND descriptor.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def main() -> None:
    started = time.time()
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, f"{sys.argv[2]} {os.getpid()} {started:.6f}\n".encode())
    os.close(fd)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
