"""The digest's clock: APScheduler 3 (AsyncIOScheduler) on the event loop of `svcbot run`.

The only module that imports apscheduler. Two jobs call the same idempotent `DigestPoster.post_latest`:

* "digest" fires at `digest.schedule` in `digest.timezone`, through a trigger that asks the pure, DST-safe
  `manager.config.schedule.next_run` (so the rules of the schedule are the tested ones, not cron's);
* "digest-check" fires at start (the catch-up of a period missed while svcbot was down) and then every
  few minutes: it posts a period whose claim was given back after a failure or whose claimant died, once
  the lease has run out.

A third job, "releases", announces new service versions every minute (`chatops.digest.release_post`).
Because posting is claimed in the database, several svcbot copies can run this side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from chatops.digest.post import DigestPoster
from chatops.digest.release_post import ReleaseAnnouncer
from manager.config.schedule import next_run, parse_schedule
from manager.config.spec import DigestSpec

__all__ = ["CHECK_EVERY", "DigestScheduler", "ScheduleTrigger"]

log = logging.getLogger("svcbot.digest")

CHECK_EVERY = 300.0  # seconds between checks for a period that still needs posting
RELEASES_EVERY = 60.0  # seconds between checks for a new version to announce


class ScheduleTrigger(BaseTrigger):  # type: ignore[misc]  # untyped base
    """`digest.schedule` as an APScheduler trigger; read at every firing, so a reload applies."""

    def __init__(self, spec: Callable[[], DigestSpec]) -> None:
        self._spec = spec

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        spec = self._spec()
        after = max(previous_fire_time, now) if previous_fire_time is not None else now
        return next_run(parse_schedule(spec.schedule), after, spec.timezone)

    def __str__(self) -> str:
        spec = self._spec()
        return f"digest schedule {spec.schedule!r} in {spec.timezone}"


class DigestScheduler:
    def __init__(
        self,
        poster: DigestPoster,
        spec: Callable[[], DigestSpec],
        check_every: float = CHECK_EVERY,
        releases: ReleaseAnnouncer | None = None,
    ) -> None:
        self._poster = poster
        self._releases = releases
        self._spec = spec
        self._check_every = check_every
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self.run_once,
            ScheduleTrigger(self._spec),
            id="digest",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,  # late is better than never; the claim keeps it to once
        )
        scheduler.add_job(
            self.run_once,
            IntervalTrigger(seconds=self._check_every, timezone=UTC),
            id="digest-check",
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
        )
        if self._releases is not None:
            scheduler.add_job(
                self.announce_releases,
                IntervalTrigger(seconds=RELEASES_EVERY, timezone=UTC),
                id="releases",
                next_run_time=datetime.now(UTC),
                coalesce=True,
                max_instances=1,
            )
        scheduler.start()
        self._scheduler = scheduler
        job = scheduler.get_job("digest")
        log.info(
            "digest scheduled (%s); next at %s",
            job.trigger if job else "?",
            job.next_run_time if job else "?",
        )

    async def run_once(self) -> str:
        try:
            return await self._poster.post_latest()
        except Exception as exc:
            log.warning("digest not posted (%s: %s); retrying at the next check", type(exc).__name__, exc)
            return "failed"

    async def announce_releases(self) -> int:
        if self._releases is None:
            return 0
        try:
            return await self._releases.announce()
        except Exception as exc:
            log.warning("release not announced (%s: %s); retrying at the next check", type(exc).__name__, exc)
            return 0

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    @property
    def next_run_time(self) -> datetime | None:
        job = self._scheduler.get_job("digest") if self._scheduler else None
        return job.next_run_time if job else None
