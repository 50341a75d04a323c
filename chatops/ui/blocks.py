"""Block Kit builders: pure functions from plain data to JSON-ready messages, modals and payloads.

Why pure: the layouts are the contract with the people reading Slack, so they are pinned by golden
snapshot tests on plain dicts, with no Slack client, clock or database involved. The wording lives in
`chatops.ui.messages` (which escapes all user and service text); this module only arranges it, and keeps
every layout within Slack's limits whatever the input: 50 blocks a message, 3000 characters a section,
150 a header, 2000 a button value, 100 options a select. Long lists are cut with an "and N more" line,
never by letting Slack reject the message.

A `Message` holds what `chat.postMessage`, `chat.update` and `respond` take: `client.chat_postMessage(
channel=..., **message.to_dict())`. `text` is the notification fallback, short and without mentions.

Incident (the input of `alert_message`, built by the alert router)::

    {
        "id": "42",                        # str (an int is shown and carried as str)
        "title": "web is crash-looping",
        "severity": "critical",            # critical | error | warning | info (else a bell)
        "services": [                       # at least one
            {
                "name": "web",
                "kind": "crash_loop",       # free text: crash_loop, unhealthy, resource, exited ...
                "summary": "exited 5 times in 60s, last exit code 1",  # service text: redacted, escaped
                "count": 3,                 # events grouped into this line
                "state": "firing",          # firing | recovered | silenced
                "first_at": datetime,       # aware datetime, ISO 8601 string or epoch seconds
                "last_at": datetime,
                "silenced_until": None,     # optional, per service (AlertPolicy.incident_view)
            },
        ],
        "owners": ["S0WEBTEAM", "U0ALICE"], # user (U/W...) and user-group (S...) IDs to mention
        "acknowledged_by": "U0BOB" | None,
        "acknowledged_at": datetime | None,
        "silenced_until": datetime | None,  # optional; else derived: every open service silenced
        "recovered": False,
    }

Extra keys are ignored, so `chatops.alerting.AlertPolicy.incident_view()` renders as it is.

Button values are compact JSON: `{"incident":"42"}`, plus `"service":"web"` when the incident has
exactly one service; the confirmation's value is the caller's (an opaque token).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from chatops.ui import messages as m
from chatops.ui.text import escape, truncate
from manager.core.redact import redact_lines
from manager.triage.categorize import Category, Severity

__all__ = [
    "ACTION_ALERT_ACK",
    "ACTION_ALERT_LOGS",
    "ACTION_ALERT_RESTART",
    "ACTION_ALERT_SILENCE",
    "ACTION_CANCEL",
    "ACTION_CONFIRM",
    "ALERT_MAX_LINES",
    "FEEDBACK_CALLBACK",
    "FEEDBACK_CATEGORIES",
    "FEEDBACK_CATEGORY_BLOCK",
    "FEEDBACK_DESCRIPTION_BLOCK",
    "FEEDBACK_MAX_CHARS",
    "FEEDBACK_SERVICE_BLOCK",
    "FEEDBACK_SEVERITIES",
    "FEEDBACK_SEVERITY_BLOCK",
    "INPUT_ACTION_ID",
    "LOG_LINE_MAX",
    "LOG_MAX_SECTIONS",
    "SILENCE_CALLBACK",
    "SILENCE_DURATIONS",
    "SILENCE_DURATION_BLOCK",
    "Block",
    "Message",
    "alert_message",
    "confirm_message",
    "feedback_errors",
    "feedback_modal",
    "help_message",
    "logs_message",
    "outcome_message",
    "silence_modal",
    "status_message",
]

Block = dict[str, Any]


@dataclass(frozen=True)
class Message:
    """A message for chat.postMessage / chat.update / respond: fallback `text` and `blocks`."""

    text: str
    blocks: list[Block]

    def to_dict(self) -> dict[str, Any]:
        """The keyword arguments of chat.postMessage: `client.chat_postMessage(channel=c, **m.to_dict())`."""
        return {"text": self.text, "blocks": self.blocks}


# --- identifiers the interaction handlers route on -----------------------------------------------------

ACTION_CONFIRM = "svc_confirm"
ACTION_CANCEL = "svc_cancel"
ACTION_ALERT_ACK = "alert_ack"
ACTION_ALERT_SILENCE = "alert_silence"
ACTION_ALERT_RESTART = "alert_restart"
ACTION_ALERT_LOGS = "alert_logs"

FEEDBACK_CALLBACK = "feedback_submit"
SILENCE_CALLBACK = "alert_silence_submit"
#: Every modal input's element has this action_id: `view.state.values[BLOCK]["value"]`.
INPUT_ACTION_ID = "value"
FEEDBACK_DESCRIPTION_BLOCK = "description"
FEEDBACK_CATEGORY_BLOCK = "category"
FEEDBACK_SEVERITY_BLOCK = "severity"
FEEDBACK_SERVICE_BLOCK = "service"
SILENCE_DURATION_BLOCK = "duration"

FEEDBACK_CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)
FEEDBACK_SEVERITIES: tuple[str, ...] = get_args(Severity)
FEEDBACK_MAX_CHARS = 3000
#: Silence durations offered, in `manager.core.units.parse_duration` syntax.
SILENCE_DURATIONS = ("15m", "1h", "4h", "24h", "7d")

# --- Slack's limits, and the budgets derived from them --------------------------------------------------

_MAX_BLOCKS = 50
_SECTION_MAX = 3000
_HEADER_MAX = 150
_BUTTON_TEXT_MAX = 75
_VALUE_MAX = 2000
_OPTIONS_MAX = 100
_OPTION_TEXT_MAX = 75
_OPTION_VALUE_MAX = 150
_METADATA_MAX = 3000
_FENCE = "```"

#: Alert lines listed before "and N more": a storm of 100 services stays readable and within limits.
ALERT_MAX_LINES = 40
#: Log lines are cut to this many characters (before escaping) so one line never fills a section.
LOG_LINE_MAX = 500
#: Code-block sections a logs message may use (each up to 3000 characters).
LOG_MAX_SECTIONS = 5

# --- small builders ----------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    """`truncate` for escaped mrkdwn: never leaves half an entity (`&am…`) or half a mention or date
    (`<@U1…`) behind. User text here is escaped, so every `<` opens markup svcbot built itself."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - 1, 0)]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    opening = head.rfind("<")
    if opening != -1 and ">" not in head[opening:]:
        head = head[:opening]
    return head + "…"


