"""Slack in HTTP mode, end to end: a real `svcbot run`, requests signed as Slack signs them, sent over
real HTTP to /slack/events, and a fake Slack Web API on loopback recording what svcbot answers."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PY, free_port, program, tagged_processes, wait_until, write_config
from tests.fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    interaction_body,
    sign,
    slash_command_body,
    slash_command_payload,
)
from tests.test_cli import REPO, status

ACCESS = {"admins": ["U0ADMIN"], "operators": ["S0ONCALL"], "channels": ["C0OPS", "C0ALERTS"]}


@dataclass
class Bot:
    config: Path
    port: int
    proc: subprocess.Popen[bytes]
    fake: FakeSlack
    log: Path

    def post(self, body: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        """POST to /slack/events; (status, body, seconds until the answer)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )
        began = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read(), time.monotonic() - began
        except urllib.error.HTTPError as err:
            return err.code, err.read(), time.monotonic() - began

    def signed(self, body: str) -> tuple[int, bytes, float]:
        return self.post(body, sign(SIGNING_SECRET, body))

    def command(self, text: str, user: str, command: str = "/svc") -> str:
        """Send a slash command; returns its response_url."""
        url = self.fake.response_url()
        code, _, took = self.signed(slash_command_body(command, text, user, "C0OPS", response_url=url))
        assert code == 200 and took < 3.0, (code, took)
        return url

    def responses(self, url: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        rid = url.rsplit("/", 1)[1]
        calls = self.fake.wait_for("response_url", count, timeout, where=lambda c: c.path.endswith(rid))
        return [c.params for c in calls]

    def healthz(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    services = {"web": {"command": program("hang")}, "worker": {"command": program("hang")}}
    with FakeSlack() as fake, running_bot(tmp_path, fake, services) as bot:
        wait_until(
            lambda: all(s["state"] == "running" for s in status(bot.config).values()), 20, "services up"
        )
        yield bot


HTTP_MODE = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
SOCKET_MODE = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}


@contextlib.contextmanager
def running_bot(
    tmp_path: Path,
    fake: FakeSlack,
    services: dict[str, Any],
    *,
    tokens: dict[str, str] = HTTP_MODE,
    healthy: bool = True,
    **top: Any,
) -> Iterator[Bot]:
    """`svcbot run` (the chatops entry point) against `fake` with `tokens` as its Slack environment;
    stopped, and checked for leftovers, afterwards."""
    port = free_port()
    config = write_config(tmp_path, services, http={"listen": f"127.0.0.1:{port}"}, access=ACCESS, **top)
    fake.set_group("S0ONCALL", ["U0OPS"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(tokens, PYTHONPATH=str(REPO), SLACK_API_URL=fake.url)
    log = tmp_path / "daemon.out"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [PY, "-m", "chatops.main", "run", "--config", str(config)], stdout=out, stderr=out, env=env
        )
    bot = Bot(config, port, proc, fake, log)
    try:
        wait_until(lambda: _listening(bot, healthy), 30, "svcbot's HTTP listener")
        yield bot
    finally:
        proc.terminate()
        proc.wait(30)
        leaked = tagged_processes(tmp_path / "state")
        assert not leaked, f"processes leaked: {leaked}"


def _running(bot: Bot, *names: str) -> None:
    wait_until(lambda: all(status(bot.config)[n]["state"] == "running" for n in names), 20, f"{names} up")


def _listening(bot: Bot, healthy: bool = True) -> bool:
    """svcbot answers /healthz (with 200, or with anything when it is not expected to be healthy)."""
    if bot.proc.poll() is not None:
        raise AssertionError(f"svcbot exited: {bot.log.read_text()[-3000:]}")
    try:
        code = bot.healthz()[0]
    except OSError:
        return False
    return code == 200 or not healthy


def audit_rows(config: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(config.parent / "state" / "svcbot.db") as db:
        return db.execute("SELECT command, actor, ok FROM audit_entry ORDER BY id").fetchall()


def test_unsigned_or_stale_requests_are_refused(bot: Bot) -> None:
    """A bad signature or a timestamp older than five minutes: 401, and nothing runs."""
    url = bot.fake.response_url()
    body = slash_command_body("/svc", "restart web", "U0ADMIN", "C0OPS", response_url=url)
    assert bot.post(body)[0] == 401
    assert bot.post(body, sign("wrong-secret", body))[0] == 401
    assert bot.post(body, sign(SIGNING_SECRET, body, timestamp=int(time.time()) - 301))[0] == 401
    assert bot.healthz() == (200, {"ok": True, "database": "ok", "slack": "ok"})
    assert not bot.fake.calls("response_url")


def test_status_is_answered_with_a_block_kit_table(bot: Bot) -> None:
    """/svc status is acked at once and answered privately with every service in blocks."""
    url = bot.command("status", "U0VIEWER")
    (reply,) = bot.responses(url)
    assert reply["response_type"] == "ephemeral"
    shown = json.dumps(reply["blocks"])
    assert "*web*" in shown and "*worker*" in shown and "running" in shown


def test_restart_needs_the_requesters_confirmation_and_runs_once(bot: Bot) -> None:
    """An operator (through a user group) confirms a restart; others cannot; a double click runs once."""
    before = status(bot.config)["web"]["pid"]
    url = bot.command("restart web", "U0OPS")
    (question,) = bot.responses(url)
    buttons = [e for b in question["blocks"] if b["type"] == "actions" for e in b["elements"]]
    confirm = next(b for b in buttons if b["action_id"] == "svc_confirm")

    def click(user: str) -> str:
        response_url = bot.fake.response_url()
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "channel": {"id": "C0OPS"},
            "team": {"id": "T0TEAM"},
            "api_app_id": "A0SVCBOT",
            "trigger_id": f"trigger-{time.monotonic_ns()}",
            "response_url": response_url,
            "actions": [
                {"action_id": "svc_confirm", "block_id": "b", "value": confirm["value"], "type": "button"}
            ],
            "container": {"type": "message"},
        }
        code, _, took = bot.signed(interaction_body(payload))
        assert code == 200 and took < 3.0
        return response_url

    (intruder,) = bot.responses(click("U0ADMIN"))
    assert "only" in intruder["text"] and "U0OPS" in intruder["text"]
    done = click("U0OPS")
    again = click("U0OPS")
    replies = bot.responses(done, 3)
    assert any(r.get("response_type") == "in_channel" for r in replies)
    wait_until(lambda: status(bot.config)["web"]["pid"] not in (before, None), 20, "web restarted")
    assert [(c, a, ok) for c, a, ok in audit_rows(bot.config) if c == "restart"] == [("restart", "U0OPS", 1)]
    assert not [c for c in bot.fake.calls("response_url") if c.path.endswith(again.rsplit("/", 1)[1])]


def test_a_denial_is_private_and_audited(bot: Bot) -> None:
    """A viewer's stop is refused privately, nothing is stopped, and the denial is in the audit table."""
    url = bot.command("stop web", "U0VIEWER")
    (reply,) = bot.responses(url)
    assert reply["response_type"] == "ephemeral" and "operator" in reply["text"]
    assert status(bot.config)["web"]["state"] == "running"
    wait_until(lambda: ("stop", "U0VIEWER", 0) in audit_rows(bot.config), 10, "the denial's audit entry")


def test_feedback_with_text_and_through_the_modal(bot: Bot) -> None:
    """/feedback TEXT is stored and answered with its ID; without text a modal opens, validates, stores."""
    url = bot.command("The web dashboard crashes when I open <!channel> settings", "U0VIEWER", "/feedback")
    (reply,) = bot.responses(url)
    assert "filed as" in reply["text"] and "bug" in reply["text"]
    bot.command("", "U0VIEWER", "/feedback")
    (opened,) = bot.fake.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == "feedback_submit"

    def submit(description: str) -> tuple[int, bytes, float]:
        values = {
            "description": {"value": {"type": "plain_text_input", "value": description}},
            "category": {"value": {"type": "static_select", "selected_option": {"value": "feature"}}},
        }
        payload = {
            "type": "view_submission",
            "user": {"id": "U0VIEWER"},
            "team": {"id": "T0TEAM"},
            "api_app_id": "A0SVCBOT",
            "view": {**view, "id": "V1", "hash": f"h{time.monotonic_ns()}", "state": {"values": values}},
        }
        return bot.signed(interaction_body(payload))

    code, body, _ = submit("   ")
    assert code == 200 and json.loads(body)["response_action"] == "errors"
    code, _, _ = submit("Please add a dark mode")
    assert code == 200
    (receipt,) = bot.fake.wait_for("chat.postEphemeral")
    assert "feature" in receipt.params["text"]
    with sqlite3.connect(bot.config.parent / "state" / "svcbot.db") as db:
        rows = db.execute("SELECT reporter, source, category FROM feedback ORDER BY id").fetchall()
    assert rows == [("U0VIEWER", "slack", "bug"), ("U0VIEWER", "slack", "feature")]


def test_socket_mode_takes_commands_over_the_websocket(tmp_path: Path) -> None:
    """With SLACK_APP_TOKEN, svcbot connects out over Socket Mode, acks an envelope, answers it, and
    serves /healthz but no /slack/events."""
    services = {"web": {"command": program("hang")}}
    with FakeSlack() as fake, running_bot(tmp_path, fake, services, tokens=SOCKET_MODE) as bot:
        fake.wait_socket_connected(30)
        url = fake.response_url()
        payload = slash_command_payload("/svc", "status", "U0VIEWER", "C0OPS", response_url=url)
        envelope = fake.socket_send("slash_commands", payload)
        fake.wait_socket_ack(envelope, 10)
        (reply,) = bot.responses(url)
        assert "*web*" in json.dumps(reply["blocks"])
        assert bot.healthz()[1]["slack"] == "ok"
        assert bot.post("x=1")[0] == 404  # no /slack/events in Socket Mode


def test_a_rejected_token_is_one_clear_error_and_the_rest_runs(tmp_path: Path) -> None:
    """A bot token Slack refuses is named once in the log; supervision and /healthz go on without Slack."""
    services = {"web": {"command": program("hang")}}
    tokens = {"SLACK_BOT_TOKEN": "xoxb-not-this-one", "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    with FakeSlack() as fake, running_bot(tmp_path, fake, services, tokens=tokens) as bot:
        _running(bot, "web")
        assert bot.healthz() == (200, {"ok": True, "database": "ok", "slack": "off"})
        assert bot.post("x=1")[0] == 404
        log = bot.log.read_text()
        assert log.count("SLACK_BOT_TOKEN was rejected by Slack (invalid_auth)") == 1
        assert "xoxb-not-this-one" not in log


def test_alerts_are_grouped_escaped_acknowledged_and_survive_a_slack_outage(tmp_path: Path) -> None:
    """Two services failing together make one alert in the alert channel, written to the outbox while
    Slack is down and delivered after; log text is escaped; Acknowledge updates the message in place,
    after waiting out a 429."""
    services = {
        "shouty": {"command": program("shout"), "restart": "never", "owners": ["S0ONCALL"]},
        "crashy": {"command": program("crash_later", "0.05"), "restart": "never"},
        "web": {"command": program("hang")},
    }
    with FakeSlack() as fake:
        top: dict[str, Any] = {"slack": {"alert_channel": "C0ALERTS"}, "alerts": {"group_wait": "300ms"}}
        fake.fail("chat.postMessage", times=3, status=503)  # Slack failing: retried from the outbox
        with running_bot(tmp_path, fake, services, **top) as bot:
            db = tmp_path / "state" / "svcbot.db"
            wait_until(lambda: _pending_alerts(db) >= 1, 30, "the alert in the outbox while Slack fails")
            (post,) = fake.wait_for("chat.postMessage", where=_top_level, timeout=90)
            assert post.params["channel"] == "C0ALERTS"
            shown = json.dumps(post.params["blocks"])
            assert "shouty" in shown and "crashy" in shown
            assert "<!channel>" not in shown and "<!subteam^S0ONCALL>" in shown
            fake.rate_limit("chat.update", times=1, retry_after=1)  # the update waits out a 429
            bot.signed(interaction_body(_click(fake, post.params["blocks"], "alert_ack", "U0OPS")))
            (update,) = fake.wait_for("chat.update", where=_acknowledged, timeout=30)
            assert update.params["ts"] == post.response["ts"]
            assert fake.calls("chat.update")[0].status == 429
            wait_until(lambda: _pending_alerts(db) == 0, 30, "the outbox drained")
            assert ("ack", "U0OPS", 1) in audit_rows(bot.config)


def _top_level(call: Any) -> bool:
    return bool(call.ok) and "thread_ts" not in call.params


def _acknowledged(call: Any) -> bool:
    return "Acknowledged" in json.dumps(call.params.get("blocks"))


def _click(
    fake: FakeSlack, message_blocks: list[dict[str, Any]], action_id: str, user: str
) -> dict[str, Any]:
    button = next(
        e
        for b in message_blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    return {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": "C0ALERTS"},
        "team": {"id": "T0TEAM"},
        "api_app_id": "A0SVCBOT",
        "trigger_id": f"t-{time.monotonic_ns()}",
        "response_url": fake.response_url(),
        "actions": [{"action_id": action_id, "block_id": "b", "value": button["value"], "type": "button"}],
        "container": {"type": "message"},
    }


def _pending_alerts(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM alert WHERE status = 'pending'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_logs_and_silence_from_a_single_service_alert(tmp_path: Path) -> None:
    """An alert for one service offers Logs (answered privately, escaped) and Silence (a modal; the
    alert then says it is silenced, and the silence is audited)."""
    services = {"shouty": {"command": program("shout"), "restart": "never"}}
    top: dict[str, Any] = {"slack": {"alert_channel": "C0ALERTS"}, "alerts": {"group_wait": "200ms"}}
    with FakeSlack() as fake, running_bot(tmp_path, fake, services, **top) as bot:
        (post,) = fake.wait_for("chat.postMessage", where=_top_level, timeout=60)
        logs_click = _click(fake, post.params["blocks"], "alert_logs", "U0OPS")
        bot.signed(interaction_body(logs_click))
        (logs,) = bot.responses(logs_click["response_url"])
        shown = json.dumps(logs["blocks"])
        assert logs["response_type"] == "ephemeral" and "about to fail" in shown and "<!channel>" not in shown
        bot.signed(interaction_body(_click(fake, post.params["blocks"], "alert_silence", "U0OPS")))
        (opened,) = fake.wait_for("views.open")
        view = opened.params["view"]
        values = {"duration": {"value": {"type": "static_select", "selected_option": {"value": "4h"}}}}
        submission = {
            "type": "view_submission",
            "user": {"id": "U0OPS"},
            "team": {"id": "T0TEAM"},
            "api_app_id": "A0SVCBOT",
            "view": {**view, "id": "V2", "hash": "h1", "state": {"values": values}},
        }
        assert bot.signed(interaction_body(submission))[0] == 200
        (update,) = fake.wait_for(
            "chat.update", where=lambda c: "Silenced" in json.dumps(c.params), timeout=30
        )
        assert update.params["ts"] == post.response["ts"]
        wait_until(
            lambda: any(c == "silence" for c, _, _ in audit_rows(bot.config)), 10, "the silence audited"
        )


def test_without_tokens_slack_is_off_and_said_once(tmp_path: Path) -> None:
    """No SLACK_BOT_TOKEN: one line says Slack is off; services, the store and /healthz work."""
    services = {"web": {"command": program("hang")}}
    with FakeSlack() as fake, running_bot(tmp_path, fake, services, tokens={}) as bot:
        _running(bot, "web")
        assert bot.healthz() == (200, {"ok": True, "database": "ok", "slack": "off"})
        assert bot.log.read_text().count("no SLACK_BOT_TOKEN: Slack is off") == 1
        assert not fake.calls()


def test_healthz_fails_while_the_database_is_unreachable(tmp_path: Path) -> None:
    """With the database away, /healthz answers 503 and says why; supervision goes on."""
    services = {"web": {"command": program("hang")}}
    dead: dict[str, Any] = {"database": "postgresql://nobody@127.0.0.1:1/svcbot"}
    with FakeSlack() as fake, running_bot(tmp_path, fake, services, healthy=False, **dead) as bot:
        _running(bot, "web")
        code, report = bot.healthz()
        assert code == 503 and not report["ok"]
        assert report["database"].startswith("unreachable") and report["slack"] == "ok"


def test_metrics_are_scraped_in_the_prometheus_format(bot: Bot) -> None:
    """/metrics gives per-service up, state, restarts, CPU and memory, open issues, feedback and
    alert deliveries, with bounded labels only."""
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    url = bot.command("Please add a dark mode", "U0VIEWER", "/feedback")
    bot.responses(url)
    with urllib.request.urlopen(f"http://127.0.0.1:{bot.port}/metrics", timeout=5) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("svcbot_service_up", (("service", "web"),))] == 1.0
    assert samples[("svcbot_service_state", (("service", "web"), ("state", "running")))] == 1.0
    assert samples[("svcbot_service_restarts_total", (("service", "worker"),))] == 0.0
    assert ("svcbot_service_memory_bytes", (("service", "web"),)) in samples
    assert samples[("svcbot_feedback_total", (("category", "feature"),))] == 1.0
    assert samples[("svcbot_alert_deliveries_pending", ())] == 0.0
    allowed = {"service", "state", "category", "priority"}
    assert all(set(dict(labels)) <= allowed for _, labels in samples)


def test_alertmanager_webhook_needs_its_token_and_lands_once(tmp_path: Path) -> None:
    """POST /alertmanager: 401 without the bearer token, 400 for a bad payload; a firing alert
    delivered twice is one issue with one occurrence and one message in the alert channel; its
    resolution resolves the issue and updates that message in place."""
    alert = {
        "status": "firing",
        "labels": {"alertname": "HighLatency", "service": "web", "severity": "warning"},
        "annotations": {"summary": "p99 over 2s"},
        "startsAt": "2026-11-23T05:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "c0ffee12",
    }
    payload = {"version": "4", "status": "firing", "receiver": "svcbot", "groupKey": "{}", "alerts": [alert]}
    services = {"web": {"command": program("hang")}}
    tokens = {**HTTP_MODE, "SVCBOT_ALERTMANAGER_TOKEN": "am-secret"}
    top: dict[str, Any] = {"slack": {"alert_channel": "C0ALERTS"}, "alerts": {"group_wait": "200ms"}}
    with FakeSlack() as fake, running_bot(tmp_path, fake, services, tokens=tokens, **top) as bot:

        def send(body: dict[str, Any], token: str | None = "am-secret") -> int:
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            request = urllib.request.Request(
                f"http://127.0.0.1:{bot.port}/alertmanager", data=json.dumps(body).encode(), headers=headers
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return int(response.status)
            except urllib.error.HTTPError as err:
                return err.code

        assert send(payload, token=None) == 401 and send(payload, token="wrong") == 401
        assert send({"version": "3", "alerts": []}) == 400
        assert send(payload) == 200 and send(payload) == 200
        db = tmp_path / "state" / "svcbot.db"

        def issue() -> tuple[Any, ...] | None:
            with sqlite3.connect(db) as conn:
                row: tuple[Any, ...] | None = conn.execute(
                    "SELECT status, count, kind FROM issue WHERE kind = 'alert'"
                ).fetchone()
                return row

        wait_until(lambda: issue() is not None, 10, "the alert's issue")
        assert issue() == ("open", 1, "alert")
        [post] = fake.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "C0ALERTS")
        assert "web/HighLatency" in json.dumps(post.params["blocks"])
        assert "p99 over 2s" in json.dumps(post.params["blocks"])
        assert send({**payload, "status": "resolved", "alerts": [{**alert, "status": "resolved"}]}) == 200
        wait_until(lambda: (issue() or ("",))[0] == "resolved", 10, "the issue resolved")
        fake.wait_for("chat.update", where=lambda c: c.params.get("ts") == post.response["ts"], timeout=15)
        shown = next(m for m in fake.messages("C0ALERTS") if m["ts"] == post.response["ts"])
        assert "recovered" in json.dumps(shown["blocks"]).lower()
        top_level = [c for c in fake.calls("chat.postMessage") if "thread_ts" not in c.params]
        assert len(top_level) == 1  # the re-delivery was a repeat of the same incident
