"""A real Nagios plugin as a health check: Debian's monitoring-plugins `check_tcp`.

The fixture plugin in tests/programs shows the convention on every machine
(test_health_and_dependencies.py); this test shows that a real plugin, with its own output format and
performance data, works the same. `make test` installs the package as root (tests/debian-packages.sh);
on a machine without it the test is skipped and says why, and under CI it fails.
"""

from __future__ import annotations

from pathlib import Path

from manager.supervision import events as ev
from tests.conftest import free_port, program, require_program

CHECK_TCP = Path("/usr/lib/nagios/plugins/check_tcp")


async def test_check_tcp_from_monitoring_plugins(make_harness, tmp_path: Path) -> None:
    """OK (its status line kept) while the port answers; CRITICAL with the plugin's words when nothing
    listens."""
    require_program(CHECK_TCP, "monitoring-plugins-basic")
    port = free_port()
    check = {"interval": "200ms", "failures": 1, "on_unhealthy": "alert"}
    closed = free_port()
    h = await make_harness(
        {
            "db": {
                "command": program("listen", port, tmp_path / "never"),
                "health": {"command": f"{CHECK_TCP} -H 127.0.0.1 -p {port} -t 2", **check},
            },
            "cache": {
                "command": program("hang"),
                "health": {"command": f"{CHECK_TCP} -H 127.0.0.1 -p {closed} -t 2", "grace": "0s", **check},
            },
        }
    )
    await h.wait_state("db", "running")
    ok = h.supervisor.runner("db").last_check
    assert ok is not None and ok.status == "OK"
    assert ok.output.startswith("TCP OK") and f"port {port}" in ok.output
    down = await h.wait_event(ev.HealthChanged, "cache", where=lambda e: not e.healthy)
    assert down.status == "CRITICAL"
    assert "Connection refused" in down.output
