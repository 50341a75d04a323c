"""Tests for manager.config.loader: loading svcbot.yml into the frozen Config, and its error messages."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest

from manager.config.loader import ConfigError, load_config, resolve_config_path
from manager.config.order import start_order
from manager.config.spec import (
    AccessSpec,
    AlertsSpec,
    Config,
    DigestSpec,
    HealthSpec,
    HttpSpec,
    LimitsSpec,
    LogSpec,
    RestartPolicy,
    ServiceSpec,
    SlackSpec,
    StartLimit,
    StopSpec,
)

FULL = """\
state_dir: ./.svcbot
database: sqlite:///svcbot.db
sample_interval: 10s
logs: {max_size: 10MiB, keep: 5, tail_lines: 50}
services:
  db:
    command: [postgres, -D, /var/lib/pg]
    health:
      tcp: 127.0.0.1:5432
  web:
    command: "python3 -m http.server 8080"
    cwd: ./examples
    env: {PYTHONUNBUFFERED: "1", WORKERS: 4, DEBUG: false}
    version: "1.4.2"
    restart: on-failure
    restart_delay: 100ms
    max_restart_delay: 30s
    stable_after: 10s
    quarantine_retry: 5m
    start_limit: {burst: 5, interval: 60s}
    stop: {signal: TERM, timeout: 10s}
    depends_on: [db]
    health:
      http: http://127.0.0.1:8080/
      interval: 5s
      timeout: 2s
      failures: 3
      grace: 0s
      on_unhealthy: restart
    limits: {memory: 512MiB, cpu: 90%, on_breach: alert}
    logs: {max_size: 10MiB, keep: 5, tail_lines: 50}
    owners: [S0WEBTEAM]
    alert_channel: C0WEBALERTS
    autostart: true
  check:
    command: sleep 1000
    health:
      command: "check_tcp -H 127.0.0.1 -p 5432"
      on_unhealthy: alert
    autostart: false
http: {listen: 127.0.0.1:8787}
slack: {alert_channel: C0ALERTS, digest_channel: C0OPS}
access: {admins: [U0ADMIN], operators: [U0OPS, S0ONCALL], channels: [C0OPS, C0ALERTS]}
alerts: {group_wait: 10s, repeat_interval: 4h}
digest: {schedule: "mon 09:00", timezone: UTC}
"""


def write(tmp_path: Path, text: str, name: str = "svcbot.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, text), environ or {})


def error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return info.value


MINIMAL = """\
services:
  web:
    command: sleep 1000
