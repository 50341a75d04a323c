"""Resource sampling of each service's whole process tree, read straight from /proc.

Cost matters here, because it is most of what svcbot spends while nothing happens. psutil's
`children(recursive=True)` scans all of /proc on every call (370 ms for 100 services on the
reference machine), and even a `oneshot()` sample opens four files per process (25 ms a round for
100 services). A round here reads every `/proc/PID/stat` once, which gives both the parent map
(to find each service's descendants, double-forked ones included) and, for every process, its
state, CPU ticks, thread count and RSS; only the open files need one more directory listing per
service process, so they are counted every `FD_EVERY`th round (no limit depends on them) and the
last count is reported in between. A round costs about a fifth of psutil's.

CPU % is the change in user + system ticks since the previous round over the wall time between
them, like psutil's `cpu_percent(None)`: 0 for a process seen for the first time. Orphans
re-parented to svcbot (a child subreaper) are attributed through the run tag in their environment.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from manager.supervision.events import ResourceSample
from manager.supervision.process import find_tagged

__all__ = ["ProcStat", "Sampler", "parent_map", "parse_stat", "proc_table", "read_stats"]

_TICKS = os.sysconf("SC_CLK_TCK")
FD_EVERY = 6  # rounds between counts of open files (once a minute at the default 10 s interval)
_PAGE = os.sysconf("SC_PAGE_SIZE")


class ProcStat(NamedTuple):
    """The fields of /proc/PID/stat that sampling needs (a NamedTuple: made for every process of a
    tree every round, where a frozen dataclass costs twice as much)."""

    ppid: int
    state: str
    ticks: int  # utime + stime
    threads: int
    rss: int  # bytes


def parse_stat(rest: bytes) -> ProcStat:
    """`rest` is /proc/PID/stat after "(comm) ": state ppid pgrp session tty tpgid flags minflt
    cminflt majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue
    starttime vsize rss ..."""
    fields = rest.split()
    return ProcStat(
        int(fields[1]),
        fields[0].decode(),
        int(fields[11]) + int(fields[12]),
        int(fields[17]),
        int(fields[21]) * _PAGE,
    )


def read_stats() -> dict[int, bytes]:
    """Every process's /proc/PID/stat after "(comm) ", from one pass over /proc; parsed later, and
    only for the processes of a service tree."""
    stats = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{name}/stat", os.O_RDONLY | os.O_CLOEXEC)  # no file object: 3x cheaper
            try:
                raw = os.read(fd, 4096)
            finally:
                os.close(fd)
        except OSError:
            continue  # gone meanwhile
        stats[int(name)] = raw[raw.rfind(b")") + 2 :]
    return stats


def proc_table() -> dict[int, ProcStat]:
    """Every process's stat, parsed."""
    return {pid: parse_stat(rest) for pid, rest in read_stats().items()}


def parent_map(stats: Mapping[int, bytes] | None = None) -> dict[int, list[int]]:
    """ppid -> child PIDs for every process."""
    children: dict[int, list[int]] = defaultdict(list)
    for pid, rest in (read_stats() if stats is None else stats).items():
        parts = rest.split(maxsplit=2)
        if len(parts) > 1:
            children[int(parts[1])].append(pid)
    return children


def _descendants(root: int, children: Mapping[int, list[int]]) -> list[int]:
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, ()))
    return tree


def _open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


@dataclass(frozen=True)
class Run:
    """What the sampler needs to know of one running service."""

    service: str
    pid: int
    run_id: str


class Sampler:
    """Keeps each process's CPU ticks between rounds, which CPU percentages need."""

    def __init__(self) -> None:
        self._ticks: dict[int, int] = {}
        self._fds: dict[int, int] = {}
        self._round = 0
        self._at = time.monotonic()

    def sample(self, runs: list[Run]) -> dict[str, ResourceSample]:
        table = read_stats()
        now = time.monotonic()
        elapsed, self._at = now - self._at, now
        children = parent_map(table)
        trees = {run.service: _descendants(run.pid, children) for run in runs}
        self._attribute_orphans(runs, children, trees)
        ticks: dict[int, int] = {}
        count_fds = self._round % FD_EVERY == 0
        self._round += 1
        samples = {
            service: self._sample_tree(pids, table, elapsed, ticks, count_fds)
            for service, pids in trees.items()
        }
        self._ticks = ticks
        self._fds = {pid: n for pid, n in self._fds.items() if pid in ticks}
        return samples

    def _attribute_orphans(
        self, runs: list[Run], children: Mapping[int, list[int]], trees: dict[str, list[int]]
    ) -> None:
        mains = {run.pid for run in runs}
        orphans = [pid for pid in children.get(os.getpid(), ()) if pid not in mains]
        if not orphans:
            return
        by_run = {run.run_id: run.service for run in runs}
        tagged = find_tagged(by_run, among=orphans)
        for pid in orphans:
            run_id = tagged.get(pid)
            if run_id is not None:
                trees[by_run[run_id]].extend(_descendants(pid, children))

    def _open_files(self, pid: int, count: bool) -> int:
        if count or pid not in self._fds:
            self._fds[pid] = _open_files(pid)
        return self._fds[pid]

    def _sample_tree(
        self,
        pids: list[int],
        table: Mapping[int, bytes],
        elapsed: float,
        ticks: dict[int, int],
        count_fds: bool,
    ) -> ResourceSample:
        cpu_ticks = 0
        rss = threads = fds = count = 0
        for pid in pids:
            rest = table.get(pid)
            if rest is None:
                continue
            try:
                stat = parse_stat(rest)
            except (ValueError, IndexError):
                continue
            if stat.state == "Z":
                continue
            before = self._ticks.get(pid)
            if before is not None:
                cpu_ticks += max(stat.ticks - before, 0)
            ticks[pid] = stat.ticks
            rss += stat.rss
            threads += stat.threads
            fds += self._open_files(pid, count_fds)
            count += 1
        cpu = 100.0 * cpu_ticks / _TICKS / elapsed if elapsed > 0 else 0.0
        return ResourceSample(cpu_percent=cpu, rss=rss, threads=threads, open_files=fds, processes=count)
