"""The control API: newline-delimited JSON on a unix socket in `state_dir` (mode 0600).

Request: one line `{"verb": "status", "args": {"name": "web"}}`. Response: one line with a `Result`
(`{"ok": ..., "message": ..., "data": ..., "code": ...}`); `logs` with `follow` then streams
`{"line": "..."}` lines until the client hangs up. Only the owner of the state dir can connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from manager.core.commands import (
    EXIT_FAILED,
    EXIT_USAGE,
    Command,
    CommandError,
    Logs,
    Result,
    parse_command,
)

__all__ = ["SOCKET_NAME", "ControlError", "ControlServer", "request", "stream"]

log = logging.getLogger(__name__)
MAX_REQUEST = 64 * 1024
SOCKET_NAME = "svcbot.sock"  # in state_dir

Execute = Callable[[Command], Any]
Follow = Callable[[Logs, Callable[[str], None]], Callable[[], None]]


class ControlServer:
    def __init__(self, path: Path, execute: Execute, follow: Follow) -> None:
        self.path = path
        self._execute = execute
        self._follow = follow
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        old_umask = os.umask(0o177)  # the socket is born 0600: no window where others can connect
        try:
            self._server = await asyncio.start_unix_server(
                self._handle, path=str(self.path), limit=MAX_REQUEST
            )
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("control request failed")
            with contextlib.suppress(Exception):
                await _send(
                    writer,
                    Result(False, "internal error in svcbot (see its log)", code=EXIT_FAILED).to_dict(),
                )
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await reader.readline()
            command = parse_command(json.loads(raw))
        except (ValueError, asyncio.LimitOverrunError) as exc:
            await _send(writer, Result(False, f"bad request: {exc}", code=EXIT_USAGE).to_dict())
            return
        except CommandError as exc:
            await _send(writer, Result(False, str(exc), code=exc.code).to_dict())
            return
        result: Result = await self._execute(command)
        await _send(writer, result.to_dict())
        if isinstance(command, Logs) and command.follow and result.ok:
            await self._stream(command, reader, writer)

    async def _stream(
        self, command: Logs, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        queue: asyncio.Queue[str] = asyncio.Queue(10_000)

        def push(line: str) -> None:
            if not queue.full():
                queue.put_nowait(line)

        unsubscribe = self._follow(command, push)
        hangup = asyncio.ensure_future(reader.read())  # EOF when the client goes away
        try:
            while not hangup.done():
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({getter, hangup}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    break
                await _send(writer, {"line": getter.result()})
        finally:
            hangup.cancel()
            unsubscribe()


async def _send(writer: asyncio.StreamWriter, obj: dict[str, Any]) -> None:
    writer.write(json.dumps(obj, default=str).encode() + b"\n")
    await writer.drain()


class ControlError(Exception):
    """svcbot is not running, or the socket cannot be reached."""


def _connect(path: Path, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except FileNotFoundError:
        sock.close()
        raise ControlError(
            f"svcbot is not running (no control socket at {path}); start it with `svcbot run`"
        ) from None
    except (ConnectionRefusedError, OSError) as exc:
        sock.close()
        raise ControlError(f"cannot reach svcbot at {path}: {exc.strerror or exc}") from None
    return sock


def request(path: Path, verb: str, args: dict[str, Any] | None = None, timeout: float = 120.0) -> Result:
    """Send one command to the running svcbot and return its result (blocking; for the CLI)."""
    sock = _connect(path, timeout)
    with sock, sock.makefile("rwb") as fh:
        fh.write(json.dumps({"verb": verb, "args": args or {}}).encode() + b"\n")
        fh.flush()
        line = fh.readline()
    if not line:
        raise ControlError("svcbot closed the connection without answering")
    return Result(**json.loads(line))


def stream(path: Path, verb: str, args: dict[str, Any]) -> tuple[Result, Iterator[str]]:
    """Send a streaming command (logs --follow): the first result, then the lines as they come."""
    sock = _connect(path, 30.0)
    fh = sock.makefile("rwb")
    fh.write(json.dumps({"verb": verb, "args": args}).encode() + b"\n")
    fh.flush()
    first = fh.readline()
    if not first:
        sock.close()
        raise ControlError("svcbot closed the connection without answering")
    sock.settimeout(None)

    def lines() -> Iterator[str]:
        with sock, fh:
            for raw in fh:
                yield str(json.loads(raw)["line"])

    return Result(**json.loads(first)), lines()
