"""Error reports from the services' captured logs: `svcbot report errors --since 7d`.

Why: the person on call wants to know what has been going wrong across all services this week without
grepping a dozen files. Ten thousand error lines are usually a handful of problems, each repeated with
other numbers, ids, addresses or paths; grouping the lines by their parameterized text (the same
`parameterize` that groups crash reports) turns them into a short list of patterns, with counts, the
services they come from, when they were first and last seen, and a few real (redacted) examples.

The work is split so that the rules can be tested without files: `find_errors` and `classify`
(`manager.reporting.error_lines`, which also documents the rules) decide which lines are errors,
`summarize` groups them, `collect` (or the streaming `iter_errors`) reads the log files, `render_text`
and `to_json` present the result.

Patterns and examples
---------------------
A line's pattern is `parameterize(redact_text(message))`, where the message is the line itself, the
exception line of a traceback, or for a JSON record its `msg`/`message` and `error` fields. Examples
are `redact_text` of whole lines, distinct, most recent first, so a report never shows a secret.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from manager.core.redact import redact_text
from manager.core.units import format_duration
from manager.reporting.error_lines import ErrorLine, LogLine, find_errors, message_of
from manager.reporting.render import table
from manager.supervision.logs import parse_line, read_lines
from manager.triage.fingerprint import parameterize

__all__ = [
    "Example",
    "Pattern",
    "ScanStats",
    "collect",
    "iter_errors",
    "pattern_of",
    "render_text",
    "summarize",
    "to_json",
]


MAX_PATTERN = 500  # characters of a pattern kept: longer lines that differ only further on are one pattern
MAX_SHOWN = 300  # characters of an example line shown by render_text

MAX_PATTERN = 500  # characters of a pattern kept: longer lines that differ only further on are one pattern
MAX_SHOWN = 300  # characters of an example line shown by render_text
MAX_BLOCK_LINES = 2000  # lines of one traceback kept while reading it (the last ones)


class Example(NamedTuple):
    """One distinct redacted line of a pattern, with where and when it was last seen."""

    at: datetime
    service: str
    text: str


@dataclass(frozen=True)
class Pattern:
    """Error lines with the same parameterized text.

    `services` is sorted by count, most first, then by name; `examples` most recent first.
    """

    pattern: str
    count: int
    services: tuple[tuple[str, int], ...]
    first_seen: datetime
    last_seen: datetime
    examples: tuple[Example, ...]


@dataclass
class ScanStats:
    """Filled in by `collect` and `iter_errors` as they read."""

    services: list[str] = field(default_factory=list)
    lines_read: int = 0  # every stored line of the services read
    lines_scanned: int = 0  # the lines at or after `since`, judged
    errors: int = 0  # error lines found (after `grep`)


# --- grouping ---------------------------------------------------------------------------------------


def pattern_of(text: str) -> str:
    """The normalized pattern of an error line: its message redacted, then parameterized."""
    return _pattern_and_example(text)[0]


def _pattern_and_example(text: str) -> tuple[str, str]:
    """The pattern of an error line and the line redacted, redacting only once for a plain line."""
    redacted = redact_text(text)
    message = message_of(text)
    return parameterize(redacted if message is text else redact_text(message))[:MAX_PATTERN], redacted


@dataclass
class _Group:
    count: int
    first_seen: datetime
    last_seen: datetime
    services: Counter[str] = field(default_factory=Counter)
    examples: dict[str, Example] = field(default_factory=dict)  # redacted text -> latest occurrence

    def add(self, error: ErrorLine, redacted: str, keep: int) -> None:
        self.count += 1
        self.services[error.service] += 1
        self.first_seen = min(self.first_seen, error.at)
        self.last_seen = max(self.last_seen, error.at)
        if keep > 0:
            self._add_example(Example(error.at, error.service, redacted), keep)

    def _add_example(self, example: Example, keep: int) -> None:
        """Keep the `keep` distinct texts seen most recently, whatever order the errors come in."""
        known = self.examples.get(example.text)
        if known is None or example.at > known.at:
            self.examples[example.text] = example
        if len(self.examples) > keep:
            oldest = min(self.examples.values(), key=lambda e: e.at)
            del self.examples[oldest.text]

    def pattern(self, text: str) -> Pattern:
        services = tuple(sorted(self.services.items(), key=lambda item: (-item[1], item[0])))
        examples = tuple(sorted(self.examples.values(), key=lambda e: e.at, reverse=True))
        return Pattern(text, self.count, services, self.first_seen, self.last_seen, examples)


def summarize(errors: Iterable[ErrorLine], top: int | None = 10, examples: int = 3) -> list[Pattern]:
    """The `top` patterns (all with None), most frequent first, then most recently seen.

    Streams: memory grows with the number of distinct patterns, not with the number of errors.
    """
    groups: dict[str, _Group] = {}
    for error in errors:
        key, redacted = _pattern_and_example(error.text)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(0, error.at, error.at)
        group.add(error, redacted, examples)
    patterns = [group.pattern(key) for key, group in groups.items()]
    patterns.sort(key=lambda p: (-p.count, -p.last_seen.timestamp(), p.pattern))
    return patterns if top is None else patterns[: max(top, 0)]


# --- reading the log files --------------------------------------------------------------------------

_LOG_NAME = re.compile(r"^(?P<name>.+)\.log(?:\.\d+)?$")


def _utc(at: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _service_names(logs_dir: Path, services: Sequence[str] | None) -> list[str]:
    found: set[str] = set()
    if logs_dir.is_dir():
        for path in logs_dir.iterdir():
            match = _LOG_NAME.match(path.name)
            if match and path.is_file():
                found.add(match["name"])
    if services is None:
        return sorted(found)
    missing = [name for name in services if name not in found]
    if missing:
        raise LookupError(f"no logs for {', '.join(missing)} in {logs_dir}")
    return sorted(set(services))


def _log_lines(path: Path, service: str, since: datetime, stats: ScanStats) -> Iterator[LogLine]:
    """The lines of one service's log at or after `since`, oldest first, one at a time.

    A line not in the stored format (a hand edit, a cut-off last line) takes the time and stream of the
    line before it; before any stamped line it is skipped.
    """
    at: datetime | None = None
    stream = "out"
    for raw in read_lines(path):
        stats.lines_read += 1
        parsed = parse_line(raw)
        if parsed is not None:
            at, stream, text = parsed
        elif at is not None:
            text = raw
        else:
            continue
        if at >= since:
            stats.lines_scanned += 1
            yield LogLine(service, at, stream, text)


def iter_errors(
    logs_dir: Path,
    since: datetime,
    services: Sequence[str] | None = None,
    grep: str | None = None,
    *,
    include_warnings: bool = False,
    stats: ScanStats | None = None,
) -> Iterator[ErrorLine]:
    """The error lines at or after `since` in the logs of `services` (all with logs in `logs_dir` when
    None), read one line at a time, current and rotated files; `grep` keeps errors whose text matches
    that regular expression. Raises LookupError for a named service without logs and re.error for a
    bad `grep`, at once rather than on the first iteration.
    """
    pattern = re.compile(grep) if grep else None
    names = _service_names(logs_dir, services)
    scan = stats if stats is not None else ScanStats()
    scan.services = names
    return _errors(logs_dir, names, _utc(since), pattern=pattern, warnings=include_warnings, stats=scan)


def _errors(
    logs_dir: Path,
    names: list[str],
    since: datetime,
    *,
    pattern: re.Pattern[str] | None,
    warnings: bool,
    stats: ScanStats,
) -> Iterator[ErrorLine]:
    for name in names:
        lines = _log_lines(logs_dir / f"{name}.log", name, since, stats)
        for error in find_errors(lines, include_warnings=warnings):
            if pattern is None or pattern.search(error.text):
                stats.errors += 1
                yield error


def collect(
    logs_dir: Path,
    since: datetime,
    services: Sequence[str] | None = None,
    grep: str | None = None,
    *,
    include_warnings: bool = False,
    stats: ScanStats | None = None,
) -> list[ErrorLine]:
    """`iter_errors` as a list. Only the errors are kept in memory, never a whole file; to keep only
    the patterns, pass `iter_errors(...)` to `summarize` instead."""
    return list(iter_errors(logs_dir, since, services, grep, include_warnings=include_warnings, stats=stats))


# --- presenting -------------------------------------------------------------------------------------


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") + "Z"


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _services_cell(services: tuple[tuple[str, int], ...]) -> str:
    shown = ", ".join(f"{name} {count:,}" for name, count in services[:3])
    return shown + (f", +{len(services) - 3} more" if len(services) > 3 else "")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _headline(patterns: Sequence[Pattern], since: datetime, scanned: int, total_errors: int | None) -> str:
    shown = sum(p.count for p in patterns)
    head = f"Errors since {_stamp(_utc(since))}: {scanned:,} log lines scanned"
    if total_errors is not None and total_errors > shown:
        return f"{head}, {total_errors:,} error lines; top {len(patterns)} patterns ({shown:,} lines):"
    return f"{head}, {shown:,} error lines in {len(patterns)} patterns:"


def render_text(
    patterns: Sequence[Pattern],
    since: datetime,
    total_lines_scanned: int,
    *,
    total_errors: int | None = None,
    now: datetime | None = None,
) -> str:
    """A table for a person: count, services, last seen (how long ago), pattern, each row followed by
    its examples, indented, as `time service: line`. `total_errors` (e.g. `ScanStats.errors`) tells
    how many error lines there were in all, when `patterns` are only the top ones."""
    if not patterns:
        return f"No errors since {_stamp(_utc(since))} ({total_lines_scanned:,} log lines scanned)."
    current = _utc(now) if now is not None else datetime.now(UTC)
    width = max(len(f"{p.count:,}") for p in patterns)
    rows = [
        [
            f"{p.count:,}".rjust(max(width, 5)),
            _services_cell(p.services),
            format_duration(max(0.0, (current - p.last_seen).total_seconds())) + " ago",
            _shorten(p.pattern, MAX_SHOWN),
        ]
        for p in patterns
    ]
    header, *lines = table(["COUNT", "SERVICES", "LAST SEEN", "PATTERN"], rows).split("\n")
    out = [_headline(patterns, since, total_lines_scanned, total_errors), "", header]
    for line, pattern in zip(lines, patterns, strict=True):
        out.append(line)
        out.extend(f"    {_stamp(e.at)} {e.service}: {_shorten(e.text, MAX_SHOWN)}" for e in pattern.examples)
    return "\n".join(out)


def to_json(patterns: Sequence[Pattern]) -> list[dict[str, Any]]:
    """The patterns as JSON-ready dicts; times are ISO 8601 UTC strings."""
    return [
        {
            "pattern": p.pattern,
            "count": p.count,
            "services": dict(p.services),
            "first_seen": _iso(p.first_seen),
            "last_seen": _iso(p.last_seen),
            "examples": [{"at": _iso(e.at), "service": e.service, "text": e.text} for e in p.examples],
        }
        for p in patterns
    ]
