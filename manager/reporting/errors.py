"""Error reports from the services' captured logs: `svcbot report errors --since 7d`.

Why: the person on call wants to know what has been going wrong across all services this week without
grepping a dozen files. Ten thousand error lines are usually a handful of problems, each repeated with
other numbers, ids, addresses or paths; grouping the lines by their parameterized text (the same
`parameterize` that groups crash reports) turns them into a short list of patterns, with counts, the
services they come from, when they were first and last seen, and a few real (redacted) examples.

The work is split so that the rules can be tested without files: `find_errors` and `classify` decide
which lines are errors, `summarize` groups them, `collect` (or the streaming `iter_errors`) reads the
log files, `render_text` and `to_json` present the result.

Which lines are errors
----------------------
Each line is judged alone (except tracebacks, below); the first rule that decides wins:

1. Lines that only continue a record are never counted on their own: indented lines (stack frames,
   source lines, wrapped messages), Java's "Caused by: ...", Python's "Exception in thread X:" and
   "Exception ignored in: ..." preludes and its chained-exception separators.
2. A JSON object line decides by its level field (`level`, `levelname`, `severity`, `lvl`, `loglevel`,
   `log.level`, any case): error, err, critical, crit, fatal, panic, alert, emerg, severe are errors;
   warn and warning are warnings; anything else is not an error. Without a level field it is an
   error when it has a non-empty `error`, `err`, `exception`, `exc`, `exc_info` or `stack` field.
   Numeric levels are ignored (Python's 40 and pino's 40 mean different things).
3. A logfmt level (`level=error`, `lvl="warn"`, `severity=info`) decides the same way.
4. The first level marker decides: an upper-case level word (`ERROR`, `ERR`, `CRITICAL`, `FATAL`,
   `PANIC`, `SEVERE`, ..., `WARNING`, `INFO`, `DEBUG`), a bracketed level in any case (`[error]`,
   `[Warn]`, as nginx writes them) or a level in any case opening the line before a colon or bracket
   (`error: ...`, `Error: ...`, `panic: ...`, Rust's `error[E0425]: ...`). So `INFO retried after
   ERROR` is not an error: an explicit level always wins over words further on.
5. An exception name ending the line or followed by a colon (`ValueError: ...`, `Exception`,
   `java.io.IOException: ...`) or the word `Traceback` is an error; a `...Warning:` name is a warning.
6. On stderr only, an error-ish word (error(s), fail(s/ed/ure), fatal, exception, panic, crash,
   abort(ed), refused, denied, unable to, could not, cannot, can't, timed out, segmentation fault) is
   an error. stdout lines need a level or an exception name (rules 2 to 5).

Terminal escape sequences (colours) are removed from a line before it is judged, and from what is
shown. Words are matched whole: `error_count`, `on-error` and `errorHandler` hold no error word. A level word
or error word that is negated does not count: preceded in its clause by no, not, never, without, zero,
0 or a word ending in n't (at most one word in between: "0 new errors"), or followed by a zero value
(`errors=0`, `failed: 0`, `err=<nil>`, `error=false`). So "0 errors", "no errors", "error_count=0" and
"completed without errors" are not errors. Warnings count only with `include_warnings`.

A Python traceback ("Traceback (most recent call last):" and the lines after it, chained exceptions
included) is one error, shown as its exception line `Type: message` (the first line of the message),
timed at its first line; its pattern is that line parameterized. A log record immediately before the
traceback on the same stream (what `logger.exception(...)` prints) is folded into it, not counted again.

Patterns and examples
---------------------
A line's pattern is `parameterize(redact_text(message))`, where the message is the line itself, the
exception line of a traceback, or for a JSON record its `msg`/`message` and `error` fields. Examples
are `redact_text` of whole lines, distinct, most recent first, so a report never shows a secret.
"""

from __future__ import annotations

import json
import re
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

from manager.core.redact import redact_text
from manager.core.units import format_duration
from manager.reporting.render import table
from manager.supervision.logs import parse_line, read_lines
from manager.triage.fingerprint import parameterize
from manager.triage.tracebacks import parse_traceback

__all__ = [
    "ErrorLine",
    "Example",
    "LogLine",
    "Pattern",
    "ScanStats",
    "Severity",
    "classify",
    "collect",
    "find_errors",
    "iter_errors",
    "pattern_of",
    "render_text",
    "summarize",
    "to_json",
]

Severity = Literal["error", "warning"]
_Verdict = Literal["error", "warning", "clean"] | None  # None: this rule does not decide

MAX_PATTERN = 500  # characters of a pattern kept: longer lines that differ only further on are one pattern
MAX_SHOWN = 300  # characters of an example line shown by render_text
MAX_BLOCK_LINES = 2000  # lines of one traceback kept while reading it (the last ones)


class LogLine(NamedTuple):
    """One stored log line, as `parse_line` reads it, with the service it came from."""

    service: str
    at: datetime
    stream: str  # "out" or "err"
    text: str


class ErrorLine(NamedTuple):
    """A line judged an error (a whole traceback is one, as its exception line)."""

    service: str
    at: datetime
    stream: str
    text: str


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


