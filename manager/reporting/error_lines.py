"""Which lines of a service's log are errors: the rules `svcbot report errors` counts by.

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
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Literal, NamedTuple

from manager.triage.tracebacks import parse_traceback

__all__ = ["MAX_BLOCK_LINES", "ErrorLine", "LogLine", "Severity", "classify", "find_errors", "message_of"]

MAX_BLOCK_LINES = 2000  # lines of one traceback kept while reading it (the last ones)
Severity = Literal["error", "warning"]
_Verdict = Literal["error", "warning", "clean"] | None  # None: this rule does not decide


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


def message_of(text: str) -> str:
    """What a pattern is made of: a JSON record's message and error fields, else the line itself."""
    record = _json_record(text)
    if record is None:
        return text
    parts = [str(record[key]) for key in _JSON_MESSAGE_KEYS if record.get(key)]
    return ": ".join(dict.fromkeys(parts)) or text
