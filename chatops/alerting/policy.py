"""When an alert reaches Slack, and as what: grouping, dedup, reminders, silences, acks, recovery.

The model is Prometheus Alertmanager's notification pipeline (group_wait, group_interval, repeat_interval,
silences; no inhibition), adapted to a Slack channel, where a *top-level message* is the expensive thing
(it pings people and scrolls everything else away) and edits and thread replies are cheap.

Words
-----
- A `Signal` is one observation from the manager: a crash, a crash loop (quarantine), a failed health
  check, a resource breach, a manager error, an alert from Prometheus Alertmanager, or a recovery:
  "recovered" (the service is running/healthy again, or its crash loop ended) or "alert_resolved"
  (Alertmanager says the alert is over).
- An *incident* is one problem of one service that is firing, keyed by (service, family). Kinds that are the
  same problem share a family: crash and crash_loop -> "down"; unhealthy -> "health"; resource ->
  "resource"; manager_error -> "manager"; alert -> "alert" (whose `service` is "<service>/<alertname>", so
  each Alertmanager alert is an incident of its own). A repeat of a firing incident is not a new incident.
- A *notification* is one top-level Slack message; it covers one or more incidents (a storm folds into one).

Decisions (all times are the injected `now`)
--------------------------------------------
- Grouping (Alertmanager's group_wait): the first new incident in a channel opens a *batch*; nothing is
  sent until `group_wait` has passed, and every new incident of that channel in the meantime joins the
  batch. When it closes, `tick()` emits one `Post` covering all of them: 100 services failing within a
  second make one message.
- Folding (Alertmanager's group_interval): for `fold_window` (default 3 x group_wait) after a Post, new
  incidents of that channel are batched the same way into *that* notification and shown by an `Update`
  instead of a new Post, unless it was acknowledged or has nothing firing any more. Beyond that window a new
  message is better, because nobody sees an edit to a message far up the channel. A storm spread over two
  minutes therefore costs one Post per (group_wait + fold_window), 3 with the defaults (group_wait 10 s).
- Repeats of a firing incident are counted. A repeat less than `dedup_window` after the incident's last
  notice (its Post, fold or thread reply) is `Suppressed("duplicate")`; later ones, and escalations (the
  kind becomes crash_loop, or the severity rises) at any time, get a thread `Reply`, but at most one per
  incident per `thread_throttle` (else `Suppressed("throttled")`). Plain repeats of an acknowledged
  incident only count (`Suppressed("acknowledged")`); escalations still reply. The count shows in the
  next Update/Reply.
  A repeat while the incident is still in an unsent batch is `Suppressed("pending")`: the Post shows it.
- Recovery: "recovered" resolves the service's "down" and "health" incidents, "alert_resolved" its "alert"
  incident. Resource breaches and manager
  errors have no recovery signal: they resolve after `quiet_resolve` without a repeat (Alertmanager's
  resolve_timeout). A resolved incident is marked in place (an `Update`) and the thread gets a `Reply`
  ("web recovered after 3m"); when every incident of a notification has recovered, its view says
  `recovered: True`. An incident that fails again less than `dedup_window` after recovering is *reopened*
  (same incident, "down again" in the thread) rather than posted anew: that is flapping, not news.
- Reminders (repeat_interval): an incident still firing, not acknowledged and not silenced gets a reminder
  `Reply(reminder=True, broadcast=True)` `repeat_interval` after its last notice. Acknowledged incidents
  are never re-notified.
- Silences: a silenced service's incidents are tracked but never posted or replied to
  (`Suppressed("silenced")`); messages that already show them are updated to say so. When the silence is
  lifted or expires, incidents still firing that were never shown are batched as new ones (as Alertmanager
  does), and shown ones are re-rendered.
- Pacing of edits and replies: what one notification has to say (an Update, recovery/repeat replies) is
  coalesced and sent at most once per `update_interval` (leading edge: the first change goes at once), so
  100 services recovering together make one edit and one thread reply, not 200 messages.

Actions: `Post`, `Update`, `Reply`, `Suppressed` (frozen dataclasses below). Post/Update carry `view`, the
incident_view() at the time they were decided, so an outbox can render them without asking the policy.

Delivery contract
-----------------
The policy never holds an action back waiting for Slack: queuing is the outbox's job. Deliver the actions of
a channel in the order they were returned. A notification's Post always comes before its Updates and
Replies in that order, so when one of those is delivered the outbox already knows the Post's `ts`: look it
up by `notification_id` (Update/Reply also carry `ts` when the policy already knew it). Report each
delivered Post with `posted(notification_id, channel, ts)` so the ts survives in `to_state()`. If a Post
fails for good, drop the Updates/Replies of that notification id. Text is plain and unescaped: the
renderer escapes it (`chatops.ui.text.escape`).

incident_view(notification_id) -> dict (JSON-ready; stable keys)
----------------------------------------------------------------
    id: str                         the notification id (opaque; unique per policy state)
    channel: str
    ts: str | None                  Slack ts reported by posted(), if any
    title: str                      "web is down", "12 services are down", "3 services have problems"
    severity: str                   the highest severity of its incidents ("critical" > "warning" > "info")
    services: list[dict]            one per incident shown, in order of arrival:
        incident: str, name: str, kind: str, family: str, severity: str, summary: str (latest),
        count: int (signals received), state: "firing" | "recovered" | "silenced",
        first_at: float, last_at: float (Signal.at), recovered_at: float | None, acknowledged: bool,
        silenced_until: float | None
    owners: list[str]               union of the incidents' owners, first-seen order, no duplicates
    acknowledged_by: str | None
    acknowledged_at: float | None
    recovered: bool                 every incident shown has recovered
    firing: int                     incidents still firing (silenced ones included)
    posted_at: float | None         when the Post was decided
Incidents still in an unsent batch are not in `services` until the Post/Update that shows them.

Clock
-----
`now` is seconds on one clock, used for every call, and `Signal.at` should be on the same clock. Use
`time.time()` if the state is persisted across restarts (a monotonic clock restarts at boot). Time going
backwards is tolerated, not corrected for. `next_deadline()` says when `tick()` next has work (it may
be in the past: tick now); even with group_wait 0 the Post comes from tick(), not receive().

Bounds
------
At most one live incident per (service, family), so live state is bounded by the configured services x 4.
A notification is forgotten with its incidents `retention` (24 h) after its last incident recovered;
an incident never shown (silenced) is forgotten `retention` after it recovered; beyond `max_recovered`
recovered incidents the oldest are forgotten early. Silences are dropped when they expire. So a week of
steady failures keeps about one day of recovered incidents.

State
-----
`to_state()` returns a JSON-ready dict of everything above (not the settings, which come from the config
and may change across a restart); `AlertPolicy.from_state(state, **settings)` rebuilds it. Ids continue
from the saved sequence, so a restored policy makes exactly the decisions the original would have.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from chatops.alerting.model import (
    FAMILIES,
    FAMILY_OF,
    RECOVERIES,
    SEVERITIES,
    Action,
    Post,
    Reply,
    Signal,
    Suppressed,
    Update,
)
from chatops.alerting.wording import or_default, reply_text, title

__all__ = ["AlertPolicy"]

_RESOLVED_BY_QUIET: Final = ("resource", "manager")  # no recovery signal: resolved after quiet_resolve
_FIRING_REASONS: Final = ("escalated", "reopened", "repeat", "reminder")
_REPLY_ORDER: Final = ("escalated", "reopened", "repeat", "recovered", "resolved")
_STATE_VERSION: Final = 1


@dataclass
class _Incident:
    id: str
    service: str
    family: str
    kind: str
    severity: str
    summary: str
    channel: str
    owners: list[str]
    first_at: float  # Signal.at of the first signal
    last_at: float  # Signal.at of the latest signal
    last_seen: float  # now of the latest signal
    count: int = 1
    state: str = "firing"  # firing | recovered
    notification: str | None = None
    shown_at: float | None = None  # when a Post/Update first showed it
    last_notice: float | None = None  # its Post/fold, reply or reminder
    last_reply: float | None = None
    acknowledged: bool = False
    reopened: int = 0
    recovered_at: float | None = None  # Signal.at (or now when resolved by quiet)
    closed_at: float | None = None  # now when it recovered
    resolution: str | None = None  # recovered | resolved

    @property
    def firing(self) -> bool:
        return self.state == "firing"


@dataclass
class _Notification:
    id: str
    channel: str
    created_at: float
    incidents: list[str] = field(default_factory=list)
    batch: list[str] = field(default_factory=list)  # incidents waiting for the batch to close
    batch_opened_at: float | None = None
    sent_at: float | None = None
    ts: str | None = None
    last_flush_at: float | None = None
    dirty: bool = False  # needs an Update
    replies: list[list[str]] = field(default_factory=list)  # [incident id, reason] for the next flush
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None


@dataclass
class _Silence:
    service: str
    until: float
    by: str
    at: float


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def _merge(into: list[str], more: Iterable[str]) -> None:
    for item in more:
        if item not in into:
            into.append(item)


def _check_settings(**durations: float) -> None:
    for name, value in durations.items():
        if not (value >= 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")


class AlertPolicy:
    """Alert decisions for Slack (model in the module docstring). Pure: no I/O, no clock of its own."""

    def __init__(
        self,
        group_wait: float,
        repeat_interval: float,
        dedup_window: float = 60.0,
        thread_throttle: float = 30.0,
        *,
        fold_window: float | None = None,
        update_interval: float = 2.0,
        quiet_resolve: float = 3600.0,
        retention: float = 86400.0,
        max_recovered: int = 1000,
    ) -> None:
        fold = 3 * group_wait if fold_window is None else fold_window
        _check_settings(
            group_wait=group_wait,
            repeat_interval=repeat_interval,
            dedup_window=dedup_window,
            thread_throttle=thread_throttle,
            fold_window=fold,
            update_interval=update_interval,
            quiet_resolve=quiet_resolve,
            retention=retention,
            max_recovered=max_recovered,
        )
        if repeat_interval <= 0 or quiet_resolve <= 0:
            raise ValueError("repeat_interval and quiet_resolve must be > 0")
        self.group_wait = float(group_wait)
        self.repeat_interval = float(repeat_interval)
        self.dedup_window = float(dedup_window)
        self.thread_throttle = float(thread_throttle)
        self.fold_window = float(fold)
        self.update_interval = float(update_interval)
        self.quiet_resolve = float(quiet_resolve)
        self.retention = float(retention)
        self.max_recovered = int(max_recovered)
        self._seq = 0
        self._incidents: dict[str, _Incident] = {}
        self._index: dict[tuple[str, str], str] = {}  # (service, family) -> its latest incident
        self._notifications: dict[str, _Notification] = {}
        self._open: dict[str, str] = {}  # channel -> notification whose batch is open
        self._latest: dict[str, str] = {}  # channel -> notification posted last
        self._silences: dict[str, _Silence] = {}
        self._deadline: tuple[float | None] | None = None  # next_deadline(), until something changes

    # ------------------------------------------------------------------ public API

    def receive(self, signal: Signal, now: float) -> list[Action]:
        """Take one signal; return what to send (often nothing yet: see tick())."""
        self._deadline = None
        if signal.kind in RECOVERIES:
            return self._recover(signal, now)
        family = FAMILY_OF[signal.kind]
        latest = self._latest_incident(signal.service, family)
        if latest is not None and latest.firing:
            return self._repeat(latest, signal, now)
        if latest is not None and self._reopenable(latest, now):
            return self._reopen(latest, signal, now)
        return self._open_incident(signal, family, now)

    def tick(self, now: float) -> list[Action]:
        """Do what is due: expire silences, close batches, resolve quiet incidents, flush, remind, forget."""
        self._deadline = None
        actions = self._expire_silences(now)
        actions += self._close_batches(now)
        self._resolve_quiet(now)
        actions += self._flush_due(now)
        actions += self._remind(now)
        self._collect(now)
        return actions

    def next_deadline(self) -> float | None:
        """When tick() next has something to do (possibly already past), or None when nothing is pending."""
        if self._deadline is None:
            self._deadline = (min(self._deadlines(), default=None),)
        return self._deadline[0]

    def acknowledge(self, notification_id: str, user_id: str, now: float) -> list[Action]:
        """Mark a notification's firing incidents acknowledged (no more reminders); [] if unknown or no-op."""
        self._deadline = None
        n = self._notifications.get(notification_id)
        if n is None:
            return []
        newly = [inc for inc in self._shown(n) if inc.firing and not inc.acknowledged]
        if not newly and n.acknowledged_by is not None:
            return []
        for inc in newly:
            inc.acknowledged = True
        if n.acknowledged_by is None:
            n.acknowledged_by, n.acknowledged_at = user_id, now
        if n.sent_at is None:
            return []
        n.dirty = True
        return self._flush(n, now)

    def silence(self, service: str, until: float, by: str, now: float) -> list[Action]:
        """Hold back a service's alerts until `until`; returns Updates of the messages that show it."""
        if until <= now:
            raise ValueError("a silence must end in the future")
        self._deadline = None
        self._silences[service] = _Silence(service, until, by, now)
        return self._rerender(self._live(service), now)

    def unsilence(self, service: str, now: float) -> list[Action]:
        """Lift a silence now (the same happens in tick() when it expires)."""
        self._deadline = None
        if self._silences.pop(service, None) is None:
            return []
        return self._lift(service, now)

    def posted(self, notification_id: str, channel: str, ts: str) -> None:
        """The outbox delivered a Post: remember its Slack ts (kept in to_state())."""
        n = self._notifications.get(notification_id)
        if n is None:
            return
        if n.channel != channel:
            raise ValueError(f"{notification_id} belongs to {n.channel}, not {channel}")
        n.ts = ts

    def incident_view(self, notification_id: str) -> dict[str, Any]:
        """What a renderer needs for one notification; the shape is in the module docstring."""
        n = self._notifications[notification_id]
        shown = self._shown(n)
        return {
            "id": n.id,
            "channel": n.channel,
            "ts": n.ts,
            "title": title(shown),
            "severity": max((inc.severity for inc in shown), key=_rank, default="info"),
            "services": [self._service_view(inc) for inc in shown],
            "owners": list(dict.fromkeys(owner for inc in shown for owner in inc.owners)),
            "acknowledged_by": n.acknowledged_by,
            "acknowledged_at": n.acknowledged_at,
            "recovered": bool(shown) and not any(inc.firing for inc in shown),
            "firing": sum(1 for inc in shown if inc.firing),
            "posted_at": n.sent_at,
        }

    def to_state(self) -> dict[str, Any]:
        """Everything needed to carry on after a restart, JSON-ready (settings excluded)."""
        return {
            "version": _STATE_VERSION,
            "seq": self._seq,
            "incidents": [dataclasses.asdict(inc) for inc in self._incidents.values()],
            "notifications": [dataclasses.asdict(n) for n in self._notifications.values()],
            "silences": [dataclasses.asdict(s) for s in self._silences.values()],
            "index": [[service, family, iid] for (service, family), iid in self._index.items()],
            "open": [[channel, nid] for channel, nid in self._open.items()],
            "latest": [[channel, nid] for channel, nid in self._latest.items()],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], **settings: Any) -> AlertPolicy:
        """A policy built with `settings` (as for __init__) that carries on from `state` (to_state())."""
        policy = cls(**settings)
        policy._load(copy.deepcopy(dict(state)))
        return policy

    # ------------------------------------------------------------------ signals

    def _latest_incident(self, service: str, family: str) -> _Incident | None:
        iid = self._index.get((service, family))
        return None if iid is None else self._incidents.get(iid)

    def _live(self, service: str) -> list[_Incident]:
        found = (self._latest_incident(service, family) for family in FAMILIES)
        return [inc for inc in found if inc is not None and inc.firing]

    def _silenced(self, service: str, now: float) -> bool:
        s = self._silences.get(service)
        return s is not None and s.until > now

    def _reopenable(self, inc: _Incident, now: float) -> bool:
        return inc.closed_at is not None and now - inc.closed_at < self.dedup_window

    def _new_id(self, prefix: str, now: float) -> str:
        self._seq += 1
        return f"{prefix}{self._seq}" if prefix == "i" else f"{prefix}{self._seq}-{int(now)}"

    def _open_incident(self, signal: Signal, family: str, now: float) -> list[Action]:
        inc = _Incident(
            id=self._new_id("i", now),
            service=signal.service,
            family=family,
            kind=signal.kind,
            severity=signal.severity,
            summary=signal.summary,
            channel=signal.channel,
            owners=list(dict.fromkeys(signal.owners)),
            first_at=signal.at,
            last_at=signal.at,
            last_seen=now,
        )
        self._incidents[inc.id] = inc
        self._index[(inc.service, family)] = inc.id
        if self._silenced(inc.service, now):
            return [self._suppressed(inc, "silenced")]
        self._enqueue(inc, now)
        return []

    def _absorb(self, inc: _Incident, signal: Signal, now: float) -> bool:
        """Count a further signal into an incident; True if it escalated (crash loop, higher severity)."""
        inc.count += 1
        inc.last_at = max(inc.last_at, signal.at)
        inc.last_seen = now
        inc.summary = signal.summary or inc.summary
        _merge(inc.owners, signal.owners)
        escalated = _rank(signal.severity) > _rank(inc.severity)
        if escalated:
            inc.severity = signal.severity
        if inc.kind != "crash_loop":  # a crash loop stays one until it ends
            escalated = escalated or signal.kind == "crash_loop"
            inc.kind = signal.kind
        return escalated

    def _repeat(self, inc: _Incident, signal: Signal, now: float) -> list[Action]:
        escalated = self._absorb(inc, signal, now)
        n = self._shown_in(inc, now)
        if n is None:
            return [self._suppressed(inc, self._unshown_reason(inc, now))]
        if escalated:
            n.dirty = True
            return self._notify(n, inc, "escalated", now)
        if now - or_default(inc.last_notice, now) < self.dedup_window:
            return [self._suppressed(inc, "duplicate")]
        if inc.acknowledged:  # someone is on it: count, don't re-notify
            return [self._suppressed(inc, "acknowledged")]
        return self._notify(n, inc, "repeat", now)

    def _reopen(self, inc: _Incident, signal: Signal, now: float) -> list[Action]:
        inc.state, inc.recovered_at, inc.closed_at, inc.resolution = "firing", None, None, None
        inc.reopened += 1
        self._absorb(inc, signal, now)
        n = self._shown_in(inc, now)
        if n is None:
            return [self._suppressed(inc, self._unshown_reason(inc, now))]
        n.dirty = True
        return self._notify(n, inc, "reopened", now)

    def _shown_in(self, inc: _Incident, now: float) -> _Notification | None:
        """The notification showing a firing incident, unless silenced; queues it if it has none."""
        if self._silenced(inc.service, now):
            return None
        if inc.notification is None:  # its silence ended but tick() has not run yet
            self._enqueue(inc, now)
            return None
        return self._notifications[inc.notification] if inc.shown_at is not None else None

    def _unshown_reason(self, inc: _Incident, now: float) -> str:
        return "silenced" if self._silenced(inc.service, now) else "pending"

    def _notify(self, n: _Notification, inc: _Incident, reason: str, now: float) -> list[Action]:
        """A thread reply about `inc`, throttled per incident and coalesced per notification."""
        if inc.last_reply is not None and now - inc.last_reply < self.thread_throttle:
            return [self._suppressed(inc, "throttled"), *self._flush_if_ready(n, now)]
        n.replies.append([inc.id, reason])
        inc.last_reply = inc.last_notice = now
        return self._flush_if_ready(n, now)

    def _suppressed(self, inc: _Incident, reason: str) -> Suppressed:
        return Suppressed(inc.id, inc.service, reason, inc.count, inc.notification)

    def _recover(self, signal: Signal, now: float) -> list[Action]:
        touched: list[_Notification] = []
        for family in RECOVERIES[signal.kind]:
            inc = self._latest_incident(signal.service, family)
            if inc is not None and inc.firing:
                n = self._close(inc, signal.at, now, "recovered")
                if n is not None and n not in touched:
                    touched.append(n)
        return [action for n in touched for action in self._flush_if_ready(n, now)]

    def _close(self, inc: _Incident, at: float, now: float, resolution: str) -> _Notification | None:
        """Mark an incident recovered; the notification to re-render, if it was shown."""
        inc.state, inc.recovered_at, inc.closed_at, inc.resolution = "recovered", at, now, resolution
        if inc.notification is None or inc.shown_at is None:
            return None  # never shown, or its Post (still to come) shows it recovered
        n = self._notifications[inc.notification]
        n.dirty = True
        if not self._silenced(inc.service, now):
            n.replies.append([inc.id, resolution])
        return n

    # ------------------------------------------------------------------ batches

    def _enqueue(self, inc: _Incident, now: float) -> None:
        """Put a new incident into its channel's open batch, opening one if needed."""
        nid = self._open.get(inc.channel)
        n = self._notifications[nid] if nid is not None else self._fold_target(inc.channel, now)
        if n is None:
            n = _Notification(self._new_id("n", now), inc.channel, now)
            self._notifications[n.id] = n
        if n.batch_opened_at is None:
            n.batch_opened_at = now
            self._open[n.channel] = n.id
        n.incidents.append(inc.id)
        n.batch.append(inc.id)
        inc.notification = n.id

    def _fold_target(self, channel: str, now: float) -> _Notification | None:
        """The channel's last notification, if new incidents may still be folded into it."""
        nid = self._latest.get(channel)
        n = None if nid is None else self._notifications.get(nid)
        if n is None or n.sent_at is None or n.acknowledged_by is not None:
            return None
        if now - n.sent_at >= self.fold_window:
            return None
        return n if any(inc.firing for inc in self._shown(n)) else None

    def _close_batches(self, now: float) -> list[Action]:
        actions: list[Action] = []
        for nid in list(self._open.values()):
            n = self._notifications[nid]
            if n.batch_opened_at is not None and now >= n.batch_opened_at + self.group_wait:
                actions += self._close_batch(n, now)
        return actions

    def _close_batch(self, n: _Notification, now: float) -> list[Action]:
        del self._open[n.channel]
        n.batch_opened_at = None
        shown = self._show_batch(n, now)
        if n.sent_at is not None:  # a fold into a sent notification
            n.dirty = n.dirty or bool(shown)
            return self._flush(n, now) if shown else []
        if not shown:  # everything in it got silenced
            del self._notifications[n.id]
            return []
        n.sent_at = n.last_flush_at = now
        n.dirty = False
        self._latest[n.channel] = n.id
        services = tuple(dict.fromkeys(inc.service for inc in shown))
        return [Post(n.id, n.channel, tuple(inc.id for inc in shown), services, self.incident_view(n.id))]

    def _show_batch(self, n: _Notification, now: float) -> list[_Incident]:
        """Mark a closing batch's incidents shown; silenced ones leave the notification."""
        batch, n.batch = n.batch, []
        shown: list[_Incident] = []
        for iid in batch:
            inc = self._incidents.get(iid)
            if inc is None:
                continue
            if self._silenced(inc.service, now):
                inc.notification = None
                n.incidents.remove(iid)
                continue
            inc.shown_at = inc.last_notice = now
            shown.append(inc)
        return shown

    # ------------------------------------------------------------------ updates and replies

    def _flush_due_at(self, n: _Notification) -> float | None:
        if n.sent_at is None or not (n.dirty or n.replies):
            return None
        return (n.last_flush_at if n.last_flush_at is not None else n.sent_at) + self.update_interval

    def _flush_if_ready(self, n: _Notification, now: float) -> list[Action]:
        due = self._flush_due_at(n)
        return self._flush(n, now) if due is not None and now >= due else []

    def _flush_due(self, now: float) -> list[Action]:
        return [action for n in list(self._notifications.values()) for action in self._flush_if_ready(n, now)]

    def _flush(self, n: _Notification, now: float) -> list[Action]:
        """Say what a notification has to say: an Update if it changed, then its coalesced replies."""
        actions: list[Action] = []
        if n.dirty:
            actions.append(Update(n.id, n.channel, n.ts, self.incident_view(n.id)))
        actions.extend(self._replies(n, now))
        n.dirty, n.replies, n.last_flush_at = False, [], now
        return actions

    def _replies(self, n: _Notification, now: float) -> list[Reply]:
        groups: dict[str, list[_Incident]] = {}
        for iid, reason in n.replies:
            inc = self._incidents.get(iid)
            if inc is None or (reason in _FIRING_REASONS) != inc.firing:
                continue  # e.g. "still failing" overtaken by "recovered" before the flush
            group = groups.setdefault(reason, [])
            if inc not in group:
                group.append(inc)
        return [self._reply(n, reason, groups[reason], now) for reason in _REPLY_ORDER if reason in groups]

    def _reply(self, n: _Notification, reason: str, incidents: list[_Incident], now: float) -> Reply:
        reminder = reason == "reminder"
        ids = tuple(inc.id for inc in incidents)
        text = reply_text(reason, incidents, now)
        return Reply(n.id, n.channel, n.ts, ids, text, reason, reminder=reminder, broadcast=reminder)

    def _rerender(self, incidents: list[_Incident], now: float) -> list[Action]:
        touched: list[_Notification] = []
        for inc in incidents:
            if inc.notification is not None and inc.shown_at is not None:
                n = self._notifications[inc.notification]
                n.dirty = True
                if n not in touched:
                    touched.append(n)
        return [action for n in touched for action in self._flush_if_ready(n, now)]

    # ------------------------------------------------------------------ timers

    def _reminder_at(self, inc: _Incident) -> float | None:
        if not inc.firing or inc.acknowledged or inc.last_notice is None or inc.shown_at is None:
            return None
        if inc.service in self._silences:
            return None
        return inc.last_notice + self.repeat_interval

    def _remind(self, now: float) -> list[Action]:
        actions: list[Action] = []
        for n in self._notifications.values():
            due = [inc for inc in self._shown(n) if (at := self._reminder_at(inc)) is not None and now >= at]
            for inc in due:
                inc.last_notice = inc.last_reply = now
            if due:
                actions.append(self._reply(n, "reminder", due, now))
        return actions

    def _quiet_at(self, inc: _Incident) -> float | None:
        if not inc.firing or inc.family not in _RESOLVED_BY_QUIET:
            return None
        return inc.last_seen + self.quiet_resolve

    def _resolve_quiet(self, now: float) -> None:
        for inc in list(self._incidents.values()):
            at = self._quiet_at(inc)
            if at is not None and now >= at:
                self._close(inc, now, now, "resolved")

    def _expire_silences(self, now: float) -> list[Action]:
        actions: list[Action] = []
        for s in list(self._silences.values()):
            if s.until <= now:
                del self._silences[s.service]
                actions += self._lift(s.service, now)
        return actions

    def _lift(self, service: str, now: float) -> list[Action]:
        """After a silence: batch what was never shown, re-render what was."""
        live = self._live(service)
        for inc in live:
            if inc.notification is None:
                self._enqueue(inc, now)
        return self._rerender(live, now)

    def _deadlines(self) -> Iterator[float]:
        for nid in self._open.values():
            opened = self._notifications[nid].batch_opened_at
            if opened is not None:
                yield opened + self.group_wait
        yield from (s.until for s in self._silences.values())
        timers: list[float | None] = []
        for n in self._notifications.values():
            timers += (self._flush_due_at(n), self._expiry(n))
        for inc in self._incidents.values():
            timers += (self._reminder_at(inc), self._quiet_at(inc))
            if inc.notification is None and inc.closed_at is not None:
                timers.append(inc.closed_at + self.retention)
        yield from (t for t in timers if t is not None)

    # ------------------------------------------------------------------ bounds

    def _shown(self, n: _Notification) -> list[_Incident]:
        found = (self._incidents.get(iid) for iid in n.incidents)
        return [inc for inc in found if inc is not None and inc.shown_at is not None]

    def _expiry(self, n: _Notification) -> float | None:
        """When a notification (and its incidents) may be forgotten: `retention` after all recovered."""
        if n.batch_opened_at is not None:
            return None
        latest = n.created_at
        for iid in n.incidents:
            inc = self._incidents.get(iid)
            if inc is not None:
                if inc.closed_at is None:
                    return None  # still firing
                latest = max(latest, inc.closed_at)
        return latest + self.retention

    def _collect(self, now: float) -> None:
        for n in list(self._notifications.values()):
            expiry = self._expiry(n)
            if expiry is not None and now >= expiry:
                for iid in list(n.incidents):
                    self._forget(iid)
                self._drop_notification(n)
        for inc in list(self._incidents.values()):
            closed = inc.closed_at
            if inc.notification is None and closed is not None and now >= closed + self.retention:
                self._forget(inc.id)
        self._cap_recovered()

    def _cap_recovered(self) -> None:
        recovered = [inc for inc in self._incidents.values() if inc.closed_at is not None]
        if len(recovered) <= self.max_recovered:
            return
        recovered.sort(key=lambda inc: or_default(inc.closed_at, 0.0))
        for inc in recovered[: len(recovered) - self.max_recovered]:
            n = None if inc.notification is None else self._notifications.get(inc.notification)
            if n is not None and inc.id in n.batch:
                continue  # its Post is still to come
            self._forget(inc.id)
            if n is not None and not n.incidents:
                self._drop_notification(n)

    def _forget(self, iid: str) -> None:
        inc = self._incidents.pop(iid, None)
        if inc is None:
            return
        key = (inc.service, inc.family)
        if self._index.get(key) == iid:
            del self._index[key]
        n = None if inc.notification is None else self._notifications.get(inc.notification)
        if n is not None and iid in n.incidents:
            n.incidents.remove(iid)

    def _drop_notification(self, n: _Notification) -> None:
        self._notifications.pop(n.id, None)
        if self._latest.get(n.channel) == n.id:
            del self._latest[n.channel]

    # ------------------------------------------------------------------ views and state

    def _service_view(self, inc: _Incident) -> dict[str, Any]:
        silence = self._silences.get(inc.service)
        state = "recovered" if not inc.firing else "silenced" if silence is not None else "firing"
        return {
            "incident": inc.id,
            "name": inc.service,
            "kind": inc.kind,
            "family": inc.family,
            "severity": inc.severity,
            "summary": inc.summary,
            "count": inc.count,
            "state": state,
            "first_at": inc.first_at,
            "last_at": inc.last_at,
            "recovered_at": inc.recovered_at,
            "acknowledged": inc.acknowledged,
            "silenced_until": None if silence is None else silence.until,
        }

    def _load(self, state: dict[str, Any]) -> None:
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unsupported alert state version {state.get('version')!r}")
        self._deadline = None
        self._seq = int(state["seq"])
        self._incidents = {d["id"]: _Incident(**d) for d in state["incidents"]}
        self._notifications = {d["id"]: _Notification(**d) for d in state["notifications"]}
        self._silences = {d["service"]: _Silence(**d) for d in state["silences"]}
        self._index = {(service, family): iid for service, family, iid in state["index"]}
        self._open = {channel: nid for channel, nid in state["open"]}
        self._latest = {channel: nid for channel, nid in state["latest"]}
