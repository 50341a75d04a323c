"""An issue as a report to paste into a GitHub issue or an email: `svcbot issues export ID`.

The feedback loop does not end in svcbot: an issue is often handed on to the people who own the
service, through GitHub or by email. `export_issue` turns `issue_detail`'s dict into a self-contained
report (summary, latest occurrence with its traceback, stderr, environment and resource sample, the
timeline, related feedback and releases) so nobody has to retype it or paste a terminal screenshot.

Why the care with escaping: nearly everything in the report was written by a service or a person
(exception values, stderr, feedback text, command lines). Pasted raw, a `|` would split a table cell,
a line of three backticks would close a code block and turn the rest into markup, `<script>` or
`<details>` would become HTML, and on GitHub `@org/team` would ping a whole team and `#12` would
cross-reference an unrelated issue. So:

* text in paragraphs, table cells and quotes is HTML-escaped (`&` `<` `>` become entities), has the
  inline markup characters (backslash, backtick, `*`, `_`, `[`, `]`, `|`, `~`) backslash-escaped, has
  whatever would start a block at the beginning of a line (`#`, `-`, `+`, `=`, `1.`) escaped too, and
  is folded onto one line; on GitHub a zero-width joiner goes after an `@` or `#` that would mention
  someone or reference an issue (`@\u200dorg/team`, `#\u200d12`);
* names, versions, paths and commands go in code spans whose backtick delimiter is longer than any
  backtick run inside them;
* multi-line text (traceback, stderr, environment variables) goes in fenced code blocks whose fence
  is longer than any backtick run inside, so no line can close it early.

And why the redaction: the store holds redacted text already, but a report leaves svcbot's control,
so every piece of text goes through `redact_text` (idempotent) once more on the way out, argv through
`redact_argv` and the environment through `redact_env`.

Formats
-------
``github``: the first line is an HTML comment, `<!-- Title: ... -->`, holding a suggested issue title
(GitHub does not show comments, so the whole output can be pasted into the body); then GitHub-flavoured
markdown, the environment variables folded in a `<details>` block.

``markdown``: for email and plain markdown readers. The first line is the title as a level-1 heading;
no `<details>` (the variables get a plain section of their own) and no mention or reference escaping
(plain readers do not ping anyone), but everything else is escaped the same way.

The output is deterministic (no clock, no network): the same detail gives the same report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from manager.core.redact import redact_argv, redact_env, redact_lines, redact_text
from manager.core.units import format_size

__all__ = [
    "FORMATS",
    "STDERR_MAX",
    "TIMELINE_MAX",
    "TITLE_MAX",
    "ExportFormat",
    "code_span",
    "escape_markdown",
    "export_issue",
    "fenced_block",
    "issue_title",
]

ExportFormat = Literal["github", "markdown"]
FORMATS: tuple[ExportFormat, ...] = ("github", "markdown")

TIMELINE_MAX = 100  # rows of the timeline table; the newest are kept
STDERR_MAX = 200  # lines of the stderr tail; the last are kept
TITLE_MAX = 120  # characters of the suggested title (GitHub allows 256)

_ZWJ = "\u200d"
_INLINE_MARKUP = re.compile(r"([\\`*_\[\]|~])")
# what starts a block only at the beginning of a line: a heading, a list item, a thematic break or
# setext underline; `*`, `>` and `|` are escaped everywhere already
_BLOCK_START = re.compile(r"^(?:(#(?=#{0,5}(?:\s|$))|[-+](?=\s|$)|[-=](?=[-=\s]*$))|(\d{1,9})([.)])(?=\s|$))")
_MENTION = re.compile(r"(?<![\w@])(@(?=[A-Za-z0-9])|#(?=\d))")
_BACKTICKS = re.compile(r"`+")
_HTML_CHARS = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_COMMENT_DASHES = re.compile(r"-(?=-)")


# --- escaping helpers --------------------------------------------------------------------------------


def escape_markdown(text: object, *, github: bool) -> str:
    """`text` redacted, folded onto one line and escaped so that it renders as itself in a paragraph,
    a list item, a quote or a table cell (where `|` is escaped too). On GitHub, mentions and issue
    references are broken with a zero-width joiner so that pasting pings nobody."""
    line = " ".join(redact_text(str(text)).split())
    line = _INLINE_MARKUP.sub(r"\\\1", line).translate(_HTML_CHARS)
    line = _BLOCK_START.sub(_escape_block_start, line)
    if github:
        line = _MENTION.sub(r"\1" + _ZWJ, line)
    return line


def _escape_block_start(match: re.Match[str]) -> str:
    if match[1]:
        return "\\" + match[1]
    return f"{match[2]}\\{match[3]}"


def _longest_backticks(lines: Iterable[str]) -> int:
    return max((len(run) for line in lines for run in _BACKTICKS.findall(line)), default=0)


def code_span(text: object, *, cell: bool = False) -> str:
    """`text` redacted, on one line, as an inline code span that no backtick inside can close.

    In a table cell (`cell=True`) a `|` is escaped as `\\|`, which GFM tables unescape before the
    code span is parsed."""
    line = " ".join(redact_text(str(text)).split())
    if not line:
        return "-"
    ticks = "`" * (_longest_backticks([line]) + 1)
    if line.startswith("`") or line.endswith("`"):
        line = f" {line} "
    if cell:
        line = line.replace("|", "\\|")
    return f"{ticks}{line}{ticks}"


def fenced_block(lines: Iterable[str], info: str = "") -> list[str]:
    """Lines redacted (together, so a key spread over lines is caught) in a fenced code block whose
    fence is longer than any backtick run inside: content holding ``` cannot break out."""
    body = list(redact_lines(lines))
    fence = "`" * max(3, _longest_backticks(body) + 1)
    return [fence + info, *body, fence]


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A GFM table of cells already escaped."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# --- values ------------------------------------------------------------------------------------------