def _plain(text: str, limit: int | None = None) -> dict[str, Any]:
    return {"type": "plain_text", "text": _clip(text, limit) if limit else text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(text, _HEADER_MAX)}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(_clip(text, _SECTION_MAX))}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(_clip(text, _SECTION_MAX))]}


def _button(
    label: str, action_id: str, value: str, style: Literal["primary", "danger"] | None = None
) -> dict[str, Any]:
    """A button; a value over Slack's 2000 characters is a bug in the caller, so it raises."""
    if len(value) > _VALUE_MAX:
        raise ValueError(f"button value of {len(value)} characters; Slack takes at most {_VALUE_MAX}")
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": _plain(label, _BUTTON_TEXT_MAX),
        "value": value,
    }
    if style is not None:
        button["style"] = style
    return button


def _actions(buttons: Sequence[dict[str, Any]]) -> Block:
    return {"type": "actions", "elements": list(buttons)}


def _pack(items: Iterable[str], limit: int = _SECTION_MAX) -> list[list[str]]:
    """Greedily group lines into chunks whose newline-joined length is at most `limit`."""
    chunks: list[list[str]] = []
    size = 0
    for item in items:
        line = _clip(item, limit)
        if chunks and size + 1 + len(line) <= limit:
            chunks[-1].append(line)
            size += 1 + len(line)
        else:
            chunks.append([line])
            size = len(line)
    return chunks


def _sections(chunks: Iterable[Sequence[str]]) -> list[Block]:
    return [_section("\n".join(chunk)) for chunk in chunks]


_JSON_MARKUP = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def _value(**fields: str) -> str:
    """Compact JSON for a button value or private_metadata. `<`, `>` and `&` are written as JSON
    escapes: `json.loads` gives the exact text back, and no raw markup sits anywhere in the payload."""
    return json.dumps(fields, separators=(",", ":"), sort_keys=True).translate(_JSON_MARKUP)


# --- /svc status, help, confirmation, outcome ------------------------------------------------------------


def status_message(services: Sequence[Mapping[str, Any]]) -> Message:
    """The services as a readable list, several per section; what does not fit says "and N more".

    `services` are the dicts of `svcbot status --json` (`manager.supervision.supervisor.service_status`).
    """
    if not services:
        return Message(m.no_services_text(), [_header(m.STATUS_HEADER), _section(m.no_services_text())])
    summary = m.status_summary_text(services)
    chunks = _pack(m.status_line(s) for s in services)[: _MAX_BLOCKS - 3]  # header, summary, "more"
    blocks = [_header(m.STATUS_HEADER), _context(summary), *_sections(chunks)]
    hidden = len(services) - sum(len(chunk) for chunk in chunks)
    if hidden:
        blocks.append(_context(m.status_more_text(hidden)))
    return Message(summary, blocks)


