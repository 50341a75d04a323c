"""Posting the digest to `slack.digest_channel`: claimed, built, posted parent-then-thread, marked posted.

`post_latest` is the one entry point of the schedule, of the periodic recovery check and of the start-up
catch-up: it takes the latest period that has ended, claims it (`manager.store.digest_runs`), and posts it if
the claim is won. So the scheduled run, a run missed while svcbot was down, a copy that crashed between
claim and post, and two copies racing all end in one digest per period. `post_now` (`svcbot digest
--now`) posts a digest of the last period's length ending now, outside the schedule.

A failure (Slack down, database away) gives the claim back and raises; the caller retries at its next
check. Thread replies go out about one a second, Slack's rate for a channel.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from chatops.digest import blocks as digest_blocks
from chatops.ui.kit import Message
from manager.config.spec import Config
from manager.digest.model import Digest
from manager.digest.period import Window, adhoc_window, scheduled_window
from manager.store import digest_runs as runs
from manager.store.db import Database
from manager.store.digest_data import build_digest

__all__ = ["DigestPoster", "owner_name"]

log = logging.getLogger("svcbot.digest")

REPLY_SPACING = 1.0  # seconds between thread replies: Slack's one message a second per channel


def owner_name() -> str:
    """Who holds a claim, for the digest_run table and for people reading it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DigestPoster:
    def __init__(
        self,
        config: Callable[[], Config],
        db: Database,
        client: AsyncWebClient,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
        spacing: float = REPLY_SPACING,
        prepare: Callable[[], None] = lambda: None,
    ) -> None:
        self._config = config
        self._db = db
        self._client = client
        self._owner = owner or owner_name()
        self._clock = clock
        self._spacing = spacing
        self._prepare = prepare  # migrate the schema first (a starting svcbot may not have yet)
        self._lock = asyncio.Lock()  # the scheduled job and the recovery check never post at once

    def _channel(self) -> str | None:
        return self._config().slack.digest_channel

    async def post_latest(self) -> str:
        """Post the latest ended period unless it is posted or being posted. Returns what happened:
        "posted", "taken" (posted already or claimed by a live copy), "fresh" (svcbot kept no records
        before that period ended: a new install posts no back-dated digest) or "off" (no channel)."""
        channel = self._channel()
        if not channel:
            return "off"
        async with self._lock:
            await asyncio.to_thread(self._prepare)
            now = self._clock()
            window = scheduled_window(self._config().digest, now)
            if not await asyncio.to_thread(runs.was_running_before, self._db, window.end):
                return "fresh"
            mine = await asyncio.to_thread(runs.claim, self._db, window.key, self._owner, now)
            if mine is None:
                return "taken"
            try:
                await self._post(
                    channel, window, mine.parent_ts, lambda ts: runs.set_parent(self._db, mine, ts)
                )
            except BaseException:
                await asyncio.to_thread(runs.release, self._db, mine, self._clock())
                raise
            await asyncio.to_thread(runs.finish, self._db, mine, self._clock())
            log.info("digest %s posted to %s", window.key, channel)
            return "posted"

    async def post_now(self) -> str:
        """A digest of the schedule's period length ending now, posted whatever the schedule says."""
        channel = self._channel()
        if not channel:
            raise RuntimeError("no slack.digest_channel in the config: nowhere to post the digest")
        window = adhoc_window(self._config().digest, self._clock())
        return await self._post(channel, window, None, lambda _ts: None)

    async def build(self, window: Window) -> Digest:
        names = self._config().service_names
        return await asyncio.to_thread(build_digest, self._db, window, names)

    async def _post(
        self, channel: str, window: Window, parent_ts: str | None, remember: Callable[[str], None]
    ) -> str:
        digest = await self.build(window)
        if parent_ts is None:
            parent = digest_blocks.parent_message(digest)
            response = await self._client.chat_postMessage(channel=channel, **parent.to_dict())
            parent_ts = str(response["ts"])
            await asyncio.to_thread(remember, parent_ts)
        else:
            log.info("digest %s: continuing in the thread of %s posted earlier", window.key, parent_ts)
        await self._thread(channel, parent_ts, digest_blocks.category_replies(digest))
        return parent_ts

    async def _thread(self, channel: str, parent_ts: str, replies: Sequence[Message]) -> None:
        for n, reply in enumerate(replies):
            if n:
                await asyncio.sleep(self._spacing)
            await self._client.chat_postMessage(channel=channel, thread_ts=parent_ts, **reply.to_dict())
