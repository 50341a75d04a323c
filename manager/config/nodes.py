"""The YAML node walker under `manager.config.loader`: nodes with their line numbers, mappings that
reject unknown and duplicate keys with a did-you-mean, and the readers of scalars (strings, durations,
sizes, percentages, addresses, URLs, argv, environments), each reporting `file:line: key: message`.

Scalars are read from the text as written, not from what YAML 1.1 would make of it: `version: 1.10` is
"1.10" (not 1.1), `DEBUG: yes` is "yes" (not True) and `timeout: 1:30` is an error (not 90). Private
to the config package: the loader builds the sections on top of it.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import shlex
import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from manager.config.spec import HealthKind, RestartPolicy
from manager.core.units import parse_duration, parse_percent, parse_size

__all__ = ["ConfigError"]

T = TypeVar("T")
L = TypeVar("L", bound=str)


class ConfigError(Exception):
    """A problem in the configuration file; `str()` is `<path>:<line>: <key>: <message>`."""

    def __init__(
        self, path: str | Path, message: str, *, line: int | None = None, key: str | None = None
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path) if self.line is None else f"{self.path}:{self.line}"
        return ": ".join(part for part in (where, self.key, self.message) if part is not None)


# --------------------------------------------------------------------------------------------------
# Public helpers


# --------------------------------------------------------------------------------------------------
# Walking the node tree

_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STANDARD_TAG = "tag:yaml.org,2002:"


@dataclasses.dataclass
class _Ctx:
    """State shared by one load: where the file is, the loader, and the problems found so far."""

    path: Path  # as the user gave it, for messages
    folder: Path  # absolute folder of the file, for relative paths
    loader: yaml.SafeLoader
    errors: list[ConfigError] = dataclasses.field(default_factory=list)
    dependency_lines: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)

    def error(self, line: int | None, key: str | None, message: str) -> ConfigError:
        return ConfigError(self.path, message, line=line, key=key or None)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Value:
    """One YAML node with its dotted key, so that any problem with it can say where it is."""

    def __init__(self, ctx: _Ctx, node: yaml.Node, key: str, key_line: int | None = None) -> None:
        self.ctx = ctx
        self.node = node
        self.key = key
        self.line = _line(node)
        self.key_line = self.line if key_line is None else key_line  # line of the key holding it

    def error(self, message: str, *, line: int | None = None) -> ConfigError:
        return self.ctx.error(self.line if line is None else line, self.key, message)

    @property
    def is_null(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag == _NULL_TAG

    def got(self) -> str:
        """What the value is, for "expected X, got Y" messages."""
        if isinstance(self.node, yaml.MappingNode):
            return "a mapping"
        if isinstance(self.node, yaml.SequenceNode):
            return "a list"
        return "nothing" if self.is_null else repr(self.node.value)

    def check_tag(self) -> None:
        """Reject application tags such as `!env FOO`: svcbot gives them no meaning."""
        if not self.node.tag.startswith(_STANDARD_TAG):
            raise self.error(f"unsupported YAML tag {self.node.tag!r}")

    def text(self, what: str) -> str:
        """The scalar as written in the file (after quote and escape processing)."""
        if not isinstance(self.node, yaml.ScalarNode) or self.is_null:
            raise self.error(f"expected {what}, got {self.got()}")
        self.check_tag()
        return str(self.node.value)

    def construct(self) -> object:
        """The scalar as YAML reads it (int, float, bool, str, ...); None for a list or mapping."""
        if not isinstance(self.node, yaml.ScalarNode):
            return None
        self.check_tag()
        try:
            return self.ctx.loader.construct_object(self.node)
        except (yaml.YAMLError, ValueError, KeyError) as err:  # e.g. `!!bool maybe`, `!!int x`
            raise self.error(f"cannot read {self.got()} as {self.node.tag.rsplit(':', 1)[-1]}") from err

    def items(self) -> list[_Value]:
        """The elements of a list."""
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error(f"expected a list, got {self.got()}")
        self.check_tag()
        return [_Value(self.ctx, item, self.key) for item in self.node.value]

    def child(self, name: str, node: yaml.Node, key_line: int) -> _Value:
        return _Value(self.ctx, node, f"{self.key}.{name}" if self.key else name, key_line)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _merge_sources(value: _Value) -> list[yaml.MappingNode]:
    """The mappings named by a `<<:` merge key: one mapping or a list of them."""
    node = value.node
    if isinstance(node, yaml.MappingNode):
        return [node]
    if isinstance(node, yaml.SequenceNode):
        sources = [item for item in node.value if isinstance(item, yaml.MappingNode)]
        if len(sources) == len(node.value):
            return sources
    raise value.error(f"'<<' needs a mapping or a list of mappings, got {value.got()}")


def _pairs(value: _Value, seen: frozenset[int] = frozenset()) -> list[tuple[yaml.Node, yaml.Node, bool]]:
    """(key, value, inherited) for a mapping: its own pairs in file order, then those from `<<:` merges."""
    assert isinstance(value.node, yaml.MappingNode)
    own: list[tuple[yaml.Node, yaml.Node, bool]] = []
    inherited: list[tuple[yaml.Node, yaml.Node, bool]] = []
    for key_node, value_node in value.node.value:
        if key_node.tag != _MERGE_TAG:
            own.append((key_node, value_node, False))
            continue
        seen = seen | {id(value.node)}
        for source in _merge_sources(_Value(value.ctx, value_node, value.key)):
            if id(source) not in seen:  # an anchor merged into itself would loop forever
                merged = _pairs(_Value(value.ctx, source, value.key), seen)
                inherited.extend((k, v, True) for k, v, _ in merged)
    return own + inherited


class _Map:
    """A YAML mapping being read: typed getters that record problems and fall back to defaults.

    Unknown and duplicate keys are recorded when the mapping is opened. A getter whose value is
    wrong records the problem and returns the default, so the walk goes on and finds the rest.
    """

    def __init__(self, value: _Value, known: Iterable[str] | None) -> None:
        if not isinstance(value.node, yaml.MappingNode):
            raise value.error(f"expected a mapping, got {value.got()}")
        value.check_tag()
        self.value = value
        self.ctx = value.ctx
        self.known = None if known is None else tuple(known)
        self.entries: dict[str, _Value] = {}
        self.failed: set[str] = set()
        self.unknown: list[str] = []
        for key_node, value_node, inherited in _pairs(value):
            self._add(key_node, value_node, inherited)

    def _add(self, key_node: yaml.Node, value_node: yaml.Node, inherited: bool) -> None:
        line = _line(key_node)
        if not isinstance(key_node, yaml.ScalarNode):
            self.ctx.errors.append(self.value.error("keys must be strings", line=line))
            return
        name = str(key_node.value)
        entry = self.value.child(name, value_node, line)
        if name in self.entries:
            if not inherited:
                first = self.entries[name].key_line
                self.ctx.errors.append(entry.error(f"duplicate key (first on line {first})", line=line))
            return
        if self.known is not None and name not in self.known:
            hint = _did_you_mean(name, self.known) or "; expected one of " + ", ".join(self.known)
            self.ctx.errors.append(entry.error("unknown key" + hint, line=line))
            self.unknown.append(name)
            return
        self.entries[name] = entry

    def key(self, name: str) -> str:
        return f"{self.value.key}.{name}" if self.value.key else name

    def has(self, name: str) -> bool:
        entry = self.entries.get(name)
        return entry is not None and not entry.is_null

    def ok(self, *names: str) -> bool:
        """True when none of these keys had a problem (so cross-checks between them make sense)."""
        return not self.failed.intersection(names)

    def report(self, name: str, message: str) -> None:
        """Record a problem with key `name`, at its line if it is present, else at the mapping's."""
        entry = self.entries.get(name)
        line = self.value.key_line if entry is None else entry.key_line
        self.failed.add(name)
        self.ctx.errors.append(self.ctx.error(line, self.key(name), message))

    def get(self, name: str, parse: Callable[[_Value], T], default: T, *, null_ok: bool = True) -> T:
        """The parsed value of `name`; `default` when it is absent or null, or when it is wrong."""
        entry = self.entries.get(name)
        if entry is None or (null_ok and entry.is_null):
            return default
        try:
            return parse(entry)
        except ConfigError as err:
            self.failed.add(name)
            self.ctx.errors.append(err)
            return default

    def require(self, name: str, parse: Callable[[_Value], T], placeholder: T) -> T:
        if not self.has(name):
            # A misspelt key is the likelier story: its "did you mean" error says it better.
            if not any(_did_you_mean(unknown, [name]) for unknown in self.unknown):
                self.report(name, "required")
            return placeholder
        return self.get(name, parse, placeholder)