def help_message(verbs: Sequence[tuple[str, str]]) -> Message:
    """The commands the person may use, as (usage, description) pairs; only those given are shown."""
    if not verbs:
        return Message(m.HELP_EMPTY, [_header(m.HELP_HEADER), _section(m.HELP_EMPTY)])
    chunks = _pack(m.help_line(usage, description) for usage, description in verbs)
    return Message(m.HELP_HEADER, [_header(m.HELP_HEADER), *_sections(chunks[: _MAX_BLOCKS - 1])])


def confirm_message(verb: str, service: str, requester_id: str, value: str, expires_in_s: float) -> Message:
    """The ephemeral "Restart *web*?" prompt with Confirm and Cancel buttons, both carrying `value`.

    Confirm is red for stop (it takes a service down), green otherwise.
    """
    prompt = m.confirm_prompt(verb, service, requester_id, expires_in_s)
    style: Literal["primary", "danger"] = "danger" if verb == "stop" else "primary"
    buttons = [
        _button(m.CONFIRM_LABEL, ACTION_CONFIRM, value, style),
        _button(m.CANCEL_LABEL, ACTION_CANCEL, value),
    ]
    return Message(prompt, [_section(prompt), _actions(buttons)])


def outcome_message(  # noqa: PLR0917 - the positional order callers already use
    actor_id: str,
    verb: str,
    service: str,
    ok: bool,
    detail: str | None = None,
    duration_s: float | None = None,
) -> Message:
    """The public line after a command ran: `<@U1> restarted *web* (2.1s)`, or what failed."""
    text = m.outcome_text(actor_id, verb, service, ok=ok, detail=detail, duration_s=duration_s)
    return Message(text, [_section(text)])


# --- /svc logs ---------------------------------------------------------------------------------------

_BACKTICK_RUN = re.compile(r"`(?=`)")


def _log_line(line: str) -> str:
    """One log line as code-block text: a run of backticks would end the block, so a zero-width
    space goes between them."""
    return escape(_BACKTICK_RUN.sub("`\u200b", truncate(line, LOG_LINE_MAX)))


def _pack_newest(lines: Sequence[str], limit: int, max_chunks: int) -> list[list[str]]:
    """Chunks of the newest lines that fit: logs are read for what just happened, so the top goes."""
    chunks: list[list[str]] = []
    size = limit + 1
    for line in reversed(lines):
        if size + 1 + len(line) > limit:
            if len(chunks) == max_chunks:
                break
            chunks.append([])
            size = -1
        chunks[-1].append(line)
        size += 1 + len(line)
    return [list(reversed(chunk)) for chunk in reversed(chunks)]


def logs_message(name: str, lines: Sequence[str], requested: int) -> Message:
    """The newest log lines of a service in code blocks: redacted, escaped, cut from the top to fit."""
    redacted = redact_lines(lines)
    if not redacted:
        return Message(m.logs_fallback_text(name, 0), [_section(m.logs_empty_text(name))])
    shown = [_log_line(line) for line in redacted]
    lines_cut = any(len(line) > LOG_LINE_MAX for line in redacted)
    chunks = _pack_newest(shown, _SECTION_MAX - len(_FENCE) * 2 - 2, LOG_MAX_SECTIONS)
    count = sum(len(chunk) for chunk in chunks)
    context = m.logs_context_text(name, count, len(redacted), requested, lines_cut)
    code = [_section(f"{_FENCE}\n" + "\n".join(chunk) + f"\n{_FENCE}") for chunk in chunks]
    return Message(m.logs_fallback_text(name, count), [_context(context), *code])


# --- alerts ------------------------------------------------------------------------------------------

_STATE_RANK = {"firing": 0, "silenced": 1, "recovered": 2}


