"""What every part of svcbot shares, and nothing else: the command model (one typed command per verb,
one typed result, whichever front end asked), units and counts, and secret redaction. Pure and free of
I/O; it imports nothing else of svcbot's: the bottom layer.
"""

from __future__ import annotations

from manager.core import commands, lazy, redact, units

__all__ = ["commands", "lazy", "redact", "units"]
