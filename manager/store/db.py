"""Engines and sessions: SQLite tuned for one writer (WAL), PostgreSQL through a pool.

All of this is synchronous and runs in threads (the store's writer thread, `asyncio.to_thread`
for reads); nothing here may be called on the event loop.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from manager.store import migrate

__all__ = ["Database", "is_outage", "normalize_url"]


def normalize_url(url: str) -> str:
    """Plain `postgresql://` URLs use psycopg 3, the driver svcbot ships with."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_outage(exc: BaseException) -> bool:
    """True for errors that mean "the database is not there right now" (spool and retry), as
    opposed to a bad statement or bad data (which retrying cannot fix)."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy's documented recipe is to
    # turn it off here and emit BEGIN ourselves (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    _wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across app crashes; WAL makes it safe
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _wal(cursor: Any, timeout: float = 30.0) -> None:
    """Put the file in WAL mode (a setting stored in the file, so usually already done).

    Switching needs an exclusive lock and SQLite does not wait for it with the busy timeout: two
    processes opening a new database at once would see "database is locked". Retry instead."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")  # answers the mode it is in (":memory:" stays)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_begin(connection: sa.Connection) -> None:
    """Writers take the write lock up front (BEGIN IMMEDIATE): two processes that both read and
    then write would otherwise deadlock and one would fail with "database is locked"."""
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self.url = normalize_url(url)
        self.engine = self._create_engine(connect_timeout)

    @property
    def safe_url(self) -> str:
        """The URL with its password hidden, for logs and messages."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _create_engine(self, connect_timeout: float) -> Engine:
        if self.url.startswith("sqlite"):
            engine = sa.create_engine(self.url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        return sa.create_engine(
            self.url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            pool_recycle=1800,
            connect_args={"connect_timeout": max(1, int(connect_timeout))},
        )

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        bind = self.engine.execution_options(sqlite_immediate=True) if write else self.engine
        with Session(bind, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def upgrade(self) -> None:
        migrate.upgrade(self.engine)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
