"""Block Kit builders: golden layouts, Slack's limits, escaping and redaction of service text.

Golden files live in tests/golden/. After an intended layout change, rewrite them with
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_chatops_blocks.py` and review the diff by eye.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chatops.ui import blocks as b
from chatops.ui import messages as m
from chatops.ui import modals
from chatops.ui.kit import Message
from tests.goldens import assert_golden_text

T0 = datetime(2024, 5, 1, 9, 14, tzinfo=UTC)

# --- a generic validator of Slack's limits (independent of the constants in chatops.ui.blocks) -------------

MESSAGE_BLOCKS_MAX = 50
MODAL_BLOCKS_MAX = 100
SECTION_TEXT_MAX = 3000
FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTION_ID_MAX = 255
BLOCK_ID_MAX = 255
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
OPTIONS_MAX = 100
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
MODAL_TITLE_MAX = 24
PRIVATE_METADATA_MAX = 3000
FALLBACK_TEXT_MAX = 1000  # Slack allows 40,000; a notification should be short


def _walk(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _too_long(problems: list[str], where: str, text: Any, limit: int) -> None:
    if not isinstance(text, str) or not 1 <= len(text) <= limit:
        size = len(text) if isinstance(text, str) else type(text).__name__
        problems.append(f"{where}: length {size}, allowed 1..{limit}")


def _check_element(problems: list[str], where: str, node: dict[str, Any]) -> None:
    """Limits that hold wherever an object appears: text objects, buttons, selects, options, IDs."""
    kind = node.get("type")
    if kind in ("plain_text", "mrkdwn"):
        _too_long(problems, where, node.get("text"), SECTION_TEXT_MAX)
    if "action_id" in node:
        _too_long(problems, f"{where}.action_id", node["action_id"], ACTION_ID_MAX)
    if "block_id" in node:
        _too_long(problems, f"{where}.block_id", node["block_id"], BLOCK_ID_MAX)
    if kind == "button":
        _too_long(problems, f"{where}.text", node["text"]["text"], BUTTON_TEXT_MAX)
        _too_long(problems, f"{where}.value", node.get("value"), BUTTON_VALUE_MAX)
    if kind == "static_select":
        if not 1 <= len(node["options"]) <= OPTIONS_MAX:
            problems.append(f"{where}: {len(node['options'])} options")
        for i, option in enumerate(node["options"]):
            _too_long(problems, f"{where}.options[{i}].text", option["text"]["text"], OPTION_TEXT_MAX)
            _too_long(problems, f"{where}.options[{i}].value", option["value"], OPTION_VALUE_MAX)
        if "initial_option" in node and node["initial_option"] not in node["options"]:
            problems.append(f"{where}: initial_option is not one of the options")


def _check_header(problems: list[str], where: str, block: dict[str, Any]) -> None:
    _too_long(problems, f"{where}.text", block["text"]["text"], HEADER_TEXT_MAX)
    if block["text"]["type"] != "plain_text":
        problems.append(f"{where}: a header takes plain_text")


def _check_section(problems: list[str], where: str, block: dict[str, Any]) -> None:
    if "text" not in block and "fields" not in block:
        problems.append(f"{where}: a section needs text or fields")
    fields = block.get("fields", [])
    if len(fields) > FIELDS_MAX:
        problems.append(f"{where}: {len(fields)} fields")
    for i, field in enumerate(fields):
        _too_long(problems, f"{where}.fields[{i}]", field["text"], FIELD_TEXT_MAX)


def _check_context(problems: list[str], where: str, block: dict[str, Any]) -> None:
    if not 1 <= len(block["elements"]) <= CONTEXT_ELEMENTS_MAX:
        problems.append(f"{where}: {len(block['elements'])} context elements")


def _check_actions(problems: list[str], where: str, block: dict[str, Any]) -> None:
    if not 1 <= len(block["elements"]) <= ACTIONS_ELEMENTS_MAX:
        problems.append(f"{where}: {len(block['elements'])} action elements")
    ids = [e["action_id"] for e in block["elements"]]
    if len(ids) != len(set(ids)):
        problems.append(f"{where}: action_ids repeat within the block")


def _check_input(problems: list[str], where: str, block: dict[str, Any]) -> None:
    _too_long(problems, f"{where}.label", block["label"]["text"], FIELD_TEXT_MAX)


_BLOCK_CHECKS = {
    "header": _check_header,
    "section": _check_section,
    "context": _check_context,
    "actions": _check_actions,
    "input": _check_input,
}


def _check_block(problems: list[str], where: str, block: dict[str, Any]) -> None:
    """Limits that depend on the block type; a type the builders never make is a problem too."""
    check = _BLOCK_CHECKS.get(block["type"])
    if check is None:
        problems.append(f"{where}: unexpected block type {block['type']!r}")
    else:
        check(problems, where, block)


def slack_problems(obj: Any) -> list[str]:
    """Every Slack limit a message (`Message`, or a dict with text/blocks) or modal view breaks."""
    problems: list[str] = []
    if isinstance(obj, Message):
        obj = obj.to_dict()
    is_modal = obj.get("type") == "modal"
    if is_modal:
        for key in ("title", "submit", "close"):
            _too_long(problems, f"$.{key}", obj[key]["text"], MODAL_TITLE_MAX)
        _too_long(problems, "$.callback_id", obj["callback_id"], ACTION_ID_MAX)
        if len(obj.get("private_metadata", "")) > PRIVATE_METADATA_MAX:
            problems.append("$.private_metadata: too long")
    else:
        _too_long(problems, "$.text", obj.get("text"), FALLBACK_TEXT_MAX)
    blocks = obj["blocks"]
    if not 1 <= len(blocks) <= (MODAL_BLOCKS_MAX if is_modal else MESSAGE_BLOCKS_MAX):
        problems.append(f"$.blocks: {len(blocks)} blocks")
    for i, block in enumerate(blocks):
        _check_block(problems, f"$.blocks[{i}]", block)
    for where, node in _walk(obj):
        _check_element(problems, where, node)
    return problems


def assert_fits_slack(obj: Any) -> None:
    problems = slack_problems(obj)
    assert not problems, "\n".join(problems)


def as_json(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if isinstance(obj, Message) else dict(obj)


def all_text(obj: Any) -> str:
    return json.dumps(as_json(obj), ensure_ascii=False)


def assert_golden(name: str, obj: Any) -> None:
    """Compare against tests/golden/NAME.json; UPDATE_GOLDEN=1 rewrites it. Limits are checked too."""
    assert_fits_slack(obj)
    assert_golden_text(f"{name}.json", json.dumps(as_json(obj), indent=2, sort_keys=True) + "\n")


# --- fixtures ----------------------------------------------------------------------------------------


def svc(name: str, state: str, **over: Any) -> dict[str, Any]:
    """A status dict as `manager.supervision.supervisor.service_status` makes it."""
    up = state in ("starting", "running", "unhealthy", "stopping")
    data: dict[str, Any] = {
        "name": name,
        "state": state,
        "pid": 4242 if up else None,
        "uptime": 11_000.0 if up else None,
        "restarts": 0,
        "health": "healthy" if up else "-",
        "health_output": None,
        "cpu_percent": 1.2 if up else None,
        "rss": 52 * 2**20 if up else None,
        "threads": 4 if up else None,
        "open_files": 9 if up else None,
        "processes": 1 if up else None,
        "version": "1.4.2",
        "waiting_for": [],
        "last_exit": None,
        "adopted": False,
        "log_file": f"/var/lib/svcbot/logs/{name}.log",
    }
    data.update(over)
    return data


STATUS = [
    svc("web", "running"),
    svc("api", "unhealthy", restarts=2, health="unhealthy", health_output="HTTP 503 from /healthz"),
    svc("worker", "waiting", waiting_for=["db", "cache"]),
    svc("db", "quarantined", restarts=7, last_exit="exit code 1"),
    svc("jobs", "backoff", restarts=1, last_exit="killed by SIGSEGV"),
    svc("cron", "stopped"),
    svc("mailer", "starting", uptime=1.5, health="pending", adopted=True),
]


def service_alert(name: str, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "kind": "crash_loop",
        "summary": "exited 5 times in 60s, last exit code 1",
        "count": 3,
        "state": "firing",
        "first_at": T0,
        "last_at": T0 + timedelta(minutes=6),
    }
    data.update(over)
    return data


def incident(*services: dict[str, Any], **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "42",
        "title": "web is crash-looping",
        "severity": "critical",
        "services": list(services) or [service_alert("web")],
        "owners": ["S0WEBTEAM", "U0ALICE"],
        "acknowledged_by": None,
        "acknowledged_at": None,
        "silenced_until": None,
        "recovered": False,
    }
    data.update(over)
    return data


def storm(count: int = 100) -> dict[str, Any]:
    services = [
        service_alert(
            f"svc-{i:03d}",
            kind="exited",
            summary=f"exit code {i % 7 + 1}: connection refused by db:5432",
            count=i % 4 + 1,
            state="recovered" if i % 10 == 0 else "firing",
            first_at=T0 + timedelta(seconds=i),
            last_at=T0 + timedelta(seconds=60 + i),
        )
        for i in range(count)
    ]
    owners = [f"S0TEAM{i % 30:02d}" for i in range(count)]
    return incident(*services, id="77", title="100 services exited: db is down", owners=owners)


def actions(message: Message) -> list[dict[str, Any]]:
    return [e for block in message.blocks if block["type"] == "actions" for e in block["elements"]]


def sections(message: Message) -> list[str]:
    return [block["text"]["text"] for block in message.blocks if block["type"] == "section"]


# --- golden layouts ----------------------------------------------------------------------------------


def test_golden_status_table() -> None:
    """/svc status lists each service on one line with an emoji per state and a note when it is not up."""
    assert_golden("status", b.status_message(STATUS))


def test_golden_logs() -> None:
    """/svc logs shows the newest lines in a code block under a context line saying what is shown."""
    lines = [f"2024-05-01 09:14:{i:02d} INFO GET /item/{i} 200" for i in range(20)]
    assert_golden("logs", b.logs_message("web", lines, 20))


def test_golden_confirmation() -> None:
    """A restart asks for confirmation, naming who may confirm and when it expires."""
    assert_golden("confirm_restart", b.confirm_message("restart", "web", "U0ALICE", "token.abc", 300))


def test_golden_help() -> None:
    """/svc help lists only the commands it is given."""
    verbs = [("/svc status [NAME]", "show services"), ("/svc logs NAME [N]", "the last N log lines")]
    assert_golden("help", b.help_message(verbs))


def test_golden_alert_firing() -> None:
    """A firing alert: header with severity, the service line, owners, times, all four buttons."""
    assert_golden("alert_firing", b.alert_message(incident()))


def test_golden_alert_acknowledged() -> None:
    """An acknowledged alert says by whom and when, and loses its Acknowledge button."""
    acked = incident(acknowledged_by="U0BOB", acknowledged_at=T0 + timedelta(minutes=8))
    assert_golden("alert_acknowledged", b.alert_message(acked))


def test_golden_alert_silenced() -> None:
    """A silenced alert says until when, and loses its Silence button."""
    silenced = incident(silenced_until=T0 + timedelta(hours=4))
    assert_golden("alert_silenced", b.alert_message(silenced))


def test_golden_alert_recovered() -> None:
    """A recovered alert has a green "Recovered:" header, mentions nobody and keeps only Logs."""
    recovered = incident(service_alert("web", state="recovered"), recovered=True, acknowledged_by="U0BOB")
    assert_golden("alert_recovered", b.alert_message(recovered))


def test_golden_alert_storm() -> None:
    """A storm of 100 services details 40, firing first, then names the other 60; no per-service buttons."""
    assert_golden("alert_storm", b.alert_message(storm()))


def test_golden_feedback_modal() -> None:
    """The /feedback modal: description, optional category, severity (normal preselected), service."""
    assert_golden("feedback_modal", modals.feedback_modal(["web", "api", "db"], '{"channel":"C0OPS"}'))


def test_golden_silence_modal() -> None:
    """The Silence modal offers 15m to 7d (1h preselected) and carries the incident in its metadata."""
    assert_golden("silence_modal", modals.silence_modal("42", "web"))


def test_missing_golden_file_fails_with_instructions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A missing golden file fails the test and says how to create it, unless UPDATE_GOLDEN=1."""
    monkeypatch.setattr("tests.goldens.GOLDEN", tmp_path)
    monkeypatch.delenv("UPDATE_GOLDEN", raising=False)
    with pytest.raises(pytest.fail.Exception, match="UPDATE_GOLDEN=1"):
        assert_golden("nothing", b.outcome_message("U0ALICE", "restart", "web", True))
    monkeypatch.setenv("UPDATE_GOLDEN", "1")
    assert_golden("nothing", b.outcome_message("U0ALICE", "restart", "web", True))
    assert (tmp_path / "nothing.json").exists()


