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
import threading
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from io import BufferedWriter
from pathlib import Path

from manager.config.spec import LogSpec

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
    """An append-only file rotated by size, keeping `keep` old files.

    The file is created by `open` or by the first write, whichever comes first: the supervisor opens
    its services' files once it has started them, since creating a file can take a millisecond and
    a hundred of them must not delay the first start."""

    def __init__(self, path: Path, spec: LogSpec) -> None:
        self.path = path
        self.spec = spec
        self.dropped_lines = 0
        self._fh: BufferedWriter | None = None
        self._size = 0

    def open(self) -> None:
        """Create (or open) the file now; a failure is reported as a failed write is."""
        self.write([])

    def _open(self) -> None:
        try:
            self._fh = open(self.path, "ab")  # noqa: SIM115 - owned for the service's lifetime
        except FileNotFoundError:  # the first log file of a new state dir
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab")  # noqa: SIM115
        self._size = self._fh.tell()

    def write(self, lines: list[str]) -> None:
        """Append lines; a file never grows past max_size (unless one line alone is larger)."""
        try:
            if self._fh is None:
                self._open()
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
            assert self._fh is not None
            data = b"".join(batch)
            self._fh.write(data)
            self._fh.flush()
            self._size += len(data)

    def _rotate(self) -> None:
        assert self._fh is not None
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
        if self._fh is not None:
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
        _make_fifo(path)
        return
    if not stat.S_ISFIFO(mode):
        path.unlink()
        _make_fifo(path)


def _make_fifo(path: Path) -> None:
    """mkfifo, making the folder first if it is missing; one made meanwhile by `make_fifos` is fine."""
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        pass
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            os.mkfifo(path, 0o600)


def _fifo_paths(state_dir: Path, name: str) -> tuple[Path, Path]:
    fifo_dir = state_dir / "fifo"
    return fifo_dir / f"{name}.out", fifo_dir / f"{name}.err"


def make_fifos(state_dir: Path, names: list[str]) -> threading.Thread:
    """Create the services' FIFOs in a worker thread, in start order, while the event loop goes on.

    Creating a FIFO can take a millisecond of kernel time, and a service's FIFOs are needed only
    when it is spawned: so the loop spawns the first services while this thread creates the FIFOs
    of the next ones, on another core. It only ever creates a missing FIFO; a service that gets
    ahead of it creates its own (`_ensure_fifo`), and errors are left to that path to report."""

    def work() -> None:
        with contextlib.suppress(OSError):
            (state_dir / "fifo").mkdir(parents=True, exist_ok=True, mode=0o700)
            for name in names:
                for path in _fifo_paths(state_dir, name):
                    with contextlib.suppress(FileExistsError):
                        os.mkfifo(path, 0o600)

    thread = threading.Thread(target=work, name="svcbot-fifos", daemon=True)
    thread.start()
    return thread


class ServiceLogs:
    """Captures one service's stdout and stderr into its log file and an in-memory stderr tail."""

    def __init__(self, name: str, state_dir: Path, spec: LogSpec) -> None:
        self.name = name
        self._state_dir = state_dir  # its fifo/ and logs/ folders are made when first needed
        self.file = LogFile(state_dir / "logs" / f"{name}.log", spec)
        self.stderr_tail: deque[str] = deque(maxlen=spec.tail_lines)
        self.listeners: list[LineListener] = []
        self._streams: tuple[_Stream, ...] = ()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading = False

    @property
    def path(self) -> Path:
        return self.file.path

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read the FIFOs on `loop` once they are open and attached (at the first spawn or adoption)."""
        self._loop = loop
        if self._streams:
            self.attach()

    def open_fifos(self) -> None:
        """Open the FIFOs, creating what is missing. It needs no event loop: at start-up a spawner
        thread does it (see `ServiceRunner.spawn_early`), and `attach` then reads them on the loop."""
        if not self._streams:
            out, err = _fifo_paths(self._state_dir, self.name)
            self._streams = (_Stream(out, "out"), _Stream(err, "err"))

    def attach(self) -> None:
        """Open the FIFOs if need be and read them on the loop; a no-op once done."""
        self.open_fifos()
        if self._loop is not None and not self._reading:
            for stream in self._streams:
                self._loop.add_reader(stream.fd, self._on_readable, stream)
            self._reading = True

    def child_fds(self) -> tuple[int, int]:
        """New descriptors for a child's stdout and stderr (close them after spawning), and the
        FIFOs opened if need be. The caller `attach`es them on the loop's thread."""
        self.open_fifos()
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