# --- which lines are errors -------------------------------------------------------------------------

_ERROR_LEVELS = frozenset({"error", "err", "critical", "crit", "fatal", "panic", "alert", "emerg", "severe"})
_WARNING_LEVELS = frozenset({"warning", "warn"})
_LEVEL_WORDS = "TRACE|DEBUG|INFO|NOTICE|WARNING|WARN|ERROR|ERR|CRITICAL|CRIT|FATAL|PANIC|SEVERE|ALERT|EMERG"

_CONTINUATION = re.compile(
    r"^(?:\s|Caused by: |Exception in thread .*:$|Exception ignored in"
    r"|During handling of the above exception|The above exception was the direct cause)"
)
_JSON_LEVEL_KEYS = ("level", "levelname", "severity", "lvl", "loglevel", "log.level")
_JSON_ERROR_KEYS = ("error", "err", "exception", "exc", "exc_info", "stack")
_JSON_MESSAGE_KEYS = ("msg", "message", "error", "err")
_LOGFMT_LEVEL = re.compile(r"(?<![\w.-])(?:level|lvl|severity|loglevel)=[\"']?(?P<level>[A-Za-z]+)")
_LEVEL_MARK = re.compile(
    rf"(?<![\w-])(?P<upper>{_LEVEL_WORDS})(?![\w-])"
    rf"|\[(?P<bracketed>(?i:{_LEVEL_WORDS}))\]"
    rf"|^(?P<leading>(?i:{_LEVEL_WORDS}))(?=:|\[)"
)
_EXCEPTION_NAME = re.compile(
    r"(?<![\w-])(?:[A-Za-z_]\w*\.)*(?P<name>[A-Z]\w*(?:Error|Exception|Warning)|Exception)(?=:|\s*$)"
    r"|(?<![\w-])(?P<name2>Traceback)(?![\w-])"
)
_ERRORISH = re.compile(
    r"(?<![\w-])(?:errors?|fail(?:s|ed|ures?)?|fatal|exceptions?|panic(?:ked)?|crash(?:ed|es)?|abort(?:ed)?"
    r"|refused|denied|unable to|could not|couldn't|cannot|can't|timed out|segmentation fault)(?![\w-])",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[,;:.!?()\[\]{}|]")
_NEGATOR_BEFORE = re.compile(r"(?:\b(?:no|not|never|without|zero|0)|n't)\s+(?:[\w-]+\s+)?$", re.IGNORECASE)
_ZERO_AFTER = re.compile(r"\s*(?:[=:]\s*|\s)(?:0|none|false|null|nil|<nil>)(?![\w.])", re.IGNORECASE)


def _negated(text: str, start: int, end: int) -> bool:
    """Whether the word at text[start:end] is negated ("0 errors", "no errors", "errors=0")."""
    clause = _CLAUSE_BREAK.split(text[max(0, start - 60) : start])[-1]
    return bool(_NEGATOR_BEFORE.search(clause) or _ZERO_AFTER.match(text, end))


def _level_verdict(level: str) -> _Verdict:
    word = level.lower()
    if word in _ERROR_LEVELS:
        return "error"
    if word in _WARNING_LEVELS:
        return "warning"
    return "clean" if word.upper() in _LEVEL_WORDS.split("|") or word in ("verbose", "fine") else None


def _json_record(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        record = json.loads(stripped)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _json_verdict(record: dict[str, Any]) -> _Verdict:
    for key in _JSON_LEVEL_KEYS:
        value = record.get(key)
        if isinstance(value, str):
            return _level_verdict(value) or "clean"
    return "error" if any(record.get(key) for key in _JSON_ERROR_KEYS) else "clean"


def _logfmt_verdict(text: str) -> _Verdict:
    match = _LOGFMT_LEVEL.search(text)
    return _level_verdict(match["level"]) if match else None


def _level_mark_verdict(text: str) -> _Verdict:
    for match in _LEVEL_MARK.finditer(text):
        verdict = _level_verdict(match["upper"] or match["bracketed"] or match["leading"])
        if verdict == "clean" or not _negated(text, match.start(), match.end()):
            return verdict
    return None


def _exception_verdict(text: str) -> _Verdict:
    for match in _EXCEPTION_NAME.finditer(text):
        if not _negated(text, match.start(), match.end()):
            return "warning" if (match["name"] or "").endswith("Warning") else "error"
    return None


def _stderr_verdict(text: str, stream: str) -> _Verdict:
    if stream != "err":
        return None
    for match in _ERRORISH.finditer(text):
        if not _negated(text, match.start(), match.end()):
            return "error"
    return None


def _verdict(text: str, stream: str) -> _Verdict:
    if not text.strip() or _CONTINUATION.match(text):
        return "clean"
    record = _json_record(text)
    if record is not None:
        return _json_verdict(record)
    return (
        _logfmt_verdict(text)
        or _level_mark_verdict(text)
        or _exception_verdict(text)
        or _stderr_verdict(text, stream)
    )


def classify(text: str, stream: str) -> Severity | None:
    """ "error", "warning" or None for one line's text on stream "out" or "err" (module docstring rules)."""
    verdict = _verdict(text, stream)
    if verdict == "error":
        return "error"
    return "warning" if verdict == "warning" else None


# --- tracebacks -------------------------------------------------------------------------------------

_HEADER = "Traceback (most recent call last):"
_GROUP_HEADER = re.compile(r"^ *\+ Exception Group Traceback \(most recent call last\):$")
_CHAIN_SEPARATORS = frozenset(
    {
        "During handling of the above exception, another exception occurred:",
        "The above exception was the direct cause of the following exception:",
    }
)
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:\.<locals>\.[\w.]+)*(?::|$)")


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")  # colour and other CSI escape sequences


def _starts_traceback(text: str) -> bool:
    return text.rstrip() == _HEADER or bool(_GROUP_HEADER.match(text))


class _Block:
    """The lines of one traceback (with its chained ones) while it is being read."""

    def __init__(self, first: LogLine) -> None:
        self.first = first
        # the last lines only: a runaway block cannot fill memory, and parse_traceback reads a traceback
        # whose beginning is missing
        self.lines: deque[str] = deque([first.text.rstrip()], maxlen=MAX_BLOCK_LINES)
        # frames: inside a traceback; after: its exception line was read; chained: a separator was read;
        # group: an exception group, whose lines are all indented
        self.state = "group" if _GROUP_HEADER.match(first.text) else "frames"

    def consume(self, text: str) -> bool:
        """Take `text` if it belongs to this traceback; False when it is the first line after it."""
        text = text.rstrip()
        taken = self._takes(text)
        if taken:
            self.lines.append(text)
        return taken

    def _takes(self, text: str) -> bool:
        if self.state == "group":
            return text.startswith(" ")
        if self.state == "frames":
            if text.startswith(" ") or not text:
                return True
            self.state = "after"
            return bool(_EXCEPTION_LINE.match(text))
        if not text:
            return True
        if text in _CHAIN_SEPARATORS:
            self.state = "chained"
            return True
        if text == _HEADER and self.state == "chained":
            self.state = "frames"
            return True
        return False

    def error(self) -> ErrorLine:
        exception = parse_traceback(list(self.lines))
        if exception is None:  # cut short: no exception line
            text = self.first.text.strip()
        else:
            first_line = exception.value.split("\n", 1)[0]
            text = f"{exception.type}: {first_line}" if first_line else exception.type
        return ErrorLine(self.first.service, self.first.at, self.first.stream, text)


class _Finder:
    """Error lines of a stream of log lines, tracebacks kept whole per service and stream."""

    def __init__(self, include_warnings: bool) -> None:
        self.wanted: tuple[Severity, ...] = ("error", "warning") if include_warnings else ("error",)
        self.blocks: dict[tuple[str, str], _Block] = {}
        # the last error of each service and stream, held back one line: a traceback right after it
        # (logger.exception) replaces it
        self.held: dict[tuple[str, str], ErrorLine] = {}

    def feed(self, line: LogLine) -> Iterator[ErrorLine]:
        if "\x1b" in line.text:
            line = line._replace(text=_ANSI.sub("", line.text))
        key = (line.service, line.stream)
        block = self.blocks.get(key)
        if block is not None:
            if block.consume(line.text):
                return
            del self.blocks[key]
            yield block.error()
        if _starts_traceback(line.text):
            self.held.pop(key, None)
            self.blocks[key] = _Block(line)
            return
        held = self.held.pop(key, None)
        if held is not None:
            yield held
        if classify(line.text, line.stream) in self.wanted:
            self.held[key] = ErrorLine(line.service, line.at, line.stream, line.text)

    def flush(self) -> Iterator[ErrorLine]:
        yield from self.held.values()
        yield from (block.error() for block in self.blocks.values())
        self.held.clear()
        self.blocks.clear()


def find_errors(lines: Iterable[LogLine], *, include_warnings: bool = False) -> Iterator[ErrorLine]:
    """The error lines among `lines` (any mix of services and streams, each in time order).

    Errors come out nearly in input order: a traceback comes out when its last line has been read.
    """
    finder = _Finder(include_warnings)
    for line in lines:
        yield from finder.feed(line)
    yield from finder.flush()


# --- grouping ---------------------------------------------------------------------------------------


def _message(text: str) -> str:
    """What a pattern is made of: a JSON record's message and error fields, else the line itself."""
    record = _json_record(text)
    if record is None:
        return text
    parts = [str(record[key]) for key in _JSON_MESSAGE_KEYS if record.get(key)]
    return ": ".join(dict.fromkeys(parts)) or text


def pattern_of(text: str) -> str:
    """The normalized pattern of an error line: its message redacted, then parameterized."""
    return _pattern_and_example(text)[0]


def _pattern_and_example(text: str) -> tuple[str, str]:
    """The pattern of an error line and the line redacted, redacting only once for a plain line."""
    redacted = redact_text(text)
    message = _message(text)
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
