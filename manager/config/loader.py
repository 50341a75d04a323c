"""Read `svcbot.yml` into the frozen `manager.config.spec.Config`: the sections, their keys and rules.

With its node walker (`manager.config.nodes`), the only module that imports yaml. The file is composed
into YAML nodes rather than loaded into dicts, and the node tree is walked by hand: nodes keep their
line numbers, so every problem can be reported as `file:line: dotted.key: message`,
and duplicate keys (which PyYAML's loaders silently accept, the last one winning) can be rejected.

Problems are collected while walking, so that the one reported is the first in the file, whatever order
the sections are read in; `load_config` raises that one.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import yaml

from manager.config.nodes import (
    _ENV_NAME,
    _HEALTH_KINDS,
    _ON_BREACH,
    _ON_UNHEALTHY,
    ConfigError,
    _address,
    _argv,
    _bool,
    _choice,
    _Ctx,
    _database,
    _did_you_mean,
    _duration,
    _env,
    _int,
    _Map,
    _path,
    _percent,
    _restart_policy,
    _signal,
    _size,
    _string,
    _string_list,
    _timezone,
    _url,
    _Value,
    database_url_problem,
)
from manager.config.order import find_cycle
from manager.config.schedule import parse_schedule
from manager.config.spec import (
    AccessSpec,
    AlertsSpec,
    Config,
    DigestSpec,
    ForwardSpec,
    HealthKind,
    HealthSpec,
    HttpSpec,
    LimitsSpec,
    LogSpec,
    ServiceSpec,
    SlackSpec,
    StartLimit,
    StopSpec,
)
from manager.core.units import format_duration

__all__ = [
    "CONFIG_ENV",
    "DATABASE_ENV",
    "DEFAULT_CONFIG",
    "SECTIONS",
    "ConfigError",
    "accepted_keys",
    "load_config",
    "resolve_config_path",
]

CONFIG_ENV = "SVCBOT_CONFIG"
DATABASE_ENV = "SVCBOT_DATABASE_URL"
DEFAULT_CONFIG = "svcbot.yml"

T = TypeVar("T")
L = TypeVar("L", bound=str)


def resolve_config_path(arg: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """The config file to read: the `--config` value, else `$SVCBOT_CONFIG`, else `./svcbot.yml`."""
    if arg:
        return Path(arg)
    env = os.environ if environ is None else environ
    return Path(env.get(CONFIG_ENV) or DEFAULT_CONFIG)


# --------------------------------------------------------------------------------------------------
# Sections

_TOP_KEYS = (
    "state_dir",
    "database",
    "sample_interval",
    "logs",
    "services",
    "http",
    "slack",
    "access",
    "alerts",
    "digest",
    "forward",
)
_SERVICE_KEYS = (
    "command",
    "cwd",
    "env",
    "version",
    "version_command",
    "restart",
    "restart_delay",
    "max_restart_delay",
    "stable_after",
    "quarantine_retry",
    "start_limit",
    "stop",
    "depends_on",
    "health",
    "limits",
    "logs",
    "owners",
    "alert_channel",
    "autostart",
    "fingerprint",
)
_HEALTH_KEYS = (*_HEALTH_KINDS, "interval", "timeout", "failures", "grace", "on_unhealthy")
_LOG_KEYS = ("max_size", "keep", "tail_lines")
_START_LIMIT_KEYS = ("burst", "interval")
_STOP_KEYS = ("signal", "timeout")
_LIMITS_KEYS = ("memory", "cpu", "on_breach")
_HTTP_KEYS = ("listen",)
_SLACK_KEYS = ("alert_channel", "digest_channel")
_ACCESS_KEYS = ("admins", "operators", "viewers", "channels")
_ALERTS_KEYS = ("group_wait", "repeat_interval")
_DIGEST_KEYS = ("schedule", "timezone")
_FORWARD_KEYS = ("webhook", "secret_env", "timeout")

# Every mapping with fixed keys, by dotted path ("<name>" stands for a service's name). The
# configuration reference is checked against `accepted_keys()`, which reads this table: a section
# parsed with keys that are not registered here would slip past that check.
SECTIONS: Mapping[str, tuple[str, ...]] = {
    "": _TOP_KEYS,
    "logs": _LOG_KEYS,
    "services.<name>": _SERVICE_KEYS,
    "services.<name>.start_limit": _START_LIMIT_KEYS,
    "services.<name>.stop": _STOP_KEYS,
    "services.<name>.health": _HEALTH_KEYS,
    "services.<name>.limits": _LIMITS_KEYS,
    "services.<name>.logs": _LOG_KEYS,
    "http": _HTTP_KEYS,
    "slack": _SLACK_KEYS,
    "access": _ACCESS_KEYS,
    "alerts": _ALERTS_KEYS,
    "digest": _DIGEST_KEYS,
    "forward": _FORWARD_KEYS,
}


def accepted_keys() -> tuple[str, ...]:
    """Every key the parser accepts, as dotted paths like `services.<name>.health.interval`.

    Derived from the same key tuples the section parsers check against, so that the configuration
    reference (`manager.config.reference`) can be tested to document exactly these keys.
    """
    return tuple(f"{section}.{key}" if section else key for section, keys in SECTIONS.items() for key in keys)


_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _logs(base: LogSpec) -> Callable[[_Value], LogSpec]:
    """A `logs` section: its keys override those of `base` one by one."""

    def parse(value: _Value) -> LogSpec:
        m = _Map(value, _LOG_KEYS)
        return LogSpec(
            max_size=m.get("max_size", _size, base.max_size),
            keep=m.get("keep", _int(0), base.keep),
            tail_lines=m.get("tail_lines", _int(0), base.tail_lines),
        )

    return parse


def _start_limit(value: _Value) -> StartLimit:
    m = _Map(value, _START_LIMIT_KEYS)
    default = StartLimit()
    return StartLimit(
        burst=m.get("burst", _int(1), default.burst),
        interval=m.get("interval", _duration(positive=True), default.interval),
    )


def _stop(value: _Value) -> StopSpec:
    m = _Map(value, _STOP_KEYS)
    default = StopSpec()
    return StopSpec(
        signal=m.get("signal", _signal, default.signal),
        timeout=m.get("timeout", _duration(), default.timeout),
    )


def _limits(value: _Value) -> LimitsSpec:
    m = _Map(value, _LIMITS_KEYS)
    return LimitsSpec(
        memory=m.get("memory", _size, None),
        cpu=m.get("cpu", _percent, None),
        on_breach=m.get("on_breach", _choice(_ON_BREACH), "alert"),
    )


def _health_kind(value: _Value, m: _Map) -> HealthKind:
    """The one check kind present among http / tcp / command."""
    kinds = sorted((k for k in _HEALTH_KINDS if m.has(k)), key=lambda k: m.entries[k].key_line)
    if not kinds:
        raise value.error("needs one of http, tcp or command", line=value.key_line)
    if len(kinds) > 1:
        m.report(kinds[1], f"a health check has one of http, tcp or command; {kinds[0]} is already set")
    return kinds[0]


def _health_target(kind: HealthKind, entry: _Value) -> tuple[str, tuple[str, ...]]:
    if kind == "http":
        return _url(entry), ()
    if kind == "tcp":
        _address(entry)
        return entry.text("host:port").strip(), ()
    argv = _argv(entry)
    if isinstance(entry.node, yaml.SequenceNode):
        return shlex.join(argv), argv
    return entry.text("a command line"), argv


def _health(value: _Value) -> HealthSpec:
    m = _Map(value, _HEALTH_KEYS)
    kind = _health_kind(value, m)
    placeholder: tuple[str, tuple[str, ...]] = ("", ())
    target, argv = m.get(kind, lambda entry: _health_target(kind, entry), placeholder)
    default = HealthSpec(kind=kind, target=target)
    return HealthSpec(
        kind=kind,
        target=target,
        argv=argv,
        interval=m.get("interval", _duration(positive=True), default.interval),
        timeout=m.get("timeout", _duration(positive=True), default.timeout),
        failures=m.get("failures", _int(1), default.failures),
        grace=m.get("grace", _duration(), default.grace),
        on_unhealthy=m.get("on_unhealthy", _choice(_ON_UNHEALTHY), default.on_unhealthy),
    )


def _depends_on(name: str, names: frozenset[str]) -> Callable[[_Value], tuple[str, ...]]:
    """A service's dependencies: existing services other than itself, each listed once."""

    def parse(value: _Value) -> tuple[str, ...]:
        deps: list[str] = []
        for item in value.items():
            dep = item.text("a service name")
            if dep == name:
                raise item.error(f"service {name!r} cannot depend on itself")
            if dep not in names:
                raise item.error(f"unknown service {dep!r}{_did_you_mean(dep, names - {name})}")
            if dep in deps:
                raise item.error(f"{dep!r} is listed twice")
            deps.append(dep)
            value.ctx.dependency_lines[name, dep] = item.line
        return tuple(deps)

    return parse


