"""Log capture and rotation, resource sampling and limits, hot reload."""

from __future__ import annotations

from pathlib import Path

from manager.config.loader import load_config
from manager.supervision import events as ev
from manager.supervision.logs import log_files, read_lines
from tests.conftest import await_until, program, write_config


async def test_log_spammer_is_rotated_and_never_blocked(make_harness) -> None:
    """A program writing as fast as it can is read fully, rotated by size, capped in file count."""
    lines = 20_000  # about 2.2 MB of output
    h = await make_harness(
        {"spam": {"command": program("spam_log", lines), "logs": {"max_size": "256KiB", "keep": 2}}}
    )
    runner = h.supervisor.runner("spam")
    await await_until(
        lambda: "spam done" in runner.logs.stderr_tail, timeout=20, what="the spammer to finish"
    )
    files = log_files(runner.logs.path)
    assert [f.name for f in files] == ["spam.log.2", "spam.log.1", "spam.log"]
    assert all(f.stat().st_size <= 256 * 1024 for f in files)
    stored = list(read_lines(runner.logs.path))
    assert stored[-2].endswith(f" out line {lines - 1} " + "x" * 100)
    numbers = [int(line.split()[3]) for line in stored if " out line " in line]
    assert numbers == list(range(numbers[0], lines)), "lines lost or reordered inside the kept files"
    assert runner.logs.file.dropped_lines == 0


async def test_resource_sample_covers_the_whole_tree(make_harness, tmp_path: Path) -> None:
    """A sample sums the service's processes, including a double-forked grandchild."""
    pid_file = tmp_path / "daemon.pid"
    service = {"command": program("double_fork", pid_file, "stay"), "stop": {"timeout": "300ms"}}
    h = await make_harness({"d": service}, sample_interval="1h")
    await await_until(pid_file.exists, what="the daemon's pid file")
    await h.supervisor.sample_once()
    sample = h.supervisor.runner("d").last_sample
    assert sample is not None and sample.processes == 2
    assert sample.rss > 1_000_000 and sample.threads >= 2
    status = h.supervisor.status("d")[0]
    assert status["rss"] == sample.rss and status["processes"] == 2


async def test_memory_limit_breach_restarts_when_configured(make_harness) -> None:
    """Over its memory limit, a service emits one ResourceBreach and is restarted."""
    service = {
        "command": program("memory_hog", 64),
        "limits": {"memory": "32MiB", "on_breach": "restart"},
        "restart_delay": "20ms",
    }
    h = await make_harness({"hog": service}, sample_interval="100ms")
    breach = await h.wait_event(ev.ResourceBreach, "hog")
    assert breach.resource == "memory" and breach.value > 32 * 1024 * 1024 and breach.action == "restart"
    await h.wait_event(ev.ServiceStarted, "hog", count=2)


async def test_reload_restarts_only_what_changed(make_harness, tmp_path: Path) -> None:
    """Unchanged services keep their process; changed ones restart; added start; removed stop."""
    hang = program("hang")
    h = await make_harness({"same": {"command": hang}, "edit": {"command": hang}, "gone": {"command": hang}})
    for name in ("same", "edit", "gone"):
        await h.wait_state(name, "running")
    pids = {n: h.supervisor.runner(n).run.pid for n in ("same", "edit")}
    new_services = {
        "same": {"command": hang},
        "edit": {"command": hang, "env": {"X": "1"}},
        "new": {"command": hang},
    }
    new = load_config(write_config(tmp_path, new_services))
    result = await h.supervisor.reload(new)
    assert (result.added, result.removed, result.changed, result.unchanged) == (
        ["new"],
        ["gone"],
        ["edit"],
        ["same"],
    )
    await h.wait_state("new", "running")
    await h.wait_state("edit", "running")
    assert h.supervisor.runner("same").run.pid == pids["same"]
    assert h.supervisor.runner("edit").run.pid != pids["edit"]
    assert "gone" not in h.supervisor.runners
    assert sorted(e.service for e in h.of(ev.ServiceStopped)) == ["edit", "gone"]


async def test_reload_keeps_a_stopped_service_stopped(make_harness, tmp_path: Path) -> None:
    """A service a person stopped stays stopped when its definition changes."""
    h = await make_harness({"svc": {"command": program("hang")}})
    await h.wait_state("svc", "running")
    await h.supervisor.stop_service("svc")
    new = load_config(write_config(tmp_path, {"svc": {"command": program("hang"), "env": {"A": "b"}}}))
    await h.supervisor.reload(new)
    assert h.supervisor.runner("svc").state == "stopped"
    assert h.supervisor.runner("svc").spec.env == (("A", "b"),)


async def test_reload_of_routing_keys_keeps_the_process(make_harness, tmp_path: Path) -> None:
    """owners, alert_channel and fingerprint change where reports go, not how it runs: no restart."""
    h = await make_harness({"svc": {"command": program("hang")}})
    await h.wait_state("svc", "running")
    pid = h.supervisor.runner("svc").run.pid
    routed = {
        "command": program("hang"),
        "owners": ["S0WEB"],
        "alert_channel": "C0WEB",
        "fingerprint": ["db"],
    }
    result = await h.supervisor.reload(load_config(write_config(tmp_path, {"svc": routed})))
    assert (result.changed, result.unchanged) == ([], ["svc"])
    runner = h.supervisor.runner("svc")
    assert runner.run.pid == pid
    assert (runner.spec.owners, runner.spec.alert_channel, runner.spec.fingerprint) == (
        ("S0WEB",),
        "C0WEB",
        ("db",),
    )
