"""The digest in Block Kit: one parent message for the channel, one or more thread replies per category.

Pure functions of a `manager.digest.model.Digest`, pinned by golden snapshots. The parent message is the
week at a glance (figures with their change against the period before, the five most urgent issues, each
service's uptime, restarts and time to recovery, the releases); the thread holds the details, one reply
per category, every issue with Resolve, Ignore and an Assign user picker. A category with more issues than
fit in Slack's 50 blocks is split over several replies ("Bugs (2/3)"); every text from people or services
is escaped, so an issue titled `<!channel>` pings nobody.

The issue's id travels in the block ids (`digest-actions-12`) because a users_select carries no value;
after a button is used the handler swaps that actions block for a line saying who did what
(`triaged_blocks`), so the thread shows the state of the triage.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chatops.ui.kit import Block, Message
from chatops.ui.text import escape, truncate
from manager.core.units import format_duration, plural
from manager.digest.model import Delta, Digest, IssueLine
from manager.digest.text import issue_flags, period_title, service_text

__all__ = [
    "ACTION_DIGEST_ASSIGN",
    "ACTION_DIGEST_IGNORE",
    "ACTION_DIGEST_RESOLVE",
    "ISSUES_PER_REPLY",
    "actions_block_id",
    "category_replies",
    "issue_of_block",
    "parent_message",
    "triaged_blocks",
]

ACTION_DIGEST_RESOLVE = "digest_resolve"
ACTION_DIGEST_IGNORE = "digest_ignore"
ACTION_DIGEST_ASSIGN = "digest_assign"

_MAX_BLOCKS = 50
_SECTION_MAX = 3000
_FIELD_MAX = 2000
_HEADER_MAX = 150
ISSUES_PER_REPLY = (_MAX_BLOCKS - 2) // 2  # a header and a closing context, then two blocks an issue
_TITLE_MAX = 200
_ACTIONS_PREFIX = "digest-actions-"
_NOTE_PREFIX = "digest-note-"

_CATEGORY_TITLES = {
    "bug": "Bugs",
    "usability": "Usability",
    "feature": "Feature requests",
    "question": "Questions",
    "praise": "Praise",
    "other": "Other",
}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(truncate(text, _HEADER_MAX))}


def _section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": _mrkdwn(truncate(text, _SECTION_MAX))}
    if block_id:
        block["block_id"] = block_id
    return block


def _context(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "context", "elements": [_mrkdwn(truncate(text, _SECTION_MAX))]}
    if block_id:
        block["block_id"] = block_id
    return block


def _pack(lines: Sequence[str], head: str) -> list[Block]:
    """`head` then `lines`, in as few sections as the 3000-character limit allows."""
    blocks: list[Block] = []
    chunk = [head]
    for line in lines:
        if len("\n".join([*chunk, line])) > _SECTION_MAX:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    blocks.append(_section("\n".join(chunk)))
    return blocks


def _figure(label: str, value: str) -> dict[str, Any]:
    return _mrkdwn(truncate(f"*{label}*\n{value}", _FIELD_MAX))


def _delta(delta: Delta) -> str:
    return f"{delta.current}  ({delta.arrow()} vs {delta.previous})"


def _title(issue: IssueLine) -> str:
    return escape(truncate(" ".join(issue.title.split()), _TITLE_MAX))


def _issue_line(issue: IssueLine, now: datetime) -> str:
    """ "`P1` *#12* title · web · seen 34 times · last 2h ago · new"."""
    services = escape(", ".join(issue.services)) or "-"
    age = format_duration(max(1, round((now - issue.last_seen).total_seconds())))
    parts = [services, f"seen {issue.count} time{'' if issue.count == 1 else 's'}", f"last {age} ago"]
    parts += [escape(flag) for flag in issue_flags(issue)]
    return f"`{issue.priority}` *#{issue.id}* {_title(issue)} · " + " · ".join(parts)


def parent_message(digest: Digest) -> Message:
    title = period_title(digest)
    blocks: list[Block] = [_header(title)]
    if digest.quiet:
        blocks.append(_section("A quiet period: no new issues, no occurrences, no feedback, nothing open."))
    by_priority = " · ".join(f"{p} {n}" for p, n in digest.open_by_priority.items() if n) or "none"
    feedback = " · ".join(f"{escape(c)} {d.current}" for c, d in digest.feedback.items() if d.current)
    fields = [
        _figure("New issues", _delta(digest.new)),
        _figure("Regressed", str(digest.regressed)),
        _figure("Resolved", _delta(digest.resolved)),
        _figure("Still open", f"{digest.open}  ({by_priority})"),
        _figure("Occurrences", _delta(digest.occurrences)),
        _figure("Feedback", _delta(digest.feedback_total) + (f"\n{feedback}" if feedback else "")),
    ]
    blocks.append({"type": "section", "fields": fields})
    if digest.top:
        blocks += _pack(
            [_issue_line(i, digest.end) for i in digest.top], f"*Top {len(digest.top)} by priority*"
        )
    if digest.services:
        blocks += _pack([escape(service_text(s)) for s in digest.services], "*Services*")
    if digest.releases:
        lines = [f"{escape(r.service)} {escape(r.version)}" for r in digest.releases]
        blocks += _pack(lines, "*Releases*")
    if digest.sections:
        where = ", ".join(
            f"{_CATEGORY_TITLES.get(c, escape(c)).lower()} ({n})" for c, n in digest.section_totals.items()
        )
        blocks.append(_context(f"Details in the thread: {where}."))
    text = (
        f"{title}: {digest.new.current} new, {digest.regressed} regressed, "
        f"{digest.resolved.current} resolved, {digest.open} open"
    )
    return Message(text=text, blocks=_fit(blocks))


def _fit(blocks: list[Block]) -> list[Block]:
    """Never more than Slack's 50 blocks (a fleet of hundreds of services): the last one says so."""
    if len(blocks) <= _MAX_BLOCKS:
        return blocks
    return [*blocks[: _MAX_BLOCKS - 1], _context("… more in `svcbot digest --print`.")]


