"""Fixture: does nothing, forever; exits 0 on SIGTERM."""

import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("hanging", flush=True)
while True:
    time.sleep(60)
