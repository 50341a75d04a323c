"""The `svcbot` command and the process behind `svcbot run`: the argparse CLI (`main`) and its verbs on
the store (`store_verbs`), the daemon that wires supervision, store, forwarding and a front end's
extensions together (`daemon`), the control socket between the two (`control`) and svcbot's JSON log
(`jsonlog`). The top layer: nothing in manager imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manager.core.lazy import lazy_exports

if TYPE_CHECKING:
    from manager.cli.control import SOCKET_NAME, ControlError, request
    from manager.cli.daemon import Daemon, Extension
    from manager.cli.store_verbs import local_user

_EXPORTS = {
    "ControlError": "control",
    "Daemon": "daemon",
    "Extension": "daemon",
    "SOCKET_NAME": "control",
    "local_user": "store_verbs",
    "request": "control",
}
__all__ = [
    "SOCKET_NAME",
    "ControlError",
    "Daemon",
    "Extension",
    "local_user",
    "request",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
