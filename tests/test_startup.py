"""Start-up: services are spawned a few ahead in worker threads, yet started, recorded and logged in
start order; FIFOs are made as services need them and log files once they are started."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from manager.supervision import events as ev
from manager.supervision import supervisor as sup
from tests.conftest import await_until, program, tagged_processes


async def test_start_up_keeps_start_order_with_early_spawns(make_harness, tmp_path: Path) -> None:
    """More services than are spawned ahead, a dependent, one that cannot start and one that does
    not autostart: every start happens (and is published) in start order, as without early spawns."""
    names = [f"s{i}" for i in range(sup.SPAWN_AHEAD * 2 + 1)]
    services: dict[str, object] = {"dependent": {"command": program("hang"), "depends_on": ["s0"]}}
    services |= {name: {"command": program("hang")} for name in names}
    services["ghost"] = {"command": [str(tmp_path / "no-such-program")], "restart": "never"}
    services["manual"] = {"command": program("hang"), "autostart": False}

    h = await make_harness(services)

    started = [e.service for e in h.of(ev.ServiceStarted)]
    assert started == [*names, "dependent"]  # level by level, each level in file order
    for name in started:
        await h.wait_state(name, "running")
    ghost = await h.wait_event(ev.ServiceExited, "ghost")
    assert "cannot start" in ghost.stderr_tail[-1]
    assert h.supervisor.runner("manual").state == "stopped"
    runs = [h.supervisor.runner(name).run for name in started]
    assert len({run.pid for run in runs if run is not None}) == len(started)
    assert all(run is not None and run.start_time is not None for run in runs)
    # Every service has its log file once start-up is over; only what was spawned has FIFOs.
    state = tmp_path / "state"
    assert sorted(p.name for p in (state / "logs").iterdir()) == sorted(f"{n}.log" for n in services)
    fifos = {p.name for p in (state / "fifo").iterdir()}
    assert {f"{n}.out" for n in started} <= fifos


async def test_output_of_an_early_spawned_service_is_captured(make_harness) -> None:
    """The FIFOs an early spawn opened in a worker thread are read on the loop."""
    h = await make_harness({"w": {"command": program("crash_later", 0.1), "restart": "never"}})
    await h.wait_state("w", "exited")
    lines = h.supervisor.runner("w").logs.path.read_text().splitlines()
    assert any(line.endswith(" out worker ready") for line in lines)


async def test_an_early_spawn_no_start_takes_is_killed_and_reaped(make_harness, tmp_path: Path) -> None:
    """The safety net: a process spawned early that no spawn action took does not outlive it."""
    h = await make_harness({"idle": {"command": program("hang")}}, start=False)
    runner = h.supervisor.runner("idle")
    with ThreadPoolExecutor(1) as executor:
        runner.spawn_early(executor)
    assert tagged_processes(tmp_path / "state")
    runner.drop_early_spawn()
    await await_until(lambda: not tagged_processes(tmp_path / "state"), what="the early spawn to be gone")
    assert runner.run is None and runner.state == "stopped"
