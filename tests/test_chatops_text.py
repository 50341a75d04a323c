"""Slack text: escaping what goes out, normalizing what comes in."""

from __future__ import annotations

import pytest

from chatops.ui.text import escape, normalize, truncate


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<!channel> deploy done", "&lt;!channel&gt; deploy done"),
        ("ping <@U0ADMIN>", "ping &lt;@U0ADMIN&gt;"),
        ("a & b <c>", "a &amp; b &lt;c&gt;"),
        ("&amp; already", "&amp;amp; already"),
        ("plain text", "plain text"),
    ],
)
def test_escape_neutralizes_mentions_and_markup(raw: str, shown: str) -> None:
    """User and service text can never ping, link or mark up: &, < and > are escaped."""
    assert escape(raw) == shown


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("restart \u201cweb\u201d", 'restart "web"'),
        ("restart \u2018web\u2019", "restart 'web'"),
        ("logs  web\u00a0 50 ", "logs web 50"),
        ("restart\u200b web", "restart web"),
        ("restart <http://web.example|web>", "restart web"),
        ("restart <http://web.example>", "restart http://web.example"),
        ("status <@U123|alice>", "status @alice"),
        ("status <@U123>", "status @U123"),
        ("status <#C123|ops>", "status #ops"),
        ("status <!here>", "status @here"),
        ("grep a &lt;b&gt; &amp; c", "grep a <b> & c"),
    ],
)
def test_normalize_undoes_what_slack_clients_do(typed: str, meant: str) -> None:
    """Smart quotes, link and mention markup, entities and odd spaces become what was meant."""
    assert normalize(typed) == meant


def test_truncate_marks_the_cut() -> None:
    """Long text is cut to the limit, ending in the marker; short text is kept."""
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abc", 4) == "abc"
    assert len(truncate("x" * 5000, 3000)) == 3000
