"""Shared test fixtures: an in-process supervisor harness and helpers to run real programs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from manager.config.loader import load_config
from manager.config.spec import Config
from manager.supervision import events as ev
from manager.supervision.process import RUN_ID_VAR, Reaper, read_environ, set_child_subreaper
from manager.supervision.supervisor import Supervisor, instance_id

PROGRAMS = Path(__file__).parent / "programs"
PY = sys.executable


def program(name: str, *args: object) -> list[str]:
    """argv running one of the fixture programs in tests/programs."""
    return [PY, str(PROGRAMS / f"{name}.py"), *(str(a) for a in args)]


def require_program(path: Path, package: str) -> None:
    """A real program from Debian's packages, which `make test` installs as root
    (tests/debian-packages.sh): skipped with the reason where it is missing, a failure under CI."""
    if path.exists():
        return
    reason = f"{path} is missing: apt-get install {package} (make test does, as root)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run every test", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(tmp_path: Path, services: dict[str, Any], **top: Any) -> Path:
    data = {"state_dir": str(tmp_path / "state"), "services": services, **top}
    path = tmp_path / "svcbot.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def tagged_processes(state_dir: Path) -> list[int]:
    """Live (non-zombie) processes started by svcbot for this state dir."""
    prefix = f"{RUN_ID_VAR}={instance_id(state_dir)}.".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        environ = read_environ(int(entry.name))  # waits out a child caught in the middle of exec
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_bytes()
        except OSError:
            continue
        if environ is None:
            continue
        if stat[stat.rfind(b")") + 2 :].startswith(b"Z"):
            continue
        if any(var.startswith(prefix) for var in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return not stat[stat.rfind(b")") + 2 :].startswith(b"Z")


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll with a deadline (for state outside the event loop: files, /proc, sockets)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


async def await_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


class Harness:
    """A supervisor running on the test's event loop, with every published event recorded."""

    def __init__(self, config: Config, supervisor: Supervisor, bus: ev.EventBus) -> None:
        self.config = config
        self.supervisor = supervisor
        self.bus = bus
        self.events: list[ev.Event] = []
        self._changed = asyncio.Event()
        bus.subscribe(self._record)

    def _record(self, event: ev.Event) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, cls: type[ev.Event], service: str | None = None) -> list[Any]:
        return [
            e
            for e in self.events
            if isinstance(e, cls) and (service is None or getattr(e, "service", None) == service)
        ]

    async def wait_event(
        self,
        cls: type[ev.Event],
        service: str | None = None,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Any], bool] = lambda e: True,
    ) -> Any:
        """Wait until `count` matching events were published; return the last of them."""
        deadline = time.monotonic() + timeout
        while True:
            matching = [e for e in self.of(cls, service) if where(e)]
            if len(matching) >= count:
                return matching[count - 1]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kinds = [e.kind for e in self.events][-20:]
                raise AssertionError(
                    f"timed out waiting for {count} x {cls.__name__}({service}); recent: {kinds}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_state(self, name: str, state: str, timeout: float = 10.0) -> None:
        runner = self.supervisor.runner(name)
        if not await runner.wait_for(lambda r: r.state == state, timeout):
            raise AssertionError(f"{name} is {runner.state}, not {state}, after {timeout}s")


@pytest.fixture(scope="session", autouse=True)
def _subreaper() -> None:
    """Tests run supervisors in-process, as `svcbot run` does: orphans must come back to us."""
    set_child_subreaper()


@pytest.fixture
async def make_harness(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Build and start a harness from a services mapping; at the end every service is stopped
    and the test fails if any process of this state dir is left alive."""
    started: list[tuple[Harness, Reaper]] = []

    async def make(services: dict[str, Any], start: bool = True, **top: Any) -> Harness:
        config = load_config(write_config(tmp_path, services, **top))
        config.state_dir.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        reaper = Reaper(loop)
        reaper.install()
        bus = ev.EventBus()
        harness = Harness(config, Supervisor(config, loop, reaper, bus), bus)
        started.append((harness, reaper))
        if start:
            await harness.supervisor.start()
        return harness

    yield make
    for harness, reaper in started:
        await harness.supervisor.shutdown()
        reaper.uninstall()
    leaked = tagged_processes(tmp_path / "state")
    for pid in leaked:
        os.kill(pid, 9)
    assert not leaked, f"processes leaked by the test: {leaked}"


# -- databases ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_scratch() -> Iterator[tuple[Any, str]]:
    """One migrated PostgreSQL database for the session's `dual_db` tests, dropped at the end."""
    from tests.dbs import PostgresServer  # noqa: PLC0415 - SQLAlchemy only for the tests that use it

    server = PostgresServer()
    server.check()
    name = server.create()
    database = server.database(name)
    database.upgrade()
    database.dispose()
    yield server, name
    server.drop(name)
    server.admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def dual_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A migrated database with empty tables: a SQLite file, then the real PostgreSQL."""
    from manager.store.db import Database  # noqa: PLC0415
    from manager.store.models import metadata  # noqa: PLC0415
    from tests.dbs import empty_tables  # noqa: PLC0415

    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'svcbot.db'}")
        database.upgrade()
    else:
        server, name = request.getfixturevalue("pg_scratch")
        database = server.database(name)
        empty_tables(database, metadata)
    yield database
    database.dispose()
