"""Ordering of version strings, for "resolved in version X" and regression detection.

Versions in the wild are semver, PEP 440, `git describe` output (`v1.4.2-3-gabc123`), dates or
build numbers. A natural ordering handles all of them well enough: split into runs of digits and of
other characters, compare digit runs as numbers; a leading `v` is ignored; pre-release markers
(`rc`, `a`, `b`, `alpha`, `beta`, `dev`, `pre`) sort before the release they precede, `post`
after it.
"""

from __future__ import annotations

import re

__all__ = ["at_or_after", "version_key"]

_PART = re.compile(r"\d+|[a-zA-Z]+")
_PRE = {"dev": -4, "a": -3, "alpha": -3, "b": -2, "beta": -2, "pre": -1, "rc": -1, "c": -1}


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    text = version.strip()
    if text[:1] in ("v", "V") and text[1:2].isdigit():
        text = text[1:]
    key: list[tuple[int, int | str]] = []
    for part in _PART.findall(text):
        if part.isdigit():
            key.append((1, int(part)))
        elif part.lower() in _PRE:
            key.append((0, _PRE[part.lower()]))
        elif part.lower() == "post":
            key.append((2, 0))
        else:
            key.append((0, part.lower()))
    key.append((1, -1))  # the end: below any further number, above any pre-release marker
    return tuple(key)


def at_or_after(version: str | None, reference: str | None) -> bool:
    """Is `version` the same as or newer than `reference`? Unknown versions count as newer, so a
    crash from an unversioned service after a fix is treated as a regression, not ignored."""
    if reference is None or version is None:
        return True
    return _cmp_keys(version_key(version), version_key(reference)) >= 0


def _cmp_keys(a: tuple[tuple[int, int | str], ...], b: tuple[tuple[int, int | str], ...]) -> int:
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        if x[0] != y[0]:
            return 1 if x[0] > y[0] else -1
        xv, yv = x[1], y[1]
        if isinstance(xv, int) and isinstance(yv, int):
            return 1 if xv > yv else -1
        return 1 if str(xv) > str(yv) else -1
    return (len(a) > len(b)) - (len(a) < len(b))