# --- limits ------------------------------------------------------------------------------------------


def test_validator_catches_broken_limits() -> None:
    """The limit validator is not vacuous: it flags an oversized section, header, value and block count."""
    bad = {
        "text": "x",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "a",
                        "text": {"type": "plain_text", "text": "b"},
                        "value": "v" * 2001,
                    }
                ],
            },
        ]
        + [{"type": "divider"}] * 48,
    }
    problems = "\n".join(slack_problems(bad))
    for where in ("blocks[0].text", "blocks[1].text: length 3001", ".value", "$.blocks: 51 blocks"):
        assert where in problems


def test_status_of_100_services_fits() -> None:
    """100 services fit in one status message: at most 50 blocks, every section within 3000 characters."""
    services = [svc(f"service-{i:03d}", "running", restarts=i) for i in range(100)]
    message = b.status_message(services)
    assert_fits_slack(message)
    text = all_text(message)
    assert "service-000" in text and "service-099" in text
    assert "more" not in text


def test_status_too_big_says_and_n_more() -> None:
    """Services that do not fit in 50 blocks are summed up as "and N more: use /svc status NAME"."""
    services = [svc(f"s{i}", "unhealthy", health="unhealthy", health_output="x&" * 300) for i in range(200)]
    message = b.status_message(services)
    assert_fits_slack(message)
    last = message.blocks[-1]
    assert last["type"] == "context"
    shown = sum(s.count("↳") for s in sections(message))
    assert last["elements"][0]["text"] == f"and {200 - shown} more: use `/svc status NAME`"
    assert 0 < shown < 200


