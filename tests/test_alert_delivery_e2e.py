"""Two promises of the Slack front end, end to end: a real `svcbot run` posting to the fake Slack.

1. "Posts respect Slack's limit of about one message per second per channel; a 429 is retried after its
   Retry-After." Checked on the fake's arrival times (`Call.at`, time.monotonic(), the same clock as
   this process's): consecutive chat.postMessage calls to one channel at least ~1 s apart, the call after
   a 429 at least Retry-After later, the rate-limited message delivered once, and a second channel
   served while the first one's queue waits (channels are independent).
2. "Alerts are written to the alert table first and delivered from there (an outbox): if Slack is down
   or rate-limiting for minutes, nothing is lost and the alerts arrive afterwards in order." A test
   cannot spend minutes, so the outage here lasts seconds, but long enough for the outbox to go through
   several retry rounds, each meeting a different failure (connection refused, HTTP 503, 429 then
   `ok: false`). The minutes-long outage (Slack down for 120 s during a 100-service failure) is measured
   by bench/slack.py, with its lost alerts, posts out of order and time to drain.

slack_sdk waits out a 429 itself (svcbot's client retries five times), so the 429 of the first test never
reaches the outbox; the last test drives the alert service in-process with a client that has no such
handler, as after the fifth 429, to check that the outbox too waits the whole Retry-After.

Incidents are made one at a time and in a known order: every service is a `crash_on_start` with
`autostart: false`, started through the CLI, and the next one is started only once the previous one's
alert row is in the table and the fold window of its Post has passed (group_wait is 50 ms, so Posts fold
for 150 ms): every crash is a separate incident and a separate top-level post.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from chatops.alerting import Signal
from chatops.alerting.service import AlertService
from manager.config.loader import load_config
from manager.store.store import Store
from tests.conftest import program, wait_until, write_config
from tests.fake_slack import BOT_TOKEN, Call, FakeSlack
from tests.test_cli import cli
from tests.test_slack_http import Bot, running_bot

ALERTS, OTHER = "C0ALERTS", "C0OTHER"
GAP = 0.9  # Slack's one message per second per channel, less some slack for timers and clocks
TOP: dict[str, Any] = {"slack": {"alert_channel": ALERTS}, "alerts": {"group_wait": "50ms"}}
FOLD_WINDOW = 3 * 0.05 + 0.05  # Posts fold for 3 x group_wait; a margin for the row's write


def crasher(channel: str | None = None) -> dict[str, Any]:
    """A service that dies as soon as the test starts it, alerting `channel` (default: slack's)."""
    spec: dict[str, Any] = {"command": program("crash_on_start"), "restart": "never", "autostart": False}
    if channel is not None:
        spec["alert_channel"] = channel
    return spec


@dataclass(frozen=True)
class Row:
    """One row of the alert table (the outbox)."""

    id: int
    service: str | None
    channel: str
    action: str
    status: str
    attempts: int
    ts: str | None


def rows(bot: Bot) -> list[Row]:
    """The alert table, oldest first; empty while svcbot has not created it yet."""
    try:
        with sqlite3.connect(bot.config.parent / "state" / "svcbot.db") as db:
            found = db.execute(
                "SELECT id, service, channel, json_extract(body, '$.action'), status, attempts, message_ts"
                " FROM alert ORDER BY id"
            ).fetchall()
    except sqlite3.OperationalError:
        return []
    return [Row(*row) for row in found]


def post_row(bot: Bot, service: str) -> Row | None:
    return next((r for r in rows(bot) if r.service == service and r.action == "post"), None)


def crash(bot: Bot, service: str) -> float:
    """Start `service` (it crashes at once) and wait until its alert is in the table; return the time the
    start command returned, on the clock of `Call.at`."""
    result = cli(bot.config, "start", service)
    assert result.returncode == 0, result.stderr
    returned = time.monotonic()
    wait_until(lambda: post_row(bot, service) is not None, 20, f"the alert row of {service}")
    # The next crash must come after this Post's fold window (3 x group_wait), or it joins this message:
    # a time the policy defines, not an event to wait for. The CLI alone no longer takes that long.
    time.sleep(FOLD_WINDOW)
    return returned


def warm_up(bot: Bot) -> None:
    """One alert through the whole path first: svcbot creates its tables when the store first writes,
    and its alert task retries once a second until then, which could fold the next two crashes."""
    crash(bot, "warmup")
    bot.fake.wait_for("chat.postMessage", where=lambda c: names(c) == ["warmup"] and c.ok, timeout=30)


def names(call: Call) -> list[str]:
    """The services a top-level alert post shows (by their bold names in the blocks), else []."""
    if "thread_ts" in call.params:
        return []
    shown = json.dumps(call.params.get("blocks"))
    return [name for name in SERVICES if f"*{name}*" in shown]


SERVICES = ("warmup", "a1", "a2", "a3", "a4", "a5", "b1", "b2", "alpha", "bravo", "charlie", "delta")


def posts(fake: FakeSlack, channel: str) -> list[Call]:
    """Every chat.postMessage call to `channel`, failed ones included, in order of arrival."""
    return [c for c in fake.calls("chat.postMessage") if c.params.get("channel") == channel]


def delivered(fake: FakeSlack, service: str) -> list[Call]:
    """The successful top-level posts that show `service`."""
    return [c for c in fake.calls("chat.postMessage") if c.ok and service in names(c)]


def gaps(calls: list[Call]) -> list[float]:
    return [round(later.at - earlier.at, 3) for earlier, later in itertools.pairwise(calls)]


def test_a_flood_is_paced_per_channel_and_a_429_waits_its_retry_after(tmp_path: Path) -> None:
    """Six services failing one after another in C0ALERTS (more messages than one per second) and two in
    C0OTHER: each channel gets at most one post per second; a 429 with Retry-After: 2 in C0ALERTS is waited
    out and its message arrives once; meanwhile C0OTHER is served at once, overtaking C0ALERTS's queue."""
    flood = ("a1", "a2", "a3", "a4", "a5")
    services = {
        "warmup": crasher(),
        **{n: crasher() for n in flood},
        "b1": crasher(OTHER),
        "b2": crasher(OTHER),
    }
    with FakeSlack() as fake, running_bot(tmp_path, fake, services, **TOP) as bot:
        warm_up(bot)
        crash(bot, "a1")
        crash(bot, "a2")
        wait_until(lambda: bool(delivered(fake, "a1") and delivered(fake, "a2")), 20, "a1 and a2 posted")
        fake.rate_limit("chat.postMessage", 1, retry_after=2, channel=ALERTS)  # a3's post meets it
        crash(bot, "a3")
        crash(bot, "a4")
        b1_crashed = crash(bot, "b1")  # C0ALERTS still waits a3's Retry-After, then a4 waits its turn
        crash(bot, "a5")
        crash(bot, "b2")
        wait_until(lambda: all(delivered(fake, n) for n in services), 30, "every alert delivered")
        wait_until(lambda: all(r.status == "sent" for r in rows(bot)), 10, "the outbox drained")

        alerts, other = posts(fake, ALERTS), posts(fake, OTHER)
        # one top-level post per incident, each delivered exactly once, in its own channel
        assert [names(c) for c in alerts if c.ok] == [["warmup"], *([n] for n in flood)]
        assert [names(c) for c in other if c.ok] == [["b1"], ["b2"]]
        assert all(len(delivered(fake, n)) == 1 for n in services)
        # about one message per second per channel, the rate-limited call included
        assert min(gaps(alerts)) >= GAP, gaps(alerts)
        assert min(gaps(other)) >= GAP, gaps(other)
        # the 429: the next call to that channel waits Retry-After, and sends the same message again
        limited = [i for i, c in enumerate(alerts) if c.status == 429]
        assert len(limited) == 1, [c.status for c in alerts]
        first, retry = alerts[limited[0]], alerts[limited[0] + 1]
        assert names(first) == ["a3"] and retry.ok and retry.params["blocks"] == first.params["blocks"]
        assert retry.at - first.at >= 2.0, retry.at - first.at
        # channels are independent: b1 went out at once, ahead of C0ALERTS alerts that failed before it
        (b1,) = delivered(fake, "b1")
        assert b1.at - b1_crashed < 1.5, b1.at - b1_crashed
        assert b1.at < delivered(fake, "a4")[0].at
        # and the outbox agrees: every row sent, once, with the ts Slack gave its post
        table = rows(bot)
        sent = {c.response["ts"]: n for c in fake.calls("chat.postMessage") if c.ok for n in names(c)}
        assert {r.ts: r.service for r in table} == sent
        assert {r.channel for r in table if r.service in ("b1", "b2")} == {OTHER}


def test_alerts_from_a_slack_outage_arrive_afterwards_once_each_and_in_order(tmp_path: Path) -> None:
    """Slack refuses connections, then answers 503, then 429 and `ok: false`, while four services fail one
    after another; the outbox retries round after round, and when Slack answers again the four alerts
    arrive, each once, in the order the services failed, paced, and the alert table ends all sent."""
    order = ("alpha", "bravo", "charlie", "delta")
    services = {"warmup": crasher(), **{n: crasher() for n in order}}
    with FakeSlack() as fake, running_bot(tmp_path, fake, services, **TOP) as bot:
        warm_up(bot)

        def attempts(service: str) -> int:
            row = post_row(bot, service)
            return row.attempts if row is not None else 0

        def failed(status: int) -> list[Call]:
            return [c for c in fake.calls("chat.postMessage") if c.status == status and not c.ok]

        fake.down(refuse=True)  # connection refused: nothing reaches the fake
        crash(bot, "alpha")
        wait_until(lambda: attempts("alpha") >= 1, 10, "a refused delivery of alpha's alert")
        fake.up()
        fake.down()  # every Web API call answers 503
        crash(bot, "bravo")
        wait_until(lambda: bool(failed(503)), 10, "a delivery answered 503")
        fake.rate_limit("chat.postMessage", 1, retry_after=1)  # then rate limited, then "ok": false
        fake.fail("chat.postMessage", 1, error="fatal_error")
        fake.up()
        crash(bot, "charlie")
        crash(bot, "delta")
        wait_until(lambda: bool(failed(200)), 15, "a delivery answered ok: false")
        assert not [c for c in fake.calls("chat.postMessage") if c.ok and names(c) != ["warmup"]]
        back = time.monotonic()  # Slack answers normally from here on

        wait_until(lambda: all(delivered(fake, n) for n in order), 25, "every alert delivered")
        wait_until(lambda: all(r.status == "sent" for r in rows(bot)), 10, "the outbox drained")

        table = [r for r in rows(bot) if r.service != "warmup"]
        # written first, in the order things happened, each its own top-level post
        assert [(r.service, r.action, r.channel) for r in table] == [(n, "post", ALERTS) for n in order]
        # several retry rounds for the head of the queue (refused, 503, 429 + ok:false, sent)...
        head, *rest = table
        assert head.attempts >= 4, head
        assert failed(429) and failed(503) and failed(200)
        # ...and the rows behind it waited their turn instead of overtaking it
        assert all(names(c) == ["alpha"] for c in fake.calls("chat.postMessage") if not c.ok)
        assert [r.attempts for r in rest] == [1, 1, 1]
        # after the outage: every alert exactly once, in order, paced
        arrived = [c for c in posts(fake, ALERTS) if c.ok and names(c) != ["warmup"]]
        assert [names(c) for c in arrived] == [[n] for n in order]
        assert all(c.at > back for c in arrived)
        assert [c.response["ts"] for c in arrived] == [r.ts for r in table]
        assert min(gaps(arrived)) >= GAP, gaps(arrived)
        assert all(r.status == "sent" for r in rows(bot))


async def test_a_429_the_client_gave_up_on_still_holds_the_channel_for_its_retry_after(
    tmp_path: Path,
) -> None:
    """A 429 that reaches the outbox (the client's own 429 retries used up) holds its channel for the whole
    Retry-After (3 s), not just the outbox's first backoff (1 s); the alert then arrives once, and the other
    channel is served meanwhile."""
    config = load_config(write_config(tmp_path, {"web": {"command": program("hang")}}))
    config.state_dir.mkdir(parents=True)
    store = Store.for_config(config)
    await asyncio.to_thread(store.ensure_schema)
    with FakeSlack() as fake:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)  # no rate-limit retry handler
        service = AlertService(lambda: config, store, client)
        fake.rate_limit("chat.postMessage", 1, retry_after=3, channel=ALERTS)
        now = time.time()
        for name, channel in (("web", ALERTS), ("db", OTHER)):
            signal = Signal(name, "crash", "warning", "exit code 1", channel, (), now)
            assert service.policy.receive(signal, now) == []
        await service.record(service.policy.tick(now + config.alerts.group_wait))
        await service.deliver()
        await fake.wait_for_async("chat.postMessage", 3, timeout=15)
        limited, retry = posts(fake, ALERTS)
        (other,) = posts(fake, OTHER)
    assert limited.status == 429 and retry.ok and retry.params["blocks"] == limited.params["blocks"]
    assert retry.at - limited.at >= 3.0, retry.at - limited.at
    assert other.ok and other.at < retry.at
    await asyncio.to_thread(store.db.dispose)
