"""Processes: spawning, the one reaper, tagging, and signalling a service's whole tree.

Why one reaper: asyncio's child watchers and a `waitpid(-1)` loop steal each other's exit statuses,
and as a child subreaper svcbot must reap orphaned grandchildren it never spawned. So every process
svcbot starts (services and health-check commands alike) is spawned with `subprocess.Popen` and
watched here; nothing in svcbot may use `asyncio.create_subprocess_*` or `Popen.wait()`.

Why tags: a double-forked daemon leaves its process group, so the group alone cannot find it. Every
run carries `SVCBOT_RUN_ID` in its environment; descendants inherit it and `/proc/PID/environ`
attributes any orphan, even after svcbot itself was restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ExitStatus",
    "Reaper",
    "find_tagged",
    "group_exists",
    "kill_tree",
    "own_children",
    "pidfd_exit",
    "process_start_time",
    "read_environ",
    "run_captured",
    "set_child_subreaper",
    "spawn",
    "wait_gone",
]

log = logging.getLogger(__name__)

PR_SET_CHILD_SUBREAPER = 36
RUN_ID_VAR = "SVCBOT_RUN_ID"
SERVICE_VAR = "SVCBOT_SERVICE"


@dataclass(frozen=True)
class ExitStatus:
    code: int | None  # None when killed by a signal, or when the status could not be read
    signal: str | None

    @classmethod
    def from_wait_status(cls, status: int) -> ExitStatus:
        if os.WIFSIGNALED(status):
            return cls(None, _signal_name(os.WTERMSIG(status)))
        return cls(os.waitstatus_to_exitcode(status), None)

    @property
    def failed(self) -> bool:
        return self.signal is not None or self.code != 0

    @property
    def returncode(self) -> int:
        """The `subprocess` convention: negative signal number when killed."""
        if self.signal is not None:
            return -int(signal.Signals[self.signal])
        return self.code if self.code is not None else -1


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def set_child_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process instead of init (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


class Reaper:
    """Reaps every child on SIGCHLD and hands each status to whoever watches that PID."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiters: dict[int, asyncio.Future[ExitStatus]] = {}
        self._popens: dict[int, subprocess.Popen[bytes]] = {}
        self.orphans_reaped = 0

    def install(self) -> None:
        self._loop.add_signal_handler(signal.SIGCHLD, self.reap)
        self.reap()  # children that exited before the handler was in place

    def uninstall(self) -> None:
        self._loop.remove_signal_handler(signal.SIGCHLD)

    def watch(self, popen: subprocess.Popen[bytes]) -> asyncio.Future[ExitStatus]:
        """A future that resolves with the child's exit status. Keep no other wait on it.

        Call it right after spawning, before any await: the SIGCHLD handler runs as a loop
        callback, so it cannot reap the child in between.
        """
        fut: asyncio.Future[ExitStatus] = self._loop.create_future()
        self._waiters[popen.pid] = fut
        self._popens[popen.pid] = popen
        return fut

    @property
    def watched(self) -> set[int]:
        """PIDs of the children svcbot spawned and is still waiting for."""
        return set(self._popens)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._dispatch(pid, ExitStatus.from_wait_status(status))

    def _dispatch(self, pid: int, status: ExitStatus) -> None:
        popen = self._popens.pop(pid, None)
        if popen is not None:
            popen.returncode = status.returncode  # so Popen never waits on a recycled PID
        fut = self._waiters.pop(pid, None)
        if fut is not None:
            if not fut.done():
                fut.set_result(status)
        elif popen is None:
            self.orphans_reaped += 1  # a grandchild that re-parented to us (child subreaper)


def spawn(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str],
    stdout: int | None = None,
    stderr: int | None = None,
    stdin: int = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """Start argv (never through a shell) in a new session, so it leads its own process group."""
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        close_fds=True,
    )


