"""Python tracebacks parsed out of a crashed service's stderr tail.

A crash report is only groupable and readable if svcbot knows which exception killed the service and
through which frames; a service's stderr is all it has, so this module recovers them from the text
CPython prints. It handles what CPython 3.11 prints: chained exceptions ("The above exception was the
direct cause..." / "During handling of the above exception..."), `^^^^` and `~~~^^^` position lines,
"[Previous line repeated N more times]", multi-line messages (and notes), exceptions without a message,
SyntaxError blocks (with no "Traceback" header when the main script itself does not compile),
"Exception in thread ..." and exception groups (the group itself is taken; its sub-exceptions are not).

Which traceback counts: the last complete one (its exception line was printed) in the tail, with the
exceptions chained to it. One introduced by "Exception ignored in:" (an error in `__del__` or at
interpreter shutdown, which did not end the process) counts only when there is no other. A traceback
whose beginning fell off the top of the tail is still parsed, from its first remaining frame.

A message ends at a blank line or at a line that starts another traceback, a chain separator, a
"Exception in thread/ignored in" line or a new log record (a line starting with a date or a level
name), so log lines printed after the crash do not end up in the message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

__all__ = ["Frame", "ParsedException", "frame_module", "is_in_app", "parse_traceback"]


@dataclass(frozen=True)
class Frame:
    """One stack frame, outermost first in `ParsedException.frames`.

    `function` is empty for the frame a SyntaxError points at (CPython prints no function there).
    """

    filename: str
    lineno: int
    function: str
    module: str
    in_app: bool
    source: str = ""


@dataclass(frozen=True)
class ParsedException:
    """The exception that ended a traceback; `chained` holds the earlier exceptions, oldest first."""

    type: str
    value: str
    frames: tuple[Frame, ...]
    chained: tuple[ParsedException, ...] = ()


# --- frames -----------------------------------------------------------------------------------------

_PACKAGES = re.compile(r"[\\/](?:site|dist)-packages[\\/]")
_STDLIB = re.compile(r"(?:^|[\\/])lib(?:64)?[\\/]python\d+(?:\.\d+)?(?:\.zip)?[\\/]|^[A-Za-z]:\\.*?\\Lib\\")
_FROZEN = re.compile(r"^<frozen (?P<name>[^>]+)>$")


def is_in_app(filename: str) -> bool:
    """False for installed packages (site-/dist-packages), the standard library and pseudo-files.

    The standard library is recognised by its `lib/python3.N/` (or Debian's `lib/python3/`) folder, or
    `\\Lib\\` on Windows; pseudo-files are names in angle brackets: `<frozen ...>`, `<string>` (code run
    with `python -c`), `<stdin>`.
    """
    if filename.startswith("<") and filename.endswith(">"):
        return False
    return not (_PACKAGES.search(filename) or _STDLIB.search(filename))


def frame_module(filename: str) -> str:
    """A short, stable module name for a frame's file.

    Installed packages and the standard library get their dotted import path (`requests.adapters`,
    `json.decoder`); application files get their basename (`/srv/app/billing/charge.py` -> `charge`),
    so the name does not depend on where the app is deployed. A package's `__init__.py` is named
    after its folder, `<frozen importlib._bootstrap>` becomes `importlib._bootstrap`, other
    pseudo-files keep their name.
    """
    frozen = _FROZEN.match(filename)
    if frozen:
        return frozen["name"]
    if filename.startswith("<"):
        return filename
    marker = _PACKAGES.search(filename) or _STDLIB.search(filename)
    parts = [p for p in re.split(r"[\\/]", filename[marker.end() if marker else 0 :]) if p]
    if not parts:
        return filename
    parts[-1] = re.sub(r"\.(?:py[cdwio]?|so)$", "", parts[-1])
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    if marker:
        return ".".join(parts)
    if parts[-1] == "__main__" and len(parts) > 1:
        return f"{parts[-2]}.__main__"
    return parts[-1]


# --- lines ------------------------------------------------------------------------------------------

_HEADER = "Traceback (most recent call last):"
_GROUP_HEADER = re.compile(r"^(?P<pad> *)\+ Exception Group Traceback \(most recent call last\):$")
_CHAIN_SEPARATORS = frozenset(
    {
        "During handling of the above exception, another exception occurred:",
        "The above exception was the direct cause of the following exception:",
    }
)
_FRAME = re.compile(r'^ +File "(?P<file>.*)", line (?P<line>\d+)(?:, in (?P<function>.+))?$')
_POSITION = re.compile(r"^ *[~^]+[ ~^]*$")
_REPEATED = re.compile(r"^ *\[Previous line repeated \d+ more times?\]$")
_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:\.<locals>\.[\w.]+)*)(?:: ?(?P<value>.*))?$")
_STARTS_SOMETHING_ELSE = re.compile(
    r"^(?:Traceback \(most recent call last\):|Exception in thread |Exception ignored in"
    r"|\[?\d{4}-\d{2}-\d{2}|(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b)"
)
_IGNORED = "Exception ignored in"


@dataclass(frozen=True)
class _Block:
    """One printed exception: its text spans lines[start:end]."""

    exception: ParsedException
    start: int
    end: int
    ignored: bool


def _frame(match: re.Match[str], source: str) -> Frame:
    filename = match["file"]
    return Frame(
        filename=filename,
        lineno=int(match["line"]),
        function=match["function"] or "",
        module=frame_module(filename),
        in_app=is_in_app(filename),
        source=source,
    )


def _is_source(line: str) -> bool:
    """A frame's source line: indented deeper than the frame, and not a frame or marker line itself."""
    if not line.startswith("    "):
        return False
    return not (_FRAME.match(line) or _POSITION.match(line) or _REPEATED.match(line))


def _parse_frames(lines: Sequence[str], start: int) -> tuple[list[Frame], int]:
    """The frames from lines[start], and the index of the first line after them."""
    frames: list[Frame] = []
    i = start
    while i < len(lines):
        line = lines[i]
        match = _FRAME.match(line)
        if match:
            source = ""
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if _is_source(nxt):
                source = nxt.strip()
                i += 1
            frames.append(_frame(match, source))
        elif not (_POSITION.match(line) or _REPEATED.match(line) or line.startswith("    ")):
            break
        i += 1
    return frames, i


def _is_continuation(line: str) -> bool:
    return bool(line.strip()) and not (
        line in _CHAIN_SEPARATORS
        or _FRAME.match(line)
        or _GROUP_HEADER.match(line)
        or _STARTS_SOMETHING_ELSE.match(line)
    )


def _parse_exception_line(lines: Sequence[str], i: int) -> tuple[str, str, int] | None:
    """Type, message and the index after them, when lines[i] is an exception line."""
    match = _EXCEPTION.match(lines[i]) if i < len(lines) else None
    if match is None:
        return None
    value = match["value"]
    end = i + 1
    if value is None:
        return match["type"], "", end
    message = [value]
    while end < len(lines) and _is_continuation(lines[end]):
        message.append(lines[end])
        end += 1
    return match["type"], "\n".join(message).strip(), end


def _parse_body(lines: Sequence[str], start: int) -> tuple[ParsedException | None, int]:
    """Frames then the exception line from lines[start]; None when the exception line is missing."""
    frames, i = _parse_frames(lines, start)
    parsed = _parse_exception_line(lines, i)
    if parsed is None:
        return None, max(i, start + 1)
    exc_type, value, end = parsed
    return ParsedException(exc_type, value, tuple(frames)), end


def _parse_group(lines: Sequence[str], start: int, pad: int) -> tuple[ParsedException | None, int]:
    """An exception group: its own frames and exception line; the sub-exceptions are skipped."""
    prefix = " " * pad + "|"
    body: list[str] = []
    i = start + 1
    while i < len(lines) and lines[i].startswith(prefix):
        content = lines[i][len(prefix) :]
        body.append(content[1:] if content.startswith(" ") else content)
        i += 1
    exception, _ = _parse_body(body, 0)
    while i < len(lines) and re.match(r"^ *[|+]", lines[i]):
        i += 1
    return exception, i


def _block_at(lines: Sequence[str], i: int) -> tuple[ParsedException | None, int]:
    """The exception printed from lines[i], if a traceback starts there, and where to look next."""
    line = lines[i]
    if line == _HEADER:
        return _parse_body(lines, i + 1)
    group = _GROUP_HEADER.match(line)
    if group:
        return _parse_group(lines, i, len(group["pad"]))
    if line.startswith("  File ") and _FRAME.match(line):
        return _parse_body(lines, i)  # no header: a SyntaxError, or the header was cut off the tail
    return None, i + 1


def _blocks(lines: Sequence[str]) -> list[_Block]:
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        exception, end = _block_at(lines, i)
        if exception is not None:
            ignored = i > 0 and lines[i - 1].startswith(_IGNORED)
            blocks.append(_Block(exception, i, end, ignored))
        i = end
    return blocks


def _chains(lines: Sequence[str], blocks: list[_Block]) -> list[list[_Block]]:
    """Blocks grouped into chains: consecutive blocks with only a chain separator between them."""
    chains: list[list[_Block]] = []
    for block in blocks:
        if chains:
            between = [line for line in lines[chains[-1][-1].end : block.start] if line.strip()]
            if len(between) == 1 and between[0] in _CHAIN_SEPARATORS:
                chains[-1].append(block)
                continue
        chains.append([block])
    return chains


def parse_traceback(lines: Sequence[str]) -> ParsedException | None:
    """The exception of the last complete traceback in `lines` (raw stderr lines), or None."""
    clean = [line.rstrip() for line in lines]
    chains = _chains(clean, _blocks(clean))
    if not chains:
        return None
    chosen = next((chain for chain in reversed(chains) if not chain[-1].ignored), chains[-1])
    *earlier, last = chosen
    return replace(last.exception, chained=tuple(block.exception for block in earlier))
