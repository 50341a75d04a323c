"""Release announcements in `slack.digest_channel`: "web 1.5.0 is out", with the issues it resolved.

Checked every minute by the digest scheduler. Each announcement is claimed once in the database
(`manager.store.release_notes.release_key`), so several svcbot copies announce a release once; a post that
fails gives its claim back and is tried again at the next check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from chatops.ui.kit import Block, Message
from chatops.ui.text import escape, truncate
from manager.config.spec import Config
from manager.core.units import plural
from manager.store import digest_runs as runs
from manager.store.db import Database
from manager.store.release_notes import ReleaseNote, unannounced

__all__ = ["ReleaseAnnouncer", "release_message"]

log = logging.getLogger("svcbot.releases")

_LINE_MAX = 200


def release_message(note: ReleaseNote) -> Message:
    """The announcement: header, what it replaced and when, and the issues it resolved (escaped)."""
    title = f"{note.service} {note.version} released"
    when = f"after {escape(note.previous or '-')} · first seen {note.first_seen:%Y-%m-%d %H:%M} UTC"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(title, 150), "emoji": True}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": when}],
        },
    ]
    if note.resolved:
        lines = [f"• *#{i}* {escape(truncate(' '.join(t.split()), _LINE_MAX))}" for i, t in note.resolved]
        text = truncate(f"*Resolved in this release ({len(note.resolved)})*\n" + "\n".join(lines), 3000)
    else:
        text = "No issues were marked resolved in this release."
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    fallback = f"{title} (after {note.previous}): {plural(len(note.resolved), 'issue')} resolved"
    return Message(text=escape(fallback), blocks=blocks)


class ReleaseAnnouncer:
    def __init__(
        self,
        config: Callable[[], Config],
        db: Database,
        client: AsyncWebClient,
        owner: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = config
        self._db = db
        self._client = client
        self._owner = owner
        self._clock = clock

    async def announce(self) -> int:
        """Post what is new; returns how many were announced."""
        channel = self._config().slack.digest_channel
        if not channel:
            return 0
        notes = await asyncio.to_thread(unannounced, self._db, self._clock())
        posted = 0
        for note in notes:
            mine = await asyncio.to_thread(runs.claim, self._db, note.key, self._owner, self._clock())
            if mine is None:
                continue
            try:
                message = release_message(note)
                await self._client.chat_postMessage(channel=channel, **message.to_dict())
            except BaseException:
                await asyncio.to_thread(runs.release, self._db, mine, self._clock())
                raise
            await asyncio.to_thread(runs.finish, self._db, mine, self._clock())
            log.info("release %s %s announced in %s", note.service, note.version, channel)
            posted += 1
        return posted
