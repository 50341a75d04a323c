"""The `/svc` grammar: text to a request, every error path, and the mapping to manager commands."""

from __future__ import annotations

import pytest

from chatops.commands.grammar import (
    DEFAULT_LINES,
    MAX_LINES,
    USAGE,
    VERBS,
    SvcRequest,
    UsageError,
    parse_svc,
    to_command,
)
from manager.core.commands import Logs, Restart, Start, Status, Stop
from manager.core.verbs import SVC_VERBS, Role

SERVICES = ("web", "worker", "db")


def usage_error(text: str, services: tuple[str, ...] = SERVICES) -> UsageError:
    with pytest.raises(UsageError) as info:
        parse_svc(text, services)
    return info.value


@pytest.mark.parametrize(
    ("text", "request_"),
    [
        ("", SvcRequest("help")),
        ("   ", SvcRequest("help")),
        ("help", SvcRequest("help")),
        ("status", SvcRequest("status")),
        ("status web", SvcRequest("status", "web")),
        ("start web", SvcRequest("start", "web")),
        ("stop worker", SvcRequest("stop", "worker")),
        ("restart db", SvcRequest("restart", "db")),
        ("logs web", SvcRequest("logs", "web", DEFAULT_LINES)),
        ("logs web 50", SvcRequest("logs", "web", 50)),
        ("logs web 1", SvcRequest("logs", "web", 1)),
        (f"logs web {MAX_LINES}", SvcRequest("logs", "web", MAX_LINES)),
    ],
)
def test_every_verb_parses(text: str, request_: SvcRequest) -> None:
    """Each verb of the contract parses to its request; empty text is help; logs defaults N to 20."""
    assert parse_svc(text, SERVICES) == request_


@pytest.mark.parametrize("text", ["RESTART web", "Restart web", "rEsTaRt web"])
def test_verbs_are_case_insensitive(text: str) -> None:
    """Verbs match whatever their case."""
    assert parse_svc(text, SERVICES) == SvcRequest("restart", "web")


@pytest.mark.parametrize(
    "text",
    [
        "restart \u201cweb\u201d",  # smart double quotes
        "restart \u2018web\u2019",  # smart single quotes
        'restart "web"',
        "restart 'web'",
        "restart `web`",
        "restart \u201c web \u201d",  # quotes with spaces inside
        "restart <http://web|web>",  # Slack auto-linked the name
        "restart\u00a0web\u200b",  # pasted no-break and zero-width spaces
        "  restart   web  ",
    ],
)
def test_names_are_unwrapped_from_quotes_and_markup(text: str) -> None:
    """Smart quotes, plain quotes, backticks, Slack link markup and odd spaces around a name are removed."""
    assert parse_svc(text, SERVICES) == SvcRequest("restart", "web")


def test_auto_linked_dotted_name_is_found() -> None:
    """A dotted service name that Slack turned into a link is read from the link's label."""
    assert parse_svc("status <http://api.v2|api.v2>", ["api.v2"]) == SvcRequest("status", "api.v2")


def test_empty_quoted_name_counts_as_missing() -> None:
    """`restart ""` is a missing name, not a service called the empty string."""
    assert usage_error('restart ""').message == "usage: /svc restart NAME"


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [("restrat", "restart"), ("stauts", "status"), ("lgos", "logs"), ("hlep", "help"), ("STRAT", "start")],
)
def test_unknown_verb_suggests_the_closest(typed: str, suggestion: str) -> None:
    """A misspelt verb gets did-you-mean and the one-line usage."""
    error = usage_error(f"{typed} web")
    assert error.message == f"unknown command '{typed}'; did you mean '{suggestion}'?\n{USAGE}"
    assert error.suggestion == suggestion


def test_unknown_verb_without_a_close_match() -> None:
    """A verb like nothing known gets the usage line and no suggestion."""
    error = usage_error("deploy web")
    assert error.message == f"unknown command 'deploy'\n{USAGE}"
    assert error.suggestion is None


def test_service_name_as_verb_suggests_status() -> None:
    """`/svc web` suggests `status web`."""
    error = usage_error("web")
    assert error.suggestion == "status web"
    assert error.message.startswith("unknown command 'web'; did you mean 'status web'?")


def test_usage_line_follows_the_contract() -> None:
    """The one-line usage is the grammar of docs/design.md."""
    assert USAGE == "usage: /svc help|status [NAME]|start NAME|stop NAME|restart NAME|logs NAME [N]"


@pytest.mark.parametrize(
    ("typed", "message", "suggestion"),
    [
        ("wbe", "no service 'wbe'; did you mean 'web'? Known: web, worker, db", "web"),
        ("Web", "no service 'Web'; did you mean 'web'? Known: web, worker, db", "web"),
        ("WORKER", "no service 'WORKER'; did you mean 'worker'? Known: web, worker, db", "worker"),
        ("mail", "no service 'mail'. Known: web, worker, db", None),
    ],
)
def test_unknown_service_suggests_and_lists_known(typed: str, message: str, suggestion: str | None) -> None:
    """Service names are exact; a close or case-insensitive match is suggested; the known names are listed."""
    error = usage_error(f"restart {typed}")
    assert (error.message, error.suggestion) == (message, suggestion)