"""


# --------------------------------------------------------------------------------------------------
# Loading


def test_full_example_loads_with_values_and_types(tmp_path: Path) -> None:
    """Every key of the interface-contract example lands in the right spec field with the right type."""
    config = load(tmp_path, FULL)
    assert config.path == tmp_path / "svcbot.yml"
    assert config.state_dir == tmp_path / ".svcbot"
    assert config.database == f"sqlite:///{tmp_path}/svcbot.db"
    assert config.sample_interval == 10.0
    assert config.service_names == ("db", "web", "check")
    web = config.service("web")
    assert web == ServiceSpec(
        name="web",
        argv=("python3", "-m", "http.server", "8080"),
        cwd=tmp_path / "examples",
        env=(("PYTHONUNBUFFERED", "1"), ("WORKERS", "4"), ("DEBUG", "false")),
        version="1.4.2",
        restart=RestartPolicy.ON_FAILURE,
        restart_delay=0.1,
        max_restart_delay=30.0,
        stable_after=10.0,
        quarantine_retry=300.0,
        start_limit=StartLimit(burst=5, interval=60.0),
        stop=StopSpec(signal=signal.SIGTERM, timeout=10.0),
        depends_on=("db",),
        health=HealthSpec(kind="http", target="http://127.0.0.1:8080/", interval=5.0, timeout=2.0),
        limits=LimitsSpec(memory=512 * 2**20, cpu=90.0, on_breach="alert"),
        logs=LogSpec(max_size=10 * 2**20, keep=5, tail_lines=50),
        owners=("S0WEBTEAM",),
        alert_channel="C0WEBALERTS",
        autostart=True,
    )
    assert isinstance(web.restart, RestartPolicy)
    assert isinstance(web.stop.signal, signal.Signals)
    assert config.http == HttpSpec(host="127.0.0.1", port=8787)
    assert config.slack == SlackSpec(alert_channel="C0ALERTS", digest_channel="C0OPS")
    assert config.access == AccessSpec(
        admins=("U0ADMIN",), operators=("U0OPS", "S0ONCALL"), channels=("C0OPS", "C0ALERTS")
    )
    assert config.alerts == AlertsSpec(group_wait=10.0, repeat_interval=4 * 3600.0)
    assert config.digest == DigestSpec(schedule="mon 09:00", timezone="UTC")


def test_health_kinds_tcp_and_command(tmp_path: Path) -> None:
    """tcp keeps host:port as target; command keeps the line as target and splits it into argv."""
    config = load(tmp_path, FULL)
    db, check = config.service("db"), config.service("check")
    assert db is not None and check is not None
    assert db.health == HealthSpec(kind="tcp", target="127.0.0.1:5432")
    assert check.health == HealthSpec(
        kind="command",
        target="check_tcp -H 127.0.0.1 -p 5432",
        argv=("check_tcp", "-H", "127.0.0.1", "-p", "5432"),
        on_unhealthy="alert",
    )
    assert check.autostart is False
    assert db.argv == ("postgres", "-D", "/var/lib/pg")


def test_defaults(tmp_path: Path) -> None:
    """With only services given, everything else takes the spec defaults, paths beside the config file."""
    config = load(tmp_path, MINIMAL)
    assert config == Config(
        path=tmp_path / "svcbot.yml",
        state_dir=tmp_path / ".svcbot",
        database=f"sqlite:///{tmp_path}/.svcbot/svcbot.db",
        services=(ServiceSpec(name="web", argv=("sleep", "1000"), cwd=tmp_path),),
    )
    assert config.database.startswith("sqlite:////")  # four slashes: an absolute SQLite path


def test_top_level_logs_are_defaults_overridden_key_by_key(tmp_path: Path) -> None:
    """A service's logs section overrides the top-level logs one key at a time."""
    config = load(
        tmp_path,
        """\
        logs: {max_size: 1MiB, keep: 2}
        services:
          a: {command: x}
          b: {command: x, logs: {keep: 9, tail_lines: 10}}
        """,
    )
    assert [s.logs for s in config.services] == [
        LogSpec(max_size=2**20, keep=2, tail_lines=50),
        LogSpec(max_size=2**20, keep=9, tail_lines=10),
    ]


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """state_dir, cwd and a relative SQLite path are relative to the config file's folder, not the cwd."""
    folder = tmp_path / "etc"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    path = write(
        folder,
        """\
        state_dir: state
        database: sqlite:///../data/db.sqlite?timeout=5
        services:
          web: {command: x, cwd: ../app}
          abs: {command: x, cwd: /srv/abs}
        """,
    )
    config = load_config(Path("etc") / path.name, {})
    assert config.path == folder / "svcbot.yml"
    assert config.state_dir == folder / "state"
    assert config.database == f"sqlite:///{tmp_path}/data/db.sqlite?timeout=5"
    assert [s.cwd for s in config.services] == [tmp_path / "app", Path("/srv/abs")]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://svcbot@db.example/svcbot",
        "sqlite:////var/lib/svcbot.db",
        "sqlite://",
        "sqlite:///:memory:",
    ],
)
def test_absolute_and_non_sqlite_database_urls_are_kept(tmp_path: Path, url: str) -> None:
    """Database URLs other than a relative SQLite path are kept exactly as written."""
    config = load(tmp_path, f"database: '{url}'\n" + MINIMAL)
    assert config.database == url


