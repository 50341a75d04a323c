"""`svcbot run`: wires the reaper, bus, supervisor and control socket on one event loop.

SIGTERM and SIGINT stop every service in reverse dependency order, then exit 0. SIGHUP (and
`svcbot reload`) re-reads the config: a bad one is refused and nothing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from manager.cli.control import SOCKET_NAME, ControlServer
from manager.config.loader import ConfigError, load_config
from manager.config.spec import Config
from manager.core.commands import EXIT_FAILED, EXIT_USAGE, Command, Logs, Result
from manager.core.redact import redact_event_data
from manager.supervision import events as ev
from manager.supervision.execute import Executor
from manager.supervision.process import Reaper, set_child_subreaper
from manager.supervision.supervisor import Supervisor

if TYPE_CHECKING:
    from manager.forwarding.forwarder import Forwarder
    from manager.store.store import Store

__all__ = ["AlreadyRunning", "Daemon", "Extension", "acquire_lock", "open_store", "socket_path"]

log = logging.getLogger("svcbot")

SWITCH_INTERVAL = 0.0005  # seconds; see Daemon.main


class AlreadyRunning(RuntimeError):
    pass


def socket_path(config: Config) -> Path:
    return config.state_dir / SOCKET_NAME


def acquire_lock(state_dir: Path) -> int:
    """Hold an exclusive lock on state_dir/svcbot.lock for this process's lifetime.

    Two managers on one state dir would fight over the same services; the lock makes the second
    one refuse to start. The kernel drops it when the holder dies, even by SIGKILL.
    """
    fd = os.open(state_dir / "svcbot.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise AlreadyRunning(f"another svcbot (pid {holder}) is running with state dir {state_dir}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def open_store(config: Config) -> Store:
    """The store for `config`; imported here, in a worker thread, because SQLAlchemy's import alone
    costs more than starting a hundred services."""
    from manager.store.store import Store  # noqa: PLC0415

    return Store.for_config(config)


class Extension(Protocol):
    """Something that runs beside the supervisor in `svcbot run` (the Slack front end is one).

    `start` is awaited once the services are started and the store is attached; an extension
    talks to svcbot through the daemon: `execute` for commands, `bus` for events, `store` (which
    may be None). `stop` is awaited first at shutdown, before the services are stopped. Neither
    may raise: an extension that fails is reported and svcbot goes on without it."""

    name: str

    async def start(self, daemon: Daemon) -> None: ...

    async def stop(self) -> None: ...


class Daemon:
    def __init__(
        self,
        config: Config,
        environ: dict[str, str] | None = None,
        store_opener: Callable[[Config], Store] | None = None,
        extensions: Sequence[Extension] = (),
    ) -> None:
        self.config = config
        self.environ = environ if environ is not None else dict(os.environ)
        self.bus = ev.EventBus()
        self.store: Store | None = None
        self.forwarder: Forwarder | None = None
        self._store_opener = store_opener
        self.extensions = list(extensions)
        self._history: list[ev.Event] = []  # events published before the extensions started
        self._executor: Callable[[Command], Awaitable[Result]] | None = None
        self.supervisor: Supervisor | None = None
        self._stop = asyncio.Event()
        self._reloading = asyncio.Lock()

    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._on_loop_error)
        # The store's writer thread must not delay supervision: by default a thread waiting for the
        # GIL waits up to 5 ms, which showed up as restart gaps of 30 ms instead of 20 ms.
        sys.setswitchinterval(SWITCH_INTERVAL)
        if not set_child_subreaper():
            log.warning("cannot become a child subreaper: orphaned grandchildren will go to init")
        reaper = Reaper(loop)
        reaper.install()
        self.bus.subscribe(_log_event)
        early: list[ev.Event] = []
        stop_buffering = self.bus.subscribe(early.append)
        stop_history = self.bus.subscribe(self._history.append)
        self.supervisor = supervisor = Supervisor(self.config, loop, reaper, self.bus)
        self._executor = self._guarded(Executor(supervisor, self.reload).execute)
        server = ControlServer(socket_path(self.config), self._executor, self._follow)
        await server.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload()))
        log.info(
            "svcbot %d running %d services from %s", os.getpid(), len(self.config.services), self.config.path
        )
        await supervisor.start()
        await self._attach_store(early, stop_buffering)
        started = await self._start_extensions()
        stop_history()
        self._history.clear()
        await self._stop.wait()
        log.info("stopping every service")
        for extension in reversed(started):
            await self._guard(f"stopping {extension.name}", extension.stop())
        await server.close()
        await supervisor.shutdown()
        reaper.uninstall()
        if self.forwarder is not None:
            await asyncio.to_thread(self.forwarder.stop)  # before the store closes its engine
        if self.store is not None:
            await asyncio.to_thread(self.store.close)  # writes (or spools) what is still queued
        log.info("svcbot stopped")
        return 0

    async def _attach_store(self, early: list[ev.Event], stop_buffering: Callable[[], None]) -> None:
        """Open the store once the services run, then hand it every event published meanwhile.

        Between the buffer's removal and the store's subscription nothing awaits, so no event
        published on the loop can fall in between."""
        store = None
        if self._store_opener is not None:
            try:
                store = await asyncio.to_thread(self._store_opener, self.config)
            except Exception as exc:
                self.report_error("opening the store", exc)
        if store is not None:
            self.forwarder = await self._start_forwarder(store)  # before the store makes any record
        stop_buffering()
        if store is None:
            return
        store.start(lambda name: self.config.service(name))  # noqa: PLW0108 - self.config changes on reload
        for event in early:
            store.on_event(event)
        self.bus.subscribe(store.on_event)
        self.store = store
        log.info("storing reports in %s", store.db.safe_url)

    async def _start_forwarder(self, store: Store) -> Forwarder | None:
        """Forwarding to Sentry (SENTRY_DSN) and the webhook (`forward:`), when configured. A setting
        that cannot work is reported and svcbot runs on without forwarding; nothing else depends on it."""
        if not (self.config.forward.webhook or self.environ.get("SENTRY_DSN", "").strip()):
            return None
        try:
            return await asyncio.to_thread(_open_forwarder, store, self.config, self.environ)
        except Exception as exc:
            self.report_error("starting the forwarder", exc)
            return None

    async def _start_extensions(self) -> list[Extension]:
        started = []
        for extension in self.extensions:
            if await self._guard(f"starting {extension.name}", extension.start(self)):
                started.append(extension)
        return started

    async def _guard(self, where: str, work: Awaitable[None]) -> bool:
        try:
            await work
        except Exception as exc:
            self.report_error(where, exc)
            return False
        return True

    def subscribe(self, handler: Callable[[ev.Event], None]) -> Callable[[], None]:
        """Subscribe to the bus, first receiving what was published since svcbot started (while an
        extension starts, services may already have crashed: its alerts must not miss that)."""
        for event in list(self._history):
            handler(event)
        return self.bus.subscribe(handler)

    async def execute(self, command: Command) -> Result:
        """Run a command as the control socket would (errors become failed results)."""
        if self._executor is None:
            return Result(False, "svcbot is starting", code=EXIT_FAILED)
        return await self._executor(command)

    def _guarded(self, execute: Callable[[Command], Any]) -> Callable[[Command], Any]:
        async def run(command: Command) -> Result:
            try:
                result: Result = await execute(command)
            except Exception as exc:
                self.report_error(f"command {command.verb}", exc)
                return Result(False, f"internal error: {type(exc).__name__}: {exc}", code=EXIT_FAILED)
            return result

        return run

    async def reload(self) -> Result:
        async with self._reloading:
            try:
                new = load_config(self.config.path, self.environ)
            except ConfigError as exc:
                log.error("reload refused, nothing changed: %s", exc)
                return Result(False, f"reload refused, nothing changed: {exc}", code=EXIT_USAGE)
            if new.state_dir != self.config.state_dir:
                message = "reload refused: state_dir cannot change while svcbot runs (restart svcbot)"
                return Result(False, message, code=EXIT_USAGE)
            assert self.supervisor is not None
            result = await self.supervisor.reload(new)
            self.config = new
            summary = {k: v for k, v in vars(result).items()}
            log.info("reloaded %s", self.config.path, extra={"reload": summary})
            parts = [f"{k}: {', '.join(v)}" for k, v in summary.items() if v and k != "unchanged"]
            return Result(True, "reloaded; " + ("; ".join(parts) or "no service changed"), summary)

    def _follow(self, command: Logs, push: Callable[[str], None]) -> Callable[[], None]:
        assert self.supervisor is not None
        runners = (
            [self.supervisor.runner(command.name)] if command.name else list(self.supervisor.runners.values())
        )
        listeners = []
        for runner in runners:
            prefix = f"{runner.name} | " if command.name is None else ""

            def listener(line: str, prefix: str = prefix) -> None:
                push(prefix + line)

            runner.logs.listeners.append(listener)
            listeners.append((runner, listener))

        def unsubscribe() -> None:
            for runner, listener in listeners:
                with contextlib.suppress(ValueError):
                    runner.logs.listeners.remove(listener)

        return unsubscribe

    def report_error(self, where: str, exc: BaseException, service: str | None = None) -> None:
        """Log an unexpected exception with its traceback and publish it; never re-raise."""
        text = "".join(traceback.format_exception(exc))
        log.error("unexpected error in %s: %s", where, exc, exc_info=exc)
        event = ev.ManagerError(
            where=where, error_type=type(exc).__name__, message=str(exc), traceback=text, service=service
        )
        self.bus.publish(event)

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            self.report_error(str(context.get("message", "event loop")), exc)
        else:
            log.error("event loop: %s", context.get("message"))


def _open_forwarder(store: Store, config: Config, environ: dict[str, str]) -> Forwarder | None:
    from manager.forwarding.forwarder import open_forwarder  # noqa: PLC0415 - only when configured

    return open_forwarder(store, config.forward, environ)


def _log_event(event: ev.Event) -> None:
    # The stderr tail stays out of the log line: it is in the service's own log already, and
    # redacting 50 lines here would delay every restart by milliseconds.
    level = _LEVELS.get(event.kind, logging.INFO)
    if not log.isEnabledFor(level):
        return  # two state changes per start, at DEBUG: no dict to build and redact for nothing
    data = redact_event_data(event.to_dict(), without=("stderr_tail",))
    service = data.get("service")
    log.log(level, "%s%s", f"{service}: " if service else "", event.describe(), extra={"event": data})


# State changes follow from the events around them (started, exited, health) and are in the
# store's timeline; at INFO they tripled the log lines of every start.
_LEVELS = {
    "crash_loop": logging.WARNING,
    "resource_breach": logging.WARNING,
    "manager_error": logging.WARNING,
    "service_state_changed": logging.DEBUG,
}
