"""The Slack front end's settings from the environment (docs/design.md's contract).

Tokens are secrets: they come from the environment only, never from the config file, and `repr`
hides them so they cannot end up in a log line by accident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["SettingsError", "SlackSettings"]

DEFAULT_API_URL = "https://slack.com/api/"


class SettingsError(ValueError):
    """An environment variable is set but cannot be right; the message names it."""


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None

    @property
    def socket_mode(self) -> bool:
        """Socket Mode wins when an app-level token is set (docs/design.md)."""
        return self.app_token is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SlackSettings:
        bot = _get(environ, "SLACK_BOT_TOKEN")
        app = _get(environ, "SLACK_APP_TOKEN")
        secret = _get(environ, "SLACK_SIGNING_SECRET")
        api_url = _get(environ, "SLACK_API_URL") or DEFAULT_API_URL
        if bot is not None and not bot.startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN must be a bot token (xoxb-...)")
        if app is not None and not app.startswith("xapp-"):
            raise SettingsError("SLACK_APP_TOKEN must be an app-level token (xapp-...) for Socket Mode")
        if bot is not None and app is None and secret is None:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is needed in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
            )
        if app is not None and bot is None:
            raise SettingsError("SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not")
        if not re.match(r"https?://", api_url):
            raise SettingsError(f"SLACK_API_URL must be an http(s) URL, got {api_url!r}")
        return cls(bot, secret, app, api_url if api_url.endswith("/") else api_url + "/")


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None
