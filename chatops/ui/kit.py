"""The Block Kit toolkit under `chatops.ui.blocks` and `chatops.ui.modals`: the `Message` type, Slack's
limits, and small builders that keep every piece inside them (a section of at most 3000 characters, a
header of 150, a button value of 2000). Pure: plain data in, JSON-ready dicts out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "BUTTON_TEXT_MAX",
    "FENCE",
    "HEADER_MAX",
    "MAX_BLOCKS",
    "METADATA_MAX",
    "OPTIONS_MAX",
    "OPTION_TEXT_MAX",
    "OPTION_VALUE_MAX",
    "SECTION_MAX",
    "VALUE_MAX",
    "Block",
    "Message",
    "actions",
    "button",
    "clip",
    "context",
    "header",
    "mrkdwn",
    "pack",
    "payload",
    "plain",
    "section",
    "sections",
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


# --- Slack's limits, and the budgets derived from them --------------------------------------------------

MAX_BLOCKS = 50
SECTION_MAX = 3000
HEADER_MAX = 150
BUTTON_TEXT_MAX = 75
VALUE_MAX = 2000
OPTIONS_MAX = 100
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
METADATA_MAX = 3000
FENCE = "```"


# --- small builders ----------------------------------------------------------------------------------


def clip(text: str, limit: int) -> str:
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


def plain(text: str, limit: int | None = None) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) if limit else text, "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_MAX)}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(clip(text, SECTION_MAX))}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(clip(text, SECTION_MAX))]}


def button(
    label: str, action_id: str, value: str, style: Literal["primary", "danger"] | None = None
) -> dict[str, Any]:
    """A button; a value over Slack's 2000 characters is a bug in the caller, so it raises."""
    if len(value) > VALUE_MAX:
        raise ValueError(f"button value of {len(value)} characters; Slack takes at most {VALUE_MAX}")
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(label, BUTTON_TEXT_MAX),
        "value": value,
    }
    if style is not None:
        button["style"] = style
    return button


def actions(buttons: Sequence[dict[str, Any]]) -> Block:
    return {"type": "actions", "elements": list(buttons)}


def pack(items: Iterable[str], limit: int = SECTION_MAX) -> list[list[str]]:
    """Greedily group lines into chunks whose newline-joined length is at most `limit`."""
    chunks: list[list[str]] = []
    size = 0
    for item in items:
        line = clip(item, limit)
        if chunks and size + 1 + len(line) <= limit:
            chunks[-1].append(line)
            size += 1 + len(line)
        else:
            chunks.append([line])
            size = len(line)
    return chunks


def sections(chunks: Iterable[Sequence[str]]) -> list[Block]:
    return [section("\n".join(chunk)) for chunk in chunks]


_JSON_MARKUP = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def payload(**fields: str) -> str:
    """Compact JSON for a button value or private_metadata. `<`, `>` and `&` are written as JSON
    escapes: `json.loads` gives the exact text back, and no raw markup sits anywhere in the payload."""
    return json.dumps(fields, separators=(",", ":"), sort_keys=True).translate(_JSON_MARKUP)