def _check_restart_delays(m: _Map, restart_delay: float, max_restart_delay: float) -> None:
    if max_restart_delay < restart_delay and m.ok("restart_delay", "max_restart_delay"):
        m.report(
            "max_restart_delay" if m.has("max_restart_delay") else "restart_delay",
            f"max_restart_delay ({format_duration(max_restart_delay)}) must be at least "
            f"restart_delay ({format_duration(restart_delay)})",
        )


def _service(name: str, names: frozenset[str], logs: LogSpec) -> Callable[[_Value], ServiceSpec]:
    def parse(value: _Value) -> ServiceSpec:
        m = _Map(value, _SERVICE_KEYS)
        folder = value.ctx.folder
        default = ServiceSpec(name=name, argv=(), cwd=folder)
        restart_delay = m.get("restart_delay", _duration(), default.restart_delay)
        max_restart_delay = m.get("max_restart_delay", _duration(), default.max_restart_delay)
        _check_restart_delays(m, restart_delay, max_restart_delay)
        return ServiceSpec(
            name=name,
            argv=m.require("command", _argv, ()),
            cwd=m.get("cwd", _path(folder), folder),
            env=m.get("env", _env, ()),
            version=m.get("version", _string, None),
            version_command=m.get("version_command", _argv, ()),
            restart=m.get("restart", _restart_policy, default.restart),
            restart_delay=restart_delay,
            max_restart_delay=max_restart_delay,
            stable_after=m.get("stable_after", _duration(), default.stable_after),
            quarantine_retry=m.get("quarantine_retry", _duration(positive=True), default.quarantine_retry),
            start_limit=m.get("start_limit", _start_limit, default.start_limit),
            stop=m.get("stop", _stop, default.stop),
            depends_on=m.get("depends_on", _depends_on(name, names), ()),
            health=m.get("health", _health, None),
            limits=m.get("limits", _limits, default.limits),
            logs=m.get("logs", _logs(logs), logs),
            owners=m.get("owners", _string_list, ()),
            alert_channel=m.get("alert_channel", _string, None),
            autostart=m.get("autostart", _bool, default.autostart),
            fingerprint=m.get("fingerprint", _string_list, ()),
        )

    return parse


