"""The `svcbot` command line. Exit codes: 0 ok, 1 the command failed, 2 usage or config error."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from manager import __version__
from manager.cli import store_verbs as cli_store
from manager.cli.control import SOCKET_NAME, ControlError, request, stream
from manager.config.loader import ConfigError, load_config, locate_state_dir, resolve_config_path
from manager.config.spec import Config
from manager.core.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Result
from manager.core.units import parse_duration, plural
from manager.core.verbs import CLI, CLI_VERBS, Verb
from manager.reporting.render import render_result

if TYPE_CHECKING:
    from manager.cli.daemon import Extension

__all__ = ["Frontend", "build_parser", "main", "parse_args"]


class Frontend(Protocol):
    """What a front end adds to the command line (chatops adds `shell` and the Slack extension):
    manager/ knows it only through this protocol and never imports it."""

    verbs: tuple[str, ...]  # the verbs of manager.core.verbs that run on the front end

    def add_options(self, path: str, parser: argparse.ArgumentParser) -> None: ...

    def run_verb(self, config: Config, args: argparse.Namespace) -> int: ...

    def extensions(self, config: Config) -> list[Extension]: ...


#: The options every verb and sub-action takes, wherever they stand: `svcbot -c F status`,
#: `svcbot issues -c F list` and `svcbot issues list -c F` all mean the same.
COMMON_DEFAULTS: dict[str, Any] = {"config": None, "json": False}


def _common_options() -> argparse.ArgumentParser:
    """The shared options, with SUPPRESS defaults: argparse copies a sub-parser's defaults over what
    the parent parser already read, so a plain default would drop a `-c` given before a sub-action."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="config file (default: $SVCBOT_CONFIG or ./svcbot.yml)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON for scripts"
    )
    return common


