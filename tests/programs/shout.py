"""Fixture: prints a line that would ping a whole Slack channel if it were not escaped, then dies."""

import sys

print("about to fail <!channel> & <@U0ADMIN>", file=sys.stderr, flush=True)
sys.exit(3)
