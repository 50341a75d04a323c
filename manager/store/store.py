"""The feedback loop's memory as one object: a database, its single writer thread and the spool.

`svcbot run` opens one Store, subscribes it to the event bus and never waits for it: every event
becomes records that `submit` hands to the writer thread. The CLI opens one too, for reads and for
`svcbot feedback`, which writes at once and falls back to the spool when the database is down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from manager.config.spec import Config, ServiceSpec
from manager.store import ingest
from manager.store.db import Database, is_outage
from manager.store.models import Feedback
from manager.store.spool import DEFAULT_MAX_BYTES, Spool
from manager.store.writer import StoreWriter
from manager.supervision import events as ev
from manager.triage.reports import Host, Record, event_record, occurrence_record

__all__ = ["FeedbackReceipt", "Store"]

log = logging.getLogger(__name__)

SPOOL_DIR = "spool"


class FeedbackReceipt:
    """What `svcbot feedback` and Slack's /feedback tell the person: the ID, or that it was spooled."""

    def __init__(self, record: Record, feedback_id: int | None, issue_id: int | None) -> None:
        self.record = record
        self.feedback_id = feedback_id
        self.issue_id = issue_id

    @property
    def spooled(self) -> bool:
        return self.feedback_id is None

    @property
    def category(self) -> str:
        return str(self.record["category"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.feedback_id,
            "issue_id": self.issue_id,
            "uid": self.record["uid"],
            "category": self.category,
            "severity": self.record["severity"],
            "rules": self.record["rules"],
            "spooled": self.spooled,
        }


class Store:
    def __init__(self, url: str, state_dir: Path, *, spool_bytes: int | None = None) -> None:
        self.db = Database(url)
        self.spool = Spool(state_dir / SPOOL_DIR, spool_bytes or DEFAULT_MAX_BYTES)
        self.writer = StoreWriter(self.db, self.spool, self._apply, prepare=self.ensure_schema)
        self.host = Host()
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        self._specs: Callable[[str], ServiceSpec | None] = lambda _name: None
        self._forward: tuple[str, ...] = ()
        self._forwarded: Callable[[], None] = lambda: None

    @classmethod
    def for_config(cls, config: Config) -> Store:
        return cls(config.database, config.state_dir)

    def ensure_schema(self) -> None:
        """Apply pending migrations once per Store (outages raise and are retried by the caller)."""
        with self._schema_lock:
            if not self._schema_ready:
                self.db.upgrade()
                self._schema_ready = True

    # -- the daemon side ------------------------------------------------------------------------------

    def start(self, specs: Callable[[str], ServiceSpec | None]) -> None:
        """Start the writer thread (it migrates the schema first, spooling until it can)."""
        self._specs = specs
        self.writer.start()

    def on_event(self, event: ev.Event) -> None:
        """A bus handler: quick, never blocks, never raises for database trouble.

        It runs on the supervision path (before a crashed service is restarted), so the report is
        made in the writer thread: parsing the traceback and redacting take milliseconds."""
        service = getattr(event, "service", None)
        spec = self._specs(service) if service else None  # as configured now, not when written
        self.writer.submit_later(partial(self._records, event, spec))

    def _records(self, event: ev.Event, spec: ServiceSpec | None) -> list[Record]:
        report = occurrence_record(event, spec, self.host)
        return [event_record(event)] if report is None else [event_record(event), self._tagged(report)]

    def submit(self, record: Record) -> None:
        self.writer.submit(self._tagged(record))

    # -- forwarding to remote targets ---------------------------------------------------------------

    def forward_to(self, targets: Sequence[str], wake: Callable[[], None]) -> None:
        """Forward occurrences made from now on to `targets` (call before `start`).

        Every occurrence record, the supervisor's and Alertmanager's alike, gets a `forward` key
        here, so ingest writes its outbox rows without knowing the configuration, and a record
        spooled during an outage keeps its targets. `wake` is called after each commit that added
        outbox rows, so the forwarder sends them at once instead of at its next poll."""
        self._forward = tuple(targets)
        self._forwarded = wake

    def _tagged(self, record: Record) -> Record:
        if not self._forward or record.get("op") != "occurrence" or "forward" in record:
            return record
        return {**record, "forward": list(self._forward)}

    def _apply(self, session: Session, records: list[Record]) -> None:
        ingest.apply_batch(session, records)
        if any(record.get("forward") for record in records) and not session.info.get("forwarding"):
            # after the commit, not now: woken earlier, the forwarder would find nothing yet
            session.info["forwarding"] = True
            sa.event.listen(session, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.get_nested_transaction() is None:  # a savepoint's release fires this event too
            self._forwarded()

    def close(self, timeout: float = 30.0) -> None:
        self.writer.stop(timeout)
        self.db.dispose()

    # -- direct writes (CLI, Slack) ---------------------------------------------------------------------

    def add_feedback(self, record: Record) -> FeedbackReceipt:
        """Write feedback now and say where it went; during an outage it is spooled, not lost."""
        try:
            self.ensure_schema()
            with self.db.session(write=True) as session:
                ingest.apply(session, record)
                found = session.exec(select(Feedback).where(Feedback.uid == record["uid"])).one()
                return FeedbackReceipt(record, found.id, found.issue_id)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("database unreachable, feedback %s spooled: %s", record["uid"], exc)
            self.spool.append([record])
            return FeedbackReceipt(record, None, None)

    def apply_now(self, record: Record) -> None:
        """Write one record in its own transaction (audit entries of CLI commands)."""
        with self.db.session(write=True) as session:
            ingest.apply(session, record)