def _services(logs: LogSpec) -> Callable[[_Value], tuple[ServiceSpec, ...]]:
    def parse(value: _Value) -> tuple[ServiceSpec, ...]:
        m = _Map(value, None)
        if not m.entries:
            raise value.error("at least one service is required", line=value.key_line)
        names = frozenset(m.entries)
        specs: list[ServiceSpec] = []
        for name in m.entries:
            if not _SERVICE_NAME.fullmatch(name):
                m.report(name, "a service name starts with a letter or digit, then letters, digits, _ . -")
                continue
            spec = m.get(name, _service(name, names, logs), None, null_ok=False)
            if spec is not None:
                specs.append(spec)
        _check_cycles(value, specs)
        return tuple(specs)

    return parse


def _check_cycles(value: _Value, specs: list[ServiceSpec]) -> None:
    """Record the first dependency cycle, spelled "a -> b -> a", at the line of its first edge."""
    cycle = find_cycle({spec.name: spec.depends_on for spec in specs})
    if cycle:
        line = value.ctx.dependency_lines.get((cycle[0], cycle[1]))
        message = "dependency cycle: " + " -> ".join(cycle)
        value.ctx.errors.append(value.ctx.error(line, f"{value.key}.{cycle[0]}.depends_on", message))


def _http(value: _Value) -> HttpSpec:
    m = _Map(value, _HTTP_KEYS)
    host, port = m.get("listen", _address, (HttpSpec.host, HttpSpec.port))
    return HttpSpec(host=host, port=port)