def build_parser(frontend: Frontend | None = None) -> argparse.ArgumentParser:
    """The parser of every CLI verb in manager.core.verbs: names, arguments and help from the registry,
    options from each verb's handler. A front end's verbs are there only when the front end is."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="svcbot", description="Supervise services; ChatOps and a feedback loop.", parents=[common]
    )
    parser.add_argument("--version", action="version", version=f"svcbot {__version__}")
    subparsers = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    offered = frontend.verbs if frontend is not None else ()
    for verb in CLI_VERBS.values():
        if verb.runs == "frontend" and verb.name not in offered:
            continue
        for path, sub in _add_verb(subparsers, verb, common).items():
            if path in _OPTIONS:
                _OPTIONS[path](sub)
            elif frontend is not None and verb.runs == "frontend":
                frontend.add_options(path, sub)
    return parser


def _add_verb(
    subparsers: Any, verb: Verb, common: argparse.ArgumentParser, prefix: str = ""
) -> dict[str, Any]:
    """The sub-parser of `verb` (and of its CLI actions), by path: {"issues": ..., "issues list": ...}."""
    sub = subparsers.add_parser(verb.name, parents=[common], help=verb.summary)
    for arg in verb.args:
        if arg.cli == "option":
            continue
        optional = arg.cli == "optional" or not arg.required
        sub.add_argument(
            arg.name.lower(),
            metavar=arg.name,
            nargs="?" if optional else None,
            type=int if arg.kind in ("id", "count") else str,
            help=arg.help or None,
        )
    path = f"{prefix}{verb.name}"
    parsers = {path: sub}
    actions = [action for action in verb.actions if action.offered(CLI)]
    if actions:
        nested = sub.add_subparsers(dest="action", metavar="ACTION", required=verb.action_required)
        for action in actions:
            parsers.update(_add_verb(nested, action, common, prefix=f"{path} "))
    return parsers


def _logs_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--lines", type=int, default=50, help="how many lines (default 50)")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    parser.add_argument("--all", action="store_true", help="every service, merged by time")
    parser.add_argument("--grep", metavar="PATTERN", help="only lines matching this regular expression")
    parser.add_argument("--since", metavar="DURATION", help="only lines newer than this, e.g. 1h or 15m")


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")


_OPTIONS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "run": _run_options,
    "logs": _logs_options,
    **cli_store.OPTIONS,
}


def parse_args(argv: Sequence[str] | None = None, frontend: Frontend | None = None) -> argparse.Namespace:
    """The command line, with the shared options filled in wherever (and whether) they were given."""
    args = build_parser(frontend).parse_args(argv)
    for name, default in COMMON_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    return args


EXIT_PIPE = 128 + signal.SIGPIPE  # what `yes | head -1` reports for `yes`


def main(argv: Sequence[str] | None = None, frontend: Frontend | None = None) -> int:
    """The command line; output into a closed pipe (`svcbot logs --all | head`) ends it quietly."""
    try:
        code = _main(argv, frontend)
        sys.stdout.flush()  # inside the try: a close at exit would print "Exception ignored"
        return code
    except BrokenPipeError:
        # The reader has gone, as `head` does: stop, without a traceback. Python's own flush of stdout
        # at exit would fail the same way, so stdout is pointed at /dev/null first (Python's docs, signal).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE


def _main(argv: Sequence[str] | None, frontend: Frontend | None) -> int:
    args = parse_args(argv, frontend)
    path = resolve_config_path(args.config, os.environ)
    try:
        if args.verb == "run":
            config = load_config(path)
            return _run(config, args.verbose, frontend.extensions(config) if frontend else [])
        if frontend is not None and args.verb in frontend.verbs:
            return frontend.run_verb(load_config(path), args)
        if args.verb == "check-config":
            return _check_config(load_config(path), args.json)
        if CLI_VERBS[args.verb].runs == "store":
            return cli_store.run(load_config(path), args)
        state_dir = locate_state_dir(path)  # a running svcbot stays reachable while its file is edited
    except ConfigError as exc:
        print(f"svcbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _remote(state_dir, args)
    except ControlError as exc:
        print(f"svcbot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_OK


def _run(config: Config, verbose: bool, extensions: list[Extension]) -> int:
    from manager.cli.daemon import AlreadyRunning, Daemon, acquire_lock, open_store  # noqa: PLC0415 - fast CLI
    from manager.cli.jsonlog import setup_logging  # noqa: PLC0415

    try:
        config.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = acquire_lock(config.state_dir)
    except AlreadyRunning as exc:
        print(f"svcbot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"svcbot: cannot use state_dir {config.state_dir}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    setup_logging(config.state_dir / "svcbot.log", verbose=verbose)
    try:
        return asyncio.run(Daemon(config, store_opener=open_store, extensions=extensions).main())
    finally:
        os.close(lock)


def _check_config(config: Config, as_json: bool) -> int:
    """The file is valid (exit 0); what would still fail on this host is warned about on stderr."""
    from manager.config.preflight import host_warnings  # noqa: PLC0415

    names = ", ".join(config.service_names)
    warnings = host_warnings(config)
    if as_json:
        services = list(config.service_names)
        print(json.dumps({"ok": True, "path": str(config.path), "services": services, "warnings": warnings}))
    else:
        print(f"{config.path}: OK, {plural(len(config.services), 'service')}: {names}")
    for warning in warnings:
        print(f"svcbot: warning: {config.path}: {warning}", file=sys.stderr)
    return EXIT_OK


def _remote(state_dir: Path, args: argparse.Namespace) -> int:
    path = state_dir / SOCKET_NAME
    verb, payload = _request_args(args)
    if verb == "logs" and payload.get("follow"):
        first, lines = stream(path, verb, payload)
        code = _print(first, args)
        if first.ok:
            for line in lines:
                print(line, flush=True)
        return code
    return _print(request(path, verb, payload), args)


def _request_args(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    if args.verb == "logs":
        return "logs", _logs_args(args)
    named = {arg.name.lower(): getattr(args, arg.name.lower()) for arg in CLI_VERBS[args.verb].args}
    return args.verb, {key: value for key, value in named.items() if value}


def _logs_args(args: argparse.Namespace) -> dict[str, Any]:
    if not args.name and not args.all:
        raise SystemExit(_usage("logs needs a service name, or --all"))
    payload: dict[str, Any] = {
        "name": None if args.all else args.name,
        "lines": args.lines,
        "follow": args.follow,
    }
    if args.grep:
        payload["grep"] = args.grep
    if args.since:
        try:
            payload["since"] = parse_duration(args.since)
        except ValueError as exc:
            raise SystemExit(_usage(f"--since: {exc}")) from None
    return payload


def _usage(message: str) -> int:
    print(f"svcbot: {message}", file=sys.stderr)
    return EXIT_USAGE


def _print(result: Result, args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(result.to_dict(), default=str, indent=2))
    else:
        text = render_result(args.verb, result)
        stream_ = sys.stdout if result.ok else sys.stderr
        if text:
            print(text, file=stream_)
    return result.code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
