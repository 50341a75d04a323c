"""The digest in Slack: golden layouts, Slack's limits, posting exactly once (also after a crash between
claim and post, and for a missed period), the APScheduler trigger, `svcbot digest --print|--now`, and the
Resolve / Ignore / Assign buttons over real signed HTTP against a running svcbot."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chatops.digest import blocks as digest_blocks
from chatops.digest.post import DigestPoster
from chatops.digest.schedule import DigestScheduler, ScheduleTrigger
from chatops.slack.app import make_client
from chatops.slack.settings import SlackSettings
from manager.config.loader import load_config
from manager.config.spec import Config, DigestSpec
from manager.digest.model import Delta, Digest, IssueLine, ReleaseLine, ServiceLine
from manager.store.db import Database
from manager.store.models import DigestRun, Issue, LifecycleEvent
from tests.conftest import PY, program, wait_until, write_config
from tests.fake_slack import BOT_TOKEN, FakeSlack, interaction_body
from tests.goldens import assert_golden_text
from tests.test_cli import REPO
from tests.test_slack_http import HTTP_MODE, Bot, audit_rows, running_bot

END = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
START = END - timedelta(days=7)


def _issue(n: int, **fields: Any) -> IssueLine:
    values: dict[str, Any] = {
        "id": n,
        "title": f"worker crashes on job {n}",
        "category": "bug",
        "priority": "P2",
        "status": "open",
        "count": n + 1,
        "services": ("worker",),
        "first_seen": START + timedelta(hours=n),
        "last_seen": END - timedelta(hours=2),
        "new": False,
        "regressed": False,
        "resolved_in_period": False,
    }
    values.update(fields)
    return IssueLine(**values)


def sample_digest() -> Digest:
    hostile = _issue(
        7,
        title="<!channel> KeyError: 'user' & <script>",
        priority="P1",
        new=True,
        services=("web<b>",),
        assignee="U0ALICE",
    )
    regressed = _issue(3, regressed=True, title="TimeoutError in billing", services=("billing",))
    feature = _issue(11, category="feature", title="Please add *dark mode*", priority="P3", services=())
    resolved = _issue(5, status="resolved", resolved_in_period=True, title="web returns 502 after deploy")
    return Digest(
        start=START,
        end=END,
        period_key="2026-W48",
        new=Delta(4, 2),
        resolved=Delta(3, 5),
        regressed=1,
        open=9,
        open_by_priority={"P1": 1, "P2": 3, "P3": 5, "P4": 0},
        occurrences=Delta(120, 80),
        feedback={"bug": Delta(2, 0), "feature": Delta(1, 1), "question": Delta(0, 2)},
        top=(hostile, regressed, feature),
        sections={"bug": (hostile, regressed, resolved), "feature": (feature,)},
        section_totals={"bug": 3, "feature": 1},
        services=(
            ServiceLine("web", 0.99523, 3, 2, 41.0),
            ServiceLine("worker", 1.0, 0, 0, None),
            ServiceLine("cron", None, 0, 0, None),
        ),
        releases=(ReleaseLine("web", "1.5.0", START + timedelta(days=2)),),
    )


def _all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks)


# -- layout ----------------------------------------------------------------------------------------------


def test_golden_digest_parent_and_thread() -> None:
    digest = sample_digest()
    parent = digest_blocks.parent_message(digest)
    replies = digest_blocks.category_replies(digest)
    assert_golden_text(
        "digest_parent.json", json.dumps(parent.to_dict(), indent=2, ensure_ascii=False) + "\n"
    )
    thread = [reply.to_dict() for reply in replies]
    assert_golden_text("digest_thread.json", json.dumps(thread, indent=2, ensure_ascii=False) + "\n")
    everything = _all_text(parent.blocks) + "".join(_all_text(r.blocks) for r in replies)
    assert "<!channel>" not in everything and "<script>" not in everything and "<b>" not in everything
    assert "&lt;!channel&gt;" in everything
    assert [r.text for r in replies] == ["Bugs: 3 issues", "Feature requests: 1 issue"]


def test_long_sections_are_split_to_slacks_limits() -> None:
    many = tuple(_issue(n, title="x" * 400) for n in range(1, 61))
    services = tuple(ServiceLine(f"service-{n:03d}-" + "y" * 40, 0.5, n, 1, 3.0) for n in range(400))
    digest = Digest(
        start=START,
        end=END,
        period_key="2026-W48",
        new=Delta(60, 0),
        resolved=Delta(0, 0),
        regressed=0,
        open=60,
        open_by_priority={"P1": 0, "P2": 60, "P3": 0, "P4": 0},
        occurrences=Delta(0, 0),
        feedback={},
        top=many[:5],
        sections={"bug": many},
        section_totals={"bug": 75},
        services=services,
    )
    parent = digest_blocks.parent_message(digest)
    replies = digest_blocks.category_replies(digest)
    assert len(parent.blocks) <= 50
    assert len(replies) == 3  # 60 issues, 24 a reply
    assert [r.text for r in replies] == [
        "Bugs (1/3): 75 issues",
        "Bugs (2/3): 75 issues",
        "Bugs (3/3): 75 issues",
    ]
    for message in [parent, *replies]:
        assert len(message.blocks) <= 50
        for block in message.blocks:
            if block["type"] == "section" and "text" in block:
                assert len(block["text"]["text"]) <= 3000
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150
    shown = [
        b["block_id"]
        for r in replies
        for b in r.blocks
        if b.get("block_id", "").startswith("digest-actions-")
    ]
    assert len(shown) == 60
    assert "and 15 more" in _all_text(replies[-1].blocks)


def test_triage_notes_replace_or_keep_the_buttons() -> None:
    blocks = digest_blocks.category_replies(sample_digest())[0].blocks
    resolved = digest_blocks.triaged_blocks(blocks, 7, "Resolved by <@U0OPS>", keep_buttons=False)
    ids = [b.get("block_id") for b in resolved]
    assert "digest-actions-7" not in ids and "digest-note-7" in ids
    assert "digest-actions-3" in ids  # the other issues keep theirs
    assigned = digest_blocks.triaged_blocks(blocks, 3, "first", keep_buttons=True)
    assigned = digest_blocks.triaged_blocks(assigned, 3, "second", keep_buttons=True)
    notes = [b for b in assigned if b.get("block_id") == "digest-note-3"]
    assert "digest-actions-3" in [b.get("block_id") for b in assigned]
    assert len(notes) == 1 and notes[0]["elements"][0]["text"] == "second"
    assert digest_blocks.issue_of_block("digest-actions-42") == 42
    assert digest_blocks.issue_of_block("digest-issue-42") is None


# -- the trigger --------------------------------------------------------------------------------------------


def test_the_trigger_follows_the_pure_schedule_across_dst() -> None:
    trigger = ScheduleTrigger(lambda: DigestSpec(schedule="sun 02:30", timezone="Europe/Paris"))
    before_gap = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    first = trigger.get_next_fire_time(None, before_gap)
    assert first == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:30 does not exist: at 03:00 local
    second = trigger.get_next_fire_time(first, first)
    assert second == datetime(2026, 4, 5, 0, 30, tzinfo=UTC)  # 02:30 CEST


# -- posting exactly once -----------------------------------------------------------------------------------


def _config(tmp_path: Path, **digest: str) -> Config:
    path = write_config(
        tmp_path,
        {"web": {"command": "true"}},
        slack={"alert_channel": "C0ALERTS", "digest_channel": "C0DIGEST"},
        digest=digest or {"schedule": "mon 09:00", "timezone": "UTC"},
    )
    return load_config(path)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'digest.db'}")
    database.upgrade()
    yield database
    database.dispose()


def _seed(db: Database) -> None:
    """svcbot was running before the period ended, and one issue of each kind is notable."""
    with db.session(write=True) as session:
        session.add(
            LifecycleEvent(
                uid="e1",
                at=START - timedelta(days=1),
                service="web",
                kind="service_state_changed",
                data={"old": "starting", "new": "running"},
            )
        )
        for n, category in enumerate(("bug", "feature", "question"), start=1):
            session.add(
                Issue(
                    fingerprint=f"f{n}",
                    title=f"issue {n}",
                    kind="crash",
                    category=category,
                    first_seen=START + timedelta(days=1),
                    last_seen=START + timedelta(days=2),
                    count=2,
                    services=["web"],
                    priority="P2",
                    priority_score=5.0,
                )
            )


def _poster(config: Config, db: Database, fake: FakeSlack, owner: str, at: datetime) -> DigestPoster:
    client = make_client(SlackSettings(BOT_TOKEN, None, None, fake.url))
    return DigestPoster(lambda: config, db, client, owner=owner, clock=lambda: at, spacing=0.0)


async def test_a_period_is_posted_once_with_its_thread(tmp_path: Path, fake: FakeSlack, db: Database) -> None:
    config = _config(tmp_path)
    _seed(db)
    wednesday = END + timedelta(days=2)
    assert await _poster(config, db, fake, "a", wednesday).post_latest() == "posted"
    assert await _poster(config, db, fake, "b", wednesday).post_latest() == "taken"
    posts = fake.calls("chat.postMessage")
    parents = [c for c in posts if "thread_ts" not in c.params]
    assert len(parents) == 1 and parents[0].params["channel"] == "C0DIGEST"
    assert "Digest 2026-W48" in parents[0].params["text"]
    threads = [c.params["text"] for c in posts if c.params.get("thread_ts") == parents[0].response["ts"]]
    assert threads == ["Bugs: 1 issue", "Feature requests: 1 issue", "Questions: 1 issue"]
    with db.session() as session:
        run = session.get(DigestRun, 1)
    assert run is not None and run.status == "posted" and run.message_ts == parents[0].response["ts"]


async def test_a_crash_between_parent_and_thread_continues_in_the_same_thread(
    tmp_path: Path, fake: FakeSlack, db: Database
) -> None:
    config = _config(tmp_path)
    _seed(db)
    at = END + timedelta(hours=1)
    fake.fail("chat.postMessage", times=1, error="fatal_error", channel=None)  # nothing yet: parent fails
    with pytest.raises(Exception, match="fatal_error"):
        await _poster(config, db, fake, "a", at).post_latest()
    assert not fake.messages("C0DIGEST")
    # Slack answers; the parent goes out, then Slack fails on the second thread reply.
    fake.heal()
    poster = _poster(config, db, fake, "a", at)
    original = poster._thread

    async def thread_then_die(channel: str, parent_ts: str, replies: Any) -> None:
        await original(channel, parent_ts, replies[:1])
        raise ConnectionError("svcbot died here")

    poster._thread = thread_then_die  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await poster.post_latest()
    # Another copy picks it up at once (the failed claim was given back) and finishes in that thread.
    assert await _poster(config, db, fake, "b", at + timedelta(minutes=1)).post_latest() == "posted"
    parents = [m for m in fake.messages("C0DIGEST") if "thread_ts" not in m]
    assert len(parents) == 1
    replies = [m["text"] for m in fake.messages("C0DIGEST") if m.get("thread_ts") == parents[0]["ts"]]
    assert replies[0] == "Bugs: 1 issue" and replies[-2:] == [
        "Feature requests: 1 issue",
        "Questions: 1 issue",
    ]


async def test_a_fresh_install_posts_no_back_dated_digest(
    tmp_path: Path, fake: FakeSlack, db: Database
) -> None:
    assert await _poster(_config(tmp_path), db, fake, "a", END + timedelta(days=1)).post_latest() == "fresh"
    assert not fake.calls("chat.postMessage")


async def test_the_scheduler_posts_a_missed_period_at_start(
    tmp_path: Path, fake: FakeSlack, db: Database
) -> None:
    """svcbot was down on Monday 09:00; started on Wednesday, it posts that week's digest once."""
    config = _config(tmp_path)
    _seed(db)
    poster = _poster(config, db, fake, "a", END + timedelta(days=2))
    scheduler = DigestScheduler(poster, lambda: config.digest, check_every=3600)
    scheduler.start()
    try:
        await fake.wait_for_async("chat.postMessage", 4, timeout=10)
        assert scheduler.next_run_time is not None and scheduler.next_run_time > datetime.now(UTC)
        assert await scheduler.run_once() == "taken"
    finally:
        scheduler.stop()
    assert len([m for m in fake.messages("C0DIGEST") if "thread_ts" not in m]) == 1


