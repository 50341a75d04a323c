"""Health checks (http, tcp, Nagios-style commands) and readiness-gated dependencies."""

from __future__ import annotations

from pathlib import Path

from manager.supervision import events as ev
from tests.conftest import free_port, program


def http_service(port: int, fail_file: Path, **health: object) -> dict[str, object]:
    check = {
        "http": f"http://127.0.0.1:{port}/",
        "interval": "200ms",
        "timeout": "1s",
        "failures": 2,
        **health,
    }
    return {"command": program("listen", port, fail_file), "health": check, "restart_delay": "20ms"}


async def test_http_check_marks_unhealthy_and_recovers(make_harness, tmp_path: Path) -> None:
    """An HTTP 503 counts as a failure; after `failures` in a row the service is unhealthy, then heals."""
    port, fail = free_port(), tmp_path / "fail"
    h = await make_harness({"web": http_service(port, fail, on_unhealthy="alert")})
    await h.wait_state("web", "running")
    fail.touch()
    down = await h.wait_event(ev.HealthChanged, "web", where=lambda e: not e.healthy)
    assert down.output.startswith("HTTP/1.0 503") and down.failures == 2
    await h.wait_state("web", "unhealthy")
    assert h.supervisor.status("web")[0]["health"] == "unhealthy"
    fail.unlink()
    await h.wait_event(ev.HealthChanged, "web", where=lambda e: e.healthy)
    await h.wait_state("web", "running")
    assert len(h.of(ev.ServiceStarted, "web")) == 1


async def test_unhealthy_service_is_restarted_when_configured(make_harness, tmp_path: Path) -> None:
    """on_unhealthy: restart stops the failing run and starts a new one."""
    port, fail = free_port(), tmp_path / "fail"
    h = await make_harness({"web": http_service(port, fail, on_unhealthy="restart")})
    await h.wait_state("web", "running")
    fail.touch()
    await h.wait_event(ev.HealthChanged, "web", where=lambda e: not e.healthy)
    exited = await h.wait_event(ev.ServiceExited, "web")
    assert exited.expected
    fail.unlink()
    await h.wait_event(ev.ServiceStarted, "web", count=2)
    await h.wait_state("web", "running")


async def test_failures_during_the_grace_period_do_not_count(make_harness, tmp_path: Path) -> None:
    """A slow starter is not declared unhealthy while its grace period lasts."""
    port = free_port()
    service = {
        "command": program("listen", port, tmp_path / "never", 1.0),
        "health": {"http": f"http://127.0.0.1:{port}/", "interval": "100ms", "failures": 1, "grace": "3s"},
    }
    h = await make_harness({"slow": service})
    await h.wait_state("slow", "running", timeout=10)
    assert not h.of(ev.HealthChanged, "slow")


async def test_tcp_check(make_harness, tmp_path: Path) -> None:
    """A tcp check passes once the port accepts connections."""
    port = free_port()
    service = {
        "command": program("listen", port, tmp_path / "never", 0.3),
        "health": {"tcp": f"127.0.0.1:{port}", "interval": "100ms", "grace": "5s"},
    }
    h = await make_harness({"db": service})
    await h.wait_state("db", "running")
    assert h.supervisor.runner("db").last_check.output == f"connected to 127.0.0.1:{port}"


async def test_command_check_follows_the_nagios_convention(make_harness, tmp_path: Path) -> None:
    """Exit 0 is OK; WARNING and CRITICAL fail; the plugin's first line is kept."""
    status = tmp_path / "status"
    status.write_text("0")
    check = {"command": " ".join(program("nagios_check", status)), "interval": "100ms", "failures": 1}
    h = await make_harness(
        {"svc": {"command": program("hang"), "health": {**check, "on_unhealthy": "alert"}}}
    )
    await h.wait_state("svc", "running")
    status.write_text("1")
    warning = await h.wait_event(ev.HealthChanged, "svc", where=lambda e: not e.healthy)
    assert warning.status == "WARNING"
    assert warning.output == "FIXTURE WARNING - status 1 | value=1"
    status.write_text("0")
    await h.wait_event(ev.HealthChanged, "svc", where=lambda e: e.healthy)
    status.write_text("2")
    critical = await h.wait_event(ev.HealthChanged, "svc", count=2, where=lambda e: not e.healthy)
    assert critical.status == "CRITICAL"


async def test_dependent_starts_only_after_its_dependency_is_healthy(make_harness, tmp_path: Path) -> None:
    """depends_on waits for the dependency's health check, not just its process."""
    port = free_port()
    web = {
        "command": program("listen", port, tmp_path / "never", 0.5),
        "health": {"http": f"http://127.0.0.1:{port}/", "interval": "100ms", "grace": "5s"},
    }
    h = await make_harness({"worker": {"command": program("hang"), "depends_on": ["web"]}, "web": web})
    await h.wait_state("worker", "running")
    ready = next(e for e in h.of(ev.ServiceStateChanged, "web") if e.new == "running")
    worker_started = h.of(ev.ServiceStarted, "worker")[0]
    assert worker_started.at >= ready.at
    waiting = [e for e in h.of(ev.ServiceStateChanged, "worker") if e.new == "waiting"]
    assert waiting, "worker should have waited for web"


async def test_shutdown_stops_dependents_first(make_harness) -> None:
    """Shutdown goes in reverse dependency order: app, then api, then db."""
    h = await make_harness(
        {
            "db": {"command": program("hang")},
            "api": {"command": program("hang"), "depends_on": ["db"]},
            "app": {"command": program("hang"), "depends_on": ["api"]},
        }
    )
    await h.wait_state("app", "running")
    await h.supervisor.shutdown()
    order = [e.service for e in h.of(ev.ServiceStopped)]
    assert order == ["app", "api", "db"]


async def test_starting_a_service_starts_what_it_depends_on(make_harness) -> None:
    """An explicit start of a dependent brings its stopped dependency up first."""
    h = await make_harness(
        {
            "db": {"command": program("hang"), "autostart": False},
            "api": {"command": program("hang"), "depends_on": ["db"], "autostart": False},
        }
    )
    assert h.supervisor.runner("db").state == "stopped"
    runner = await h.supervisor.start_service("api")
    assert runner.state == "running"
    assert h.supervisor.runner("db").state == "running"


async def test_a_hanging_check_command_times_out_and_is_killed(make_harness, tmp_path: Path) -> None:
    """A plugin that hangs fails the check with a timeout and is killed (the leak check proves it)."""
    check = {"command": " ".join(program("hang")), "interval": "200ms", "timeout": "300ms", "failures": 1}
    h = await make_harness(
        {"svc": {"command": program("hang"), "health": {**check, "on_unhealthy": "alert"}}}
    )
    failed = await h.wait_event(ev.HealthChanged, "svc", where=lambda e: not e.healthy)
    assert failed.output == "timed out after 0.3s" and failed.status == "CRITICAL"
    await h.wait_state("svc", "unhealthy")
