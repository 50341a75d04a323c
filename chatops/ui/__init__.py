"""What Slack shows: every user-facing sentence (`messages`), Block Kit messages (`blocks`) and modals
(`modals`) built with the toolkit that keeps them within Slack's limits (`kit`), and text escaped for
Slack or normalized from it (`text`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manager.core.lazy import lazy_exports

if TYPE_CHECKING:
    from chatops.ui.kit import Block, Message
    from chatops.ui.text import SVCBOT_EMOJI, escape, normalize, truncate

_EXPORTS = {
    "Block": "kit",
    "Message": "kit",
    "SVCBOT_EMOJI": "text",
    "escape": "text",
    "normalize": "text",
    "truncate": "text",
}
__all__ = [
    "SVCBOT_EMOJI",
    "Block",
    "Message",
    "escape",
    "normalize",
    "truncate",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
