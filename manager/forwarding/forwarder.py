"""The forwarder thread: delivers the outbox to each target, retrying until the remote end answers.

It follows the store writer's style: one daemon thread, synchronous database work, nothing on the
event loop and nothing the writer ever waits for. It wakes when the Store commits new outbox rows
(`wake`), when a delayed retry falls due, and every `poll` seconds in any case (another svcbot on
the same database may have left rows). A database outage is logged once and waited out with
backoff; the rows are in the database, so nothing is lost meanwhile.

One round takes, for each target, a batch of due rows in occurrence order and delivers them one by
one. A delivery to retry holds back the rows behind it (order per target), with exponential
backoff, capped, with jitter, or the remote's Retry-After if that is longer.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from manager.config.spec import ForwardSpec
from manager.forwarding.delivery import Outcome, Target
from manager.store import forward_outbox as outbox
from manager.store.db import Database, is_outage

if TYPE_CHECKING:
    from manager.store.store import Store

__all__ = ["Forwarder", "backoff", "open_forwarder", "pending", "targets_from"]

log = logging.getLogger(__name__)

RETRY_MIN = 1.0  # seconds before the first retry
RETRY_MAX = 300.0  # the cap of the backoff between retries
RETRY_AFTER_MAX = 3600.0  # a remote's Retry-After is honoured up to an hour


def backoff(attempts: int) -> float:
    """Seconds before retrying a delivery that failed `attempts` times: doubling from RETRY_MIN up
    to RETRY_MAX, with jitter (half to all of it) so that svcbots sharing a receiver spread out."""
    delay = min(RETRY_MIN * 2.0 ** max(attempts - 1, 0), RETRY_MAX)
    return delay * random.uniform(0.5, 1.0)


def _now() -> datetime:
    return datetime.now(UTC)


def pending(db: Database) -> int:
    """How many deliveries are still to be made, over every target (for metrics)."""
    return sum(outbox.pending(db).values())


class Forwarder:
    def __init__(
        self,
        db: Database,
        targets: Sequence[Target],
        *,
        prepare: Callable[[], None] = lambda: None,
        batch_size: int = 20,
        poll: float = 30.0,
        lease: float = 120.0,
        backoff: Callable[[int], float] = backoff,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.db = db
        self.targets = list(targets)
        self._prepare = prepare  # the store's migrations: the table must exist before the first claim
        self.batch_size = batch_size
        self.poll = poll
        self.lease = lease  # longer than a batch can take, or a second svcbot may send it too
        self._backoff = backoff
        self._clock = clock
        self.healthy = True
        self.last_error: str | None = None
        self.sent = 0
        self.failed = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="svcbot-forwarder", daemon=True)

    @property
    def names(self) -> list[str]:
        return [target.name for target in self.targets]

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Deliver soon: new rows were committed (called from the store's writer thread)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread after the delivery in flight (a request lasts at most the timeout)."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def pending(self) -> int:
        return pending(self.db)

    # -- one round ----------------------------------------------------------------------------------

    def step(self) -> float:
        """Deliver one batch per target; the seconds until the next round is worth running."""
        wait = self.poll
        for target in self.targets:
            if self._stopping.is_set():
                break
            wait = min(wait, self._drain(target))
        return max(wait, 0.0)

    def _drain(self, target: Target) -> float:
        now = self._clock()
        batch = outbox.claim(self.db, target.name, now, limit=self.batch_size, lease=self.lease)
        if batch.due_at is not None:
            return (batch.due_at - now).total_seconds()
        for index, delivery in enumerate(batch.deliveries):
            if self._stopping.is_set():
                outbox.release(self.db, [d.id for d in batch.deliveries[index:]])
                return 0.0
            outcome = self._attempt(target, delivery)
            if outcome.status == "retry":
                delay = self._retry_delay(delivery.attempts + 1, outcome)
                rest = [d.id for d in batch.deliveries[index + 1 :]]
                self._mark(delivery, outcome, retry_in=delay, release=rest)
                return delay
            self._mark(delivery, outcome)
        return 0.0 if len(batch.deliveries) == self.batch_size else self.poll

    def _attempt(self, target: Target, delivery: outbox.Delivery) -> Outcome:
        try:
            return target.deliver(delivery.occurrence, delivery.issue)
        except Exception as exc:  # a bug in building the request: keep the row, say why, go on
            log.exception("forwarding %s to %s failed", delivery.uid, target.name)
            return Outcome("retry", f"internal error: {type(exc).__name__}")

    def _retry_delay(self, attempts: int, outcome: Outcome) -> float:
        delay = self._backoff(attempts)
        if outcome.retry_after is not None:
            delay = max(delay, min(outcome.retry_after, RETRY_AFTER_MAX))
        return delay

    def _mark(
        self,
        delivery: outbox.Delivery,
        outcome: Outcome,
        *,
        retry_in: float | None = None,
        release: Sequence[int] = (),
    ) -> None:
        status = "pending" if outcome.status == "retry" else outcome.status
        outbox.mark(
            self.db,
            delivery.id,
            self._clock(),
            status=status,
            error=outcome.error,
            retry_in=retry_in,
            release=release,
        )
        if outcome.status == "sent":
            self.sent += 1
        elif outcome.status == "failed":
            self.failed += 1
            log.error("%s refused %s for good: %s", delivery.target, delivery.uid, outcome.error)
        elif delivery.attempts == 0:  # once per row, not at every retry
            log.warning(
                "%s: delivery of %s will be retried: %s", delivery.target, delivery.uid, outcome.error
            )

    # -- the thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        outage_delay = RETRY_MIN
        while not self._stopping.is_set():
            self._wake.clear()  # before the round: a wake during it makes the next one at once
            try:
                self._prepare()
                wait = self.step()
            except Exception as exc:
                if is_outage(exc):
                    self._outage(exc)
                else:
                    log.exception("forwarder round failed; retrying")
                wait, outage_delay = outage_delay, min(outage_delay * 2, RETRY_MAX)
            else:
                if not self.healthy:
                    log.info("forwarder: the database is back")
                self.healthy, self.last_error, outage_delay = True, None, RETRY_MIN
            if wait > 0:
                self._wake.wait(wait)

    def _outage(self, exc: BaseException) -> None:
        if self.healthy:
            log.error("forwarder: database unreachable, deliveries wait: %s", exc)
        self.healthy = False
        self.last_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def targets_from(forward: ForwardSpec, environ: Mapping[str, str]) -> list[Target]:
    """The targets configured: Sentry when SENTRY_DSN is set, the webhook when `forward.webhook` is.

    Raises ValueError, naming the variable and never its value, for a DSN that cannot be right or a
    `secret_env` that names an unset variable (unsigned requests would be refused, or worse, trusted)."""
    targets: list[Target] = []
    dsn = environ.get("SENTRY_DSN", "").strip()
    if dsn:
        from manager.forwarding.sentry import SentryTarget  # noqa: PLC0415 - sentry-sdk only when used

        environment = environ.get("SENTRY_ENVIRONMENT", "").strip() or None
        targets.append(SentryTarget(dsn, environment=environment, timeout=forward.timeout))
    if forward.webhook:
        from manager.forwarding.webhook import WebhookTarget  # noqa: PLC0415

        secret = None
        if forward.secret_env:
            secret = environ.get(forward.secret_env, "")
            if not secret:
                raise ValueError(
                    f"forward.secret_env: the environment variable {forward.secret_env} is not set"
                )
        targets.append(WebhookTarget(forward.webhook, secret=secret, timeout=forward.timeout))
    return targets


def open_forwarder(
    store: Store, forward: ForwardSpec, environ: Mapping[str, str], **options: Any
) -> Forwarder | None:
    """Start forwarding the store's new occurrences; None when no target is configured.

    Call before `store.start`, so that every occurrence the writer makes is tagged."""
    targets = targets_from(forward, environ)
    if not targets:
        return None
    forwarder = Forwarder(store.db, targets, prepare=store.ensure_schema, **options)
    store.forward_to(forwarder.names, forwarder.wake)
    forwarder.start()
    log.info("forwarding occurrences to %s", ", ".join(forwarder.names))
    return forwarder