# --------------------------------------------------------------------------------------------------
# Scalar parsers: each takes a _Value and returns the typed value or raises ConfigError


def _string(value: _Value) -> str:
    text = value.text("a string")
    if not text.strip():
        raise value.error("must not be empty")
    return text


def _string_list(value: _Value) -> tuple[str, ...]:
    return tuple(_string(item) for item in value.items())


def _bool(value: _Value) -> bool:
    result = value.construct()
    if not isinstance(result, bool):
        raise value.error(f"expected true or false, got {value.got()}")
    return result


def _int(minimum: int) -> Callable[[_Value], int]:
    def parse(value: _Value) -> int:
        result = value.construct()
        if not isinstance(result, int) or isinstance(result, bool):
            raise value.error(f"expected a whole number, got {value.got()}")
        if result < minimum:
            raise value.error(f"must be at least {minimum}, got {result}")
        return result

    return parse


def _duration(*, positive: bool = False) -> Callable[[_Value], float]:
    what = "a duration like 5s or 100ms"

    def parse(value: _Value) -> float:
        try:
            seconds = parse_duration(value.text(what))
        except ValueError:
            raise value.error(f"expected {what}, got {value.got()}") from None
        if positive and seconds <= 0:
            raise value.error(f"must be more than 0, got {value.got()}")
        return seconds

    return parse


