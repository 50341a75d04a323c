"""Fixture: a classic daemon. Double-forks a grandchild that leaves the process group (setsid),
ignores SIGTERM, writes its PID to the file given, and lives on. The original process stays in
the foreground (argv[2] == 'stay') or exits 0 at once (argv[2] == 'exit')."""

import os
import signal
import sys
import time

pid_file = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "stay"

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with open(pid_file + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.rename(pid_file + ".tmp", pid_file)
        while True:
            time.sleep(60)
    os._exit(0)
os.wait()
print("daemon launched", flush=True)
if mode == "exit":
    sys.exit(0)
while True:
    time.sleep(60)
