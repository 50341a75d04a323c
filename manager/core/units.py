"""Parsing and formatting of the human units used in `svcbot.yml`: durations, sizes, percentages; and
counts, which every message that says "1 service" or "3 services" formats with `plural`.

Pure functions with no I/O. Parsers raise `ValueError` with a message that says what is accepted,
so `manager.config.loader` can pass the gist on to the user.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from itertools import pairwise

__all__ = [
    "format_duration",
    "format_size",
    "parse_duration",
    "parse_percent",
    "parse_size",
    "plural",
]

_NUMBER = r"\d+(?:\.\d+)?|\.\d+"

# "ms" must come before "m" in the alternation so that "100ms" is not read as 100 minutes + "s".
_DURATION_PART = re.compile(rf"({_NUMBER})(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_HELP = (
    "expected a duration: a number with a unit ms, s, m, h or d (like 100ms, 5s, 1.5s, 2m, 1m30s), "
    "or a bare number of seconds"
)

_SIZE = re.compile(rf"({_NUMBER})\s*([A-Za-z]*)")
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE_HELP = (
    "expected a size: a number with a unit B, KiB, MiB, GiB, TiB (powers of 1024) "
    "or kB, MB, GB, TB (powers of 1000), like 512MiB, or a bare number of bytes"
)

_PERCENT = re.compile(rf"({_NUMBER})\s*%?")
_PERCENT_HELP = "expected a percentage like 90% (over 100% means more than one core), or a bare number"


def _check_number(value: int | float, help_text: str, original: object) -> float:
    """Validate a number given as a YAML int/float rather than a string."""
    if isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{help_text}; got {original!r}")
    return float(value)


def parse_duration(text: str | int | float) -> float:
    """Return the duration `text` in seconds: "100ms", "5s", "2m", "1h", "1d", "1m30s", or bare seconds."""
    if isinstance(text, int | float):
        return _check_number(text, _DURATION_HELP, text)
    if not isinstance(text, str):
        raise ValueError(f"{_DURATION_HELP}; got {text!r}")
    stripped = text.strip()
    if re.fullmatch(_NUMBER, stripped):
        return float(stripped)
    parts = list(_DURATION_PART.finditer(stripped))
    scales = [_DURATION_UNITS[p.group(2)] for p in parts]
    in_order = all(a > b for a, b in pairwise(scales))  # "1m30s", not "30s1m"
    if not stripped or not in_order or "".join(p.group(0) for p in parts) != stripped:
        raise ValueError(f"{_DURATION_HELP}; got {text!r}")
    return sum(float(p.group(1)) * _DURATION_UNITS[p.group(2)] for p in parts)


def parse_size(text: str | int) -> int:
    """Return the size `text` in bytes: "512MiB", "1.5GiB" (binary), "100MB", "100kB" (decimal), "123B"."""
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise ValueError(f"{_SIZE_HELP}; got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"{_SIZE_HELP}; got {text!r}")
        return text
    match = _SIZE.fullmatch(text.strip())
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"{_SIZE_HELP}; got {text!r}")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the regex only lets decimal numbers through
        raise ValueError(f"{_SIZE_HELP}; got {text!r}") from None
    return int(number * _SIZE_UNITS[unit])  # exact: Decimal avoids 1.1 * 1000 = 1100.0000000000002


def parse_percent(text: str | int | float) -> float:
    """Return the percentage `text` as a number of percent: "90%" -> 90.0; "150%" is fine (multi-core)."""
    if isinstance(text, int | float):
        return _check_number(text, _PERCENT_HELP, text)
    if not isinstance(text, str):
        raise ValueError(f"{_PERCENT_HELP}; got {text!r}")
    match = _PERCENT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{_PERCENT_HELP}; got {text!r}")
    return float(match.group(1))


def format_duration(seconds: float) -> str:
    """Format seconds for humans, to two units at most: "350ms", "12s", "1.5s", "3m05s", "1h02m", "2d03h"."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    millis = round(seconds * 1000)
    if millis < 1000:
        return f"{millis}ms"
    tenths = round(seconds * 10)
    if tenths < 600:
        whole, fraction = divmod(tenths, 10)
        return f"{whole}s" if fraction == 0 else f"{whole}.{fraction}s"
    total = round(seconds)
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    minutes = round(seconds / 60)
    if minutes < 24 * 60:
        return f"{minutes // 60}h{minutes % 60:02d}m"
    hours = round(seconds / 3600)
    return f"{hours // 24}d{hours % 24:02d}h"


_SIZE_STEPS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def format_size(n: int) -> str:
    """Format a number of bytes for humans: "900B", "1.5KiB", "512.0MiB", "1.2GiB"."""
    if n < 0:
        return "-" + format_size(-n)
    if n < 1024:
        return f"{n}B"
    value = float(n)
    for unit in _SIZE_STEPS:
        value /= 1024
        # Move up a unit when rounding to one decimal would show "1024.0".
        if round(value, 1) < 1024 or unit == _SIZE_STEPS[-1]:
            return f"{value:.1f}{unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 service", "0 services", "2 times"; `many` for irregular words ("1 was", "2 were" aside)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"
