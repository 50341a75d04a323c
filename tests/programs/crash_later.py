"""Fixture: runs for the seconds given, then dies of an uncaught exception (a traceback)."""

import sys
import time


def connect(host: str) -> None:
    raise ConnectionError(f"database at {host} refused the connection")


print("worker ready", flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0.5)
connect("10.0.0.5:5432")
