"""svcbot's service manager and feedback-loop core. Never imports Slack."""

__version__ = "0.1.0"