# -- the CLI and the buttons against a running svcbot -------------------------------------------------------


def _cli(config: Path, fake: FakeSlack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(HTTP_MODE, PYTHONPATH=str(REPO), SLACK_API_URL=fake.url)
    return subprocess.run(
        [PY, "-m", "chatops.main", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _click(bot: Bot, message: dict[str, Any], issue: int, action_id: str, user: str, **extra: Any) -> int:
    block_id = digest_blocks.actions_block_id(issue)
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": "button",
        "value": str(issue),
    }
    action.update(extra)
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": "C0OPS"},
        "team": {"id": "T0TEAM"},
        "api_app_id": "A0SVCBOT",
        "trigger_id": f"t-{os.urandom(4).hex()}",
        "response_url": bot.fake.response_url(),
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": "C0OPS"},
        "message": {"ts": message["ts"], "text": message["text"], "blocks": message["blocks"]},
        "actions": [action],
    }
    return bot.signed(interaction_body(payload))[0]


def _issue_row(config: Path, issue: int) -> tuple[str, str | None]:
    with sqlite3.connect(config.parent / "state" / "svcbot.db") as conn:
        status, assignee = conn.execute(
            "SELECT status, assignee FROM issue WHERE id = ?", (issue,)
        ).fetchone()
    return str(status), assignee


def test_digest_print_now_and_triage_buttons(tmp_path: Path) -> None:
    services = {"web": {"command": program("hang")}}
    slack = {"alert_channel": "C0ALERTS", "digest_channel": "C0OPS"}
    with FakeSlack() as fake, running_bot(tmp_path, fake, services, slack=slack) as bot:
        for text in ("the export button crashes with a KeyError", "please add a dark mode <!channel>"):
            assert _cli(bot.config, fake, "feedback", text).returncode == 0
        printed = _cli(bot.config, fake, "digest", "--print")
        assert printed.returncode == 0, printed.stderr
        bare = _cli(bot.config, fake, "digest")  # --print is the default
        assert bare.returncode == 0 and "New issues: 2" in bare.stdout
        assert "New issues: 2" in printed.stdout and "please add a dark mode <!channel>" in printed.stdout
        posted = _cli(bot.config, fake, "digest", "--now")
        assert posted.returncode == 0, posted.stderr
        messages = fake.messages("C0OPS")
        parent = next(m for m in messages if "thread_ts" not in m)
        replies = [m for m in messages if m.get("thread_ts") == parent["ts"]]
        assert "&lt;!channel&gt;" in json.dumps(replies) and "<!channel>" not in json.dumps(replies)
        bug = next(r for r in replies if r["text"].startswith("Bugs"))
        bug_id = digest_blocks.issue_of_block(
            next(b["block_id"] for b in bug["blocks"] if b.get("block_id", "").startswith("digest-actions-"))
        )
        assert bug_id is not None

        # A viewer may not resolve: answered privately, audited, nothing changes.
        assert _click(bot, bug, bug_id, digest_blocks.ACTION_DIGEST_RESOLVE, "U0VIEWER") == 200
        wait_until(lambda: ("resolve", "U0VIEWER", 0) in audit_rows(bot.config), 15, "the denial audited")
        assert _issue_row(bot.config, bug_id)[0] == "open"

        # An operator resolves it (twice, as a double click): one change, one audit entry, note in place.
        for _ in range(2):
            assert _click(bot, bug, bug_id, digest_blocks.ACTION_DIGEST_RESOLVE, "U0OPS") == 200
        fake.wait_for("chat.update", 1, timeout=15)
        wait_until(lambda: _issue_row(bot.config, bug_id)[0] == "resolved", 15, "the issue resolved")
        updated = fake.messages("C0OPS")
        shown = next(m for m in updated if m["ts"] == bug["ts"])
        assert f"digest-actions-{bug_id}" not in json.dumps(shown["blocks"])
        assert "Resolved by <@U0OPS>" in json.dumps(shown["blocks"])

        # Assign through the user picker keeps the buttons and records who.
        assert (
            _click(
                bot,
                bug,
                bug_id,
                digest_blocks.ACTION_DIGEST_ASSIGN,
                "U0ADMIN",
                type="users_select",
                selected_user="U0ALICE",
            )
            == 200
        )
        wait_until(lambda: _issue_row(bot.config, bug_id)[1] == "U0ALICE", 15, "the issue assigned")
        wait_until(lambda: ("assign", "U0ADMIN", 1) in audit_rows(bot.config), 15, "the assignment audited")
        assert audit_rows(bot.config).count(("resolve", "U0OPS", 1)) == 1
