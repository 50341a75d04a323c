"""Text going to and coming from Slack.

Outgoing: everything that came from users or services is escaped (`&`, `<`, `>`, as Slack asks), so
feedback or a log line containing `<!channel>` or `<@U123>` pings nobody and renders as typed.

Incoming: slash-command text is normalized before it is parsed. Slack's clients turn quotes into
"smart" quotes, links and mentions into `<...|...>` markup, and pasted text brings non-breaking and
zero-width spaces; a person typing `/svc restart “web”` means `web`.
"""

from __future__ import annotations

import re

__all__ = ["SVCBOT_EMOJI", "escape", "normalize", "truncate"]

#: Every emoji shortcode svcbot writes into its own messages (tests/test_shell.py keeps this set complete
#: by scanning chatops/). The shell strips exactly these: text that only looks like a shortcode, such as
#: the `:09:` in a log line's `19:09:18`, is never touched.
SVCBOT_EMOJI = frozenset(
    {
        "bell",
        "electric_plug",
        "eyes",
        "grey_question",
        "hourglass_flowing_sand",
        "information_source",
        "large_green_circle",
        "large_yellow_circle",
        "mute",
        "no_entry",
        "red_circle",
        "repeat",
        "rotating_light",
        "warning",
        "white_check_mark",
        "white_circle",
    }
)

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2039": "'",
        "\u203a": "'",
        "\u00a0": " ",  # no-break space
        "\u2007": " ",
        "\u202f": " ",
        "\u200b": "",  # zero-width space, joiner, non-joiner, BOM
        "\u200c": "",
        "\u200d": "",
        "\ufeff": "",
    }
)
# <https://x|label>, <mailto:a@b|a@b>, <@U123|name>, <#C123|name>, <!here>, <!subteam^S123|@team>
_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_SPACES = re.compile(r"\s+")


def escape(text: str) -> str:
    """Text safe to put into a Slack message: no mention, link or markup can come out of it."""
    return text.translate(_ESCAPES)


def _unmark(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith(("@", "#")):
        return target[0] + (label or target[1:])  # a mention: the name if Slack gave it, else the ID
    if target.startswith("!"):
        return label or "@" + target[1:].split("^")[0]
    return label if label is not None else target


def normalize(text: str) -> str:
    """Slash-command text as the person meant it: plain quotes, markup replaced by what it shows,
    Slack's HTML entities decoded, whitespace collapsed."""
    text = _MARKUP.sub(_unmark, text.translate(_QUOTES))
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _SPACES.sub(" ", text).strip()


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """At most `limit` characters, ending in `marker` when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(marker), 0)] + marker
