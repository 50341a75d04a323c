"""The state file and the identity checks that make adoption safe."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from manager.supervision.process import RUN_ID_VAR, find_tagged, process_start_time
from manager.supervision.statefile import SavedRun, load_runs, matches_process, save_runs
from tests.conftest import PY, program


def saved(pid: int, start_time: int | None, run_id: str = "inst.svc.1.abcd") -> SavedRun:
    return SavedRun("svc", pid, start_time, run_id, "digest", "2026-11-22T05:00:00+00:00", 2)


def test_state_file_round_trips_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    """What save_runs writes, load_runs reads back; the write goes through a renamed temp file."""
    path = tmp_path / "state.json"
    runs = [saved(123, 456), saved(124, None, "inst.other.2.beef")]
    save_runs(path, runs)
    assert load_runs(path) == runs
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_unreadable_state_file_is_ignored(tmp_path: Path) -> None:
    """A truncated or foreign state file means nothing to adopt, not a crash."""
    path = tmp_path / "state.json"
    assert load_runs(path) == []
    path.write_text('{"version": 1, "runs": [{"service": ')
    assert load_runs(path) == []
    path.write_text('{"version": 1, "runs": [{"unexpected": 1}]}')
    assert load_runs(path) == []


def test_adoption_requires_pid_start_time_and_run_tag_to_match() -> None:
    """A recycled PID (other start time) or an untagged process is never adopted."""
    run_id = "inst.svc.7.cafe"
    env = {**os.environ, RUN_ID_VAR: run_id}
    proc = subprocess.Popen(program("hang"), env=env, stdout=subprocess.DEVNULL)
    try:
        start_time = process_start_time(proc.pid)
        assert start_time is not None
        assert matches_process(saved(proc.pid, start_time, run_id))
        assert not matches_process(saved(proc.pid, start_time + 1, run_id))
        assert not matches_process(saved(proc.pid, start_time, "inst.svc.8.other"))
        assert not matches_process(saved(proc.pid, None, run_id))
    finally:
        proc.kill()
        proc.wait()
    assert not matches_process(saved(proc.pid, start_time, run_id))


def test_a_process_fresh_from_exec_is_recognised_even_under_load() -> None:
    """Popen returns when the child's close-on-exec pipe closes, before the kernel has set up the new
    image's environment: read then, /proc/PID/environ is empty. With both cores busy that window is
    wide enough to miss the run tag (the order-dependent failure of the test above, under a loaded
    full run); `read_environ` waits it out, so adoption and stray sweeps never miss a service."""
    burners = [subprocess.Popen([PY, "-c", "print(flush=True)\nwhile True: pass"], stdout=subprocess.PIPE)]
    burners += [subprocess.Popen(burners[0].args, stdout=subprocess.PIPE) for _ in range(os.cpu_count() or 1)]
    try:
        for burner in burners:  # each is burning once it has printed its line
            assert burner.stdout is not None and burner.stdout.readline() == b"\n"
        for n in range(100):
            run_id = f"inst.svc.{n}.fresh"
            proc = subprocess.Popen(program("hang"), env={**os.environ, RUN_ID_VAR: run_id})
            try:
                assert matches_process(saved(proc.pid, process_start_time(proc.pid), run_id)), n
                assert find_tagged([run_id], among=[proc.pid]) == {proc.pid: run_id}
            finally:
                proc.kill()
                proc.wait()
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
