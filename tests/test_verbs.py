"""The verb registry (manager.core.verbs) is the one list of verbs: the CLI, `svcbot shell`, the Slack
`/svc` grammar, `/svc help`, access control, the control socket and manifest.yml all agree with it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import yaml

from chatops.commands.access import AccessPolicy
from chatops.commands.grammar import VERBS as GRAMMAR_VERBS
from chatops.commands.grammar import UsageError, parse_svc
from chatops.main import ChatopsFrontend
from manager.cli.main import build_parser, main
from manager.config.spec import AccessSpec
from manager.core.commands import COMMANDS
from manager.core.verbs import (
    BUTTON,
    CLI,
    CLI_VERBS,
    SLASH_COMMANDS,
    SVC,
    SVC_VERBS,
    VERBS,
    Role,
    required_role,
    walk,
)
from tests.conftest import program, write_config
from tests.test_cli import REPO, Daemon, daemons
from tests.test_shell import shell

__all__ = ["daemons"]

NOT_SVC = sorted(verb.name for verb in walk() if not verb.offered(SVC) and verb.name not in SVC_VERBS)


def _choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def test_the_cli_offers_exactly_the_registrys_cli_verbs_and_actions() -> None:
    """`svcbot --help` lists the registry's CLI verbs in its order; each verb's actions likewise."""
    parser = build_parser(ChatopsFrontend())
    verbs = _choices(parser)
    assert list(verbs) == list(CLI_VERBS)
    for name, sub in verbs.items():
        assert list(_choices(sub)) == [a.name for a in CLI_VERBS[name].actions if a.offered(CLI)], name


def test_without_a_front_end_the_cli_has_no_front_end_verbs() -> None:
    """manager alone offers what manager runs; shell and digest come with chatops."""
    verbs = _choices(build_parser(None))
    assert set(verbs) == {v.name for v in CLI_VERBS.values() if v.runs != "frontend"}
    assert set(ChatopsFrontend.verbs) == {v.name for v in CLI_VERBS.values() if v.runs == "frontend"}


@pytest.mark.parametrize("word", ["help", "ack", "silence", "resolve", "restat"])
def test_the_cli_refuses_what_the_registry_does_not_offer_it(
    word: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A chat-only verb (or a typo) is a usage error on the command line: exit 2, with the choices."""
    with pytest.raises(SystemExit) as exc:
        main([word])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_control_socket_runs_exactly_the_daemon_verbs() -> None:
    """Every verb the registry says the running svcbot carries out has a command model, and no other."""
    assert set(COMMANDS) == {verb.name for verb in VERBS.values() if verb.runs == "daemon"}


def test_the_slack_grammar_offers_exactly_the_svc_verbs() -> None:
    """The grammar's table is the registry's /svc verbs: same order, usage, role and summary."""
    assert list(GRAMMAR_VERBS) == list(SVC_VERBS)
    for name, spec in GRAMMAR_VERBS.items():
        verb = SVC_VERBS[name]
        assert spec.usage == f"/svc {verb.usage}"
        assert spec.role is verb.role and spec.summary.startswith(verb.summary)


@pytest.mark.parametrize("verb", NOT_SVC)
def test_the_slack_grammar_refuses_every_other_verb(verb: str) -> None:
    """`/svc reload` or `/svc issues` is an unknown command, however the CLI spells it."""
    with pytest.raises(UsageError) as exc:
        parse_svc(f"{verb} web", ["web"])
    assert exc.value.message.startswith(f"unknown command '{verb}'")


@pytest.mark.parametrize("verb", list(SVC_VERBS))
def test_the_slack_grammar_accepts_each_svc_verb_as_its_usage_writes_it(verb: str) -> None:
    """Each verb, with a service and a count where its usage has them, parses to itself."""
    words = {"NAME": "web", "[NAME]": "web", "[N]": "5"}
    text = " ".join(words.get(word, word) for word in SVC_VERBS[verb].usage.split())
    assert parse_svc(text, ["web"]).verb == verb


def test_roles_come_from_the_registry_and_help_lists_what_each_role_may_run() -> None:
    """Every chat action's role is the registry's; `/svc help` shows a viewer the viewer verbs only."""
    for verb in walk():
        expected = verb.role if (verb.offered(SVC) or verb.offered(BUTTON)) else Role.ADMIN
        assert required_role(verb.name) is expected, verb.name
    policy = AccessPolicy(AccessSpec())
    assert policy.allowed_verbs(Role.ADMIN) == list(SVC_VERBS)
    assert policy.allowed_verbs(Role.VIEWER) == [v for v in SVC_VERBS if SVC_VERBS[v].role is Role.VIEWER]


def test_state_changing_chat_verbs_need_more_than_a_viewer() -> None:
    """Nothing a viewer may run changes state, and every confirmed verb changes state."""
    for verb in walk():
        if verb.changes_state and (verb.offered(SVC) or verb.offered(BUTTON)):
            assert verb.role >= Role.OPERATOR, verb.name
        if verb.confirm:
            assert verb.changes_state, verb.name


def test_manifest_slash_commands_are_the_registrys() -> None:
    """manifest.yml declares the registry's slash commands, descriptions and hints, and every example
    in the /svc hint is a command the grammar accepts."""
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text())
    declared = [
        (c["command"], c["description"], c["usage_hint"]) for c in manifest["features"]["slash_commands"]
    ]
    assert declared == [(s.command, s.description, s.usage_hint) for s in SLASH_COMMANDS]
    svc = next(s for s in SLASH_COMMANDS if s.command == "/svc")
    for example in svc.usage_hint.split(" | "):
        assert parse_svc(example, ["web"]).verb in SVC_VERBS


def test_the_shell_accepts_exactly_the_svc_verbs(tmp_path: Path, daemons: list[Daemon]) -> None:
    """Through a real `svcbot shell` and a real running svcbot: every /svc verb is understood (the
    confirmed ones ask first), every other verb of the registry is an unknown command."""
    config = write_config(tmp_path, {"web": {"command": program("hang")}})
    daemon = Daemon(config, tmp_path / "daemon.out")
    daemons.append(daemon)
    daemon.wait_running("web")
    lines: list[str] = []
    for verb in SVC_VERBS.values():
        lines.append(_example(verb.usage))
        if verb.confirm:
            lines.append("n")
    lines += [f"/svc {name} web" for name in NOT_SVC]
    out = shell(config, *lines).stdout
    for verb in SVC_VERBS.values():
        assert f"unknown command '{verb.name}'" not in out
        if verb.confirm:
            assert f"{verb.name} web? [y/N]" in out
    for name in NOT_SVC:
        assert f"unknown command '{name}'" in out, name


def _example(usage: str) -> str:
    words: dict[str, Any] = {"NAME": "web", "[NAME]": "web", "[N]": "3"}
    return "/svc " + " ".join(words.get(word, word) for word in usage.split())
