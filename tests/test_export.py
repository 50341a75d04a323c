"""Issue export to GitHub and plain markdown: sections, golden layouts, escaping and redaction.

Golden files live in tests/golden/. After an intended layout change, rewrite them with
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_export.py` and review the diff by eye.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from manager.reporting.export import (
    TIMELINE_MAX,
    code_span,
    escape_markdown,
    export_issue,
    fenced_block,
    issue_title,
)
from tests.goldens import assert_golden_text

T0 = datetime(2024, 5, 1, 9, 14, tzinfo=UTC)
ZWJ = "\u200d"
FORMATS = ("github", "markdown")


def assert_golden(name: str, text: str) -> None:
    """Compare against tests/golden/NAME; UPDATE_GOLDEN=1 rewrites it."""
    assert_golden_text(name, text)


def iso(minutes: float) -> str:
    """T0 plus some minutes, as the store's ISO string."""
    return (T0 + timedelta(minutes=minutes)).isoformat()


def occurrence(minutes: float, **over: Any) -> dict[str, Any]:
    """An occurrence dict as `issue_detail` returns it: a KeyError in the api service."""
    data: dict[str, Any] = {
        "at": iso(minutes),
        "service": "api",
        "version": "1.4.2",
        "kind": "crash",
        "summary": "api exited with code 1: KeyError: 'user_id'",
        "exit_code": 1,
        "signal": None,
        "oom_likely": False,
        "exception_type": "KeyError",
        "exception_value": "'user_id'",
        "frames": [
            {
                "filename": "/srv/api/app/main.py",
                "lineno": 88,
                "function": "main",
                "module": "app.main",
                "in_app": True,
                "source": "handle(request)",
            },
            {
                "filename": "/usr/lib/python3.12/site-packages/flask/app.py",
                "lineno": 1498,
                "function": "dispatch_request",
                "module": "flask.app",
                "in_app": False,
                "source": "return self.view_functions[rule.endpoint](**view_args)",
            },
            {
                "filename": "/srv/api/app/handlers.py",
                "lineno": 42,
                "function": "handle",
                "module": "app.handlers",
                "in_app": True,
                "source": 'user = payload["user_id"]',
            },
        ],
        "stderr_tail": [
            "INFO starting worker 3",
            "Traceback (most recent call last):",
            '  File "/srv/api/app/handlers.py", line 42, in handle',
            "KeyError: 'user_id'",
        ],
        "environment": {
            "host": "web-01",
            "os": "Linux 6.1.0-18-amd64",
            "python": "3.12.2",
            "command": ["/srv/api/.venv/bin/python", "-m", "app.main", "--port", "8080"],
            "cwd": "/srv/api",
            "env": {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "APP_ENV": "production"},
            "cpus": 4,
            "memory": 8 * 1024**3,
        },
        "sample": {
            "cpu_percent": 93.5,
            "rss": 512 * 1024**2,
            "threads": 12,
            "open_files": 48,
            "processes": 1,
        },
    }
    data.update(over)
    return data


def detail() -> dict[str, Any]:
    """A realistic `issue_detail` result: two occurrences, lifecycle events, a release and feedback."""
    return {
        "issue": {
            "id": 12,
            "title": "KeyError: 'user_id' in handle",
            "kind": "crash",
            "category": "bug",
            "severity": "high",
            "status": "open",
            "resolved_in_version": None,
            "regressed": True,
            "regressions": 1,
            "first_seen": iso(0),
            "last_seen": iso(30),
            "count": 7,
            "services": ["api"],
            "versions": ["1.4.1", "1.4.2"],
            "grouping_method": "exception",
            "grouping": ["KeyError", "app/handlers.py:handle", "app/main.py:main"],
            "priority": "P1",
            "priority_score": 87.25,
            "assignee": "alice",
        },
        "occurrences": [
            occurrence(0, version="1.4.1"),
            occurrence(30),
        ],
        "releases": [
            {"service": "api", "version": "1.4.1", "first_seen": iso(-600)},
            {"service": "api", "version": "1.4.2", "first_seen": iso(20)},
        ],
        "feedback": [
            {
                "at": iso(32),
                "reporter": "bob",
                "source": "slack",
                "category": "bug",
                "text": (
                    "Checkout fails for logged-out users since this morning.\nSteps: open /cart, click *Pay*."
                ),
                "service": "api",
            }
        ],
        "timeline": [
            {"at": T0 - timedelta(minutes=5), "type": "service_started", "service": "api", "text": "started"},
            {"at": T0, "type": "occurrence", "service": "api", "text": "api exited with code 1"},
            {"at": T0 + timedelta(minutes=20), "type": "release", "service": "api", "text": "version 1.4.2"},
            {"at": T0 + timedelta(minutes=30), "type": "occurrence", "service": "api", "text": "exited"},
            {"at": iso(32), "type": "feedback", "service": None, "text": "bug from bob: Checkout fails"},
        ],
    }


def body_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        match = re.match(r"^(`{3,})", line)
        if fence is None and match:
            fence = match[1]
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            out.append(line)
    assert fence is None, "a code block is left open"
    return out


