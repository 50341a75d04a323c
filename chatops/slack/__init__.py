"""The Slack connection: settings from the environment (`settings`), the Bolt app and its Web API client
(`app`), and the front end that `svcbot run` starts as an extension (`frontend`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manager.core.lazy import lazy_exports

if TYPE_CHECKING:
    from chatops.slack.app import SlackApp, make_client
    from chatops.slack.settings import SettingsError, SlackSettings

_EXPORTS = {
    "SettingsError": "settings",
    "SlackApp": "app",
    "SlackSettings": "settings",
    "make_client": "app",
}
__all__ = [
    "SettingsError",
    "SlackApp",
    "SlackSettings",
    "make_client",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
