"""The state file and the identity checks that make adoption safe."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from manager.process import RUN_ID_VAR, process_start_time
from manager.statefile import SavedRun, load_runs, matches_process, save_runs
from tests.conftest import program


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