def _slack(value: _Value) -> SlackSpec:
    m = _Map(value, _SLACK_KEYS)
    return SlackSpec(
        alert_channel=m.get("alert_channel", _string, None),
        digest_channel=m.get("digest_channel", _string, None),
    )


def _access(value: _Value) -> AccessSpec:
    m = _Map(value, _ACCESS_KEYS)
    return AccessSpec(
        admins=m.get("admins", _string_list, ()),
        operators=m.get("operators", _string_list, ()),
        viewers=m.get("viewers", _string_list, ()),
        channels=m.get("channels", _string_list, ()),
    )


def _alerts(value: _Value) -> AlertsSpec:
    m = _Map(value, _ALERTS_KEYS)
    default = AlertsSpec()
    return AlertsSpec(
        group_wait=m.get("group_wait", _duration(), default.group_wait),
        repeat_interval=m.get("repeat_interval", _duration(positive=True), default.repeat_interval),
    )


def _schedule(value: _Value) -> str:
    """The digest schedule, checked now ("mon 09:00", "daily 08:00"); kept in its canonical form."""
    try:
        return str(parse_schedule(_string(value)))
    except ValueError as exc:
        raise value.error(str(exc)) from None


def _digest(value: _Value) -> DigestSpec:
    m = _Map(value, _DIGEST_KEYS)
    default = DigestSpec()
    return DigestSpec(
        schedule=m.get("schedule", _schedule, default.schedule),
        timezone=m.get("timezone", _timezone, default.timezone),
    )


def _env_var_name(value: _Value) -> str:
    name = _string(value).strip()
    if not _ENV_NAME.fullmatch(name):
        raise value.error(f"expected an environment variable's name (letters, digits, _), got {value.got()}")
    return name


def _forward(value: _Value) -> ForwardSpec:
    """Where occurrences are forwarded; the secrets stay in the environment, only named here."""
    m = _Map(value, _FORWARD_KEYS)
    webhook = m.get("webhook", _url, None)
    secret_env = m.get("secret_env", _env_var_name, None)
    if secret_env is not None and webhook is None and m.ok("webhook"):
        m.report("secret_env", "signs the webhook's requests, but forward.webhook is not set")
    return ForwardSpec(
        webhook=webhook,
        secret_env=secret_env,
        timeout=m.get("timeout", _duration(positive=True), ForwardSpec().timeout),
    )


def _config(root: _Value, path: Path, environ: Mapping[str, str]) -> Config:
    m = _Map(root, _TOP_KEYS)
    folder = root.ctx.folder
    state_dir = m.get("state_dir", _path(folder), folder / ".svcbot")
    database = m.get("database", _database(folder), f"sqlite:///{state_dir / 'svcbot.db'}")
    logs = m.get("logs", _logs(LogSpec()), LogSpec())
    return Config(
        path=path,
        state_dir=state_dir,
        database=_database_override(environ) or database,
        services=m.require("services", _services(logs), ()),
        sample_interval=m.get("sample_interval", _duration(positive=True), 10.0),
        http=m.get("http", _http, HttpSpec()),
        slack=m.get("slack", _slack, SlackSpec()),
        access=m.get("access", _access, AccessSpec()),
        alerts=m.get("alerts", _alerts, AlertsSpec()),
        digest=m.get("digest", _digest, DigestSpec()),
        forward=m.get("forward", _forward, ForwardSpec()),
    )


