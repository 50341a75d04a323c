"""`/svc` and `/feedback`: the grammar (`grammar`), access by role (`access`), signed confirmations
(`confirm`), and the command center that runs them for Slack and for `svcbot shell` (`center`,
`shell`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manager.core.lazy import lazy_exports

if TYPE_CHECKING:
    from chatops.commands.access import AccessPolicy, GroupMembership
    from chatops.commands.center import Caller, CommandCenter, Reply
    from chatops.commands.confirm import ConfirmError, Signer, load_or_create_key
    from chatops.commands.shell import run_shell

_EXPORTS = {
    "AccessPolicy": "access",
    "Caller": "center",
    "CommandCenter": "center",
    "ConfirmError": "confirm",
    "GroupMembership": "access",
    "Reply": "center",
    "Signer": "confirm",
    "load_or_create_key": "confirm",
    "run_shell": "shell",
}
__all__ = [
    "AccessPolicy",
    "Caller",
    "CommandCenter",
    "ConfirmError",
    "GroupMembership",
    "Reply",
    "Signer",
    "load_or_create_key",
    "run_shell",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