def test_database_env_overrides_file(tmp_path: Path) -> None:
    """SVCBOT_DATABASE_URL in the environment wins over `database` in the file."""
    url = "postgresql://u@h/db"
    config = load(tmp_path, "database: sqlite:///x.db\n" + MINIMAL, {"SVCBOT_DATABASE_URL": url})
    assert config.database == url


def test_unsupported_database_is_a_config_error(tmp_path: Path) -> None:
    """A database svcbot cannot store in is refused at load time, naming the key and the scheme."""
    with pytest.raises(ConfigError) as err:
        load(tmp_path, "database: mysql://root@localhost/svcbot\n" + MINIMAL)
    assert err.value.key == "database"
    assert "unsupported database 'mysql'" in str(err.value)


def test_bad_database_env_names_the_variable(tmp_path: Path) -> None:
    """A bad SVCBOT_DATABASE_URL is an error that names the variable, not the file."""
    with pytest.raises(ConfigError, match=r"^\$SVCBOT_DATABASE_URL: unsupported database 'oracle'"):
        load(tmp_path, MINIMAL, {"SVCBOT_DATABASE_URL": "oracle://x/y"})


def test_digest_schedule_is_checked_at_load(tmp_path: Path) -> None:
    """A bad digest.schedule is a config error with its line and a did-you-mean; a good one is kept
    in canonical form."""
    with pytest.raises(ConfigError) as err:
        load(tmp_path, "digest:\n  schedule: mnday 09:00\n" + MINIMAL)
    assert err.value.line == 2 and "did you mean 'mon'" in str(err.value)
    assert load(tmp_path, "digest:\n  schedule: Monday 9:00\n" + MINIMAL).digest.schedule == "mon 09:00"


def test_database_env_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit environ, load_config reads SVCBOT_DATABASE_URL from os.environ."""
    monkeypatch.setenv("SVCBOT_DATABASE_URL", "postgresql://from-env/db")
    assert load_config(write(tmp_path, MINIMAL)).database == "postgresql://from-env/db"


def test_values_are_read_as_written_not_as_yaml_1_1(tmp_path: Path) -> None:
    """Unquoted versions and env values keep their text: 1.10 stays "1.10", yes stays "yes"."""
    config = load(
        tmp_path,
        """\
        services:
          web:
            command: [sleep, 10]
            version: 1.10
            env: {A: yes, B: 010, C: 1.5e3, D: ""}
        """,
    )
    web = config.services[0]
    assert web.argv == ("sleep", "10")
    assert web.version == "1.10"
    assert web.env_dict == {"A": "yes", "B": "010", "C": "1.5e3", "D": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TERM", signal.SIGTERM),
        ("sigterm", signal.SIGTERM),
        ("SIGINT", signal.SIGINT),
        ("quit", signal.SIGQUIT),
        ("Hup", signal.SIGHUP),
        ("KILL", signal.SIGKILL),
        ("usr1", signal.SIGUSR1),
        ("SIGUSR2", signal.SIGUSR2),
    ],
)
def test_stop_signal_names(tmp_path: Path, text: str, expected: signal.Signals) -> None:
    """Stop signals are case-insensitive, with or without the SIG prefix."""
    config = load(tmp_path, MINIMAL + f"    stop: {{signal: {text}}}\n")
    assert config.services[0].stop.signal is expected


def test_http_listen_ipv6(tmp_path: Path) -> None:
    """http.listen accepts a bracketed IPv6 address."""
    config = load(tmp_path, MINIMAL + "http: {listen: '[::1]:9000'}\n")
    assert config.http == HttpSpec(host="::1", port=9000)


def test_yaml_merge_keys(tmp_path: Path) -> None:
    """`<<: *anchor` merges a mapping; the service's own keys win over merged ones."""
    config = load(
        tmp_path,
        """\
        services:
          a: &base
            command: x
            restart: always
          b:
            <<: *base
            command: y
        """,
    )
    a, b = config.services
    assert (b.argv, b.restart) == (("y",), RestartPolicy.ALWAYS)
    assert (a.argv, a.restart) == (("x",), RestartPolicy.ALWAYS)