def test_logs_of_500_long_lines_fit_and_keep_the_newest() -> None:
    """500 long log lines are cut from the top: the newest line is shown, and the context says so."""
    lines = [f"line {i:03d} " + "y" * 900 for i in range(500)]
    message = b.logs_message("web", lines, 500)
    assert_fits_slack(message)
    code = sections(message)
    assert code[-1].endswith("\n```") and "line 499" in code[-1]
    assert "line 000" not in all_text(message)
    context = message.blocks[0]["elements"][0]["text"]
    assert re.search(r"showing the last \d+ of 500 lines: truncated to fit Slack", context)
    assert "long lines cut short" in context


def test_storm_alert_fits_and_says_and_n_more() -> None:
    """A 100-service alert keeps within every limit and ends its list with "and 60 more services"."""
    message = b.alert_message(storm())
    assert_fits_slack(message)
    texts = all_text(message)
    assert "and 60 more services" in texts
    assert "Owners:" in texts and "and 10 more" in texts  # 30 owner groups, 20 mentioned
    lines = "\n".join(sections(message)).count(":red_circle:")
    assert lines == 40  # the 90 firing ones come before the 10 recovered ones
    assert all(f"svc-{i:03d}" in texts for i in range(100))  # every service is named


def test_long_alert_title_is_cut_to_the_header_limit() -> None:
    """A title longer than Slack's 150-character header is cut, not rejected."""
    message = b.alert_message(incident(title="t" * 500))
    assert_fits_slack(message)
    assert len(message.blocks[0]["text"]["text"]) == 150


