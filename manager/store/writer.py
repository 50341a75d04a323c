"""The store's single writer: a thread that batches records into transactions.

Why one thread: SQLite allows one writer at a time, and nothing on the supervision path may wait for
the database. The event loop hands records over with `submit` (a queue put, never blocking) and goes
on. During an outage records go to the disk spool, new ones behind old ones, and are replayed in
order once the database answers again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from manager.store.db import Database, is_outage
from manager.store.spool import Spool

__all__ = ["StoreWriter"]

log = logging.getLogger(__name__)

Record = dict[str, Any]
Apply = Callable[[Session, list[Record]], None]  # applies a batch in the session's transaction


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


def _release(markers: list[_Flush]) -> None:
    for marker in markers:
        marker.done.set()


class StoreWriter:
    def __init__(
        self,
        db: Database,
        spool: Spool,
        apply: Apply,
        *,
        prepare: Callable[[], None] = lambda: None,
        batch_size: int = 500,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
        idle_wake: float = 10.0,
    ) -> None:
        self.db = db
        self.spool = spool
        self._apply = apply
        self._prepare = prepare  # run before every write: migrations, once they succeed (idempotent)
        self.batch_size = batch_size
        self.retry_min = retry_min
        self.retry_max = retry_max
        # `svcbot feedback` spools to the same file while the database is away; a quiet svcbot must
        # still replay it when the database is back, not only when its next own record arrives.
        self.idle_wake = idle_wake
        self.healthy = True
        self.last_error: str | None = None
        self.written = 0
        self.rejected = 0
        self._queue: queue.Queue[Record | Callable[[], list[Record]] | _Flush | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="svcbot-store-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if self.spool.pending():
            self._queue.put(_Flush())  # replay what an earlier run left in the spool, now

    def submit(self, record: Record) -> None:
        """Queue a record for writing; never blocks, never raises for database trouble."""
        self._queue.put(record)

    def submit_later(self, make: Callable[[], list[Record]]) -> None:
        """Queue a function that makes the records, to be called in the writer thread (work that
        must stay off the event loop); one that raises is logged and makes nothing."""
        self._queue.put(make)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted so far is written or spooled."""
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Write (or spool) what is queued, then end the thread."""
        self._queue.put(None)
        self._stopping.set()
        self._thread.join(timeout)

    # -- the thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch, markers, last = self._next_batch()
            try:
                self._process(batch, markers)
            except Exception:
                log.exception("store writer failed on a batch of %d records; spooling them", len(batch))
                self.spool.append(batch)
            _release(markers)
            if last:
                return

    def _next_batch(self) -> tuple[list[Record], list[_Flush], bool]:
        batch: list[Record] = []
        markers: list[_Flush] = []
        try:
            item = self._queue.get(timeout=self.idle_wake)
        except queue.Empty:  # idle: still look at the spool, which another process may have filled
            return batch, markers, False
        while True:
            if item is None:
                return batch, markers, True
            if isinstance(item, _Flush):
                markers.append(item)
            elif callable(item):
                batch.extend(_made(item))
            else:
                batch.append(item)
            if len(batch) >= self.batch_size:
                return batch, markers, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, markers, False

    def _process(self, batch: list[Record], markers: list[_Flush]) -> None:
        if self.spool.pending() or not self.healthy:
            if batch:
                self.spool.append(batch)  # keep the order: behind what is already spooled
            _release(markers)  # spooled is what flush() waits for, not the end of the outage
            self._recover()
            return
        if not batch:
            return
        try:
            self._write(batch)
        except Exception as exc:
            if not is_outage(exc):
                raise
            self._outage(exc)
            self.spool.append(batch)
            _release(markers)
            self._recover()

    def _write(self, batch: list[Record]) -> None:
        """One transaction; a record the database refuses for good is set aside, not retried."""
        self._prepare()
        with self.db.session(write=True) as session:
            try:
                with session.begin_nested():  # the common case: the whole batch at once
                    self._apply(session, batch)
            except Exception as exc:
                if is_outage(exc):
                    raise
                self._one_by_one(session, batch)
        self.written += len(batch)

    def _one_by_one(self, session: Session, batch: list[Record]) -> None:
        """Some record in the batch was refused: apply each in its own savepoint, set aside the bad."""
        for record in batch:
            try:
                with session.begin_nested():
                    self._apply(session, [record])
            except Exception as exc:
                if is_outage(exc):
                    raise
                self.rejected += 1
                log.error("store refused record %s: %s", record.get("uid"), exc)
                self.spool.reject(record, f"{type(exc).__name__}: {exc}")

    def _outage(self, exc: BaseException) -> None:
        if self.healthy:
            log.error("database unreachable, spooling to %s: %s", self.spool.path, exc)
        self.healthy = False
        self.last_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__

    def _recover(self) -> None:
        """Replay the spool until it is empty, waiting with backoff while the database is down.

        While waiting, newly submitted records are moved to the spool too, so a svcbot killed
        during an outage has lost nothing it had accepted.
        """
        delay = self.retry_min
        while True:
            try:
                self._replay()
            except Exception as exc:
                if not is_outage(exc):
                    raise
                self._outage(exc)
            else:
                if not self.healthy:
                    log.info("database is back; spool replayed")
                self.healthy = True
                self.last_error = None
                return
            if self._stopping.wait(delay):
                self._spool_queue()
                return
            self._spool_queue()
            delay = min(delay * 2, self.retry_max)

    def _replay(self) -> None:
        with self.spool.draining() as records:
            for start in range(0, len(records), self.batch_size):
                self._write(records[start : start + self.batch_size])

    def _spool_queue(self) -> None:
        moved: list[Record] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Flush):
                item.done.set()
            elif item is None:
                self._queue.put(None)  # keep the stop request for _run
                break
            elif callable(item):
                moved.extend(_made(item))
            else:
                moved.append(item)
        if moved:
            self.spool.append(moved)


def _made(make: Callable[[], list[Record]]) -> list[Record]:
    try:
        return make()
    except Exception:
        log.exception("making store records failed; nothing stored for this event")
        return []