def test_config_is_frozen(tmp_path: Path) -> None:
    """The loaded configuration cannot be modified."""
    config = load(tmp_path, MINIMAL)
    with pytest.raises(AttributeError):
        config.services[0].argv = ()  # type: ignore[misc]


# --------------------------------------------------------------------------------------------------
# Errors


def test_unknown_key_with_did_you_mean_and_line(tmp_path: Path) -> None:
    """An unknown key names file, line and dotted key, and suggests the closest known key."""
    err = error(
        tmp_path,
        """\
        services:
          web:
            command: x
            restrat: always
        """,
    )
    assert (err.line, err.key) == (4, "services.web.restrat")
    assert err.message == "unknown key; did you mean 'restart'?"
    assert (
        str(err) == f"{tmp_path / 'svcbot.yml'}:4: services.web.restrat: unknown key; did you mean 'restart'?"
    )
    assert err.path == tmp_path / "svcbot.yml"


def test_unknown_key_without_close_match_lists_known_keys(tmp_path: Path) -> None:
    """An unknown key unlike any known one lists the keys allowed there."""
    err = error(tmp_path, MINIMAL + "    health: {http: 'http://x/', zzz: 1}\n")
    assert err.key == "services.web.health.zzz"
    assert "expected one of http, tcp, command, interval" in err.message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    """Unknown keys at the top level are reported with a suggestion too."""
    err = error(tmp_path, "servics:\n  web: {command: x}\n")
    assert (err.line, err.key) == (1, "servics")
    assert "did you mean 'services'?" in err.message


def test_duplicate_key_reports_the_second(tmp_path: Path) -> None:
    """A key given twice in one mapping is an error at the line of the second."""
    err = error(
        tmp_path,
        """\
        services:
          web:
            command: x
            restart: always
            restart: never
        """,
    )
    assert (err.line, err.key) == (5, "services.web.restart")
    assert "duplicate key" in err.message and "line 4" in err.message


def test_duplicate_service_name(tmp_path: Path) -> None:
    """Two services with the same name are a duplicate key."""
    err = error(tmp_path, "services:\n  web: {command: x}\n  web: {command: y}\n")
    assert (err.line, err.key) == (3, "services.web")


def test_bad_duration(tmp_path: Path) -> None:
    """A wrong duration names the key and what is expected."""
    err = error(tmp_path, MINIMAL + "    health: {http: 'http://x/', interval: fast}\n")
    assert (err.line, err.key) == (4, "services.web.health.interval")
    assert err.message == "expected a duration like 5s or 100ms, got 'fast'"


@pytest.mark.parametrize(
    ("snippet", "key", "fragment"),
    [
        ("restart_delay: -1s", "services.web.restart_delay", "expected a duration"),
        ("quarantine_retry: 0s", "services.web.quarantine_retry", "more than 0"),
        ("restart: sometimes", "services.web.restart", "expected one of always, on-failure, never"),
        ("restart: alway", "services.web.restart", "did you mean 'always'?"),
        ("restart: no", "services.web.restart", "got 'no'"),
        ("start_limit: {burst: 0}", "services.web.start_limit.burst", "at least 1"),
        ("start_limit: {burst: many}", "services.web.start_limit.burst", "expected a whole number"),
        ("start_limit: {burst: 2.5}", "services.web.start_limit.burst", "expected a whole number"),
        ("limits: {memory: lots}", "services.web.limits.memory", "expected a size like 512MiB"),
        ("limits: {cpu: 0%}", "services.web.limits.cpu", "more than 0%"),
        ("limits: {on_breach: kill}", "services.web.limits.on_breach", "alert, restart"),
        ("autostart: maybe", "services.web.autostart", "expected true or false"),
        ("owners: S0WEB", "services.web.owners", "expected a list, got 'S0WEB'"),
        ("env: [A=1]", "services.web.env", "expected a mapping, got a list"),
        ("env: {1BAD: x}", "services.web.env.1BAD", "environment variable name"),
        ("env: {A: {b: c}}", "services.web.env.A", "got a mapping"),
        ("max_restart_delay: 50ms", "services.web.max_restart_delay", "at least restart_delay (100ms)"),
        ("version: ''", "services.web.version", "must not be empty"),
    ],
)
def test_wrong_values(tmp_path: Path, snippet: str, key: str, fragment: str) -> None:
    """Wrong types and out-of-range values name the dotted key, the line and what is expected."""
    err = error(tmp_path, MINIMAL + f"    {snippet}\n")
    assert (err.line, err.key) == (4, key)
    assert fragment in err.message


