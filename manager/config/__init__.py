"""`svcbot.yml`: the frozen spec every other part reads (`spec`), the loader with file:line errors
(`loader`, which with its node walker `nodes` is the only importer of yaml), the table of keys the
reference docs are generated from (`reference`), the digest schedule's grammar (`schedule`), the
services' dependency order (`order`) and what check-config checks on this host (`preflight`). Imports
only `manager.core`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manager.core.lazy import lazy_exports

if TYPE_CHECKING:
    from manager.config.loader import (
        ConfigError,
        load_config,
        locate_state_dir,
        resolve_config_path,
    )
    from manager.config.order import start_order
    from manager.config.preflight import host_warnings
    from manager.config.schedule import next_run, parse_schedule, period_key, previous_run
    from manager.config.spec import (
        AccessSpec,
        Config,
        DigestSpec,
        ForwardSpec,
        HealthSpec,
        LogSpec,
        RestartPolicy,
        ServiceSpec,
    )

_EXPORTS = {
    "AccessSpec": "spec",
    "Config": "spec",
    "ConfigError": "loader",
    "DigestSpec": "spec",
    "ForwardSpec": "spec",
    "HealthSpec": "spec",
    "LogSpec": "spec",
    "RestartPolicy": "spec",
    "ServiceSpec": "spec",
    "host_warnings": "preflight",
    "load_config": "loader",
    "locate_state_dir": "loader",
    "next_run": "schedule",
    "parse_schedule": "schedule",
    "period_key": "schedule",
    "previous_run": "schedule",
    "resolve_config_path": "loader",
    "start_order": "order",
}
__all__ = [
    "AccessSpec",
    "Config",
    "ConfigError",
    "DigestSpec",
    "ForwardSpec",
    "HealthSpec",
    "LogSpec",
    "RestartPolicy",
    "ServiceSpec",
    "host_warnings",
    "load_config",
    "locate_state_dir",
    "next_run",
    "parse_schedule",
    "period_key",
    "previous_run",
    "resolve_config_path",
    "start_order",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
