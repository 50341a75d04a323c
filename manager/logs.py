"""Log capture, rotation and reading.

Capture goes through a named pipe (FIFO) per service and stream in `state_dir/fifo/`, which the
child opens read-write. Two things follow. The child never gets SIGPIPE or EPIPE when svcbot is
gone (it holds a reader end itself), so a `kill -9` of the manager does not kill services that log;
their output waits in the pipe buffer (enlarged to 1 MiB where allowed) and a new `svcbot run` that
adopts them reopens the same FIFO and goes on reading. And svcbot reads without ever blocking the
child: reads are non-blocking on the event loop, and if the disk fails the lines are counted as
dropped instead of stalling the reader.

Each service has one file, `state_dir/logs/NAME.log`, both streams interleaved in arrival order,
each line `2026-11-22T05:30:25.123Z out|err text`, rotated by size to NAME.log.1 ... NAME.log.N.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import stat
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from manager.spec import LogSpec

__all__ = ["LogFile", "ServiceLogs", "format_line", "parse_line", "read_lines"]

log = logging.getLogger(__name__)

F_SETPIPE_SZ = 1031
PIPE_SIZE = 1 << 20
MAX_LINE = 16 * 1024  # a longer partial line is written out in pieces
READ_CHUNK = 64 * 1024
READS_PER_WAKEUP = 16

LineListener = Callable[[str], None]


def format_line(at: datetime, stream: str, text: str) -> str:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
    return f"{stamp} {stream} {text}"


_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (out|err) (.*)$", re.S)


def parse_line(line: str) -> tuple[datetime, str, str] | None:
    """(time, stream, text) of a stored log line, or None for a line in another format."""
    match = _LINE.match(line)
    if match is None:
        return None
    at = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)  # 7x faster than strptime
    return at, match.group(2), match.group(3)


class LogFile:
    """An append-only file rotated by size, keeping `keep` old files."""

    def __init__(self, path: Path, spec: LogSpec) -> None:
        self.path = path
        self.spec = spec
        self.dropped_lines = 0
        self._fh = open(path, "ab")  # noqa: SIM115 - owned for the service's lifetime
        self._size = self._fh.tell()

    def write(self, lines: list[str]) -> None:
        """Append lines; a file never grows past max_size (unless one line alone is larger)."""
        try:
            batch: list[bytes] = []
            batch_size = 0
            for line in lines:
                data = (line + "\n").encode("utf-8", "replace")
                if self._size + batch_size + len(data) > self.spec.max_size and self._size + batch_size > 0:
                    self._flush(batch)
                    self._rotate()
                    batch, batch_size = [], 0
                batch.append(data)
                batch_size += len(data)
            self._flush(batch)
        except OSError as exc:
            if self.dropped_lines == 0:
                log.warning("cannot write %s: %s; dropping lines until it works again", self.path, exc)
            self.dropped_lines += len(lines)

    def _flush(self, batch: list[bytes]) -> None:
        if batch:
            data = b"".join(batch)
            self._fh.write(data)
            self._fh.flush()
            self._size += len(data)

    def _rotate(self) -> None:
        self._fh.close()
        for n in range(self.spec.keep, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            newer = self.path.with_name(f"{self.path.name}.{n - 1}") if n > 1 else self.path
            if n == self.spec.keep and older.exists():
                older.unlink()
            if newer.exists():
                newer.rename(older)
        if self.spec.keep == 0:
            self.path.unlink(missing_ok=True)
        self._fh = open(self.path, "ab")  # noqa: SIM115
        self._size = 0

    def close(self) -> None:
        self._fh.close()


class _Stream:
    """One FIFO (stdout or stderr of a service) read on the event loop."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        _ensure_fifo(path)
        # Read-write, non-blocking: svcbot holding a writer end too means no EOF and no POLLHUP
        # storm between runs, when no child has the FIFO open.
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        with contextlib.suppress(OSError):
            fcntl.fcntl(self.fd, F_SETPIPE_SZ, PIPE_SIZE)
        self.partial = b""

    def child_fd(self) -> int:
        """A blocking read-write descriptor for the child's stdout or stderr."""
        return os.open(self.path, os.O_RDWR | os.O_CLOEXEC)

    def read_lines(self, final: bool = False) -> list[str]:
        """Complete lines read so far; at most READS_PER_WAKEUP reads, so a log spammer cannot
        starve the event loop (the reader callback simply runs again)."""
        chunks = [self.partial]
        for _ in range(READS_PER_WAKEUP):
            try:
                chunk = os.read(self.fd, READ_CHUNK)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        data = b"".join(chunks)
        *lines, rest = data.split(b"\n")
        while len(rest) > MAX_LINE:
            lines.append(rest[:MAX_LINE])
            rest = rest[MAX_LINE:]
        if final and rest:
            lines.append(rest)
            rest = b""
        self.partial = rest
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]

    def close(self) -> None:
        os.close(self.fd)