def test_bad_signal(tmp_path: Path) -> None:
    """An unsupported stop signal lists the accepted names."""
    err = error(tmp_path, MINIMAL + "    stop: {signal: SIGSEGV}\n")
    assert (err.line, err.key) == (4, "services.web.stop.signal")
    assert "TERM, INT, QUIT, HUP, KILL, USR1, USR2" in err.message


def test_unknown_dependency(tmp_path: Path) -> None:
    """depends_on must name an existing service, with a suggestion for a typo."""
    err = error(
        tmp_path,
        """\
        services:
          db: {command: x}
          web:
            command: x
            depends_on:
              - dbb
        """,
    )
    assert (err.line, err.key) == (6, "services.web.depends_on")
    assert err.message == "unknown service 'dbb'; did you mean 'db'?"


def test_self_dependency(tmp_path: Path) -> None:
    """A service cannot depend on itself."""
    err = error(tmp_path, MINIMAL + "    depends_on: [web]\n")
    assert (err.line, err.key) == (4, "services.web.depends_on")
    assert "itself" in err.message


def test_dependency_cycle_is_spelled_out(tmp_path: Path) -> None:
    """A dependency cycle is rejected with the cycle spelled "a -> b -> c -> a"."""
    err = error(
        tmp_path,
        """\
        services:
          a: {command: x, depends_on: [b]}
          b: {command: x, depends_on: [c]}
          c: {command: x, depends_on: [a]}
          d: {command: x}
        """,
    )
    assert (err.line, err.key) == (2, "services.a.depends_on")
    assert err.message == "dependency cycle: a -> b -> c -> a"


def test_two_service_cycle(tmp_path: Path) -> None:
    """Two services depending on each other form the cycle "a -> b -> a"."""
    err = error(
        tmp_path, "services:\n  a: {command: x, depends_on: [b]}\n  b: {command: x, depends_on: [a]}\n"
    )
    assert err.message == "dependency cycle: a -> b -> a"


def test_health_with_two_kinds(tmp_path: Path) -> None:
    """A health check with both http and tcp is an error at the second one."""
    err = error(
        tmp_path,
        MINIMAL
        + """\
    health:
      http: http://127.0.0.1:8080/
      tcp: 127.0.0.1:8080
""",
    )
    assert (err.line, err.key) == (6, "services.web.health.tcp")
    assert "one of http, tcp or command" in err.message


def test_health_with_no_kind(tmp_path: Path) -> None:
    """A health check with none of http, tcp, command is an error at the health key."""
    err = error(tmp_path, MINIMAL + "    health:\n      interval: 5s\n")
    assert (err.line, err.key) == (4, "services.web.health")
    assert "needs one of http, tcp or command" in err.message


def test_health_http_must_be_http_url(tmp_path: Path) -> None:
    """An http check needs an http:// or https:// URL."""
    err = error(tmp_path, MINIMAL + "    health: {http: 'ftp://x/'}\n")
    assert err.key == "services.web.health.http"
    assert "http:// or https://" in err.message


