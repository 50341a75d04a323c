"""Fixture: ignores SIGTERM and runs until SIGKILLed. Prints 'ready' once the handler is set."""

import signal
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(60)