def _ensure_fifo(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        os.mkfifo(path, 0o600)
        return
    if not stat.S_ISFIFO(mode):
        path.unlink()
        os.mkfifo(path, 0o600)


class ServiceLogs:
    """Captures one service's stdout and stderr into its log file and an in-memory stderr tail."""

    def __init__(self, name: str, state_dir: Path, spec: LogSpec) -> None:
        self.name = name
        fifo_dir = state_dir / "fifo"
        log_dir = state_dir / "logs"
        fifo_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_dir.mkdir(parents=True, exist_ok=True)
        self.file = LogFile(log_dir / f"{name}.log", spec)
        self.stderr_tail: deque[str] = deque(maxlen=spec.tail_lines)
        self.listeners: list[LineListener] = []
        self._streams = (_Stream(fifo_dir / f"{name}.out", "out"), _Stream(fifo_dir / f"{name}.err", "err"))
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def path(self) -> Path:
        return self.file.path

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        for stream in self._streams:
            loop.add_reader(stream.fd, self._on_readable, stream)

    def child_fds(self) -> tuple[int, int]:
        """New descriptors for a child's stdout and stderr; close them after spawning."""
        return self._streams[0].child_fd(), self._streams[1].child_fd()

    def drain(self) -> None:
        """Read everything already written, including a last unterminated line (on exit)."""
        for stream in self._streams:
            self._emit(stream, stream.read_lines(final=True))

    def _on_readable(self, stream: _Stream) -> None:
        self._emit(stream, stream.read_lines())

    def _emit(self, stream: _Stream, lines: list[str]) -> None:
        if not lines:
            return
        if stream.name == "err":
            self.stderr_tail.extend(lines)
        now = datetime.now(UTC)
        formatted = [format_line(now, stream.name, line) for line in lines]
        self.file.write(formatted)
        for listener in list(self.listeners):
            for line in formatted:
                listener(line)

    def close(self) -> None:
        for stream in self._streams:
            if self._loop is not None:
                self._loop.remove_reader(stream.fd)
            stream.close()
        self.file.close()


def log_files(path: Path) -> list[Path]:
    """The current file and its rotated ones, oldest first."""
    rotated = []
    for candidate in path.parent.glob(f"{path.name}.*"):
        suffix = candidate.name[len(path.name) + 1 :]
        if suffix.isdigit():
            rotated.append((int(suffix), candidate))
    ordered = [p for _, p in sorted(rotated, reverse=True)]
    if path.exists():
        ordered.append(path)
    return ordered


def read_lines(path: Path) -> Iterator[str]:
    """Every stored line of one service's log, oldest first, across rotations."""
    for file in log_files(path):
        with contextlib.suppress(FileNotFoundError), open(file, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                yield line.rstrip("\n")


def tail(path: Path, n: int) -> list[str]:
    return list(deque(read_lines(path), maxlen=n)) if n > 0 else []
