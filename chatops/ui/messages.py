"""Every string svcbot shows people in Slack, in one module (as bolt-python keeps its messages).

Why one module: wording is reviewed, changed and translated in one place, and the Block Kit builders in
`chatops.ui.blocks` stay pure structure. The rule for every function here: what came from users or
services (service names included, though they come from the config) is escaped with
`chatops.ui.text.escape`, so it can never ping, link or mark up; service output is also redacted first.
Mentions are only ever built here, by `mention`, from IDs that look like Slack IDs.

Each function returns Slack mrkdwn ready to put into a text object, unless its docstring says plain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from chatops.ui.text import escape, truncate
from manager.core.redact import redact_text
from manager.core.units import format_duration, format_size, plural

__all__ = [
    "ACK_LABEL",
    "CANCEL_LABEL",
    "CATEGORY_LABELS",
    "CONFIRM_LABEL",
    "DURATION_LABELS",
    "FEEDBACK_CATEGORY_HINT",
    "FEEDBACK_CATEGORY_LABEL",
    "FEEDBACK_CATEGORY_PLACEHOLDER",
    "FEEDBACK_CLOSE",
    "FEEDBACK_DESCRIPTION_HINT",
    "FEEDBACK_DESCRIPTION_LABEL",
    "FEEDBACK_DESCRIPTION_PLACEHOLDER",
    "FEEDBACK_SERVICE_LABEL",
    "FEEDBACK_SERVICE_PLACEHOLDER",
    "FEEDBACK_SEVERITY_LABEL",
    "FEEDBACK_SUBMIT",
    "FEEDBACK_TITLE",
    "HELP_EMPTY",
    "HELP_HEADER",
    "LOGS_LABEL",
    "NAME_MAX",
    "NOTE_MAX",
    "OWNERS_MAX",
    "RESTART_LABEL",
    "SEVERITY_LABELS",
    "SILENCE_CLOSE",
    "SILENCE_DURATION_LABEL",
    "SILENCE_LABEL",
    "SILENCE_SUBMIT",
    "SILENCE_TITLE",
    "STATUS_HEADER",
    "Timestamp",
    "alert_acknowledged_text",
    "alert_context_text",
    "alert_fallback_text",
    "alert_header_text",
    "alert_more_text",
    "alert_owners_text",
    "alert_repeat_text",
    "alert_service_line",
    "alert_silenced_text",
    "as_utc",
    "confirm_prompt",
    "denied_text",
    "feedback_description_empty",
    "feedback_description_too_long",
    "feedback_receipt_text",
    "format_when",
    "help_line",
    "logs_context_text",
    "logs_empty_text",
    "logs_fallback_text",
    "mention",
    "no_services_text",
    "outcome_text",
    "service_name",
    "silence_prompt",
    "status_line",
    "status_more_text",
    "status_summary_text",
    "usage_error_text",
    "working_text",
]

#: Longest service name shown; the config does not bound names, Slack's limits do.
NAME_MAX = 100
#: Most owners mentioned in one alert.
OWNERS_MAX = 20
#: Longest note (health output, last exit, summary) shown on one line, before escaping.
NOTE_MAX = 200

# --- labels (plain text) ---------------------------------------------------------------------------

STATUS_HEADER = "Service status"
HELP_HEADER = "svcbot commands"
HELP_EMPTY = "There is no command you may use here; an admin can grant access in `svcbot.yml`."
CONFIRM_LABEL = "Confirm"
CANCEL_LABEL = "Cancel"
ACK_LABEL = "Acknowledge"
SILENCE_LABEL = "Silence"
RESTART_LABEL = "Restart"
LOGS_LABEL = "Logs"

FEEDBACK_TITLE = "Send feedback"
FEEDBACK_SUBMIT = "Send"
FEEDBACK_CLOSE = "Cancel"
FEEDBACK_DESCRIPTION_LABEL = "What happened?"
FEEDBACK_DESCRIPTION_PLACEHOLDER = "What you did, what you expected, what you saw instead"
FEEDBACK_DESCRIPTION_HINT = "Bugs, ideas, questions, praise: anything about svcbot or the services it runs."
FEEDBACK_CATEGORY_LABEL = "Category"
FEEDBACK_CATEGORY_PLACEHOLDER = "Let svcbot decide"
FEEDBACK_CATEGORY_HINT = "Leave it empty and svcbot picks one from your text."
FEEDBACK_SEVERITY_LABEL = "Severity"
FEEDBACK_SERVICE_LABEL = "Service"
FEEDBACK_SERVICE_PLACEHOLDER = "Not about one service"

SILENCE_TITLE = "Silence alert"
SILENCE_SUBMIT = "Silence"
SILENCE_CLOSE = "Cancel"
SILENCE_DURATION_LABEL = "For how long?"

CATEGORY_LABELS: Mapping[str, str] = {
    "bug": "Bug",
    "feature": "Feature request",
    "usability": "Usability",
    "question": "Question",
    "praise": "Praise",
    "other": "Other",
}
SEVERITY_LABELS: Mapping[str, str] = {
    "low": "Low",
    "normal": "Normal",
    "high": "High",
    "critical": "Critical",
}
DURATION_LABELS: Mapping[str, str] = {
    "15m": "15 minutes",
    "1h": "1 hour",
    "4h": "4 hours",
    "24h": "24 hours",
    "7d": "7 days",
}

# --- building blocks ---------------------------------------------------------------------------------

#: What incidents may carry as a time: see `as_utc`.
Timestamp = datetime | str | float

_USER_ID = re.compile(r"[UW][A-Z0-9]{1,40}")
_GROUP_ID = re.compile(r"S[A-Z0-9]{1,40}")
_SPACES = re.compile(r"\s+")
_ESCAPED_CHANNEL = re.compile(r"&lt;#([CG][A-Z0-9]{1,40})&gt;")


def mention(ident: object) -> str:
    """A mention for a Slack user (`<@U123>`) or user group (`<!subteam^S123>`); anything that is not
    a well-formed ID is shown as escaped text, so a crafted "ID" cannot become `<!channel>`."""
    text = str(ident)
    if _USER_ID.fullmatch(text):
        return f"<@{text}>"
    if _GROUP_ID.fullmatch(text):
        return f"<!subteam^{text}>"
    return escape(truncate(text, NAME_MAX))


def service_name(name: object) -> str:
    """A service name in bold, escaped and cut to `NAME_MAX`: names are config, but still text."""
    return f"*{escape(truncate(str(name), NAME_MAX))}*"


def _plain(name: object) -> str:
    return escape(truncate(str(name), NAME_MAX))


def _note(text: object) -> str:
    """Service output as one short, redacted, escaped line: output may be multi-line and hold secrets."""
    flat = _SPACES.sub(" ", redact_text(str(text))).strip()
    return escape(truncate(flat, NOTE_MAX))


def as_utc(at: Timestamp) -> datetime:
    """An aware UTC datetime from what incidents carry: an aware datetime (naive ones are taken as
    UTC, as svcbot stores them), an ISO 8601 string (a JSON round trip) or epoch seconds."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    elif isinstance(at, int | float):
        at = datetime.fromtimestamp(at, UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def format_when(at: Timestamp) -> str:
    """A timestamp each reader sees in their own time zone (Slack's `<!date>`), with a UTC fallback."""
    utc = as_utc(at)
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{utc:%Y-%m-%d %H:%M} UTC>"


# --- /svc status -------------------------------------------------------------------------------------

_STATE_EMOJI = {
    "running": ":large_green_circle:",
    "starting": ":large_yellow_circle:",
    "waiting": ":large_yellow_circle:",
    "backoff": ":large_yellow_circle:",
    "unhealthy": ":red_circle:",
    "exited": ":red_circle:",
    "quarantined": ":red_circle:",
    "stopped": ":white_circle:",
    "stopping": ":white_circle:",
}
_STATE_ORDER = tuple(_STATE_EMOJI)


def _facts(service: Mapping[str, Any]) -> list[str]:
    facts = [escape(str(service.get("state", "unknown")))]
    health = service.get("health")
    if health and health not in ("-", facts[0]):  # "unhealthy · unhealthy" says nothing twice
        facts.append(escape(str(health)))
    if service.get("uptime") is not None:
        facts.append("up " + format_duration(float(service["uptime"])))
    facts.append(plural(int(service.get("restarts") or 0), "restart"))
    if service.get("cpu_percent") is not None:
        facts.append(f"{float(service['cpu_percent']):.1f}% CPU")
    if service.get("rss") is not None:
        facts.append(format_size(int(service["rss"])))
    return facts


def _status_note(service: Mapping[str, Any]) -> str:
    """Why a service is not simply up: what it waits for, how it last exited, what its check said."""
    state = service.get("state")
    if service.get("waiting_for"):
        return "waiting for " + ", ".join(_plain(n) for n in service["waiting_for"])
    if state == "quarantined":
        last = service.get("last_exit")
        return "quarantined: crashed too often" + (f"; last exit: {_note(last)}" if last else "")
    if state in ("exited", "backoff") and service.get("last_exit"):
        return "last exit: " + _note(service["last_exit"])
    if service.get("health") == "unhealthy" and service.get("health_output"):
        return "health check: " + _note(service["health_output"])
    return "adopted after a restart of svcbot" if service.get("adopted") else ""


def status_line(service: Mapping[str, Any]) -> str:
    """One service: `:large_green_circle: *web*  running · healthy · up 3h02m · 0 restarts · ...`,
    with a second line saying why when it is waiting, quarantined, unhealthy or down."""
    state = str(service.get("state", ""))
    emoji = _STATE_EMOJI.get(state, ":grey_question:")
    line = f"{emoji} {service_name(service.get('name', '?'))}  " + " · ".join(_facts(service))
    note = _status_note(service)
    return f"{line}\n        ↳ {note}" if note else line


def status_summary_text(services: Sequence[Mapping[str, Any]]) -> str:
    """`5 services: 3 running · 1 unhealthy · 1 stopped`, states in lifecycle order."""
    counts: dict[str, int] = {}
    for service in services:
        state = str(service.get("state", "unknown"))
        counts[state] = counts.get(state, 0) + 1
    order = [s for s in _STATE_ORDER if s in counts] + sorted(s for s in counts if s not in _STATE_ORDER)
    parts = " · ".join(f"{counts[s]} {escape(s)}" for s in order)
    return f"{plural(len(services), 'service')}: {parts}"


def status_more_text(count: int) -> str:
    return f"and {count} more: use `/svc status NAME`"


def no_services_text() -> str:
    return "No services are configured."


# --- /svc logs ---------------------------------------------------------------------------------------


def logs_context_text(name: str, shown: int, total: int, requested: int, lines_cut: bool) -> str:
    """What part of the log the reader sees, so a cut never passes for the whole story."""
    if shown < total:
        what = f"showing the last {shown} of {total} lines: truncated to fit Slack"
    elif total < requested:
        what = f"all {plural(total, 'line')} there are ({requested} asked for)"
    else:
        what = f"the last {plural(shown, 'line')}"
    cut = " · long lines cut short" if lines_cut else ""
    return f"{service_name(name)} · {what}{cut}"


def logs_empty_text(name: str) -> str:
    return f"No log lines for {service_name(name)} yet."


def logs_fallback_text(name: str, shown: int) -> str:
    return f"Logs of {_plain(name)}: {plural(shown, 'line')}"


# --- /svc help, errors -------------------------------------------------------------------------------


def help_line(usage: str, description: str) -> str:
    return f"`{escape(usage)}`  {escape(description)}"


def reconnected_text(outage_s: float) -> str:
    """Posted to the alert channel when Slack answers svcbot again after an outage."""
    outage = format_duration(round(outage_s))
    return (
        f":electric_plug: svcbot is connected to Slack again after {outage} without it. "
        "Alerts from that time were kept and are delivered now, in order."
    )


def working_text() -> str:
    """Replaces a confirmation prompt while the command runs, so a second click has nothing to press."""
    return ":hourglass_flowing_sand: Working on it…"


def denied_text(reason: str) -> str:
    """The reply when access control says no; the reason says which rule, so people know whom to ask.

    The reason is escaped like any text, except channel links to well-formed channel IDs
    (`<#C0OPS>`, as `AccessPolicy` names the allowed channels): a channel link pings nobody.
    """
    shown = _ESCAPED_CHANNEL.sub(r"<#\1>", escape(reason))
    return f":no_entry: Not allowed: {shown}"


def usage_error_text(message: str) -> str:
    return f":grey_question: {escape(message)}\nTry `/svc help`."


# --- confirmation and outcome ------------------------------------------------------------------------

_PAST = {"start": "started", "stop": "stopped", "restart": "restarted", "reload": "reloaded"}


def _expiry(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def confirm_prompt(verb: str, service: str, requester_id: str, expires_in_s: float) -> str:
    """`Restart *web*? Only <@U1> can confirm; expires in 5 min.`: who may click, and for how long."""
    return (
        f"{escape(verb.capitalize())} {service_name(service)}? "
        f"Only {mention(requester_id)} can confirm; expires in {_expiry(expires_in_s)}."
    )


def outcome_text(
    actor_id: str, verb: str, service: str, *, ok: bool, detail: str | None, duration_s: float | None
) -> str:
    """The public line after a command ran: who did what to which service, how long it took."""
    took = f" ({format_duration(duration_s)})" if duration_s is not None else ""
    who, name = mention(actor_id), service_name(service)
    if ok:
        past = _PAST.get(verb, f"ran {escape(verb)} on")
        return f"{who} {past} {name}{took}"
    why = f": {_note(detail)}" if detail else ""
    return f":warning: {who} tried to {escape(verb)} {name}, which failed{why}{took}"


# --- alerts ------------------------------------------------------------------------------------------

_SEVERITY_EMOJI = {
    "critical": ":rotating_light:",
    "error": ":red_circle:",
    "warning": ":warning:",
    "info": ":information_source:",
}
_ALERT_STATE_EMOJI = {"firing": ":red_circle:", "silenced": ":mute:", "recovered": ":white_check_mark:"}


def alert_header_text(title: str, severity: str, recovered: bool) -> str:
    """Plain text for the header block: severity emoji and title, or `Recovered: title`."""
    if recovered:
        return f":white_check_mark: Recovered: {escape(title)}"
    return f"{_SEVERITY_EMOJI.get(severity, ':bell:')} {escape(title)}"


def alert_fallback_text(title: str, severity: str, recovered: bool, names: Sequence[str]) -> str:
    """The notification text: short, with the first few services, no mentions."""
    shown = ", ".join(_plain(n) for n in names[:3])
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    prefix = "Recovered" if recovered else escape(severity.capitalize() or "Alert")
    return f"{prefix}: {escape(truncate(title, 150))} ({shown}{more})"


def alert_service_line(service: Mapping[str, Any]) -> str:
    """`:red_circle: *web* crash loop: exited 5 times in 60s (3 events)`."""
    state = str(service.get("state", "firing"))
    emoji = _ALERT_STATE_EMOJI.get(state, ":grey_question:")
    kind = escape(truncate(str(service.get("kind", "")).replace("_", " "), 40))
    summary = _note(service.get("summary", ""))
    count = int(service.get("count") or 1)
    times = f" ({count} events)" if count > 1 else ""
    tail = f" _{state}_" if state != "firing" else ""
    return f"{emoji} {service_name(service.get('name', '?'))} {kind}: {summary}{times}{tail}"


def alert_more_text(count: int) -> str:
    return f"and {count} more {'service' if count == 1 else 'services'}"


def alert_owners_text(owners: Iterable[object]) -> str:
    """The owners to ping, each once; a storm's union of owners is capped so the line stays short."""
    unique = list(dict.fromkeys(str(o) for o in owners))
    shown = " ".join(mention(o) for o in unique[:OWNERS_MAX])
    more = f" and {len(unique) - OWNERS_MAX} more" if len(unique) > OWNERS_MAX else ""
    return f"Owners: {shown}{more}"


def alert_acknowledged_text(user_id: str, at: Timestamp | None) -> str:
    when = f" at {format_when(at)}" if at is not None else ""
    return f":eyes: Acknowledged by {mention(user_id)}{when}"


def alert_silenced_text(until: Timestamp) -> str:
    return f":mute: Silenced until {format_when(until)}"


def alert_context_text(
    incident_id: object,
    severity: str,
    first_at: Timestamp,
    last_at: Timestamp,
    events: int,
) -> str:
    """`first at … · last at … · 12 events · critical · incident 42`."""
    return (
        f"first at {format_when(first_at)} · last at {format_when(last_at)} · {plural(events, 'event')}"
        f" · {escape(severity)} · incident {_plain(incident_id)}"
    )


def alert_repeat_text(service: str, summary: str, count: int) -> str:
    """A thread reply when a grouped alert fires again: the channel stays quiet, the thread counts."""
    return f":repeat: {service_name(service)} again: {_note(summary)} ({plural(count, 'time')} so far)"


def silence_prompt(incident_id: object, service: str | None) -> str:
    what = f"alerts for {service_name(service)}" if service else "this incident"
    return f"Silence {what} (incident {_plain(incident_id)})? New events are recorded but not posted."


# --- feedback ----------------------------------------------------------------------------------------


def feedback_description_empty() -> str:
    return "Please say what happened: the description is empty."


def feedback_description_too_long(length: int, limit: int) -> str:
    return f"Please keep it under {limit:,} characters (this is {length:,})."


def feedback_receipt_text(receipt: Mapping[str, Any]) -> str:
    """What the person sees after /feedback: the feedback and issue numbers, or that it was spooled.

    `receipt` is `FeedbackReceipt.to_dict()`: id, issue_id, category, spooled (and more, unused here).
    """
    category = f"*{escape(str(receipt.get('category') or 'other'))}*"
    if receipt.get("spooled"):
        return (
            f"Thanks! Filed as {category}. The database is unreachable right now: your feedback is kept "
            "and will be stored as soon as it is back."
        )
    issue = receipt.get("issue_id")
    linked = f" (linked to issue #{escape(str(issue))})" if issue is not None else ""
    return f"Thanks! Feedback #{escape(str(receipt.get('id')))} filed as {category}{linked}."
