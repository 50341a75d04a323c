"""Fixture: writes a line to stderr and exits at once with the code given (default 3)."""

import sys

print("fatal: cannot open /etc/fixture.conf", file=sys.stderr, flush=True)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
