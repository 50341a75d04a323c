"""After a Slack outage, the first successful call tells the alert channel: alerts may be late."""

from __future__ import annotations

from pathlib import Path

from chatops.commands.access import AccessPolicy
from chatops.commands.center import CommandCenter
from chatops.commands.confirm import Signer
from chatops.slack.app import SlackApp
from chatops.slack.frontend import SlackFrontEnd
from chatops.slack.settings import SlackSettings
from manager.config.loader import load_config
from manager.core.commands import Result
from tests.conftest import write_config
from tests.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack


async def _nothing(*_args: object) -> None:
    return None


async def _no_result(*_args: object) -> Result:
    return Result(False, "not in this test")


async def test_reconnection_is_announced_once_in_the_alert_channel(tmp_path: Path) -> None:
    """A failed probe marks an outage; the next success posts one notice, and /healthz-style state
    records when Slack last answered."""
    config = load_config(
        write_config(tmp_path, {"web": {"command": "sleep 1"}}, slack={"alert_channel": "C0ALERTS"})
    )
    with FakeSlack() as fake:
        settings = SlackSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.url)
        center = CommandCenter(
            services=lambda: config.service_names,
            policy=lambda: AccessPolicy(config.access),
            execute=_no_result,
            audit=_nothing,
            feedback=_nothing,  # type: ignore[arg-type]
            signer=Signer(b"k" * 32),
        )
        slack = SlackApp(settings, center, claim=_nothing, groups=frozenset, services=lambda: ())  # type: ignore[arg-type]
        front = SlackFrontEnd(config, environ={})
        fake.down()
        await front.probe(slack)
        await front.probe(slack)
        assert front.last_slack_ok is None
        fake.up()
        await front.probe(slack)
        await front.probe(slack)
        notices = [c for c in fake.calls("chat.postMessage") if c.ok]
        assert [c.params["channel"] for c in notices] == ["C0ALERTS"]
        assert "connected to Slack again" in notices[0].params["text"]
        assert front.last_slack_ok is not None
