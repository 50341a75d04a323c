"""The `svcbot` command: manager's CLI plus what chatops adds (`svcbot shell`, and the Slack front end
running inside `svcbot run`). manager/ knows this only through its `Frontend` protocol."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from manager.cli import main as cli
from manager.config.spec import Config

if TYPE_CHECKING:
    from manager.cli.daemon import Daemon, Extension

__all__ = ["ChatopsFrontend", "main"]


class ChatopsFrontend:
    verbs: tuple[str, ...] = ("shell", "digest")

    def add_options(self, path: str, parser: argparse.ArgumentParser) -> None:
        if path == "digest":
            from chatops.digest.cli import add_options  # noqa: PLC0415

            add_options(parser)

    def run_verb(self, config: Config, args: argparse.Namespace) -> int:
        if args.verb == "digest":
            from chatops.digest.cli import run_digest  # noqa: PLC0415

            return run_digest(config, args)
        from chatops.commands.shell import run_shell  # noqa: PLC0415

        return run_shell(config)

    def extensions(self, config: Config) -> list[Extension]:
        return [_LazySlack(config)]


class _LazySlack:
    """The Slack front end, imported once the services run, in a worker thread: Bolt, aiohttp and
    slack_sdk take half a second to import, which must delay neither the first start of the
    services nor the event loop."""

    name = "slack"

    def __init__(self, config: Config) -> None:
        self.config = config
        self._real: Extension | None = None

    async def start(self, daemon: Daemon) -> None:
        module = await asyncio.to_thread(importlib.import_module, "chatops.slack.frontend")
        self._real = module.SlackFrontEnd(self.config)
        await self._real.start(daemon)

    async def stop(self) -> None:
        if self._real is not None:
            await self._real.stop()


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, frontend=ChatopsFrontend())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
