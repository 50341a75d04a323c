"""What front ends keep in the database besides reports: idempotency keys and small named state.

Synchronous, like the rest of the store: call from a worker thread (`asyncio.to_thread`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from manager.store.db import Database
from manager.store.models import IdempotencyKey, StateEntry

__all__ = ["claim_key", "load_state", "prune_keys", "save_state"]


def claim_key(db: Database, key: str, kind: str) -> bool:
    """True for the first caller with this key, False for every repeat (a retried Slack event,
    a double-clicked button), even from another svcbot sharing the database."""
    try:
        with db.session(write=True) as session:
            session.add(IdempotencyKey(key=key[:255], kind=kind, at=datetime.now(UTC)))
    except IntegrityError:
        return False
    return True


def prune_keys(db: Database, older_than: timedelta = timedelta(days=2)) -> int:
    """Forget keys older than Slack's retry horizon; returns how many were removed."""
    cutoff = datetime.now(UTC) - older_than
    with db.session(write=True) as session:
        result = session.execute(sa.delete(IdempotencyKey).where(col(IdempotencyKey.at) < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)


def load_state(db: Database, name: str) -> dict[str, Any] | None:
    with db.session() as session:
        entry = session.exec(select(StateEntry).where(StateEntry.name == name)).first()
        return dict(entry.value) if entry is not None else None


def save_state(db: Database, name: str, value: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    with db.session(write=True) as session:
        entry = session.exec(select(StateEntry).where(StateEntry.name == name).with_for_update()).first()
        if entry is None:
            session.add(StateEntry(name=name, value=value, updated_at=now))
        else:
            entry.value = value
            entry.updated_at = now
            session.add(entry)
