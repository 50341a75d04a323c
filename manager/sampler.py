"""Resource sampling of each service's whole process tree with psutil.

Cost matters here: psutil's `children(recursive=True)` scans all of /proc on every call (370 ms
for 100 services on the reference machine). A round therefore reads the parent map once, derives
every tree from it, and samples each process with `oneshot()`. Orphans re-parented to svcbot (we
are a child subreaper) are attributed to their service through the run tag in their environment.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import psutil

from manager.events import ResourceSample
from manager.process import find_tagged

__all__ = ["Sampler", "parent_map"]


def parent_map() -> dict[int, list[int]]:
    """ppid -> child PIDs for every process, from one pass over /proc/*/stat."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue
        ppid = int(raw[raw.rfind(b")") + 2 :].split(maxsplit=2)[1])
        children[ppid].append(int(entry.name))
    return children


def _descendants(root: int, children: Mapping[int, list[int]]) -> list[int]:
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, ()))
    return tree


@dataclass(frozen=True)
class Run:
    """What the sampler needs to know of one running service."""

    service: str
    pid: int
    run_id: str


class Sampler:
    """Keeps psutil.Process objects between rounds, which CPU percentages need."""

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}

    def sample(self, runs: list[Run]) -> dict[str, ResourceSample]:
        children = parent_map()
        trees = {run.service: _descendants(run.pid, children) for run in runs}
        self._attribute_orphans(runs, children, trees)
        seen: set[int] = set()
        samples = {}
        for service, pids in trees.items():
            samples[service] = self._sample_tree(pids)
            seen.update(pids)
        for pid in set(self._procs) - seen:
            del self._procs[pid]
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

    def _sample_tree(self, pids: list[int]) -> ResourceSample:
        cpu = 0.0
        rss = threads = fds = count = 0
        for pid in pids:
            proc = self._procs.get(pid)
            try:
                if proc is None:
                    proc = self._procs[pid] = psutil.Process(pid)
                with proc.oneshot():
                    if proc.status() == psutil.STATUS_ZOMBIE:
                        continue
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
                    threads += proc.num_threads()
                    fds += proc.num_fds()
                count += 1
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._procs.pop(pid, None)
        return ResourceSample(cpu_percent=cpu, rss=rss, threads=threads, open_files=fds, processes=count)