def table_rows(text: str, header: str) -> list[str]:
    """The rows of the table whose header row starts with `header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def cells(row: str) -> list[str]:
    """A GFM table row split on unescaped pipes."""
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


# --- content -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_section_is_rendered(fmt: Any) -> None:
    """A realistic detail renders summary, occurrence, environment, timeline, feedback and releases."""
    text = export_issue(detail(), fmt)
    for heading in (
        "## Summary",
        "## Latest occurrence",
        "### Exception",
        "### stderr (last 4 lines)",
        "### Environment",
        "### Resources just before it",
        "## Timeline",
        "## Related feedback",
        "## Releases",
    ):
        assert heading in text.splitlines(), heading
    assert "| Priority | P1 (score 87.2) |" in text
    assert "| Why grouped | exception: KeyError; app/handlers.py:handle; app/main.py:main |" in text
    assert '  File "/srv/api/app/handlers.py", line 42, in handle  [in app]' in text
    assert "dispatch_request\n" in text  # the library frame carries no mark
    assert "- **Memory (RSS):** 512.0MiB" in text
    assert "| `api` | `1.4.2` | 2024-05-01 09:34:00 |" in text
    assert "> Checkout fails for logged-out users since this morning." in text
    assert "> Steps: open /cart, click \\*Pay\\*." in text
    assert text.endswith("\n")
    body_lines(text)  # every fence is closed


def test_github_title_comment_and_details() -> None:
    """GitHub output starts with a title comment and folds the environment variables in <details>."""
    text = export_issue(detail(), "github")
    assert text.splitlines()[0] == "<!-- Title: [api] KeyError: 'user_id' in handle (svcbot issue 12) -->"
    assert "<details>\n<summary>Environment variables (3)</summary>\n\n```text\n" in text
    assert "APP_ENV=production" in text


def test_markdown_has_no_github_only_features() -> None:
    """Plain markdown starts with a heading and has no HTML comment, <details> or zero-width joiners."""
    text = export_issue(detail(), "markdown")
    assert text.splitlines()[0] == "# \\[api\\] KeyError: 'user\\_id' in handle (svcbot issue 12)"
    assert "<details>" not in text and "<!--" not in text and ZWJ not in text
    assert "#### Environment variables (3)" in text


def test_unknown_format_is_refused() -> None:
    """A format other than github or markdown is a ValueError."""
    with pytest.raises(ValueError, match="format must be one of"):
        export_issue(detail(), "html")  # type: ignore[arg-type]


def test_minimal_detail_renders() -> None:
    """An issue without occurrences, timeline, feedback or releases still renders its summary."""
    minimal = {"issue": {"id": 3, "title": "t", "status": "resolved", "resolved_in_version": "2.0"}}
    text = export_issue(minimal, "markdown")
    assert "| Status | resolved in 2.0 |" in text
    assert "## Timeline" not in text and "## Latest occurrence" not in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden(fmt: Any) -> None:
    """The whole report for the realistic detail matches tests/golden/export_FORMAT.md."""
    assert_golden(f"export_{fmt}.md", export_issue(detail(), fmt))


# --- injection -----------------------------------------------------------------------------------------


def hostile() -> dict[str, Any]:
    """The realistic detail with markup, mentions, HTML and backtick fences in service and user text."""
    data = detail()
    data["issue"]["title"] = "crash | <b>bold</b> --> @org/team"
    data["issue"]["assignee"] = "@carol"
    latest = data["occurrences"][-1]
    latest["summary"] = "api | crashed ```` <img src=x onerror=alert(1)>"
    latest["stderr_tail"] = ["before", "```", "# not a heading", "</details>", "````` five", "after"]
    latest["exception_value"] = "'x'\n```\n<script>alert(1)</script>"
    data["feedback"][0]["text"] = (
        "# Heading?\n> quote\n- item\n1. first\n@org/team look <script>alert(1)</script> #7"
    )
    data["feedback"][0]["reporter"] = "@dave"
    data["timeline"].append({"at": iso(33), "type": "feedback", "service": "a|b", "text": "x | y @eve <i>"})
    return data


@pytest.mark.parametrize("fmt", FORMATS)
def test_backticks_in_stderr_cannot_break_out(fmt: Any) -> None:
    """A stderr line of ``` (or five backticks) stays inside a longer fence, and so does </details>."""
    text = export_issue(hostile(), fmt)
    outside = "\n".join(body_lines(text))
    for inside in ("# not a heading", "````` five", "<script>alert(1)</script>"):
        assert inside in text
        assert inside not in outside
    assert outside.count("</details>") == (1 if fmt == "github" else 0)  # only the one svcbot opened
    assert "``````text\nbefore\n```\n" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_pipes_keep_table_structure(fmt: Any) -> None:
    """A `|` in a title, a summary or a timeline text is escaped, so every row keeps its columns."""
    text = export_issue(hostile(), fmt)
    assert all(len(cells(row)) == 2 for row in table_rows(text, "| Field |"))
    timeline = table_rows(text, "| Time (UTC) |")
    assert all(len(cells(row)) == 4 for row in timeline)
    joiner = ZWJ if fmt == "github" else ""
    last = [" 2024-05-01 09:47:00 ", " feedback ", " `a\\|b` ", f" x \\| y @{joiner}eve &lt;i&gt; "]
    assert cells(timeline[-1]) == last
    assert "api \\| crashed" in text


