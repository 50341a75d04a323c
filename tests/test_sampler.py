"""The /proc sampler against psutil's own readings, on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from manager.supervision.sampler import FD_EVERY, Run, Sampler, proc_table

BUSY = (
    "import sys\n"
    "x = bytearray(64 << 20)\n"
    "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
    "while True: pass\n"
)
CHILD = (
    "import subprocess, sys, time\n"
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(60)\n"
)


def spawn(code: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def test_rss_threads_and_open_files_match_psutil() -> None:
    """RSS, threads and open files of a process agree with psutil's readings of the same process."""
    proc = spawn(BUSY)
    try:
        sample = Sampler().sample([Run("busy", proc.pid, "r")])["busy"]
        ps = psutil.Process(proc.pid)
        assert abs(sample.rss - ps.memory_info().rss) < 4 << 20
        assert sample.rss > 64 << 20
        assert sample.threads == ps.num_threads()
        assert sample.open_files == ps.num_fds()
        assert sample.processes == 1
    finally:
        proc.kill()
        proc.wait()


def test_cpu_percent_is_measured_between_rounds() -> None:
    """A busy loop reads near 100 % from the second round on; the first round has no baseline."""
    proc = spawn(BUSY)
    try:
        sampler = Sampler()
        first = sampler.sample([Run("busy", proc.pid, "r")])["busy"]
        deadline = time.monotonic() + 5
        busy = 0.0
        while busy < 50 and time.monotonic() < deadline:
            time.sleep(0.3)
            busy = sampler.sample([Run("busy", proc.pid, "r")])["busy"].cpu_percent
        assert first.cpu_percent == 0.0
        assert 50 <= busy <= 110
    finally:
        proc.kill()
        proc.wait()


def test_a_tree_counts_its_children() -> None:
    """A service's sample sums its whole process tree."""
    proc = spawn(CHILD)
    try:
        sample = Sampler().sample([Run("tree", proc.pid, "r")])["tree"]
        assert sample.processes == 2
        assert sample.threads >= 2
    finally:
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.wait()


def test_proc_table_sees_this_process() -> None:
    """The /proc table has this process with its parent and a running state."""
    me = proc_table()[psutil.Process().pid]
    assert me.ppid == psutil.Process().ppid()
    assert me.state in ("R", "S")


def test_open_files_are_recounted_every_few_rounds(tmp_path) -> None:
    """Open files are counted on the first round and every FD_EVERY rounds; in between the last
    count stands (listing /proc/PID/fd is most of a round's cost and no limit depends on it)."""
    sampler = Sampler()
    me = [Run("me", os.getpid(), "r")]  # this process: the test can change its open files
    first = sampler.sample(me)["me"].open_files
    extra = [open(tmp_path / f"f{i}", "w") for i in range(5)]  # noqa: SIM115 - held open on purpose
    try:
        between = [sampler.sample(me)["me"].open_files for _ in range(FD_EVERY - 1)]
        recounted = sampler.sample(me)["me"].open_files
    finally:
        for fh in extra:
            fh.close()
    assert between == [first] * (FD_EVERY - 1)
    assert recounted >= first + 5
