"""Running the services: the pure state machine (`states`), spawning and reaping (`process`), one
runner per service (`service`), the fleet (`supervisor`), health checks, resource sampling, log
capture, the state file that makes adoption safe, the typed events all of them publish (`events`), and
the command model's execution (`execute`). Knows nothing of the store, triage or Slack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manager.core.lazy import lazy_exports

if TYPE_CHECKING:
    from manager.supervision.execute import Executor
    from manager.supervision.health import NAGIOS_STATUS
    from manager.supervision.logs import parse_line, read_lines
    from manager.supervision.process import Reaper, set_child_subreaper
    from manager.supervision.supervisor import Supervisor

_EXPORTS = {
    "Executor": "execute",
    "NAGIOS_STATUS": "health",
    "Reaper": "process",
    "Supervisor": "supervisor",
    "parse_line": "logs",
    "read_lines": "logs",
    "set_child_subreaper": "process",
}
__all__ = [
    "NAGIOS_STATUS",
    "Executor",
    "Reaper",
    "Supervisor",
    "parse_line",
    "read_lines",
    "set_child_subreaper",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