def test_confirm_rejects_a_value_slack_would_refuse() -> None:
    """A button value over 2000 characters is a bug in the caller: it raises instead of failing in Slack."""
    with pytest.raises(ValueError, match="2000"):
        b.confirm_message("restart", "web", "U0ALICE", "v" * 2001, 300)


def test_feedback_modal_lists_at_most_100_services() -> None:
    """With more than 100 services the service select offers the first 100 (Slack's maximum)."""
    modal = modals.feedback_modal([f"svc-{i}" for i in range(150)], "{}")
    assert_fits_slack(modal)
    select = modal["blocks"][-1]["element"]
    assert [o["value"] for o in select["options"]] == [f"svc-{i}" for i in range(100)]


def test_feedback_modal_without_services_has_no_service_field() -> None:
    """No services configured: the modal leaves out the service select (Slack rejects an empty one)."""
    modal = modals.feedback_modal([], "{}")
    assert_fits_slack(modal)
    assert [block["block_id"] for block in modal["blocks"]] == ["description", "category", "severity"]


def test_private_metadata_over_the_limit_raises() -> None:
    """private_metadata over 3000 characters raises: Slack would refuse to open the modal."""
    with pytest.raises(ValueError, match="private_metadata"):
        modals.feedback_modal(["web"], "m" * 3001)