def _incident_services(incident: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    services = list(incident.get("services") or ())
    if not services:
        raise ValueError(f"incident {incident.get('id')!r} has no services")
    return sorted(services, key=lambda s: _STATE_RANK.get(str(s.get("state")), 3))  # stable: firing first


def _silenced_until(incident: Mapping[str, Any], services: Sequence[Mapping[str, Any]]) -> Any:
    """The incident's `silenced_until`; without one, the earliest end of the services' silences when
    every service still firing is silenced (as `AlertPolicy.incident_view` reports silences)."""
    if incident.get("silenced_until") is not None:
        return incident["silenced_until"]
    open_ = [s for s in services if s.get("state") != "recovered"]
    ends = [s["silenced_until"] for s in open_ if s.get("silenced_until") is not None]
    if not open_ or len(ends) < len(open_):
        return None
    return min(ends, key=m.as_utc)


def _alert_state_lines(incident: Mapping[str, Any], silenced_until: Any) -> list[Block]:
    lines = []
    if incident.get("acknowledged_by"):
        lines.append(m.alert_acknowledged_text(incident["acknowledged_by"], incident.get("acknowledged_at")))
    if silenced_until is not None and not incident.get("recovered"):
        lines.append(m.alert_silenced_text(silenced_until))
    return [_section("\n".join(lines))] if lines else []


def _alert_service_blocks(services: Sequence[Mapping[str, Any]]) -> list[Block]:
    blocks = _sections(_pack(m.alert_service_line(s) for s in services[:ALERT_MAX_LINES]))
    if len(services) > ALERT_MAX_LINES:
        # A storm: the rest by name only, so every service is still named (and found by a search).
        rest = [m.service_name(s.get("name")) for s in services[ALERT_MAX_LINES:]]
        blocks.append(_context(m.alert_more_text(len(rest)) + ":"))
        blocks += [_section(", ".join(chunk)) for chunk in _pack_names(rest)]
    return blocks


def _pack_names(names: Sequence[str], limit: int = _SECTION_MAX) -> list[list[str]]:
    """Names into comma-separated chunks that each fit a section."""
    chunks: list[list[str]] = [[]]
    size = 0
    for name in names:
        if chunks[-1] and size + len(name) + 2 > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(name)
        size += len(name) + 2
    return [chunk for chunk in chunks if chunk]


def _alert_context(incident: Mapping[str, Any], services: Sequence[Mapping[str, Any]]) -> Block:
    first = min((s["first_at"] for s in services), key=m.as_utc)
    last = max((s["last_at"] for s in services), key=m.as_utc)
    events = sum(int(s.get("count") or 1) for s in services)
    severity = str(incident.get("severity") or "warning")
    return _context(m.alert_context_text(incident.get("id"), severity, first, last, events))


def _alert_buttons(
    incident: Mapping[str, Any], services: Sequence[Mapping[str, Any]], silenced: bool
) -> list[dict[str, Any]]:
    """Acknowledge until acknowledged, Silence until silenced, Restart and Logs for a single service;
    a recovered incident keeps only Logs."""
    one = len(services) == 1
    value = _value(incident=str(incident.get("id")), **({"service": str(services[0]["name"])} if one else {}))
    buttons = []
    if not incident.get("recovered"):
        if not incident.get("acknowledged_by"):
            buttons.append(_button(m.ACK_LABEL, ACTION_ALERT_ACK, value, "primary"))
        if not silenced:
            buttons.append(_button(m.SILENCE_LABEL, ACTION_ALERT_SILENCE, value))
        if one:
            buttons.append(_button(m.RESTART_LABEL, ACTION_ALERT_RESTART, value))
    if one:
        buttons.append(_button(m.LOGS_LABEL, ACTION_ALERT_LOGS, value))
    return buttons


def alert_message(incident: Mapping[str, Any]) -> Message:
    """An incident as posted to the alert channel, and as updated when acknowledged, silenced or
    recovered (see the module docstring for the incident's shape)."""
    services = _incident_services(incident)
    recovered = bool(incident.get("recovered"))
    title = str(incident.get("title") or "Alert")
    severity = str(incident.get("severity") or "warning")
    blocks = [_header(m.alert_header_text(title, severity, recovered))]
    silenced_until = _silenced_until(incident, services)
    blocks += _alert_state_lines(incident, silenced_until)
    blocks += _alert_service_blocks(services)
    if incident.get("owners") and not recovered:
        blocks.append(_section(m.alert_owners_text(incident["owners"])))
    blocks.append(_alert_context(incident, services))
    if buttons := _alert_buttons(incident, services, silenced_until is not None):
        blocks.append(_actions(buttons))
    text = m.alert_fallback_text(title, severity, recovered, [str(s.get("name")) for s in services])
    return Message(text, blocks)


# --- modals ------------------------------------------------------------------------------------------


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": _plain(label, _OPTION_TEXT_MAX), "value": value}


def _select(
    options: Sequence[dict[str, Any]], placeholder: str | None, initial: str | None
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": INPUT_ACTION_ID,
        "options": list(options),
    }
    if placeholder is not None:
        element["placeholder"] = _plain(placeholder, _HEADER_MAX)
    chosen = [o for o in options if o["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    return element


def _input(block_id: str, label: str, element: dict[str, Any], optional: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "optional": optional,
        "element": element,
    }


def _modal(
    callback_id: str, titles: tuple[str, str, str], blocks: list[Block], metadata: str
) -> dict[str, Any]:
    """A modal view; `titles` are (title, submit, close), each at most 24 characters for Slack."""
    if len(metadata) > _METADATA_MAX:
        raise ValueError(
            f"private_metadata of {len(metadata)} characters; Slack takes at most {_METADATA_MAX}"
        )
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(titles[0], 24),
        "submit": _plain(titles[1], 24),
        "close": _plain(titles[2], 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }


_FEEDBACK_TITLES = (m.FEEDBACK_TITLE, m.FEEDBACK_SUBMIT, m.FEEDBACK_CLOSE)
_SILENCE_TITLES = (m.SILENCE_TITLE, m.SILENCE_SUBMIT, m.SILENCE_CLOSE)


def _service_options(services: Sequence[str]) -> list[dict[str, Any]]:
    """The configured services as options: each once, at most 100 (Slack's limit). The value must give
    the name back exactly, so names that do not fit in one (150 characters) or would need escaping
    (config names never do) are left out."""
    names = [n for n in dict.fromkeys(services) if len(n) <= _OPTION_VALUE_MAX and escape(n) == n]
    return [_option(name, name) for name in names[:_OPTIONS_MAX]]


def feedback_modal(services: Sequence[str], private_metadata: str) -> dict[str, Any]:
    """The /feedback form: description, category (empty lets svcbot decide), severity, service.

    `private_metadata` carries what the submit handler needs back (channel, thread), opaque here.
    """
    description = {
        "type": "plain_text_input",
        "action_id": INPUT_ACTION_ID,
        "multiline": True,
        "max_length": FEEDBACK_MAX_CHARS,
        "placeholder": _plain(m.FEEDBACK_DESCRIPTION_PLACEHOLDER),
    }
    categories = [_option(m.CATEGORY_LABELS.get(c, c), c) for c in FEEDBACK_CATEGORIES]
    severities = [_option(m.SEVERITY_LABELS.get(s, s), s) for s in FEEDBACK_SEVERITIES]
    blocks = [
        {
            **_input(FEEDBACK_DESCRIPTION_BLOCK, m.FEEDBACK_DESCRIPTION_LABEL, description),
            "hint": _plain(m.FEEDBACK_DESCRIPTION_HINT),
        },
        {
            **_input(
                FEEDBACK_CATEGORY_BLOCK,
                m.FEEDBACK_CATEGORY_LABEL,
                _select(categories, m.FEEDBACK_CATEGORY_PLACEHOLDER, None),
                optional=True,
            ),
            "hint": _plain(m.FEEDBACK_CATEGORY_HINT),
        },
        _input(FEEDBACK_SEVERITY_BLOCK, m.FEEDBACK_SEVERITY_LABEL, _select(severities, None, "normal")),
    ]
    if options := _service_options(services):
        select = _select(options, m.FEEDBACK_SERVICE_PLACEHOLDER, None)
        blocks.append(_input(FEEDBACK_SERVICE_BLOCK, m.FEEDBACK_SERVICE_LABEL, select, optional=True))
    return _modal(FEEDBACK_CALLBACK, _FEEDBACK_TITLES, blocks, private_metadata)


def feedback_errors(description: str | None) -> dict[str, str]:
    """The field errors of a feedback submission, by block_id; empty when it is fine.

    Slack enforces `max_length` in its clients, but a submission is still checked here. The handler
    answers `await ack(response_action="errors", errors=errors)` and the form stays open with the
    message under the field.
    """
    text = (description or "").strip()
    if not text:
        return {FEEDBACK_DESCRIPTION_BLOCK: m.feedback_description_empty()}
    if len(text) > FEEDBACK_MAX_CHARS:
        return {FEEDBACK_DESCRIPTION_BLOCK: m.feedback_description_too_long(len(text), FEEDBACK_MAX_CHARS)}
    return {}


def silence_modal(incident_id: str, service: str | None = None) -> dict[str, Any]:
    """The form behind an alert's Silence button: how long to silence (1 hour preselected).

    The incident and service travel in `private_metadata` as the same JSON the button carried.
    """
    metadata = _value(incident=str(incident_id), **({"service": service} if service else {}))
    options = [_option(m.DURATION_LABELS.get(d, d), d) for d in SILENCE_DURATIONS]
    blocks = [
        _section(m.silence_prompt(incident_id, service)),
        _input(SILENCE_DURATION_BLOCK, m.SILENCE_DURATION_LABEL, _select(options, None, "1h")),
    ]
    return _modal(SILENCE_CALLBACK, _SILENCE_TITLES, blocks, metadata)
