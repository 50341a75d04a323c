"""Crash grouping: which reports are the same issue, and why.

Grouping decides what a person sees: too coarse and distinct bugs hide behind one issue, too fine and
one bug floods the alert channel. The bar is Sentry's grouping, first rule that applies wins:

1. an explicit fingerprint, when one is configured (`{{ default }}` in it expands to the components
   the rules below would have produced, as in Sentry; `["{{ default }}"]` alone is the default);
2. the exception type plus the in-app frames (module, or file basename, and function) of the exception
   and of the exceptions chained to it. Line numbers are left out, so an edit that moves code keeps the
   group; library and standard-library frames are left out, so a library upgrade does too; repeated
   frames and repeated cycles of frames are collapsed, so recursion depth does not matter;
3. when no frame is in-app: the exception type plus its parameterized message;
4. with no traceback: the last meaningful stderr line (not blank, not just punctuation), parameterized;
5. with no stderr at all: the exit status ("exit code 3", "killed by SIGKILL").

The service name is part of every fingerprint but an explicit one: the same exception in two services
is usually two problems with two owners (and two alert channels), so it is two issues. An explicit
fingerprint is a person saying "these are one issue", across services too; add `{{ default }}` to it
to keep them apart.

`Grouping.components` lists what went into the fingerprint in words ("exception type: ConnectionError",
"frame: worker.connect"), so `svcbot issues show` can say why reports were grouped together. Text that
goes into components is redacted first (`redact_text` is idempotent, so already-redacted input gives
the same fingerprint).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from manager.core.redact import redact_text
from manager.triage.tracebacks import Frame, ParsedException

__all__ = ["DEFAULT_PLACEHOLDER", "Grouping", "GroupingMethod", "group", "parameterize"]

GroupingMethod = Literal["custom", "exception_frames", "exception_message", "stderr_line", "exit_status"]
DEFAULT_PLACEHOLDER = "{{ default }}"


@dataclass(frozen=True)
class Grouping:
    """A fingerprint (32 hex characters of a sha256), the rule that made it and its inputs, in words."""

    fingerprint: str
    method: GroupingMethod
    components: tuple[str, ...]


def group(
    *,
    service: str,
    explicit: Sequence[str] | None,
    exception: ParsedException | None,
    stderr_tail: Sequence[str],
    exit_text: str,
) -> Grouping:
    """The grouping of one crash report; see the module docstring for the rules."""
    default = _default(service, exception, stderr_tail, exit_text)
    if not explicit:
        return default
    components: list[str] = []
    for part in explicit:
        if _DEFAULT_RE.fullmatch(part.strip()):
            components.extend(default.components)
        else:
            components.append(f"fingerprint: {part.strip()}")
    if components == list(default.components):
        return default
    return _grouping("custom", components)


_DEFAULT_RE = re.compile(r"\{\{\s*default\s*\}\}")


def _grouping(method: GroupingMethod, components: Sequence[str]) -> Grouping:
    digest = hashlib.sha256(json.dumps([method, *components]).encode()).hexdigest()
    return Grouping(digest[:32], method, tuple(components))


def _default(
    service: str, exception: ParsedException | None, stderr_tail: Sequence[str], exit_text: str
) -> Grouping:
    head = f"service: {service}"
    if exception is not None:
        frames = _exception_frame_components(exception)
        if frames:
            return _grouping("exception_frames", [head, *frames])
        message = _clean(exception.value)
        detail = [f"message: {message}"] if message else []
        return _grouping("exception_message", [head, f"exception type: {exception.type}", *detail])
    line = next((line for line in reversed(stderr_tail) if _MEANINGFUL.search(line)), None)
    if line is not None:
        return _grouping("stderr_line", [head, f"stderr line: {_clean(line)}"])
    return _grouping("exit_status", [head, f"exit status: {exit_text.strip() or 'unknown'}"])


_MEANINGFUL = re.compile(r"[^\W_]")  # a letter or a digit: not blank, not just punctuation


def _clean(text: str) -> str:
    return parameterize(redact_text(text))


def _exception_frame_components(exception: ParsedException) -> list[str]:
    """Type and in-app frames of the exception, then of each chained one; empty without in-app frames."""
    out: list[str] = []
    has_frames = False
    for index, exc in enumerate((exception, *exception.chained)):
        labels = _collapse_repeats([_frame_label(f) for f in exc.frames if f.in_app])
        has_frames = has_frames or bool(labels)
        out.append(f"{'exception' if index == 0 else 'chained exception'} type: {exc.type}")
        out.extend(f"frame: {label}" for label in labels)
    return out if has_frames else []


def _frame_label(frame: Frame) -> str:
    return f"{frame.module}.{frame.function}" if frame.function else frame.module


_MAX_CYCLE = 10  # longest cycle of frames collapsed (mutual recursion a -> b -> c -> a ...)


def _collapse_repeats(labels: list[str]) -> list[str]:
    """`labels` with immediately repeated runs of up to _MAX_CYCLE items kept once.

    [main, a, a, a, b] -> [main, a, b]; [main, a, b, a, b, a, b, a] -> [main, a, b, a]: the result is
    the same whatever the recursion depth.
    """
    previous: list[str] = []
    while labels != previous:
        previous = labels
        for period in range(1, _MAX_CYCLE + 1):
            labels = _collapse_period(labels, period)
    return labels


def _collapse_period(labels: list[str], period: int) -> list[str]:
    out: list[str] = []
    for label in labels:
        out.append(label)
        if len(out) >= 2 * period and out[-period:] == out[-2 * period : -period]:
            del out[-period:]
    return out


# --- parameterize -----------------------------------------------------------------------------------

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_TIMESTAMP = re.compile(
    "|".join(
        [
            # ISO 8601 / RFC 3339, and Python logging's asctime (2024-05-01 12:00:00,123)
            r"(?<!\d)\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2}|\s?UTC)?(?!\d)",
            r"(?<!\d)\d{8}T\d{6}(?:\.\d+)?Z?(?!\d)",  # compact ISO 8601
            rf"(?<!\d)\d{{1,2}}/{_MONTH}/\d{{4}}:\d{{2}}:\d{{2}}:\d{{2}}(?: [+-]\d{{4}})?",  # access logs
            # HTTP-date (RFC 1123)
            rf"\b{_DAY}, \d{{1,2}} {_MONTH} \d{{4}} \d{{2}}:\d{{2}}:\d{{2}}(?: (?:GMT|UTC|[+-]\d{{4}}))?",
            rf"\b(?:{_DAY} )?{_MONTH} +\d{{1,2}} \d{{2}}:\d{{2}}:\d{{2}}(?: \d{{4}})?",  # syslog, ctime
            r"(?<![\d:])\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?![\d:])",  # time of day
        ]
    )
)
_UUID = re.compile(r"(?<![0-9a-fA-F-])[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}(?![0-9a-fA-F-])")
_URL = re.compile(
    r"\b(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,30})://(?:[^\s/?#@]*@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s/?#:'\"<>()\[\]]+)(?::\d+)?"
    r"(?P<rest>/<path>|[/?#][^\s'\"<>]*?)?(?=[).,;:!?]*(?:[\s'\"<>]|$))"
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_IPV6 = re.compile(
    r"\[(?P<bracketed>[0-9A-Fa-f:.]+)(?:%\w+)?\](?::\d+)?"
    r"|(?<![\w:.])(?P<bare>(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?)(?:%\w+)?(?![\w:])"
)
_IPV4 = re.compile(r"(?<![\w.])(?P<address>(?:\d{1,3}\.){3}\d{1,3})(?::\d{1,5})?(?![\w]|\.\d)")
_PATH = re.compile(
    r"(?<![\w])[A-Za-z]:\\[^\s'\"<>|*?,;:]*"  # C:\app\worker.py
    r"|\\\\[\w.$-]+\\[^\s'\"<>|*?,;:]*"  # \\server\share\file
    r"|(?<![\w./:~-])/[\w.@+~-]+(?:/[\w.@+~-]*)+"  # /srv/app/worker.py: two or more segments
    r"|(?<![\w./~-])(?:~|\.\.?)(?:/[\w.@+~-]+)+/?"  # ./config/app.yml, ~/x, ../x
)
_HEX = re.compile(
    r"(?<![\w])0[xX][0-9a-fA-F]+(?![\w])"
    r"|(?<![A-Za-z0-9])(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}(?![A-Za-z0-9])"
)
_ID = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[A-Za-z])(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{16,}(?![A-Za-z0-9])")
_UNIT = r"(?:[num\u00b5]s|s|secs?|m|mins?|h|hrs?|d|[kmgtp]i?b|b|bytes|%|x)"
_NUMBER = re.compile(
    rf"(?<![A-Za-z0-9.])(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)*(?:[eE][-+]?\d+)?{_UNIT}?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def _url(match: re.Match[str]) -> str:
    host = match["host"].strip("[]")
    host = "<ip>" if _is_ip(host) else host.lower()
    return f"{match['scheme'].lower()}://{host}" + ("/<path>" if match["rest"] else "")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", maxsplit=1)[0])
    except ValueError:
        return False
    return True


def _ip(match: re.Match[str]) -> str:
    """`<ip>` when the candidate really is an address (`ab:cd:ef` or `999.1.1.1` are not)."""
    address = next(value for value in match.groupdict().values() if value)
    return "<ip>" if _is_ip(address) else match[0]


def _sub(pattern: re.Pattern[str], replacement: str | Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    return lambda text: pattern.sub(replacement, text)


_PARAMETERS: tuple[Callable[[str], str], ...] = (
    _sub(_TIMESTAMP, "<ts>"),
    _sub(_UUID, "<uuid>"),
    _sub(_URL, _url),
    _sub(_EMAIL, "<email>"),
    _sub(_IPV6, _ip),
    _sub(_IPV4, _ip),
    _sub(_PATH, "<path>"),
    _sub(_HEX, "<hex>"),
    _sub(_ID, "<id>"),
    _sub(_NUMBER, "<n>"),
)


def parameterize(text: str) -> str:
    """`text` with the parts that vary between occurrences of one problem replaced, in this order:

    - `<ts>`: timestamps: ISO 8601 (also with a space, a comma before the fraction as Python's logging
      prints it, or a zone), compact ISO, access-log, HTTP-date and syslog/ctime forms, times of day;
    - `<uuid>`: UUIDs, any case;
    - URLs keep their scheme and lower-cased host, the part that names the dependency; credentials and
      port are dropped and any path, query or fragment becomes `/<path>`:
      `https://api.stripe.com:443/v1/charges/ch_1?x=1` -> `https://api.stripe.com/<path>`
      (an IP address host becomes `<ip>`);
    - `<email>`: email addresses;
    - `<ip>`: IPv6 (validated, also `[::1]:8080`) and IPv4 addresses with an optional `:port`;
    - `<path>`: file paths: absolute POSIX paths of two or more segments (`/srv/app/x.py`; a lone
      `/health` stays), paths starting with `./`, `../` or `~/`, Windows `C:\\...` and `\\\\server\\...`;
    - `<hex>`: `0x...` literals, and runs of 8 or more hex digits with both a letter and a digit
      (request ids, hashes; an all-digit run is a number);
    - `<id>`: runs of 16 or more letters and digits mixing both (`ch_3MqLk2LkdIwHu7ix0p3Rb4hN` ->
      `ch_<id>`): random ids that are not hex;
    - `<n>`: numbers not glued to a preceding letter (`worker-3` and `x_12` change, `utf8`, `sha256`, `v2`
      and `3rd` stay): integers, `1,234`, decimals, dotted versions `3.11.7`, exponents, and a unit
      right after the digits (`12ms`, `1.5s`, `512MiB`, `90%`, `3x`);
    - then runs of whitespace become one space, and the ends are stripped.

    Quoted strings are kept: `KeyError: 'user'` and `KeyError: 'email'` are different problems. The
    result is stable (the same message with other numbers, ids, addresses or times gives the same text)
    and idempotent.
    """
    for step in _PARAMETERS:
        text = step(text)
    return _SPACES.sub(" ", text).strip()
