"""Releases: a version change is announced once in the digest channel, with the issues it resolved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chatops.digest.release_post import ReleaseAnnouncer
from chatops.slack.app import make_client
from chatops.slack.settings import SlackSettings
from manager.config.loader import load_config
from manager.store.db import Database
from manager.store.models import Issue, Release
from manager.store.release_notes import unannounced
from tests.conftest import write_config
from tests.fake_slack import BOT_TOKEN, FakeSlack

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(dual_db: Database) -> Database:
    """SQLite, then PostgreSQL (tests/conftest.py)."""
    return dual_db


def _release(db: Database, service: str, version: str, at: datetime) -> None:
    with db.session(write=True) as session:
        session.add(Release(service=service, version=version, first_seen=at))


def _resolved(
    db: Database, n: int, title: str, services: list[str], at: datetime, *, version: str | None
) -> None:
    with db.session(write=True) as session:
        session.add(
            Issue(
                fingerprint=f"r{n}",
                title=title,
                kind="crash",
                status="resolved",
                resolved_at=at,
                resolved_in_version=version,
                first_seen=at - timedelta(days=3),
                last_seen=at - timedelta(days=1),
                services=services,
            )
        )


def _seed(db: Database) -> None:
    _release(db, "web", "1.4.0", NOW - timedelta(days=30))  # the baseline, long ago
    _release(db, "worker", "0.9", NOW - timedelta(hours=3))  # a first version: not news
    _release(db, "web", "1.5.0", NOW - timedelta(hours=1))
    _resolved(db, 1, "KeyError in <export> & co", ["web"], NOW - timedelta(days=2), version=None)  # since 1.4
    _resolved(db, 2, "slow login", ["web"], NOW - timedelta(days=40), version="1.5.0")  # marked for 1.5.0
    _resolved(db, 3, "worker leak", ["worker"], NOW - timedelta(days=2), version=None)  # another service
    _resolved(db, 4, "old bug", ["web"], NOW - timedelta(days=60), version=None)  # before 1.4.0


def test_a_version_change_is_a_release_with_what_it_resolved(db: Database) -> None:
    _seed(db)
    notes = unannounced(db, NOW)
    assert [(n.service, n.version, n.previous) for n in notes] == [("web", "1.5.0", "1.4.0")]
    assert [title for _, title in notes[0].resolved] == ["KeyError in <export> & co", "slow login"]


async def test_each_release_is_announced_once(tmp_path: Path, db: Database) -> None:
    _seed(db)
    config = load_config(
        write_config(tmp_path, {"web": {"command": "true"}}, slack={"digest_channel": "C0OPS"})
    )
    with FakeSlack() as fake:
        client = make_client(SlackSettings(BOT_TOKEN, None, None, fake.url))
        first = ReleaseAnnouncer(lambda: config, db, client, "copy-a", clock=lambda: NOW)
        second = ReleaseAnnouncer(lambda: config, db, client, "copy-b", clock=lambda: NOW)
        assert await first.announce() == 1
        assert await second.announce() == 0
        fake.fail("chat.postMessage", error="channel_not_found")
        _release(db, "web", "1.5.1", NOW - timedelta(minutes=5))
        with pytest.raises(Exception, match="channel_not_found"):
            await second.announce()
        assert await first.announce() == 1  # the failed claim was given back
        posts = [c.params for c in fake.calls("chat.postMessage") if c.ok]
    assert [p["text"].split(" (")[0] for p in posts] == ["web 1.5.0 released", "web 1.5.1 released"]
    body = json.dumps(posts[0]["blocks"])
    assert "KeyError in &lt;export&gt; &amp; co" in body and "<export>" not in body
    assert "* slow login" in body and "worker leak" not in body and "old bug" not in body
    assert not unannounced(db, NOW)