def _size(value: _Value) -> int:
    what = "a size like 512MiB, 1GiB or 100MB"
    try:
        size = parse_size(value.text(what))
    except ValueError:
        raise value.error(f"expected {what}, got {value.got()}") from None
    if size <= 0:
        raise value.error(f"must be more than 0, got {value.got()}")
    return size


def _percent(value: _Value) -> float:
    what = "a percentage like 90% (150% = one and a half cores)"
    try:
        percent = parse_percent(value.text(what))
    except ValueError:
        raise value.error(f"expected {what}, got {value.got()}") from None
    if percent <= 0:
        raise value.error(f"must be more than 0%, got {value.got()}")
    return percent


def _choice(choices: tuple[L, ...]) -> Callable[[_Value], L]:
    def parse(value: _Value) -> L:
        text = value.text("one of " + ", ".join(choices))
        for choice in choices:
            if text == choice:
                return choice
        hint = _did_you_mean(text, choices)
        raise value.error(f"expected one of {', '.join(choices)}, got {value.got()}{hint}")

    return parse


_RESTART_POLICIES: tuple[str, ...] = tuple(policy.value for policy in RestartPolicy)
_ON_UNHEALTHY: tuple[Literal["restart", "alert"], ...] = ("restart", "alert")
_ON_BREACH: tuple[Literal["alert", "restart"], ...] = ("alert", "restart")
_HEALTH_KINDS: tuple[HealthKind, ...] = ("http", "tcp", "command")
_SIGNALS = ("TERM", "INT", "QUIT", "HUP", "KILL", "USR1", "USR2")


def _restart_policy(value: _Value) -> RestartPolicy:
    return RestartPolicy(_choice(_RESTART_POLICIES)(value))


