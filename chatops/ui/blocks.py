"""Block Kit messages: pure functions from plain data to JSON-ready messages (modals: `chatops.ui.modals`).

Why pure: the layouts are the contract with the people reading Slack, so they are pinned by golden
snapshot tests on plain dicts, with no Slack client, clock or database involved. The wording lives in
`chatops.ui.messages` (which escapes all user and service text); this module only arranges it, and keeps
every layout within Slack's limits whatever the input (`chatops.ui.kit`): 50 blocks a message, 3000
characters a section, 150 a header, 2000 a button value. Long lists are cut with an "and N more" line,
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

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from chatops.ui import messages as m
from chatops.ui.kit import (
    FENCE,
    MAX_BLOCKS,
    SECTION_MAX,
    Block,
    Message,
    actions,
    button,
    context,
    header,
    pack,
    payload,
    section,
    sections,
)
from chatops.ui.text import escape, truncate
from manager.core.redact import redact_lines

__all__ = [
    "ACTION_ALERT_ACK",
    "ACTION_ALERT_LOGS",
    "ACTION_ALERT_RESTART",
    "ACTION_ALERT_SILENCE",
    "ACTION_CANCEL",
    "ACTION_CONFIRM",
    "ALERT_MAX_LINES",
    "LOG_LINE_MAX",
    "LOG_MAX_SECTIONS",
    "alert_message",
    "confirm_message",
    "help_message",
    "logs_message",
    "outcome_message",
    "status_message",
]

# --- identifiers the interaction handlers route on -----------------------------------------------------

ACTION_CONFIRM = "svc_confirm"
ACTION_CANCEL = "svc_cancel"
ACTION_ALERT_ACK = "alert_ack"
ACTION_ALERT_SILENCE = "alert_silence"
ACTION_ALERT_RESTART = "alert_restart"
ACTION_ALERT_LOGS = "alert_logs"

#: Every modal input's element has this action_id: `view.state.values[BLOCK]["value"]`.

# What one message shows at most (Slack's own limits are in chatops.ui.kit).
#: Alert lines listed before "and N more": a storm of 100 services stays readable and within limits.
ALERT_MAX_LINES = 40
#: Log lines are cut to this many characters (before escaping) so one line never fills a section.
LOG_LINE_MAX = 500
#: Code-block sections a logs message may use (each up to 3000 characters).
LOG_MAX_SECTIONS = 5

# --- /svc status, help, confirmation, outcome ------------------------------------------------------------


def status_message(services: Sequence[Mapping[str, Any]]) -> Message:
    """The services as a readable list, several per section; what does not fit says "and N more".

    `services` are the dicts of `svcbot status --json` (`manager.supervision.supervisor.service_status`).
    """
    if not services:
        return Message(m.no_services_text(), [header(m.STATUS_HEADER), section(m.no_services_text())])
    summary = m.status_summary_text(services)
    chunks = pack(m.status_line(s) for s in services)[: MAX_BLOCKS - 3]  # header, summary, "more"
    blocks = [header(m.STATUS_HEADER), context(summary), *sections(chunks)]
    hidden = len(services) - sum(len(chunk) for chunk in chunks)
    if hidden:
        blocks.append(context(m.status_more_text(hidden)))
    return Message(summary, blocks)


def help_message(verbs: Sequence[tuple[str, str]]) -> Message:
    """The commands the person may use, as (usage, description) pairs; only those given are shown."""
    if not verbs:
        return Message(m.HELP_EMPTY, [header(m.HELP_HEADER), section(m.HELP_EMPTY)])
    chunks = pack(m.help_line(usage, description) for usage, description in verbs)
    return Message(m.HELP_HEADER, [header(m.HELP_HEADER), *sections(chunks[: MAX_BLOCKS - 1])])


def confirm_message(verb: str, service: str, requester_id: str, value: str, expires_in_s: float) -> Message:
    """The ephemeral "Restart *web*?" prompt with Confirm and Cancel buttons, both carrying `value`.

    Confirm is red for stop (it takes a service down), green otherwise.
    """
    prompt = m.confirm_prompt(verb, service, requester_id, expires_in_s)
    style: Literal["primary", "danger"] = "danger" if verb == "stop" else "primary"
    buttons = [
        button(m.CONFIRM_LABEL, ACTION_CONFIRM, value, style),
        button(m.CANCEL_LABEL, ACTION_CANCEL, value),
    ]
    return Message(prompt, [section(prompt), actions(buttons)])


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
    return Message(text, [section(text)])


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
        return Message(m.logs_fallback_text(name, 0), [section(m.logs_empty_text(name))])
    shown = [_log_line(line) for line in redacted]
    lines_cut = any(len(line) > LOG_LINE_MAX for line in redacted)
    chunks = _pack_newest(shown, SECTION_MAX - len(FENCE) * 2 - 2, LOG_MAX_SECTIONS)
    count = sum(len(chunk) for chunk in chunks)
    about = m.logs_context_text(name, count, len(redacted), requested, lines_cut)
    code = [section(f"{FENCE}\n" + "\n".join(chunk) + f"\n{FENCE}") for chunk in chunks]
    return Message(m.logs_fallback_text(name, count), [context(about), *code])


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
    return [section("\n".join(lines))] if lines else []


def _alert_service_blocks(services: Sequence[Mapping[str, Any]]) -> list[Block]:
    blocks = sections(pack(m.alert_service_line(s) for s in services[:ALERT_MAX_LINES]))
    if len(services) > ALERT_MAX_LINES:
        # A storm: the rest by name only, so every service is still named (and found by a search).
        rest = [m.service_name(s.get("name")) for s in services[ALERT_MAX_LINES:]]
        blocks.append(context(m.alert_more_text(len(rest)) + ":"))
        blocks += [section(", ".join(chunk)) for chunk in _pack_names(rest)]
    return blocks


def _pack_names(names: Sequence[str], limit: int = SECTION_MAX) -> list[list[str]]:
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
    return context(m.alert_context_text(incident.get("id"), severity, first, last, events))


def _alert_buttons(
    incident: Mapping[str, Any], services: Sequence[Mapping[str, Any]], silenced: bool
) -> list[dict[str, Any]]:
    """Acknowledge until acknowledged, Silence until silenced, Restart and Logs for a single service;
    a recovered incident keeps only Logs."""
    one = len(services) == 1
    value = payload(
        incident=str(incident.get("id")), **({"service": str(services[0]["name"])} if one else {})
    )
    buttons = []
    if not incident.get("recovered"):
        if not incident.get("acknowledged_by"):
            buttons.append(button(m.ACK_LABEL, ACTION_ALERT_ACK, value, "primary"))
        if not silenced:
            buttons.append(button(m.SILENCE_LABEL, ACTION_ALERT_SILENCE, value))
        if one:
            buttons.append(button(m.RESTART_LABEL, ACTION_ALERT_RESTART, value))
    if one:
        buttons.append(button(m.LOGS_LABEL, ACTION_ALERT_LOGS, value))
    return buttons


def alert_message(incident: Mapping[str, Any]) -> Message:
    """An incident as posted to the alert channel, and as updated when acknowledged, silenced or
    recovered (see the module docstring for the incident's shape)."""
    services = _incident_services(incident)
    recovered = bool(incident.get("recovered"))
    title = str(incident.get("title") or "Alert")
    severity = str(incident.get("severity") or "warning")
    blocks = [header(m.alert_header_text(title, severity, recovered))]
    silenced_until = _silenced_until(incident, services)
    blocks += _alert_state_lines(incident, silenced_until)
    blocks += _alert_service_blocks(services)
    if incident.get("owners") and not recovered:
        blocks.append(section(m.alert_owners_text(incident["owners"])))
    blocks.append(_alert_context(incident, services))
    if buttons := _alert_buttons(incident, services, silenced_until is not None):
        blocks.append(actions(buttons))
    text = m.alert_fallback_text(title, severity, recovered, [str(s.get("name")) for s in services])
    return Message(text, blocks)