def _database_override(environ: Mapping[str, str]) -> str | None:
    url = (environ.get(DATABASE_ENV) or "").strip()
    if not url:
        return None
    problem = database_url_problem(url)
    if problem:
        raise ConfigError(Path(f"${DATABASE_ENV}"), problem)
    return url


# --------------------------------------------------------------------------------------------------
# Loading


# libyaml's parser when PyYAML was built with it (about 5x faster on a 100-service file); the
# nodes, marks and errors are the same.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(shown: Path, data: bytes) -> tuple[yaml.SafeLoader, yaml.Node]:
    """The document's root node (what `yaml.compose` does), keeping the loader to construct scalars."""
    loader = _Loader(data)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = "; ".join(part for part in (err.context, err.problem) if part)
        raise ConfigError(
            shown, f"invalid YAML: {message}", line=None if mark is None else mark.line + 1
        ) from None
    except yaml.YAMLError as err:  # e.g. a ReaderError for bytes that are not UTF-8/16
        raise ConfigError(shown, f"invalid YAML: {err}") from None
    if root is None:
        raise ConfigError(shown, "the file is empty; it needs at least a 'services' mapping")
    return loader, root


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; raise ConfigError for the first problem in the file.

    `environ` (default `os.environ`) is only consulted for SVCBOT_DATABASE_URL, which wins over
    `database`. Relative paths in the file are made absolute against the file's folder.
    """
    shown = Path(path)
    absolute = Path(os.path.abspath(shown))
    try:
        data = absolute.read_bytes()
    except FileNotFoundError:
        raise ConfigError(shown, "no such file") from None
    except OSError as err:
        raise ConfigError(shown, f"cannot read: {err.strerror or err}") from None
    loader, root = _compose(shown, data)
    ctx = _Ctx(path=shown, folder=absolute.parent, loader=loader)
    top = _Value(ctx, root, "")
    if not isinstance(root, yaml.MappingNode):
        raise ctx.error(top.line, None, f"the top level must be a mapping of settings, got {top.got()}")
    config = _config(top, absolute, os.environ if environ is None else environ)
    if ctx.errors:
        raise min(ctx.errors, key=lambda err: err.line or 0)  # min() keeps the first of equals
    return config


def locate_state_dir(path: str | Path) -> Path:
    """Where the running svcbot for this config keeps its socket, even if the file is now broken.

    The CLI needs only this to reach a running manager, and a config being edited must not lock
    the operator out of `status`, `logs` or a `reload` that reports what is wrong with it.
    """
    absolute = Path(os.path.abspath(path))
    try:
        return load_config(absolute, {}).state_dir
    except ConfigError as err:
        if not absolute.exists():
            raise err from None
    try:
        text = absolute.read_text(errors="replace")
    except OSError:
        text = ""
    try:
        data = yaml.safe_load(text)
        raw = data.get("state_dir") if isinstance(data, dict) else None
    except yaml.YAMLError:
        raw = _scan_state_dir(text)  # a syntax error elsewhere must not hide where the manager is
    folder = absolute.parent
    if isinstance(raw, str) and raw:
        return Path(os.path.normpath(folder / Path(raw).expanduser()))
    return folder / ".svcbot"


_STATE_DIR_LINE = re.compile(
    r"""^state_dir[ \t]*:[ \t]*(?:"([^"]*)"|'([^']*)'|([^#\s][^#]*?))[ \t]*(?:#.*)?$"""
)


def _scan_state_dir(text: str) -> str | None:
    """`state_dir` read line by line from a file YAML cannot parse: the top-level key, unquoted or
    quoted, with an optional comment; the last one wins, as a YAML mapping's would."""
    found = None
    for line in text.splitlines():
        match = _STATE_DIR_LINE.match(line)
        if match:
            found = next(g for g in match.groups() if g is not None)
    return found