def actions_block_id(issue_id: int) -> str:
    return f"{_ACTIONS_PREFIX}{issue_id}"


def issue_of_block(block_id: str) -> int | None:
    """The issue id in an actions block id; None for any other block."""
    if not block_id.startswith(_ACTIONS_PREFIX):
        return None
    rest = block_id[len(_ACTIONS_PREFIX) :]
    return int(rest) if rest.isdigit() else None


def _issue_blocks(issue: IssueLine, now: datetime) -> list[Block]:
    value = str(issue.id)
    buttons: list[dict[str, Any]] = []
    if issue.status != "resolved":
        buttons.append(
            {
                "type": "button",
                "action_id": ACTION_DIGEST_RESOLVE,
                "text": _plain("Resolve"),
                "value": value,
                "style": "primary",
            }
        )
    if issue.status != "ignored":
        buttons.append(
            {"type": "button", "action_id": ACTION_DIGEST_IGNORE, "text": _plain("Ignore"), "value": value}
        )
    buttons.append(
        {"type": "users_select", "action_id": ACTION_DIGEST_ASSIGN, "placeholder": _plain("Assign…")}
    )
    return [
        _section(_issue_line(issue, now), block_id=f"digest-issue-{issue.id}"),
        {"type": "actions", "block_id": actions_block_id(issue.id), "elements": buttons},
    ]


def category_replies(digest: Digest) -> list[Message]:
    """The thread: per category, its issues in replies of at most ISSUES_PER_REPLY each."""
    replies: list[Message] = []
    for category, issues in digest.sections.items():
        name = _CATEGORY_TITLES.get(category, category.capitalize())
        total = digest.section_totals.get(category, len(issues))
        chunks = [issues[i : i + ISSUES_PER_REPLY] for i in range(0, len(issues), ISSUES_PER_REPLY)] or [()]
        for n, chunk in enumerate(chunks, start=1):
            part = f" ({n}/{len(chunks)})" if len(chunks) > 1 else ""
            blocks: list[Block] = [_header(f"{name}{part}: {total} issue{'' if total == 1 else 's'}")]
            for issue in chunk:
                blocks += _issue_blocks(issue, digest.end)
            last = n == len(chunks)
            if last and total > len(issues):
                more = total - len(issues)
                blocks.append(
                    _context(f"… and {more} more: `svcbot issues list --category {escape(category)}`")
                )
            replies.append(Message(text=f"{name}{part}: {plural(total, 'issue')}", blocks=blocks))
    return replies


def triaged_blocks(
    blocks: Sequence[Block], issue_id: int, outcome: str, *, keep_buttons: bool
) -> list[Block]:
    """The message's blocks with a note under this issue saying `outcome` (escaped mrkdwn), as chat.update
    takes them. Resolve and Ignore retire the buttons (`keep_buttons=False`); Assign keeps them. Blocks of
    other issues are kept as they are, and a second note replaces the first."""
    target, note = actions_block_id(issue_id), f"{_NOTE_PREFIX}{issue_id}"
    out: list[Block] = []
    for block in blocks:
        block_id = block.get("block_id")
        if block_id == note:
            continue
        if block_id != target:
            out.append(dict(block))
            continue
        if keep_buttons:
            out.append(dict(block))
        out.append(_context(outcome, block_id=note))
    return out