# --- buttons and values ------------------------------------------------------------------------------


def test_confirm_buttons_carry_the_value_and_stop_is_red() -> None:
    """Confirm and Cancel both carry the value; Confirm is danger for stop and primary for restart."""
    stop = b.confirm_message("stop", "web", "U0ALICE", "v1", 60)
    confirm, cancel = actions(stop)
    assert (confirm["action_id"], cancel["action_id"]) == (b.ACTION_CONFIRM, b.ACTION_CANCEL)
    assert confirm["value"] == cancel["value"] == "v1"
    assert confirm["style"] == "danger" and "style" not in cancel
    assert actions(b.confirm_message("restart", "web", "U0ALICE", "v1", 60))[0]["style"] == "primary"
    assert "expires in 60 s" in stop.text


def test_alert_button_values_carry_incident_and_service() -> None:
    """Alert buttons carry JSON with the incident id, and the service when there is exactly one."""
    single = actions(b.alert_message(incident()))
    assert [a["action_id"] for a in single] == ["alert_ack", "alert_silence", "alert_restart", "alert_logs"]
    assert {json.dumps(json.loads(a["value"]), sort_keys=True) for a in single} == {
        '{"incident": "42", "service": "web"}'
    }
    many = actions(b.alert_message(incident(service_alert("web"), service_alert("api"))))
    assert [a["action_id"] for a in many] == ["alert_ack", "alert_silence"]
    assert json.loads(many[0]["value"]) == {"incident": "42"}


def test_recovered_multi_service_alert_has_no_buttons() -> None:
    """A recovered incident of several services has nothing left to click: no actions block."""
    message = b.alert_message(incident(service_alert("a"), service_alert("b"), recovered=True))
    assert actions(message) == []
    assert message.text.startswith("Recovered: ")


def test_alert_policy_view_with_per_service_silences() -> None:
    """An AlertPolicy.incident_view (epoch floats, silences per service, extra keys) renders as silenced
    when every open service is silenced: "Silenced until" the earliest end, no Silence button."""
    at = T0.timestamp()
    view: dict[str, Any] = {
        "id": "n7",
        "channel": "C0ALERTS",
        "ts": None,
        "title": "2 services are down",
        "severity": "warning",
        "services": [
            service_alert("web", state="silenced", first_at=at, last_at=at + 60, silenced_until=at + 7200),
            service_alert("api", state="silenced", first_at=at, last_at=at + 90, silenced_until=at + 3600),
            service_alert("db", state="recovered", first_at=at, last_at=at + 30, silenced_until=None),
        ],
        "owners": ["U0ALICE"],
        "acknowledged_by": None,
        "acknowledged_at": None,
        "recovered": False,
        "firing": 2,
        "posted_at": at,
    }
    message = b.alert_message(view)
    assert_fits_slack(message)
    assert m.alert_silenced_text(at + 3600) in sections(message)
    assert [a["action_id"] for a in actions(message)] == ["alert_ack"]
    view["services"][0]["silenced_until"] = None
    assert "alert_silence" in [a["action_id"] for a in actions(b.alert_message(view))]