@pytest.mark.parametrize(
    ("listen", "fragment"),
    [
        ("127.0.0.1:0", "between 1 and 65535, got 0"),
        ("127.0.0.1:70000", "between 1 and 65535, got 70000"),
        ("127.0.0.1", "expected host:port"),
        (":8787", "expected host:port"),
        ("::1:8787", "expected host:port"),
    ],
)
def test_bad_listen_address(tmp_path: Path, listen: str, fragment: str) -> None:
    """http.listen needs host:port with a port in 1..65535."""
    err = error(tmp_path, MINIMAL + f"http:\n  listen: '{listen}'\n")
    assert (err.line, err.key) == (5, "http.listen")
    assert fragment in err.message


def test_bad_tcp_port(tmp_path: Path) -> None:
    """A tcp health check needs a port in 1..65535."""
    err = error(tmp_path, MINIMAL + "    health: {tcp: 'localhost:99999'}\n")
    assert err.key == "services.web.health.tcp"
    assert "between 1 and 65535" in err.message


@pytest.mark.parametrize(("text", "got"), [("- a\n- b\n", "a list"), ("just text\n", "'just text'")])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    """A top level that is not a mapping is an error at line 1 without a key."""
    err = error(tmp_path, text)
    assert (err.line, err.key) == (1, None)
    assert err.message.endswith(f"got {got}")
    assert str(err) == f"{tmp_path / 'svcbot.yml'}:1: {err.message}"


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    """A YAML syntax error is reported with the line PyYAML points at."""
    err = error(tmp_path, "services:\n  web:\n    command: [a, b\n  db: {}\n")
    assert err.line == 4
    assert err.key is None
    assert err.message.startswith("invalid YAML:")


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a ConfigError naming the path, without a line."""
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yml", {})
    assert info.value.line is None
    assert str(info.value) == f"{tmp_path / 'nope.yml'}: no such file"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    """A path that cannot be read is a ConfigError, not an OSError."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path, {})


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    """An empty (or comment-only) file is an error saying services are needed."""
    err = error(tmp_path, text)
    assert err.line is None
    assert "empty" in err.message and "services" in err.message


@pytest.mark.parametrize(
    ("text", "line", "key", "fragment"),
    [
        ("state_dir: x\n", 1, "services", "required"),
        ("services: {}\n", 1, "services", "at least one service"),
        ("services:\n", 1, "services", "required"),
        ("services:\n  web:\n", 2, "services.web", "expected a mapping, got nothing"),
        ("services:\n  web: {cwd: /}\n", 2, "services.web.command", "required"),
    ],
)
def test_missing_required(tmp_path: Path, text: str, line: int, key: str, fragment: str) -> None:
    """services, at least one service, and each service's command are required."""
    err = error(tmp_path, text)
    assert (err.line, err.key) == (line, key)
    assert fragment in err.message


@pytest.mark.parametrize("name", ["-web", "web app", "_x", "wéb"])
def test_bad_service_name(tmp_path: Path, name: str) -> None:
    """Service names start with a letter or digit, then letters, digits, _ . -."""
    err = error(tmp_path, f"services:\n  '{name}': {{command: x}}\n")
    assert (err.line, err.key) == (2, f"services.{name}")
    assert "service name" in err.message


@pytest.mark.parametrize("command", ["''", "'   '", "[]", "['']"])
def test_empty_command(tmp_path: Path, command: str) -> None:
    """An empty command string or list is rejected."""
    err = error(tmp_path, f"services:\n  web:\n    command: {command}\n")
    assert (err.line, err.key) == (3, "services.web.command")
    assert "must not be empty" in err.message


def test_unsplittable_command(tmp_path: Path) -> None:
    """A command line with an unclosed quote is an error, not a crash."""
    err = error(tmp_path, "services:\n  web:\n    command: echo 'oops\n")
    assert err.key == "services.web.command"
    assert "No closing quotation" in err.message


def test_bad_timezone(tmp_path: Path) -> None:
    """The digest timezone must be a zone zoneinfo knows."""
    err = error(tmp_path, MINIMAL + "digest: {timezone: Mars/Olympus}\n")
    assert err.key == "digest.timezone"
    assert "Mars/Olympus" in err.message