def _when(value: object) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stamp(value: object) -> str:
    """A time as `2024-05-01 09:14:03` in UTC (naive times are taken as UTC); unparseable escaped."""
    moment = _when(value)
    if moment is None:
        return escape_markdown(value, github=True) if value else "-"
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _sort_key(value: object) -> datetime:
    return _when(value) or datetime.min.replace(tzinfo=UTC)


def _status(issue: Mapping[str, Any]) -> str:
    status = str(issue.get("status") or "-")
    if status == "resolved" and issue.get("resolved_in_version"):
        return f"resolved in {issue['resolved_in_version']}"
    if status == "open" and issue.get("regressed"):
        return "open (regressed)"
    return status


def _exit(occurrence: Mapping[str, Any]) -> str | None:
    if occurrence.get("signal"):
        return f"killed by {occurrence['signal']}"
    if occurrence.get("exit_code") is not None:
        return f"exit code {occurrence['exit_code']}"
    return None


def issue_title(detail: Mapping[str, Any]) -> str:
    """A suggested title for the GitHub issue or the email's subject: `[services] title (svcbot issue N)`,
    redacted, on one line, at most TITLE_MAX characters."""
    issue = detail["issue"]
    services = ", ".join(str(s) for s in issue.get("services") or [])
    suffix = f" (svcbot issue {issue.get('id')})"
    title = " ".join(redact_text(str(issue.get("title") or "untitled")).split())
    if services:
        title = f"[{' '.join(redact_text(services).split())}] {title}"
    room = TITLE_MAX - len(suffix)
    if len(title) > room:
        title = title[: room - 1] + "…"
    return title + suffix


# --- sections ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    github: bool

    def text(self, value: object) -> str:
        return escape_markdown(value, github=self.github)

    def codes(self, values: Iterable[object], *, cell: bool = True) -> str:
        spans = [code_span(v, cell=cell) for v in values]
        return ", ".join(spans) if spans else "-"


def _title_line(detail: Mapping[str, Any], style: _Style) -> list[str]:
    title = issue_title(detail)
    if style.github:
        return [f"<!-- Title: {_COMMENT_DASHES.sub('- ', title)} -->"]
    return [f"# {style.text(title)}"]