def _signal(value: _Value) -> signal.Signals:
    what = "a signal name: " + ", ".join(_SIGNALS) + " (SIG prefix optional)"
    name = value.text(what).strip().upper().removeprefix("SIG")
    if name not in _SIGNALS:
        raise value.error(f"expected {what}, got {value.got()}")
    return signal.Signals[f"SIG{name}"]


def _path(folder: Path) -> Callable[[_Value], Path]:
    """A path; a relative one is relative to `folder` (the config file's)."""

    def parse(value: _Value) -> Path:
        return Path(os.path.normpath(folder / Path(_string(value)).expanduser()))

    return parse


def _argv(value: _Value) -> tuple[str, ...]:
    """A command: a string split like a shell would (but never run by one), or a list of strings."""
    if isinstance(value.node, yaml.SequenceNode):
        argv = tuple(item.text("a string") for item in value.items())
    else:
        try:
            argv = tuple(shlex.split(value.text("a command line or a list of strings")))
        except ValueError as err:  # shlex: "No closing quotation"
            raise value.error(f"cannot split the command line: {err}") from None
    if not argv or not argv[0].strip():
        raise value.error("the command must not be empty")
    return argv


_ADDRESS = re.compile(r"\[(?P<ip6>[^\[\]]+)\]:(?P<port6>\d+)|(?P<host>[^:\[\]\s]+):(?P<port>\d+)")


def _address(value: _Value) -> tuple[str, int]:
    """host:port (or [ipv6]:port), the port in 1..65535."""
    what = "host:port like 127.0.0.1:8787 or [::1]:8787"
    text = value.text(what).strip()
    match = _ADDRESS.fullmatch(text)
    if match is None:
        raise value.error(f"expected {what}, got {value.got()}")
    host = match.group("ip6") or match.group("host")
    port = int(match.group("port6") or match.group("port"))
    if not 1 <= port <= 65535:
        raise value.error(f"the port must be between 1 and 65535, got {port}")
    return host, port


def _url(value: _Value) -> str:
    url = _string(value).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise value.error(f"expected an http:// or https:// URL, got {value.got()}")
    return url


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env(value: _Value) -> tuple[tuple[str, str], ...]:
    """Environment variables; numbers and booleans are taken as written ("1", "true")."""
    m = _Map(value, None)
    pairs: list[tuple[str, str]] = []
    for name in m.entries:
        if not _ENV_NAME.fullmatch(name):
            m.report(name, "not a valid environment variable name (letters, digits, _)")
            continue
        text = m.get(name, lambda v: v.text("a string, number or boolean"), None, null_ok=False)
        if text is not None:
            pairs.append((name, text))
    return tuple(pairs)


def _database(folder: Path) -> Callable[[_Value], str]:
    """An SQLAlchemy URL; a relative SQLite path is made absolute against `folder`."""

    def parse(value: _Value) -> str:
        url = _string(value).strip()
        problem = database_url_problem(url)
        if problem:
            raise value.error(f"{problem}, got {value.got()}")
        return _absolute_sqlite(url, folder)

    return parse


_DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")


def database_url_problem(url: str) -> str | None:
    """What is wrong with a database URL, or None (checked without importing a database driver)."""
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if match is None:
        return "expected a database URL like sqlite:///svcbot.db or postgresql://host/db"
    if match.group(1).lower() not in _DATABASE_SCHEMES:
        return f"unsupported database {match.group(1)!r}: svcbot stores in sqlite:// or postgresql://"
    return None


def _absolute_sqlite(url: str, folder: Path) -> str:
    match = re.fullmatch(r"(sqlite(?:\+\w+)?:///)([^?]*)(\?.*)?", url)
    if match is None:
        return url
    prefix, db_path, query = match.group(1), match.group(2), match.group(3) or ""
    if not db_path or db_path == ":memory:" or db_path.startswith(("/", "file:")):
        return url
    return prefix + os.path.normpath(folder / Path(db_path).expanduser()) + query


def _timezone(value: _Value) -> str:
    name = _string(value).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise value.error(
            f"unknown time zone {name!r} (expected an IANA name like UTC or Europe/Paris)"
        ) from None
    return name
