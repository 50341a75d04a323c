"""Releases to announce: a service's version changed, and which issues that version resolved.

A release is recorded by ingest (the `release` table) the first time a (service, version) pair is seen.
Only a *change* is news: the first version ever seen of a service is the baseline, not a release. The
issues a release resolved are those resolved in that version (`svcbot issues resolve ID --version V`, or
Resolve in Slack before the deploy) plus those resolved without a version between the previous release
and this one, for that service.

Each announcement is claimed exactly once in the `digest_run` table, like a digest period, under a key
derived from the service and version (`release_key`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from manager.store.db import Database
from manager.store.models import DigestRun, Issue, Release

__all__ = ["ReleaseNote", "release_key", "unannounced"]

LOOKBACK = timedelta(days=7)  # older releases are history, not news (a fresh database, a long outage)
MAX_ISSUES = 50


@dataclass(frozen=True)
class ReleaseNote:
    service: str
    version: str
    first_seen: datetime
    previous: str | None  # the version before it
    resolved: tuple[tuple[int, str], ...]  # (issue id, title) resolved in it, most recent first
    key: str


def release_key(service: str, version: str) -> str:
    """The claim key of an announcement (the digest_run key column holds 64 characters)."""
    digest = hashlib.sha256(f"{service}\0{version}".encode()).hexdigest()[:40]
    return f"release:{digest}"


def unannounced(db: Database, now: datetime) -> list[ReleaseNote]:
    """Releases of the last week not announced yet, oldest first, each with the issues it resolved."""
    with db.session() as session:
        recent = session.exec(
            select(Release).where(col(Release.first_seen) >= now - LOOKBACK).order_by(col(Release.first_seen))
        ).all()
        if not recent:
            return []
        keys = {release_key(r.service, r.version): r for r in recent}
        claimed = set(  # posted already; a failed or live claim is the claim's business
            session.exec(
                select(DigestRun.period_key).where(
                    col(DigestRun.period_key).in_(list(keys)), DigestRun.status == "posted"
                )
            ).all()
        )
        fresh = [r for key, r in keys.items() if key not in claimed]
        notes = []
        for release in fresh:
            previous = session.exec(
                select(Release)
                .where(Release.service == release.service, col(Release.first_seen) < release.first_seen)
                .order_by(col(Release.first_seen).desc())
                .limit(1)
            ).first()
            if previous is None:
                continue  # the first version seen of a service is its baseline, not a release
            notes.append(
                ReleaseNote(
                    service=release.service,
                    version=release.version,
                    first_seen=release.first_seen,
                    previous=previous.version,
                    resolved=_resolved(session, release, previous),
                    key=release_key(release.service, release.version),
                )
            )
    return notes


def _resolved(session: sa.orm.Session, release: Release, previous: Release) -> tuple[tuple[int, str], ...]:
    """Issues of this service resolved in this version, or without a version since the previous one."""
    rows = session.execute(
        sa.select(col(Issue.id), col(Issue.title), col(Issue.services))
        .where(
            col(Issue.status) == "resolved",
            sa.or_(
                col(Issue.resolved_in_version) == release.version,
                sa.and_(
                    col(Issue.resolved_in_version).is_(None),
                    col(Issue.resolved_at) >= previous.first_seen,
                    col(Issue.resolved_at) <= release.first_seen,
                ),
            ),
        )
        .order_by(col(Issue.resolved_at).desc())
        .limit(MAX_ISSUES * 4)
    ).all()
    found = [(i, str(t)) for i, t, services in rows if i is not None and release.service in (services or [])]
    return tuple(found[:MAX_ISSUES])
