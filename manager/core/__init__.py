"""What every part of svcbot shares, and nothing else: the verb registry (`verbs`: every command a person
can give, where it is offered and who may run it), the command model (one typed command per verb, one
typed result, whichever front end asked), units and counts, and secret redaction. Pure and free of
I/O; it imports nothing else of svcbot's: the bottom layer.
"""

from __future__ import annotations

from manager.core import commands, lazy, redact, units, verbs

__all__ = ["commands", "lazy", "redact", "units", "verbs"]