def _summary(detail: Mapping[str, Any], style: _Style) -> list[str]:
    issue = detail["issue"]
    score = issue.get("priority_score")
    priority = str(issue.get("priority") or "-")
    if isinstance(score, int | float):
        priority += f" (score {score:.1f})"
    grouping = "; ".join(str(g) for g in issue.get("grouping") or [])
    text = style.text
    cells = [
        ("Issue", text(f"svcbot issue {issue.get('id')}: {issue.get('title') or ''}")),
        ("Priority", text(priority)),
        ("Status", text(_status(issue))),
        ("Category", text(f"{issue.get('category') or '-'} ({issue.get('kind') or '-'})")),
        ("Severity", text(issue.get("severity") or "-")),
        ("Count", text(issue.get("count", 0))),
        ("Services", style.codes(issue.get("services") or [])),
        ("Versions", style.codes(issue.get("versions") or [])),
        ("First seen (UTC)", _stamp(issue.get("first_seen"))),
        ("Last seen (UTC)", _stamp(issue.get("last_seen"))),
        ("Why grouped", text(f"{issue.get('grouping_method') or '-'}: {grouping or '-'}")),
    ]
    if issue.get("regressions"):
        cells.append(("Regressions", text(issue["regressions"])))
    if issue.get("assignee"):
        cells.append(("Assignee", text(issue["assignee"])))
    return ["## Summary", "", *_table(("Field", "Value"), cells)]


def _occurrence(detail: Mapping[str, Any], style: _Style) -> list[str]:
    occurrences = detail.get("occurrences") or []
    if not occurrences:
        return []
    latest = max(occurrences, key=lambda o: _sort_key(o.get("at")))
    facts = [f"{_stamp(latest.get('at'))} UTC", f"service {code_span(latest.get('service') or '-')}"]
    if latest.get("version"):
        facts.append(f"version {code_span(latest['version'])}")
    facts += [style.text(fact) for fact in (latest.get("kind"), _exit(latest)) if fact]
    lines = ["## Latest occurrence", "", " · ".join(facts), "", style.text(latest.get("summary") or "-")]
    if latest.get("oom_likely"):
        lines += ["", "**Likely killed by the kernel's OOM killer.**"]
    for part in (_exception(latest), _stderr(latest), _environment(latest, style), _sample(latest)):
        if part:
            lines += ["", *part]
    return lines


def _exception(occurrence: Mapping[str, Any]) -> list[str]:
    if not occurrence.get("exception_type"):
        return []
    body = ["Traceback (most recent call last):"]
    for frame in occurrence.get("frames") or []:
        mark = "  [in app]" if frame.get("in_app") else ""
        body.append(
            f'  File "{frame.get("filename")}", line {frame.get("lineno")}, '
            f"in {frame.get('function') or '?'}{mark}"
        )
        if frame.get("source"):
            body.append(f"    {str(frame['source']).strip()}")
    value = occurrence.get("exception_value")
    body.append(f"{occurrence['exception_type']}: {value}" if value else str(occurrence["exception_type"]))
    return [
        "### Exception",
        "",
        "Frames marked `[in app]` are in the service's own code.",
        "",
        *fenced_block(body, "text"),
    ]


def _stderr(occurrence: Mapping[str, Any]) -> list[str]:
    tail = [str(line) for line in occurrence.get("stderr_tail") or []]
    if not tail:
        return []
    shown = tail[-STDERR_MAX:]
    heading = f"### stderr (last {len(shown)} lines)" if len(shown) > 1 else "### stderr"
    return [heading, "", *fenced_block(shown, "text")]


def _environment(occurrence: Mapping[str, Any], style: _Style) -> list[str]:
    env = occurrence.get("environment") or {}
    if not env:
        return []
    facts: list[tuple[str, object]] = [
        ("Host", env.get("host")),
        ("OS", env.get("os")),
        ("Python", env.get("python")),
        ("CPUs", env.get("cpus")),
        ("Memory", format_size(env["memory"]) if isinstance(env.get("memory"), int) else env.get("memory")),
    ]
    lines = ["### Environment", ""]
    lines += [f"- **{name}:** {style.text(value)}" for name, value in facts if value not in (None, "")]
    command = redact_argv([str(arg) for arg in env.get("command") or []])
    if command:
        lines.append(f"- **Command:** {code_span(' '.join(command))}")
    if env.get("cwd"):
        lines.append(f"- **Working directory:** {code_span(env['cwd'])}")
    return lines + _variables(env.get("env") or {}, style)


