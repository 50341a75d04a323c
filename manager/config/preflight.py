"""What `svcbot check-config` checks beyond the file itself: what the services need from this host.

A config can be valid and still fail the moment a service starts: a program that is not installed,
a `cwd` that does not exist. These are warnings, not errors (the program may be installed before
the first start, the config may be meant for another host), and each names the key and what was
looked at, so "not found" never leaves the reader guessing which PATH was searched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from manager.config.spec import Config, ServiceSpec

__all__ = ["host_warnings"]


def host_warnings(config: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per problem a start of these services on this host would hit, in file order."""
    env = os.environ if environ is None else environ
    warnings: list[str] = []
    for spec in config.services:
        warnings += _service_warnings(spec, env)
    return warnings


def _service_warnings(spec: ServiceSpec, environ: Mapping[str, str]) -> list[str]:
    key = f"services.{spec.name}"
    if not spec.cwd.is_dir():
        return [f"{key}.cwd: folder {spec.cwd} does not exist; {spec.name} cannot start"]
    # The child's PATH is what the program is looked up on: its own env wins over svcbot's.
    path = spec.env_dict.get("PATH", environ.get("PATH", os.defpath))
    program = spec.argv[0]
    if os.sep in program:
        where = spec.cwd / program
        if not _executable(where):
            return [f"{key}.command: {where} is not an executable file; {spec.name} cannot start"]
        return []
    if not any(_executable(spec.cwd / (folder or ".") / program) for folder in path.split(os.pathsep)):
        return [f"{key}.command: program {program!r} not found on PATH {path}; {spec.name} cannot start"]
    return []


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