def test_non_string_key(tmp_path: Path) -> None:
    """A complex (non-scalar) key is rejected."""
    err = error(tmp_path, MINIMAL + "? [a, b]\n: c\n")
    assert err.line == 4
    assert "keys must be strings" in err.message


@pytest.mark.parametrize(
    ("snippet", "fragment"),
    [
        ("env: {A: !env FOO}", "unsupported YAML tag '!env'"),
        ("autostart: !!bool maybe", "cannot read 'maybe' as bool"),
        ("<<: 5", "'<<' needs a mapping or a list of mappings"),
    ],
)
def test_yaml_tags_and_merges_that_cannot_be_used(tmp_path: Path, snippet: str, fragment: str) -> None:
    """Application tags, values that do not fit their explicit tag, and bad merges are errors with a line."""
    err = error(tmp_path, f"services:\n  web:\n    {snippet}\n    command: x\n")
    assert err.line == 3
    assert fragment in err.message


def test_first_problem_in_file_order_is_raised(tmp_path: Path) -> None:
    """With several problems, the one earliest in the file is raised, whatever order sections are read in."""
    err = error(
        tmp_path,
        """\
        http: {listen: nowhere}
        services:
          web:
            restart: sometimes
            command: x
            restrat: always
        """,
    )
    assert (err.line, err.key) == (1, "http.listen")
    err = error(
        tmp_path,
        """\
        services:
          web:
            restart: sometimes
            restrat: always
        """,
    )
    assert (err.line, err.key) == (2, "services.web.command")


def test_config_error_str_omits_missing_parts() -> None:
    """str(ConfigError) is path:line: key: message, leaving out the parts that are None."""
    assert str(ConfigError(Path("a.yml"), "bad", line=3, key="x.y")) == "a.yml:3: x.y: bad"
    assert str(ConfigError(Path("a.yml"), "bad", key="x.y")) == "a.yml: x.y: bad"
    assert str(ConfigError(Path("a.yml"), "bad", line=3)) == "a.yml:3: bad"
    assert str(ConfigError("a.yml", "bad")) == "a.yml: bad"


# --------------------------------------------------------------------------------------------------
# Config path and start order


def test_resolve_config_path_precedence() -> None:
    """--config wins over SVCBOT_CONFIG, which wins over ./svcbot.yml."""
    env = {"SVCBOT_CONFIG": "/etc/svcbot.yml"}
    assert resolve_config_path("mine.yml", env) == Path("mine.yml")
    assert resolve_config_path(None, env) == Path("/etc/svcbot.yml")
    assert resolve_config_path(None, {}) == Path("svcbot.yml")
    assert resolve_config_path("", {"SVCBOT_CONFIG": ""}) == Path("svcbot.yml")


def test_start_order_levels(tmp_path: Path) -> None:
    """Services are grouped by dependency depth, each level in file order."""
    config = load(
        tmp_path,
        """\
        services:
          web: {command: x, depends_on: [api, cache]}
          api: {command: x, depends_on: [db]}
          db: {command: x}
          cache: {command: x}
          worker: {command: x, depends_on: [db]}
          cron: {command: x}
        """,
    )
    assert start_order(config) == [["db", "cache", "cron"], ["api", "worker"], ["web"]]


def test_start_order_rejects_cycles_in_hand_built_config(tmp_path: Path) -> None:
    """start_order raises ValueError for a cycle or unknown dependency that did not come from load_config."""
    a = ServiceSpec(name="a", argv=("x",), cwd=tmp_path, depends_on=("b",))
    b = ServiceSpec(name="b", argv=("x",), cwd=tmp_path, depends_on=("a",))
    config = Config(path=tmp_path, state_dir=tmp_path, database="", services=(a, b))
    with pytest.raises(ValueError, match=r"a -> b -> a"):
        start_order(config)
    with pytest.raises(ValueError, match="unknown service 'b'"):
        start_order(Config(path=tmp_path, state_dir=tmp_path, database="", services=(a,)))
