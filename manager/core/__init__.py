"""What every part of svcbot shares, and nothing else: the command model (one typed command per verb,
one typed result, whichever front end asked), units and counts, and secret redaction. Pure and free of
I/O; it imports nothing else of svcbot's: the bottom layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manager.core.lazy import lazy_exports

if TYPE_CHECKING:
    from manager.core.commands import (
        EXIT_FAILED,
        EXIT_OK,
        EXIT_USAGE,
        Command,
        CommandError,
        Logs,
        Reload,
        Restart,
        Result,
        Start,
        Status,
        Stop,
        parse_command,
    )
    from manager.core.redact import redact_argv, redact_env, redact_event_data, redact_lines, redact_text
    from manager.core.units import (
        format_duration,
        format_size,
        parse_duration,
        parse_percent,
        parse_size,
        plural,
    )

_EXPORTS = {
    "Command": "commands",
    "CommandError": "commands",
    "EXIT_FAILED": "commands",
    "EXIT_OK": "commands",
    "EXIT_USAGE": "commands",
    "Logs": "commands",
    "Reload": "commands",
    "Restart": "commands",
    "Result": "commands",
    "Start": "commands",
    "Status": "commands",
    "Stop": "commands",
    "format_duration": "units",
    "format_size": "units",
    "parse_command": "commands",
    "parse_duration": "units",
    "parse_percent": "units",
    "parse_size": "units",
    "plural": "units",
    "redact_argv": "redact",
    "redact_env": "redact",
    "redact_event_data": "redact",
    "redact_lines": "redact",
    "redact_text": "redact",
}
__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Command",
    "CommandError",
    "Logs",
    "Reload",
    "Restart",
    "Result",
    "Start",
    "Status",
    "Stop",
    "format_duration",
    "format_size",
    "parse_command",
    "parse_duration",
    "parse_percent",
    "parse_size",
    "plural",
    "redact_argv",
    "redact_env",
    "redact_event_data",
    "redact_lines",
    "redact_text",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
