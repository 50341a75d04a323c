"""The validated, frozen configuration model.

`manager.config.loader` turns `svcbot.yml` into these objects; everything else in svcbot reads only these.
Durations are seconds (float), sizes are bytes (int), paths are absolute. Equality of two
`ServiceSpec` objects is what hot reload uses to decide whether a service changed.
"""

from __future__ import annotations

import enum
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "AccessSpec",
    "AlertsSpec",
    "Config",
    "DigestSpec",
    "ForwardSpec",
    "HealthKind",
    "HealthSpec",
    "HttpSpec",
    "LimitsSpec",
    "LogSpec",
    "RestartPolicy",
    "ServiceSpec",
    "SlackSpec",
    "StartLimit",
    "StopSpec",
]


class RestartPolicy(enum.StrEnum):
    """When an exited service is started again (systemd's Restart= subset)."""

    ALWAYS = "always"
    ON_FAILURE = "on-failure"  # non-zero exit code or killed by a signal
    NEVER = "never"


HealthKind = Literal["http", "tcp", "command"]


@dataclass(frozen=True)
class StopSpec:
    signal: signal.Signals = signal.SIGTERM
    timeout: float = 10.0


@dataclass(frozen=True)
class StartLimit:
    """More than `burst` automatic restarts within `interval` seconds quarantines the service."""

    burst: int = 5
    interval: float = 60.0


@dataclass(frozen=True)
class HealthSpec:
    kind: HealthKind
    target: str  # URL for http, "host:port" for tcp, the command line for command
    argv: tuple[str, ...] = ()  # the split command line, for kind == "command"
    interval: float = 5.0
    timeout: float = 2.0
    failures: int = 3  # consecutive failures before the service counts as unhealthy
    grace: float = 0.0  # after a start, failures are not counted for this long
    on_unhealthy: Literal["restart", "alert"] = "restart"


@dataclass(frozen=True)
class LimitsSpec:
    memory: int | None = None  # bytes of RSS, summed over the service's process tree
    cpu: float | None = None  # percent of one core, summed over the tree
    on_breach: Literal["alert", "restart"] = "alert"


@dataclass(frozen=True)
class LogSpec:
    max_size: int = 10 * 1024 * 1024  # rotate the service's log file at this size
    keep: int = 5  # rotated files kept besides the current one
    tail_lines: int = 50  # lines of stderr kept in memory for crash reports


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: tuple[str, ...]
    cwd: Path
    env: tuple[tuple[str, str], ...] = ()
    version: str | None = None
    restart: RestartPolicy = RestartPolicy.ON_FAILURE
    restart_delay: float = 0.1
    max_restart_delay: float = 30.0
    stable_after: float = 10.0  # a run this long resets backoff and ends a quarantine
    quarantine_retry: float = 300.0  # delay between the slow retries of a quarantined service
    start_limit: StartLimit = field(default_factory=StartLimit)
    stop: StopSpec = field(default_factory=StopSpec)
    depends_on: tuple[str, ...] = ()
    health: HealthSpec | None = None
    limits: LimitsSpec = field(default_factory=LimitsSpec)
    logs: LogSpec = field(default_factory=LogSpec)
    autostart: bool = True
    # Where its alerts go and how its reports group: not part of how it runs, so a change to these
    # neither restarts it on reload nor stops its adoption after a manager restart (compare=False,
    # repr=False keeps them out of equality and of the state file's spec digest).
    owners: tuple[str, ...] = field(default=(), compare=False, repr=False)
    alert_channel: str | None = field(default=None, compare=False, repr=False)
    # Sentry-style explicit grouping of this service's reports; "{{ default }}" expands to the default
    fingerprint: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # Prints the version at each start (`git describe --tags`); a deploy changes its output, not the spec.
    version_command: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def env_dict(self) -> dict[str, str]:
        return dict(self.env)


@dataclass(frozen=True)
class HttpSpec:
    host: str = "127.0.0.1"
    port: int = 8787


@dataclass(frozen=True)
class SlackSpec:
    alert_channel: str | None = None
    digest_channel: str | None = None


@dataclass(frozen=True)
class AccessSpec:
    """Slack user (U...) and user group (S...) IDs, never names.

    admins may run everything; operators start, stop, restart, silence, acknowledge and resolve;
    viewers status, logs and help. With no `viewers` listed, everyone who can reach svcbot in an
    allowed channel is a viewer; state changes are denied unless a rule grants them.
    """

    admins: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    viewers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()  # where /svc is accepted; empty: anywhere


@dataclass(frozen=True)
class AlertsSpec:
    group_wait: float = 10.0
    repeat_interval: float = 4 * 3600.0


@dataclass(frozen=True)
class DigestSpec:
    schedule: str = "mon 09:00"
    timezone: str = "UTC"


@dataclass(frozen=True)
class ForwardSpec:
    """Remote services that receive a copy of every occurrence (`manager.forwarding`).

    Only the webhook is configured here: Sentry is enabled by SENTRY_DSN in the environment,
    because a DSN is a credential, and so is the webhook's signing secret, which is read from
    the environment variable that `secret_env` names.
    """

    webhook: str | None = None  # an http(s) URL that receives one JSON POST per occurrence
    secret_env: str | None = None  # the variable holding the HMAC-SHA256 secret that signs the body
    timeout: float = 5.0  # per request, for the webhook and for Sentry


@dataclass(frozen=True)
class Config:
    path: Path  # the file this was read from (absolute)
    state_dir: Path
    database: str  # an SQLAlchemy URL; SVCBOT_DATABASE_URL overrides the file
    services: tuple[ServiceSpec, ...]  # in file order
    sample_interval: float = 10.0  # seconds between resource samples
    http: HttpSpec = field(default_factory=HttpSpec)
    slack: SlackSpec = field(default_factory=SlackSpec)
    access: AccessSpec = field(default_factory=AccessSpec)
    alerts: AlertsSpec = field(default_factory=AlertsSpec)
    digest: DigestSpec = field(default_factory=DigestSpec)
    forward: ForwardSpec = field(default_factory=ForwardSpec)

    def service(self, name: str) -> ServiceSpec | None:
        for spec in self.services:
            if spec.name == name:
                return spec
        return None

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services)
