"""`svcbot digest [--print]` (the digest as text, no Slack needed) and `svcbot digest --now` (post it now).

Both cover a period as long as the schedule's, ending now. `--now` posts to `slack.digest_channel` with
SLACK_BOT_TOKEN (and SLACK_API_URL when set) outside the schedule; it does not claim the scheduled period,
so the regular digest still goes out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from manager.config.spec import Config
from manager.core.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE

__all__ = ["add_options", "run_digest"]


def add_options(digest: argparse.ArgumentParser) -> None:
    """`svcbot digest`'s options (its name and help are in manager.core.verbs)."""
    mode = digest.add_mutually_exclusive_group()
    mode.add_argument(
        "--print", action="store_true", help="render it as text here (the default; no Slack needed)"
    )
    mode.add_argument("--now", action="store_true", help="post it to slack.digest_channel now")


def run_digest(config: Config, args: argparse.Namespace) -> int:
    from manager.digest.period import adhoc_window  # noqa: PLC0415
    from manager.digest.text import render_digest  # noqa: PLC0415
    from manager.store.db import is_outage  # noqa: PLC0415
    from manager.store.digest_data import build_digest  # noqa: PLC0415 - SQLAlchemy only for this verb
    from manager.store.store import Store  # noqa: PLC0415

    store = Store.for_config(config)
    try:
        store.ensure_schema()
        if args.now:
            return _post_now(config, store.db)
        digest = build_digest(store.db, adhoc_window(config.digest, datetime.now(UTC)), config.service_names)
        if getattr(args, "json", False):
            print(json.dumps(asdict(digest), default=str, indent=2))
        else:
            print(render_digest(digest))
        return EXIT_OK
    except Exception as exc:
        if not is_outage(exc):
            raise
        print(
            f"svcbot: database {store.db.safe_url} unreachable: {str(exc).splitlines()[0]}", file=sys.stderr
        )
        return EXIT_FAILED
    finally:
        store.db.dispose()


def _post_now(config: Config, db: Any) -> int:
    from slack_sdk.errors import SlackApiError  # noqa: PLC0415

    from chatops.digest.post import DigestPoster  # noqa: PLC0415
    from chatops.slack.app import make_client  # noqa: PLC0415
    from chatops.slack.settings import SettingsError, SlackSettings  # noqa: PLC0415

    if not config.slack.digest_channel:
        print(f"svcbot: {config.path}: slack.digest_channel is not set: nowhere to post", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings = SlackSettings.from_env(os.environ)
    except SettingsError as exc:
        print(f"svcbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not settings.enabled:
        print("svcbot: SLACK_BOT_TOKEN is not set: cannot post (try --print)", file=sys.stderr)
        return EXIT_USAGE

    async def post() -> str:
        poster = DigestPoster(lambda: config, db, make_client(settings))
        return await poster.post_now()

    try:
        ts = asyncio.run(post())
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else str(exc)
        print(f"svcbot: Slack refused the digest: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"digest posted to {config.slack.digest_channel} (message {ts})")
    return EXIT_OK
