"""Every `svcbot.yml` key in one declarative table: its type, default, description and example.

`manager.config.reference` renders it to `docs/configuration.md` and holds it to the parser. Examples and
defaults are YAML text as a user would write it, so that the tests can put them in a file and parse them
with the real loader rather than compare against a second description of the types.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KEYS", "OTHER_SERVICE", "SECTIONS", "SERVICE", "TYPES", "Key"]


@dataclass(frozen=True)
class Key:
    """One key of `svcbot.yml`.

    `path` is dotted, with `<name>` for a service's name. `example` and `default` are YAML text
    (`5s`, `[db]`); a mapping with keys of its own (a section) has no example, its keys do.
    `default` is what leaving the key out amounts to, written as a value (the tests write it into a
    file and expect the same config as without it); None when leaving it out means "not set", or
    when the default follows another key. `default_text` is shown instead of `default` when the
    bare value would mislead (a relative path) or there is none to show. Keys sharing a `one_of`
    group are alternatives: exactly one of them is given.
    """

    path: str
    type: str
    description: str
    example: str | None = None
    default: str | None = None
    default_text: str = ""
    required: bool = False
    one_of: str = ""

    @property
    def parent(self) -> str:
        return self.path.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2]


# Types, spelled the same everywhere; the "Value types" table below says what each accepts.
DURATION = "duration"
SIZE = "size"
PERCENT = "percent"
STRING = "string"
PATH = "path"
COMMAND = "command"
INTEGER_0 = "integer ≥ 0"
INTEGER_1 = "integer ≥ 1"
BOOLEAN = "boolean"
SLACK_IDS = "list of Slack IDs"
SLACK_CHANNEL = "Slack channel ID"
MAPPING = "mapping"

TYPES: tuple[tuple[str, str], ...] = (
    (
        DURATION,
        "a number with a unit `ms`, `s`, `m`, `h` or `d`: `100ms`, `5s`, `2m`, `1m30s`; "
        "or a bare number of seconds",
    ),
    (
        SIZE,
        "`512MiB`, `1GiB` (powers of 1024: `KiB`, `MiB`, `GiB`, `TiB`), `100MB` (powers of 1000: "
        "`kB`, `MB`, `GB`, `TB`); or a bare number of bytes",
    ),
    (PERCENT, "percent of one CPU core: `90%`; `150%` is one and a half cores"),
    (PATH, "a file or folder; a relative path is relative to the config file's folder, `~` is expanded"),
    (COMMAND, "a string split like a shell would split it (but never run by one), or a list of strings"),
    (
        SLACK_IDS,
        "Slack IDs, never names: users `U...`, user groups `S...` (and channels `C...` where "
        "channels are meant)",
    ),
    (STRING, "a string, taken as written: `1.10` stays `1.10`, `yes` stays `yes`"),
)

SERVICE = "services.<name>"
_HEALTH = f"{SERVICE}.health"

KEYS: tuple[Key, ...] = (
    # -- top level ------------------------------------------------------------------------------------
    Key(
        "state_dir",
        PATH,
        "Where svcbot keeps its control socket, state file, logs, spool and default SQLite database.",
        "./.svcbot",
        default=".svcbot",
        default_text="`.svcbot` next to the config file",
    ),
    Key(
        "database",
        "database URL",
        "Where reports, issues and feedback are stored: `sqlite:///FILE` "
        "or `postgresql://user@host/db`. A relative SQLite path is relative to the config file; "
        "`$SVCBOT_DATABASE_URL` wins over this key.",
        "sqlite:///svcbot.db",
        default_text="`svcbot.db` in `state_dir`",
    ),
    Key(
        "sample_interval",
        DURATION,
        "Time between two samples of every service's CPU and memory.",
        "10s",
        default="10s",
    ),
    Key(
        "logs",
        MAPPING,
        "Log settings shared by every service; a service's own `logs` overrides them key by key.",
    ),
    Key(
        "services",
        "mapping of service name to service",
        "The services to supervise, in start order "
        "(after `depends_on`). A name starts with a letter or digit, then letters, digits, `_`, `.`, "
        "`-`.",
        required=True,
    ),
    Key("http", MAPPING, "svcbot's HTTP listener."),
    Key("slack", MAPPING, "Where the Slack front end posts."),
    Key("access", MAPPING, "Who may do what from Slack."),
    Key("alerts", MAPPING, "How alerts are grouped and repeated."),
    Key("digest", MAPPING, "When the weekly digest is posted."),
    Key("forward", MAPPING, "Where a copy of every occurrence is sent."),
    # -- logs -------------------------------------------------------------------------------------------
    Key("logs.max_size", SIZE, "Size at which a service's log file is rotated.", "50MiB", default="10MiB"),
    Key("logs.keep", INTEGER_0, "Rotated log files kept besides the current one.", "5", default="5"),
    Key(
        "logs.tail_lines",
        INTEGER_0,
        "Last lines of stderr kept in memory for crash reports.",
        "50",
        default="50",
    ),
    # -- services.<name> ------------------------------------------------------------------------------
    Key(f"{SERVICE}.command", COMMAND, "The program to run.", "python3 -m http.server 8080", required=True),
    Key(
        f"{SERVICE}.cwd",
        PATH,
        "Working directory of the service.",
        "./site",
        default=".",
        default_text="the config file's folder",
    ),
    Key(
        f"{SERVICE}.env",
        "mapping of variable name to string",
        "Added to svcbot's environment, "
        "which services inherit minus svcbot's own credentials (`SLACK_*`, `SVCBOT_*`, `SENTRY_*`).",
        '{PYTHONUNBUFFERED: "1"}',
    ),
    Key(
        f"{SERVICE}.version",
        STRING,
        "The service's version, recorded with every report; issues "
        "resolved in a version reopen as regressions in that version or a later one.",
        '"1.4.2"',
    ),
    Key(
        f"{SERVICE}.version_command",
        COMMAND,
        "Prints the version (its first line) when the service starts, in the service's `cwd`; it wins "
        "over `version` when it succeeds within 5 s. A new version is a release: recorded and "
        "announced in the digest channel.",
        "git describe --tags",
    ),
    Key(
        f"{SERVICE}.restart",
        "`always` | `on-failure` | `never`",
        "When an exited service is started again; `on-failure`: after a non-zero exit code or a signal.",
        "always",
        default="on-failure",
    ),
    Key(
        f"{SERVICE}.restart_delay",
        DURATION,
        "Delay before the first automatic restart; it doubles with each further failure "
        "(±20 % jitter) up to `max_restart_delay`.",
        "250ms",
        default="100ms",
    ),
    Key(
        f"{SERVICE}.max_restart_delay",
        DURATION,
        "Cap of the restart backoff; at least `restart_delay`.",
        "1m",
        default="30s",
    ),
    Key(
        f"{SERVICE}.stable_after",
        DURATION,
        "A run this long resets the backoff and ends a quarantine.",
        "30s",
        default="10s",
    ),
    Key(
        f"{SERVICE}.quarantine_retry",
        DURATION,
        "Delay between the slow retries of a quarantined service.",
        "10m",
        default="5m",
    ),
    Key(
        f"{SERVICE}.start_limit",
        MAPPING,
        "Crash-loop detection: too many restarts quarantine the service and send one alert.",
    ),
    Key(f"{SERVICE}.stop", MAPPING, "How the service is stopped."),
    Key(
        f"{SERVICE}.depends_on",
        "list of service names",
        "Services that must be ready (up, and passing their health check if they have one) "
        "before this one starts; it is stopped before them.",
        "[db]",
    ),
    Key(
        f"{SERVICE}.health",
        MAPPING,
        "A health check; without one, a service is ready once spawned.",
        default_text="no check",
    ),
    Key(f"{SERVICE}.limits", MAPPING, "Resource limits over the service's whole process tree."),
    Key(f"{SERVICE}.logs", MAPPING, "This service's log settings: each key overrides the top-level `logs`."),
    Key(
        f"{SERVICE}.owners",
        SLACK_IDS,
        "Users or user groups mentioned in this service's alerts.",
        "[S0WEBTEAM, U0ALICE]",
    ),
    Key(
        f"{SERVICE}.alert_channel",
        SLACK_CHANNEL,
        "Where this service's alerts go, instead of `slack.alert_channel`.",
        "C0WEBALERTS",
    ),
    Key(
        f"{SERVICE}.autostart",
        BOOLEAN,
        "Start the service with `svcbot run`; `false`: only on `svcbot start NAME`.",
        "false",
        default="true",
    ),
    Key(
        f"{SERVICE}.fingerprint",
        "list of strings",
        "Groups this service's reports into issues "
        "explicitly (Sentry-style); `{{ default }}` stands for the default grouping.",
        '["{{ default }}", db]',
    ),
    Key(
        f"{SERVICE}.start_limit.burst",
        INTEGER_1,
        "More than this many automatic restarts within `interval` quarantine the service.",
        "3",
        default="5",
    ),
    Key(
        f"{SERVICE}.start_limit.interval", DURATION, "The window `burst` is counted in.", "2m", default="60s"
    ),
    Key(
        f"{SERVICE}.stop.signal",
        "signal name",
        "Sent to the whole process tree first: `TERM`, "
        "`INT`, `QUIT`, `HUP`, `KILL`, `USR1` or `USR2` (`SIG` prefix optional).",
        "INT",
        default="TERM",
    ),
    Key(
        f"{SERVICE}.stop.timeout",
        DURATION,
        "Wait this long after the signal, then SIGKILL what is left of the tree.",
        "30s",
        default="10s",
    ),
    # -- services.<name>.health -------------------------------------------------------------------------
    Key(
        f"{_HEALTH}.http",
        "http(s) URL",
        "Passes when a GET answers with a status below 400.",
        "http://127.0.0.1:8080/healthz",
        one_of="check",
    ),
    Key(
        f"{_HEALTH}.tcp",
        "host:port",
        "Passes when a TCP connection is accepted.",
        "127.0.0.1:5432",
        one_of="check",
    ),
    Key(
        f"{_HEALTH}.command",
        COMMAND,
        "A Nagios-style plugin: exit 0 OK passes; 1 WARNING, "
        "2 CRITICAL and 3 UNKNOWN fail. Its first output line is kept.",
        "check_tcp -H 127.0.0.1 -p 5432",
        one_of="check",
    ),
    Key(
        f"{_HEALTH}.interval",
        DURATION,
        "Time between checks (checks run faster until the first one passes).",
        "10s",
        default="5s",
    ),
    Key(
        f"{_HEALTH}.timeout",
        DURATION,
        "A check taking longer fails (a command check is killed).",
        "1s",
        default="2s",
    ),
    Key(
        f"{_HEALTH}.failures",
        INTEGER_1,
        "Consecutive failures before the service is unhealthy.",
        "2",
        default="3",
    ),
    Key(
        f"{_HEALTH}.grace",
        DURATION,
        "After a start, failures are not counted for this long.",
        "30s",
        default="0s",
    ),
    Key(
        f"{_HEALTH}.on_unhealthy",
        "`restart` | `alert`",
        "What an unhealthy service gets: a restart, or only an alert.",
        "alert",
        default="restart",
    ),
    # -- services.<name>.limits -------------------------------------------------------------------------
    Key(f"{SERVICE}.limits.memory", SIZE, "RSS summed over the process tree.", "512MiB"),
    Key(f"{SERVICE}.limits.cpu", PERCENT, "CPU summed over the process tree.", "90%"),
    Key(
        f"{SERVICE}.limits.on_breach",
        "`alert` | `restart`",
        "What a breach of a limit does besides the event.",
        "restart",
        default="alert",
    ),
    # -- services.<name>.logs -----------------------------------------------------------------------------
    Key(
        f"{SERVICE}.logs.max_size",
        SIZE,
        "Overrides `logs.max_size` for this service.",
        "100MiB",
        default_text="`logs.max_size`",
    ),
    Key(
        f"{SERVICE}.logs.keep",
        INTEGER_0,
        "Overrides `logs.keep` for this service.",
        "10",
        default_text="`logs.keep`",
    ),
    Key(
        f"{SERVICE}.logs.tail_lines",
        INTEGER_0,
        "Overrides `logs.tail_lines` for this service.",
        "200",
        default_text="`logs.tail_lines`",
    ),
    # -- http, slack, access, alerts, digest -----------------------------------------------------------
    Key(
        "http.listen",
        "host:port",
        "Address of `POST /slack/events` (Slack HTTP mode), `/healthz`, "
        "`/metrics` and `POST /alertmanager`; `[::1]:8787` for IPv6.",
        "0.0.0.0:8787",
        default="127.0.0.1:8787",
    ),
    Key("slack.alert_channel", SLACK_CHANNEL, "Where alerts are posted.", "C0ALERTS"),
    Key(
        "slack.digest_channel",
        SLACK_CHANNEL,
        "Where the weekly digest is posted (details in its thread).",
        "C0OPS",
    ),
    Key("access.admins", SLACK_IDS, "May run every command.", "[U0ADMIN]"),
    Key(
        "access.operators",
        SLACK_IDS,
        "May start, stop, restart, silence, acknowledge and resolve.",
        "[U0OPS, S0ONCALL]",
    ),
    Key(
        "access.viewers",
        SLACK_IDS,
        "May see status, logs and help; none listed: everyone in an allowed channel.",
        "[S0ENGINEERS]",
    ),
    Key(
        "access.channels",
        "list of Slack channel IDs",
        "Where `/svc` is accepted; none listed: anywhere.",
        "[C0OPS, C0ALERTS]",
    ),
    Key(
        "alerts.group_wait",
        DURATION,
        "New alerts of a channel wait this long to go out together in one message.",
        "30s",
        default="10s",
    ),
    Key(
        "alerts.repeat_interval",
        DURATION,
        "An alert still firing, not acknowledged and not silenced is repeated after this long.",
        "12h",
        default="4h",
    ),
    Key(
        "digest.schedule",
        "schedule",
        "When the digest is posted: `mon 09:00`, `daily 08:00`, `weekdays 09:00`, `mon,thu 09:00`.",
        '"fri 16:00"',
        default='"mon 09:00"',
    ),
    Key("digest.timezone", "time zone", "IANA time zone of `schedule`.", "Europe/Paris", default="UTC"),
    # -- forward ------------------------------------------------------------------------------------------
    Key(
        "forward.webhook",
        "http(s) URL",
        "Receives one JSON POST per occurrence.",
        "https://hooks.example.com/svcbot",
    ),
    Key(
        "forward.secret_env",
        "environment variable name",
        "The variable holding the HMAC-SHA256 secret that signs the webhook's body (the secret "
        "itself never goes in this file); needs `webhook`.",
        "SVCBOT_WEBHOOK_SECRET",
    ),
    Key(
        "forward.timeout",
        DURATION,
        "Per request, for the webhook and for Sentry.",
        "10s",
        default="5s",
    ),
)

# One paragraph per mapping, under its heading ("" is the top level of the file).
SECTIONS: dict[str, str] = {
    "": "The top level of the file. Only `services` is required.",
    "logs": "Defaults for every service's log capture: output goes to `state_dir/logs/NAME.log`, "
    "rotated by size.",
    SERVICE: "One service. Only `command` is required. `owners`, `alert_channel` and `fingerprint` "
    "change where its reports go, not how it runs: a reload that changes only them does not restart it.",
    f"{SERVICE}.start_limit": "More than `burst` automatic restarts within `interval` quarantine the "
    "service: one CrashLoop alert, then a retry every `quarantine_retry` until a run lasts "
    "`stable_after` or someone starts it.",
    f"{SERVICE}.stop": "Stopping sends `signal` to the whole process tree, waits `timeout`, then "
    "sends SIGKILL to what is left.",
    _HEALTH: "Exactly one of `http`, `tcp` or `command`, and how often and how strictly to check it. "
    "A service with a health check is ready (and its dependents start) once a check passes.",
    f"{SERVICE}.limits": "A sample over the limit emits a ResourceBreach event; `on_breach: restart` "
    "restarts the service as well.",
    f"{SERVICE}.logs": "Per-service overrides of the top-level `logs`.",
    "http": "The HTTP listener that serves Slack (HTTP mode), health, metrics and Alertmanager.",
    "slack": "Channels of the Slack front end (tokens come from the environment, never this file).",
    "access": "Slack user (`U...`) and user group (`S...`) IDs. With no rule granting it, a state "
    "change is denied.",
    "alerts": "Alert grouping and reminders, after Prometheus Alertmanager's.",
    "digest": "The weekly digest, posted once per period even across restarts.",
    "forward": "Copies of every occurrence (the error reports of crashes, crash loops, failing health "
    "checks, resource breaches and svcbot's own errors) for other systems. Sentry is enabled by "
    "`SENTRY_DSN` in the environment, not here: a DSN is a credential.",
}

OTHER_SERVICE = ("db", "postgres -D ./pgdata")  # the service `depends_on: [db]` needs in the example
