"""Fixture: a Nagios-style plugin. Exits with the code stored in the file given (0 if absent),
printing a status line as plugins do."""

import sys

try:
    with open(sys.argv[1]) as fh:
        code = int(fh.read().strip() or 0)
except FileNotFoundError:
    code = 0
names = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
print(f"FIXTURE {names.get(code, 'UNKNOWN')} - status {code} | value={code}")
sys.exit(code)
