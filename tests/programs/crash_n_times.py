"""Fixture: crashes (exit 1) the first N times it is started, then stays up.

Usage: crash_n_times.py COUNTER_FILE N. The counter file keeps the number of starts so far.
"""

import sys
import time

counter_file, limit = sys.argv[1], int(sys.argv[2])
try:
    with open(counter_file) as fh:
        starts = int(fh.read() or 0)
except FileNotFoundError:
    starts = 0
with open(counter_file, "w") as fh:
    fh.write(str(starts + 1))
if starts < limit:
    print(f"start {starts + 1}: crashing", file=sys.stderr, flush=True)
    sys.exit(1)
print(f"start {starts + 1}: staying up", flush=True)
while True:
    time.sleep(60)
