"""Test infrastructure for the store: throwaway PostgreSQL databases and a TCP proxy that can be cut.

PostgreSQL is required, not optional: CI runs one at 127.0.0.1:5432 (override with SVCBOT_TEST_PG_URL),
and a test that needs it fails with a clear message when it is not there, instead of skipping quietly.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from manager.store.db import Database, normalize_url

__all__ = ["PG_URL", "Background", "PostgresServer", "TcpProxy", "empty_tables", "lock_waiters"]

PG_URL = os.environ.get("SVCBOT_TEST_PG_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PREFIX = "svcbot_t_"


class PostgresServer:
    """The test PostgreSQL server: databases are created and dropped through a connection to the base one."""

    def __init__(self, url: str = PG_URL) -> None:
        self.base: URL = make_url(normalize_url(url))
        self.admin = sa.create_engine(self.base, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def check(self) -> None:
        """Fail (never skip) when the server is not there: the store suite must run on PostgreSQL."""
        try:
            with self.admin.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except Exception as exc:
            error = " ".join(str(getattr(exc, "orig", None) or exc).split())
        else:
            return
        pytest.fail(
            f"PostgreSQL is required for the store tests and is unreachable at "
            f"{self.base.render_as_string(hide_password=True)}\n  {error}\n"
            "Start it, or point SVCBOT_TEST_PG_URL at one (trust auth, a database to connect to).",
            pytrace=False,
        )

    def url(self, database: str, *, port: int | None = None) -> str:
        """The URL of `database` on this server, or through a proxy on 127.0.0.1:`port`."""
        url = self.base.set(database=database)
        if port is not None:
            url = url.set(host="127.0.0.1", port=port)
        return url.render_as_string(hide_password=False)

    @property
    def address(self) -> tuple[str, int]:
        return self.base.host or "127.0.0.1", self.base.port or 5432

    def create(self) -> str:
        """A new, empty, uniquely named database; returns its name."""
        name = PREFIX + uuid.uuid4().hex[:12]
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return name

    def drop(self, name: str) -> None:
        assert name.startswith(PREFIX), name
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def database(self, name: str, **kwargs: Any) -> Database:
        return Database(self.url(name), **kwargs)


def empty_tables(db: Database, metadata: sa.MetaData) -> None:
    """End every other session of this PostgreSQL database (a failed test may have left one holding
    locks) and delete every row of the store's tables, children first."""
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


def lock_waiters(db: Database) -> int:
    """How many sessions of this PostgreSQL database are blocked waiting for a lock."""
    with db.engine.connect() as connection:
        count = connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return int(count)


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 in front of a server, that can be cut and brought back.

    `cut()` closes the listener and every forwarded connection (an outage, as the client sees it);
    `start()` again listens on the same port. One thread accepts; one thread per connection owns its
    two sockets and is the only one to close them (`cut` only shuts them down), so no descriptor is
    closed under a thread still using it.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.connections = 0
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._accepter: threading.Thread | None = None
        self._pipes: set[threading.Thread] = set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.02)
        self.port = int(listener.getsockname()[1])
        self._listener = listener
        self._stop = threading.Event()
        self._accepter = threading.Thread(
            target=self._accept, args=(listener, self._stop), name="test-proxy-accept", daemon=True
        )
        self._accepter.start()

    def cut(self) -> None:
        """Stop listening and drop every connection; returns when all of it is closed."""
        self._stop.set()
        if self._accepter is not None:
            self._accepter.join(5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, pipes = list(self._sockets), list(self._pipes)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for pipe in pipes:
            pipe.join(5)

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            pipe = threading.Thread(
                target=self._pipe, args=(client, server), name="test-proxy-pipe", daemon=True
            )
            with self._lock:
                self._sockets.update((client, server))
                self._pipes.add(pipe)
                self.connections += 1
            pipe.start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        peer = {client: server, server: client}
        try:
            while True:
                readable, _, _ = select.select([client, server], [], [])
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peer[sock].sendall(data)
        except OSError:
            pass
        finally:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._sockets.difference_update((client, server))
                self._pipes.discard(threading.current_thread())


class Background:
    """Run a function in a thread; `join` returns its result or re-raises its exception."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self.result = fn()
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float = 10.0) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"background call still running after {timeout}s"
        if self.error is not None:
            raise self.error
        return self.result