def _variables(variables: Mapping[str, Any], style: _Style) -> list[str]:
    if not variables:
        return []
    env = redact_env({str(name): str(value) for name, value in variables.items()})
    block = fenced_block([f"{name}={env[name]}" for name in sorted(env)], "text")
    title = f"Environment variables ({len(env)})"
    if style.github:
        return ["", "<details>", f"<summary>{title}</summary>", "", *block, "", "</details>"]
    return ["", f"#### {title}", "", *block]


def _sample(occurrence: Mapping[str, Any]) -> list[str]:
    sample = occurrence.get("sample") or {}
    facts: list[tuple[str, str]] = []
    if isinstance(sample.get("cpu_percent"), int | float):
        facts.append(("CPU", f"{sample['cpu_percent']:.1f} %"))
    if isinstance(sample.get("rss"), int):
        facts.append(("Memory (RSS)", format_size(sample["rss"])))
    for key, name in (("threads", "Threads"), ("open_files", "Open files"), ("processes", "Processes")):
        if isinstance(sample.get(key), int):
            facts.append((name, str(sample[key])))
    if not facts:
        return []
    return ["### Resources just before it", "", *(f"- **{name}:** {value}" for name, value in facts)]


def _timeline(detail: Mapping[str, Any], style: _Style) -> list[str]:
    entries = sorted(detail.get("timeline") or [], key=lambda e: _sort_key(e.get("at")))
    if not entries:
        return []
    shown = entries[-TIMELINE_MAX:]
    lines = ["## Timeline", ""]
    if len(entries) > len(shown):
        lines += [f"… {len(entries) - len(shown)} earlier entries omitted", ""]
    rows = [
        (
            _stamp(entry.get("at")),
            style.text(entry.get("type") or "-"),
            code_span(entry["service"], cell=True) if entry.get("service") else "-",
            style.text(entry.get("text") or ""),
        )
        for entry in shown
    ]
    return lines + _table(("Time (UTC)", "Type", "Service", "Text"), rows)


def _quote(text: str, style: _Style) -> list[str]:
    lines = redact_text(text).splitlines() or [""]
    return [f"> {style.text(line)}" if line.strip() else ">" for line in lines]


def _feedback(detail: Mapping[str, Any], style: _Style) -> list[str]:
    items = sorted(detail.get("feedback") or [], key=lambda f: _sort_key(f.get("at")))
    if not items:
        return []
    lines = ["## Related feedback"]
    for item in items:
        about = [str(item.get("category") or "feedback"), f"via {item.get('source') or '-'}"]
        about.append(f"{_stamp(item.get('at'))} UTC")
        service = f", service {code_span(item['service'])}" if item.get("service") else ""
        lines += [
            "",
            f"**{style.text(item.get('reporter') or 'someone')}** ({style.text(', '.join(about))}{service}):",
            "",
            *_quote(str(item.get("text") or ""), style),
        ]
    return lines


def _releases(detail: Mapping[str, Any]) -> list[str]:
    releases = sorted(detail.get("releases") or [], key=lambda r: _sort_key(r.get("first_seen")))
    if not releases:
        return []
    rows = [
        (
            code_span(r.get("service") or "-", cell=True),
            code_span(r.get("version") or "-", cell=True),
            _stamp(r.get("first_seen")),
        )
        for r in releases
    ]
    return ["## Releases", "", *_table(("Service", "Version", "First seen (UTC)"), rows)]


def export_issue(detail: Mapping[str, Any], fmt: ExportFormat) -> str:
    """`issue_detail`'s dict as a report to paste into a GitHub issue (`github`) or an email
    (`markdown`); see the module docstring for the layout and the escaping. Ends with a newline."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    style = _Style(github=fmt == "github")
    sections = [
        _title_line(detail, style),
        _summary(detail, style),
        _occurrence(detail, style),
        _timeline(detail, style),
        _feedback(detail, style),
        _releases(detail),
        ["_Exported by svcbot. Secrets are redacted; times are UTC._"],
    ]
    return "\n\n".join("\n".join(section) for section in sections if section) + "\n"
