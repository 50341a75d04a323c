"""Fixture: writes numbered lines to stdout as fast as it can, forever (or N lines then sleeps)."""

import sys
import time

limit = int(sys.argv[1]) if len(sys.argv) > 1 else -1
payload = "x" * 100
n = 0
out = sys.stdout
while limit < 0 or n < limit:
    out.write(f"line {n} {payload}\n")
    n += 1
out.flush()
print("spam done", file=sys.stderr, flush=True)
while True:
    time.sleep(60)