async def run_captured(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str],
    reaper: Reaper,
    timeout: float,
    stderr: int = subprocess.STDOUT,
    limit: int = 4096,
) -> tuple[ExitStatus, bytes]:
    """Run a short helper command (a health-check plugin, a `version_command`) to its end: its exit
    status and the first `limit` bytes of its output. OSError if it cannot start; TimeoutError, after
    killing its process group, if it runs past `timeout`.

    Spawned and reaped through svcbot's `reaper`: svcbot, a subreaper, reaps every child itself, so
    asyncio's own child watcher would never see this one's exit status."""
    loop = asyncio.get_running_loop()
    read_fd, write_fd = os.pipe()
    try:
        popen = spawn(argv, cwd=cwd, env=env, stdout=write_fd, stderr=stderr)
    except OSError:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    exited = reaper.watch(popen)
    reader = asyncio.StreamReader(limit=limit * 4)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    try:
        status = await asyncio.wait_for(asyncio.shield(exited), timeout)
        output = await asyncio.wait_for(reader.read(limit), 1.0)
    except TimeoutError:
        kill_tree(popen.pid, (), signal.SIGKILL)
        raise
    finally:
        transport.close()
    return status, output


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat).

    With the PID, this identifies a process for good: a recycled PID has another start time.
    """
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (state first), None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].split()


PF_KTHREAD = 0x00200000  # the `flags` field of /proc/PID/stat: a kernel thread, which has no environment
EXEC_WINDOW = 0.05  # how long an empty environment of a live process is read again (seconds)


def read_environ(pid: int) -> bytes | None:
    """The process's environment block (NUL-separated `NAME=value`), or None if it cannot be read.

    A process in the middle of execve() reads as empty for a moment: the kernel closes its close-on-exec
    descriptors (which is what lets `subprocess.Popen` return to its caller) before it sets up the new
    image's environment. Under load that window lasts long enough for a scan to see a service without
    its run tag, so an empty block from a live user process is read again for up to EXEC_WINDOW; only
    kernel threads and zombies keep an empty one.
    """
    deadline = None
    while True:
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:  # not pathlib: scans read every process
                environ = fh.read()
        except OSError:
            return None
        if environ or not _may_be_exec_ing(pid):
            return environ
        now = time.monotonic()
        deadline = deadline or now + EXEC_WINDOW
        if now >= deadline:
            return environ
        time.sleep(0.001)


def _may_be_exec_ing(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != b"Z" and not int(fields[6]) & PF_KTHREAD


def find_tagged(run_ids: Iterable[str], among: Iterable[int] | None = None) -> dict[int, str]:
    """PIDs of live processes whose environment carries one of the run IDs, with that ID.

    Looks at every process in /proc, or only at `among` when given.
    """
    wanted = {f"{RUN_ID_VAR}={rid}".encode(): rid for rid in run_ids}
    found: dict[int, str] = {}
    if not wanted:
        return found
    me = os.getpid()
    if among is None:
        among = (int(e.name) for e in os.scandir("/proc") if e.name.isdigit())
    for pid in among:
        if pid == me:
            continue
        environ = read_environ(pid)
        if environ is None:
            continue
        for var in environ.split(b"\0"):
            rid = wanted.get(var)
            if rid is not None:
                found[pid] = rid
                break
    return found


def kill_tree(pgid: int | None, pids: Iterable[int], sig: int) -> None:
    """Send sig to a process group and to each PID; processes already gone are fine."""
    if pgid is not None and pgid > 1:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def pidfd_exit(loop: asyncio.AbstractEventLoop, pid: int) -> asyncio.Future[None] | None:
    """A future done when `pid` exits, for a process that is not our child (None if it is gone).

    A pidfd becomes readable when the process exits: event-driven, no polling, no PID reuse race.
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    fut: asyncio.Future[None] = loop.create_future()

    def done() -> None:
        loop.remove_reader(fd)
        os.close(fd)
        if not fut.done():
            fut.set_result(None)

    def cancelled(f: asyncio.Future[None]) -> None:
        if f.cancelled():
            loop.remove_reader(fd)
            with contextlib.suppress(OSError):
                os.close(fd)

    loop.add_reader(fd, done)
    fut.add_done_callback(cancelled)
    return fut


async def wait_gone(pids: Iterable[int], timeout: float) -> set[int]:
    """Wait until every PID has exited or the timeout passes; return the ones still alive."""
    loop = asyncio.get_running_loop()
    futures: dict[int, asyncio.Future[None]] = {}
    for pid in pids:
        fut = pidfd_exit(loop, pid)
        if fut is not None:
            futures[pid] = fut
    if not futures:
        return set()
    _, pending = await asyncio.wait(futures.values(), timeout=max(timeout, 0))
    for fut in pending:
        fut.cancel()
    return {pid for pid, fut in futures.items() if fut in pending}


def group_exists(pgid: int) -> bool:
    """Whether any process is left in the process group (one cheap syscall)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def own_children() -> set[int]:
    """This process's children, orphans re-parented to it included (any thread may adopt them)."""
    children: set[int] = set()
    for task in os.scandir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task.name}/children") as fh:
                children.update(int(pid) for pid in fh.read().split())
        except OSError:
            continue
    return children


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = _proc_state(pid)
    return state is not None and state != "Z"


def _proc_state(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ESRCH):
            return None
        raise
    return raw[raw.rfind(b")") + 2 :].split()[0].decode()