def test_github_neutralizes_mentions_references_and_html() -> None:
    """On GitHub @org/team, @carol and #7 ping nobody and <script> is text, not HTML."""
    text = export_issue(hostile(), "github")
    outside = "\n".join(body_lines(text))
    rendered = outside.split("\n", 1)[1]  # the title comment is not rendered
    assert re.search(r"(?<![\w\u200d])@(?!\u200d)", rendered) is None, "an @ that would mention someone"
    assert f"@{ZWJ}org/team" in outside and f"@{ZWJ}carol" in outside and f"@{ZWJ}dave" in outside
    assert f"#{ZWJ}7" in outside
    assert "<script>" not in outside and "&lt;script&gt;" in outside
    assert "<b>" not in rendered and "<img" not in rendered
    html_lines = [line for line in outside.splitlines() if line.startswith("<")]
    assert html_lines == [
        "<!-- Title: [api] crash | <b>bold</b> - -> @org/team (svcbot issue 12) -->",
        "<details>",
        "<summary>Environment variables (3)</summary>",
        "</details>",
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_feedback_quote_cannot_start_blocks(fmt: Any) -> None:
    """Quoted feedback lines starting with #, >, -, 1. stay plain text inside the quote."""
    text = export_issue(hostile(), fmt)
    assert "> \\# Heading?" in text
    assert "> &gt; quote" in text
    assert "> \\- item" in text
    assert "> 1\\. first" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_secrets_never_appear(fmt: Any) -> None:
    """password=hunter2 and an xoxb- token are redacted wherever they hide."""
    data = detail()
    token = "xoxb-1234567890-abcdefghijklmnop"
    latest = data["occurrences"][-1]
    latest["stderr_tail"] = ["connecting with password=hunter2", f"slack token {token}"]
    latest["summary"] = f"crashed; token {token}"
    latest["exception_value"] = "auth failed: password=hunter2"
    latest["environment"]["command"] = ["app", "--password", "hunter2", f"--slack={token}"]
    latest["environment"]["env"] = {
        "DB_PASSWORD": "hunter2",
        "SLACK_BOT": token,
        "DSN": "pg://u:hunter2@db/x",
    }
    data["feedback"][0]["text"] = f"I pasted password=hunter2 and {token} by mistake"
    data["timeline"].append({"at": iso(40), "type": "feedback", "service": "api", "text": "password=hunter2"})
    data["issue"]["title"] = "login fails with password=hunter2"
    text = export_issue(data, fmt)
    assert "hunter2" not in text
    assert "xoxb-1234567890" not in text
    assert "xoxb-[REDACTED]" in text and "password=[REDACTED]" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_long_timeline_is_cut_with_a_note(fmt: Any) -> None:
    """Over TIMELINE_MAX entries, the newest are kept (newest last) and the rest counted in a note."""
    data = detail()
    data["timeline"] = [
        {"at": T0 + timedelta(seconds=i), "type": "health_changed", "service": "api", "text": f"entry {i}"}
        for i in reversed(range(130))
    ]
    text = export_issue(data, fmt)
    rows = table_rows(text, "| Time (UTC) |")
    assert len(rows) == TIMELINE_MAX
    assert "… 30 earlier entries omitted" in text
    assert "entry 30 |" in rows[0] and "entry 129 |" in rows[-1]
    assert "entry 29 |" not in text


# --- helpers -------------------------------------------------------------------------------------------


def test_fenced_block_is_longer_than_any_backtick_run() -> None:
    """The fence grows past the longest backtick run inside and is at least three backticks."""
    assert fenced_block(["a"]) == ["```", "a", "```"]
    assert fenced_block(["x ```` y"], "text") == ["`````text", "x ```` y", "`````"]


def test_code_span_and_escape_helpers() -> None:
    """Code spans outlast inner backticks; escaping handles markup, HTML, block starts and mentions."""
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x`") == "`` `x` ``"
    assert code_span("a|b", cell=True) == "`a\\|b`"
    assert code_span("") == "-"
    assert escape_markdown("- a * b_c [d] & <e>", github=False) == "\\- a \\* b\\_c \\[d\\] &amp; &lt;e&gt;"
    assert escape_markdown("mail a@b.com, ping @x, see #5", github=True) == (
        f"mail a@b.com, ping @{ZWJ}x, see #{ZWJ}5"
    )
    assert escape_markdown("line\nbreak", github=False) == "line break"


def test_title_is_redacted_and_bounded() -> None:
    """The suggested title is one line, redacted and at most 120 characters."""
    data = copy.deepcopy(detail())
    data["issue"]["title"] = "x" * 300 + "\npassword=hunter2"
    title = issue_title(data)
    assert len(title) == 120 and "\n" not in title and title.endswith("… (svcbot issue 12)")
    data["issue"]["title"] = "bad password=hunter2"
    assert issue_title(data) == "[api] bad password=[REDACTED] (svcbot issue 12)"