def test_alert_without_services_is_an_error() -> None:
    """An incident always names a service; an empty one is a bug in the router, so it raises."""
    with pytest.raises(ValueError, match="no services"):
        b.alert_message(incident(services=[]))


# --- escaping and redaction --------------------------------------------------------------------------

HOSTILE = "<!channel> ping <@U123> & <https://evil.example|click>"
_RAW = re.compile(r"<!channel>|<@U123>|<https://evil|&(?!amp;|lt;|gt;)")


def assert_no_raw_markup(obj: Any) -> None:
    """No hostile markup survived anywhere: no raw mention, link or unescaped ampersand."""
    for _, node in _walk(as_json(obj)):
        for value in node.values():
            if isinstance(value, str):
                assert not _RAW.search(value), value


def test_status_escapes_service_output() -> None:
    """Health output, last exit, waiting-for names and service names are escaped in /svc status."""
    services = [
        svc("web&co", "unhealthy", health="unhealthy", health_output=HOSTILE),
        svc("db", "exited", last_exit=HOSTILE),
        svc("w", "waiting", waiting_for=[HOSTILE]),
    ]
    message = b.status_message(services)
    assert_no_raw_markup(message)
    assert "&lt;!channel&gt;" in all_text(message)


def test_logs_escape_and_redact() -> None:
    """Log lines are redacted (password=, xoxb- tokens) and escaped before they reach Slack."""
    lines = [HOSTILE, "db password=hunter2 ok", "slack token xoxb-123456789012-abcdefABCDEF", "a ``` b"]
    message = b.logs_message("web", lines, 10)
    assert_no_raw_markup(message)
    text = all_text(message)
    assert "hunter2" not in text and "xoxb-123456789012" not in text
    assert "password=[REDACTED]" in text and "xoxb-[REDACTED]" in text
    assert "```" not in sections(message)[0][3:-3]  # a fence in a line cannot end the code block


def test_alert_escapes_everything_from_services_and_people() -> None:
    """Titles, kinds, summaries, IDs and owners that are not Slack IDs are escaped in alerts."""
    hostile = incident(
        service_alert(HOSTILE, kind=HOSTILE, summary=HOSTILE),
        id=HOSTILE,
        title=HOSTILE,
        severity=HOSTILE,
        owners=[HOSTILE, "U0ALICE"],
        acknowledged_by=HOSTILE,
    )
    message = b.alert_message(hostile)
    assert_no_raw_markup(message)
    assert "<@U0ALICE>" in all_text(message)
    assert json.loads(actions(message)[0]["value"]) == {"incident": HOSTILE, "service": HOSTILE}
    assert_no_raw_markup({"x": m.alert_repeat_text(HOSTILE, HOSTILE, 2)})


def test_alert_summary_is_redacted() -> None:
    """A secret in an alert summary (service output) is redacted."""
    message = b.alert_message(incident(service_alert("web", summary="bad DSN postgres://app:hunter2@db/app")))
    assert "hunter2" not in all_text(message)


def test_texts_escape_reasons_details_and_receipts() -> None:
    """Denials, usage errors, outcomes, receipts and confirmations escape what they quote."""
    texts = {
        "denied": m.denied_text(HOSTILE),
        "usage": m.usage_error_text(HOSTILE),
        "outcome": b.outcome_message("U0ALICE", "restart", HOSTILE, False, HOSTILE, 1.0).text,
        "receipt": m.feedback_receipt_text({"id": HOSTILE, "category": HOSTILE, "issue_id": HOSTILE}),
        "confirm": b.confirm_message("restart", HOSTILE, HOSTILE, "v", 300).text,
        "help": b.help_message([(HOSTILE, HOSTILE)]).blocks[1]["text"]["text"],
    }
    assert_no_raw_markup(texts)