def test_ambiguous_case_match_is_not_suggested_as_unique() -> None:
    """With both `Web` and `web` configured, `WEB` suggests one of them by spelling, never fails."""
    error = usage_error("restart WEB", ("Web", "web"))
    assert error.suggestion in {"Web", "web"}


def test_known_names_are_capped_at_ten() -> None:
    """At most ten known names are listed, then how many more."""
    services = tuple(f"svc{i:02}" for i in range(15))
    error = usage_error("status nope", services)
    assert error.message.endswith("Known: " + ", ".join(services[:10]) + " and 5 more")


def test_no_services_configured() -> None:
    """With no services at all, the error says so instead of listing nothing."""
    assert usage_error("status web", ()).message == "no service 'web'. No services are configured."


@pytest.mark.parametrize("verb", ["start", "stop", "restart", "logs"])
def test_missing_name_gives_the_verb_usage(verb: str) -> None:
    """A verb that needs a name, without one, answers with its own usage line."""
    assert usage_error(verb).message == f"usage: {VERBS[verb].usage}"


@pytest.mark.parametrize("n", ["0", "501", "-5", "abc", "5.0", "+5", "1_0", "\u0665", "9" * 5000])
def test_bad_line_count_is_explained(n: str) -> None:
    """N must be a plain whole number from 1 to 500; anything else is a clear error naming what was typed."""
    error = usage_error(f"logs web {n}")
    assert "whole number from 1 to 500" in error.message
    assert error.message.endswith("'" if len(n) < 40 else "…'")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("help me", "unexpected argument 'me'\nusage: /svc help"),
        ("status web db", "unexpected argument 'db'\nusage: /svc status [NAME]"),
        ("restart web now please", "unexpected arguments 'now', 'please'\nusage: /svc restart NAME"),
        ("logs web 20 --follow", "unexpected argument '--follow'\nusage: /svc logs NAME [N]"),
    ],
)
def test_extra_arguments_are_named(text: str, message: str) -> None:
    """Arguments beyond what the verb takes are an error that names them."""
    assert usage_error(text).message == message


def test_shell_syntax_is_just_an_unknown_name() -> None:
    """Shell metacharacters are never interpreted: they are words, here an unknown service."""
    error = usage_error("restart web;rm")
    assert error.message.startswith("no service 'web;rm'")


def test_long_words_are_truncated_in_errors() -> None:
    """An error repeats at most 40 characters of what was typed."""
    error = usage_error("restart " + "x" * 200)
    assert "x" * 40 not in error.message
    assert "x" * 39 + "…" in error.message


def test_verbs_table_matches_the_access_verbs() -> None:
    """The grammar's verbs are the `/svc` verbs access control lists for help, in the same order."""
    assert tuple(VERBS) == tuple(SVC_VERBS)


@pytest.mark.parametrize(
    ("verb", "role"),
    [
        ("help", Role.VIEWER),
        ("status", Role.VIEWER),
        ("logs", Role.VIEWER),
        ("start", Role.OPERATOR),
        ("stop", Role.OPERATOR),
        ("restart", Role.OPERATOR),
    ],
)
def test_verbs_table_roles(verb: str, role: Role) -> None:
    """Each verb's entry carries the role access control requires for it, a usage line and a summary."""
    spec = VERBS[verb]
    assert spec.role is role
    assert spec.usage.startswith(f"/svc {verb}")
    assert spec.summary


@pytest.mark.parametrize(
    ("request_", "command"),
    [
        (SvcRequest("status"), Status(None)),
        (SvcRequest("status", "web"), Status("web")),
        (SvcRequest("start", "web"), Start("web")),
        (SvcRequest("stop", "web"), Stop("web")),
        (SvcRequest("restart", "web"), Restart("web")),
        (SvcRequest("logs", "web", 7), Logs("web", 7)),
        (SvcRequest("logs", "web"), Logs("web", DEFAULT_LINES)),
    ],
)
def test_to_command_maps_onto_the_command_model(request_: SvcRequest, command: object) -> None:
    """Each request becomes the manager command the CLI would build."""
    assert to_command(request_) == command


def test_help_has_no_command() -> None:
    """help is answered by chatops itself: no manager command."""
    assert to_command(SvcRequest("help")) is None


@pytest.mark.parametrize(
    "request_",
    [SvcRequest("restart"), SvcRequest("logs"), SvcRequest("deploy", "web"), SvcRequest("logs", "web", 501)],
)
def test_to_command_refuses_invalid_requests(request_: SvcRequest) -> None:
    """A hand-built request that parse_svc would never return is refused, not half-executed."""
    with pytest.raises(UsageError):
        to_command(request_)


def test_parse_then_map_round_trip() -> None:
    """Slack text with smart quotes goes all the way to the typed command."""
    assert to_command(parse_svc("Logs \u201cworker\u201d 100", SERVICES)) == Logs("worker", 100)
