"""Slack modals: `/feedback` without text opens `feedback_modal`, an alert's Silence button opens
`silence_modal`; the identifiers here are what their submission handlers route on. Wording lives in
`chatops.ui.messages`; layouts stay within Slack's limits (`chatops.ui.kit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

from chatops.ui import messages as m
from chatops.ui.kit import (
    HEADER_MAX,
    METADATA_MAX,
    OPTION_TEXT_MAX,
    OPTION_VALUE_MAX,
    OPTIONS_MAX,
    Block,
    payload,
    plain,
    section,
)
from chatops.ui.text import escape
from manager.triage.categorize import Category, Severity

__all__ = [
    "FEEDBACK_CALLBACK",
    "FEEDBACK_CATEGORIES",
    "FEEDBACK_CATEGORY_BLOCK",
    "FEEDBACK_DESCRIPTION_BLOCK",
    "FEEDBACK_MAX_CHARS",
    "FEEDBACK_SERVICE_BLOCK",
    "FEEDBACK_SEVERITIES",
    "FEEDBACK_SEVERITY_BLOCK",
    "INPUT_ACTION_ID",
    "SILENCE_CALLBACK",
    "SILENCE_DURATIONS",
    "SILENCE_DURATION_BLOCK",
    "feedback_errors",
    "feedback_modal",
    "silence_modal",
]

FEEDBACK_CALLBACK = "feedback_submit"
SILENCE_CALLBACK = "alert_silence_submit"
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


# --- modals ------------------------------------------------------------------------------------------


def _option(label: str, value: str) -> dict[str, Any]:
    return {"text": plain(label, OPTION_TEXT_MAX), "value": value}


def _select(
    options: Sequence[dict[str, Any]], placeholder: str | None, initial: str | None
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": INPUT_ACTION_ID,
        "options": list(options),
    }
    if placeholder is not None:
        element["placeholder"] = plain(placeholder, HEADER_MAX)
    chosen = [o for o in options if o["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    return element


def _input(block_id: str, label: str, element: dict[str, Any], optional: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "optional": optional,
        "element": element,
    }


def _modal(
    callback_id: str, titles: tuple[str, str, str], blocks: list[Block], metadata: str
) -> dict[str, Any]:
    """A modal view; `titles` are (title, submit, close), each at most 24 characters for Slack."""
    if len(metadata) > METADATA_MAX:
        raise ValueError(
            f"private_metadata of {len(metadata)} characters; Slack takes at most {METADATA_MAX}"
        )
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(titles[0], 24),
        "submit": plain(titles[1], 24),
        "close": plain(titles[2], 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }


_FEEDBACK_TITLES = (m.FEEDBACK_TITLE, m.FEEDBACK_SUBMIT, m.FEEDBACK_CLOSE)
_SILENCE_TITLES = (m.SILENCE_TITLE, m.SILENCE_SUBMIT, m.SILENCE_CLOSE)


def _service_options(services: Sequence[str]) -> list[dict[str, Any]]:
    """The configured services as options: each once, at most 100 (Slack's limit). The value must give
    the name back exactly, so names that do not fit in one (150 characters) or would need escaping
    (config names never do) are left out."""
    names = [n for n in dict.fromkeys(services) if len(n) <= OPTION_VALUE_MAX and escape(n) == n]
    return [_option(name, name) for name in names[:OPTIONS_MAX]]


def feedback_modal(services: Sequence[str], private_metadata: str) -> dict[str, Any]:
    """The /feedback form: description, category (empty lets svcbot decide), severity, service.

    `private_metadata` carries what the submit handler needs back (channel, thread), opaque here.
    """
    description = {
        "type": "plain_text_input",
        "action_id": INPUT_ACTION_ID,
        "multiline": True,
        "max_length": FEEDBACK_MAX_CHARS,
        "placeholder": plain(m.FEEDBACK_DESCRIPTION_PLACEHOLDER),
    }
    categories = [_option(m.CATEGORY_LABELS.get(c, c), c) for c in FEEDBACK_CATEGORIES]
    severities = [_option(m.SEVERITY_LABELS.get(s, s), s) for s in FEEDBACK_SEVERITIES]
    blocks = [
        {
            **_input(FEEDBACK_DESCRIPTION_BLOCK, m.FEEDBACK_DESCRIPTION_LABEL, description),
            "hint": plain(m.FEEDBACK_DESCRIPTION_HINT),
        },
        {
            **_input(
                FEEDBACK_CATEGORY_BLOCK,
                m.FEEDBACK_CATEGORY_LABEL,
                _select(categories, m.FEEDBACK_CATEGORY_PLACEHOLDER, None),
                optional=True,
            ),
            "hint": plain(m.FEEDBACK_CATEGORY_HINT),
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
    metadata = payload(incident=str(incident_id), **({"service": service} if service else {}))
    options = [_option(m.DURATION_LABELS.get(d, d), d) for d in SILENCE_DURATIONS]
    blocks = [
        section(m.silence_prompt(incident_id, service)),
        _input(SILENCE_DURATION_BLOCK, m.SILENCE_DURATION_LABEL, _select(options, None, "1h")),
    ]
    return _modal(SILENCE_CALLBACK, _SILENCE_TITLES, blocks, metadata)