def test_cutting_escaped_text_never_leaves_half_an_entity() -> None:
    """A header cut to 150 characters ends before an entity or mention, never inside one."""
    message = b.alert_message(incident(title="&" * 200))
    header = message.blocks[0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("&amp;…")
    assert_no_raw_markup(message)


def test_feedback_modal_leaves_out_names_that_need_escaping() -> None:
    """A service name that would need escaping cannot be an exact option value, so it is not offered."""
    modal = modals.feedback_modal([HOSTILE, "web"], "{}")
    assert [o["value"] for o in modal["blocks"][-1]["element"]["options"]] == ["web"]


@pytest.mark.parametrize(
    ("ident", "shown"),
    [
        ("U0ALICE", "<@U0ALICE>"),
        ("W0ENTERPRISE", "<@W0ENTERPRISE>"),
        ("S0WEBTEAM", "<!subteam^S0WEBTEAM>"),
        ("u0alice", "u0alice"),
        ("U0ALICE>", "U0ALICE&gt;"),
        ("!channel", "!channel"),
        ("U0ALICE\n", "U0ALICE\n"),
    ],
)
def test_mentions_only_from_valid_ids(ident: str, shown: str) -> None:
    """Only well-formed user (U/W) and group (S) IDs become mentions; anything else is escaped text."""
    assert m.mention(ident) == shown


# --- texts -------------------------------------------------------------------------------------------


def test_outcome_lines() -> None:
    """Outcomes name who did what to which service and how long it took, or what failed."""
    ok = b.outcome_message("U0ALICE", "restart", "web", True, "web restart: running (pid 1)", 2.1)
    assert ok.text == "<@U0ALICE> restarted *web* (2.1s)"
    failed = b.outcome_message("U0ALICE", "stop", "web", False, "web is stopping", 10.0)
    assert failed.text == ":warning: <@U0ALICE> tried to stop *web*, which failed: web is stopping (10s)"


def test_feedback_receipts() -> None:
    """The receipt gives the feedback and issue numbers, or says the feedback was spooled."""
    filed = {"id": 12, "issue_id": 7, "category": "bug", "spooled": False}
    assert m.feedback_receipt_text(filed) == "Thanks! Feedback #12 filed as *bug* (linked to issue #7)."
    spooled = {"id": None, "issue_id": None, "category": "feature", "spooled": True}
    assert m.feedback_receipt_text(spooled).startswith(
        "Thanks! Filed as *feature*. The database is unreachable"
    )


def test_feedback_errors() -> None:
    """An empty or over-long description gets a field error under the description; a good one none."""
    assert set(modals.feedback_errors("   ")) == {"description"}
    assert "3,001" in modals.feedback_errors("x" * 3001)["description"]
    assert modals.feedback_errors("the logs page is slow") == {}


def test_denials_keep_channel_links_only() -> None:
    """A denial keeps links to well-formed channel IDs (they ping nobody) and escapes everything else."""
    text = m.denied_text("svcbot takes commands in <#C0OPS>, <#nope> <!channel> <@U123>")
    assert text.endswith("commands in <#C0OPS>, &lt;#nope&gt; &lt;!channel&gt; &lt;@U123&gt;")


def test_repeat_and_usage_texts() -> None:
    """Thread replies count repeats; usage errors point at /svc help."""
    assert (
        m.alert_repeat_text("web", "exit code 1", 4) == ":repeat: *web* again: exit code 1 (4 times so far)"
    )
    assert m.usage_error_text("unknown verb").endswith("Try `/svc help`.")


def test_timestamps_accept_datetimes_strings_and_epochs() -> None:
    """Incident times may be aware or naive datetimes, ISO strings or epoch seconds; all render alike."""
    expected = m.format_when(T0)
    naive = T0.replace(tzinfo=None)
    for at in (naive, T0.isoformat(), T0.timestamp(), "2024-05-01T11:14:00+02:00"):
        assert m.format_when(at) == expected
    assert expected == "<!date^1714554840^{date_short_pretty} {time}|2024-05-01 09:14 UTC>"


def test_builders_return_json_ready_data() -> None:
    """Every builder's output survives a JSON round trip unchanged (plain dicts, lists, strings)."""
    for obj in (
        b.status_message(STATUS).to_dict(),
        b.alert_message(storm()).to_dict(),
        modals.feedback_modal(["web"], "{}"),
        modals.silence_modal("42"),
    ):
        assert json.loads(json.dumps(obj)) == obj
