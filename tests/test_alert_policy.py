"""The alert policy: grouping, storms, dedup, throttles, reminders, acks, silences, recovery, bounds."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import pytest

from chatops.alerting import AlertPolicy, Post, Reply, Signal, Suppressed, Update, family_of
from chatops.alerting.model import Action

GROUP_WAIT = 10.0
REPEAT = 4 * 3600.0
HOUR = 3600.0
DAY = 24 * HOUR


def sig(
    service: str,
    kind: str = "crash",
    *,
    at: float = 0.0,
    channel: str = "C0ALERTS",
    severity: str = "critical",
    owners: tuple[str, ...] = ("S0ONCALL",),
    summary: str | None = None,
) -> Signal:
    """A signal with defaults; the summary names the service and kind."""
    return Signal(service, kind, severity, summary or f"{service}: {kind}", channel, owners, at)


def recovered(service: str, at: float) -> Signal:
    """A recovery signal for a service."""
    return Signal(service, "recovered", "info", "running again", "C0ALERTS", (), at)


def policy(**overrides: Any) -> AlertPolicy:
    """The policy with the documented config (group_wait 10s, repeat_interval 4h) unless overridden."""
    settings: dict[str, Any] = {"group_wait": GROUP_WAIT, "repeat_interval": REPEAT, **overrides}
    return AlertPolicy(**settings)


class Sim:
    """Feeds timed signals to a policy and ticks it exactly at next_deadline(), like the real caller."""

    def __init__(self, p: AlertPolicy, signals: Iterable[Signal]) -> None:
        self.policy = p
        self.pending = sorted(signals, key=lambda s: s.at)
        self.now = -math.inf
        self.log: list[tuple[float, Action]] = []
        self.received = 0

    def run(self, until: float) -> list[tuple[float, Action]]:
        """Advance to `until`; the actions decided on the way, with their times."""
        start = len(self.log)
        for _ in range(1_000_000):
            deadline = self.policy.next_deadline()
            event = self.pending[0].at if self.pending else math.inf
            when = min(event, math.inf if deadline is None else deadline)
            if when > until:
                break
            self.now = max(self.now, when)
            if deadline is not None and deadline <= event:
                actions = self.policy.tick(self.now)
                after = self.policy.next_deadline()
                assert after is None or after > self.now, "tick() must clear what was due"
            else:
                actions = self.policy.receive(self.pending.pop(0), self.now)
                self.received += 1
            self.log += [(self.now, a) for a in actions]
        self.now = max(self.now, until)
        return self.log[start:]


def of(actions: Iterable[Action] | Iterable[tuple[float, Action]], kind: type[Any]) -> list[Any]:
    """The actions of one type, from a plain list or a Sim log."""
    plain = [a[1] if isinstance(a, tuple) else a for a in actions]
    return [a for a in plain if isinstance(a, kind)]


def posted(p: AlertPolicy, at: float = 0.0, *names: str, channel: str = "C0ALERTS") -> Post:
    """Fail `names` at `at`, close the batch, and return the one Post."""
    for name in names:
        assert p.receive(sig(name, at=at, channel=channel), at) == []
    [post] = p.tick(at + GROUP_WAIT)
    assert isinstance(post, Post)
    return post


def storm() -> list[Signal]:
    """100 services fail within 1 s and keep crash-looping; 10 escalate; a second wave trickles in later."""
    signals: list[Signal] = []
    for i in range(100):
        last = 85.0 if 50 <= i < 80 else 120.0  # 30 of them recover at t=90
        signals += [sig(f"svc{i:03}", at=i / 100 + k * 5.0) for k in range(25) if k * 5.0 < last]
    signals += [sig(f"svc{i:03}", "crash_loop", at=30.0 + i / 10) for i in range(10)]
    signals += [sig(f"late{i:02}", "unhealthy", at=35.0 + 3 * i, severity="warning") for i in range(20)]
    signals += [recovered(f"svc{i:03}", at=90.0 + i / 10) for i in range(50, 80)]
    return signals


# ------------------------------------------------------------------------------------ grouping


def test_group_wait_folds_simultaneous_failures() -> None:
    """Failures within group_wait of the first make one Post when the window closes, not before."""
    p = policy()
    for i, name in enumerate(["web", "api", "db"]):
        assert p.receive(sig(name, at=i * 0.2), i * 0.2) == []
    assert p.next_deadline() == GROUP_WAIT
    assert p.tick(GROUP_WAIT - 0.1) == []
    [post] = p.tick(GROUP_WAIT)
    assert isinstance(post, Post)
    assert post.services == ("web", "api", "db")
    assert post.view["title"] == "3 services are down"
    assert [s["name"] for s in post.view["services"]] == ["web", "api", "db"]


def test_storm_of_100_services_makes_at_most_5_posts_in_two_minutes() -> None:
    """100 services failing within 1 s (then crash-looping, plus a later wave): <= 5 Posts, all named."""
    sim = Sim(policy(), storm())
    log = sim.run(120.0)
    posts, updates = of(log, Post), of(log, Update)
    assert len(posts) <= 5
    measured = [(t, len(a.services)) for t, a in log if isinstance(a, Post)]
    assert measured == [(10.0, 100), (57.0, 4)]
    shown = {s["name"] for a in posts + updates for s in a.view["services"]}
    assert shown == {s.service for s in storm()}  # all 120, the last (failing at t=92) shown at t=102
    assert len(updates) <= 10 and len(of(log, Reply)) <= 10  # escalations, repeats, 30 recoveries: coalesced


def test_storm_loses_no_signal() -> None:
    """Every failure signal is counted in a view; every Suppressed names an incident that was shown."""
    sim = Sim(policy(), storm())
    log = sim.run(200.0)
    failures = sum(1 for s in storm() if s.kind != "recovered")
    ids = [a.notification_id for a in of(log, Post)]
    counted = sum(s["count"] for nid in ids for s in sim.policy.incident_view(nid)["services"])
    assert counted == failures
    shown = {s["incident"] for a in of(log, Post) + of(log, Update) for s in a.view["services"]}
    assert {s.incident for s in of(log, Suppressed)} <= shown
    recovered_names = {s["name"] for nid in ids for s in sim.policy.incident_view(nid)["services"]}
    assert len(recovered_names) == 120


def test_new_incident_folds_into_a_fresh_notification_then_posts_anew() -> None:
    """Within fold_window of a Post a new failure is an Update of it; after that it is a new Post."""
    p = policy()
    first = posted(p, 0.0, "web")
    assert p.receive(sig("api", at=15.0), 15.0) == []
    [update] = p.tick(25.0)
    assert isinstance(update, Update) and update.notification_id == first.notification_id
    assert update.view["title"] == "2 services are down"
    assert p.receive(sig("db", at=45.0), 45.0) == []  # 35 s after the Post: not fresh any more
    [post] = p.tick(55.0)
    assert isinstance(post, Post) and post.services == ("db",)


def test_per_channel_grouping() -> None:
    """Two channels failing at once make two Posts, one per channel, each with its own services."""
    p = policy()
    p.receive(sig("web", channel="C0WEB"), 0.0)
    p.receive(sig("db", channel="C0DB"), 0.5)
    p.receive(sig("api", channel="C0WEB"), 1.0)
    posts = of(p.tick(GROUP_WAIT + 0.5), Post)
    assert {(a.channel, a.services) for a in posts} == {("C0WEB", ("web", "api")), ("C0DB", ("db",))}


def test_owners_union() -> None:
    """A notification's owners are the union of its incidents' owners, de-duplicated, first-seen order."""
    p = policy()
    p.receive(sig("web", owners=("S0WEB", "U0ANN")), 0.0)
    p.receive(sig("api", owners=("U0ANN", "S0API")), 0.1)
    p.receive(sig("web", owners=("U0BOB",)), 0.2)
    [post] = p.tick(GROUP_WAIT)
    assert isinstance(post, Post)
    assert post.view["owners"] == ["S0WEB", "U0ANN", "U0BOB", "S0API"]


# ------------------------------------------------------------------------------------ repeats


@pytest.mark.parametrize(
    ("gap", "expected"),
    [
        (1.0, "duplicate"),
        (59.0, "duplicate"),
        (60.0, "reply"),
        (3600.0, "reply"),
    ],
)
def test_dedup_window(gap: float, expected: str) -> None:
    """A repeat within dedup_window of the last notice is Suppressed (and counted); later ones are replies."""
    p = policy()
    post = posted(p, 0.0, "web")
    [action] = p.receive(sig("web", at=GROUP_WAIT + gap), GROUP_WAIT + gap)
    if expected == "duplicate":
        assert action == Suppressed(post.incidents[0], "web", "duplicate", 2, post.notification_id)
    else:
        assert isinstance(action, Reply) and action.reason == "repeat" and "2 signals" in action.text


@pytest.mark.parametrize(
    ("offsets", "expected"),
    [
        ([1, 5, 31, 40, 62], ["reply", "throttled", "reply", "throttled", "reply"]),
        ([29, 30, 59, 60], ["reply", "throttled", "reply", "throttled"]),  # exactly 30 s later is allowed
    ],
)
def test_thread_throttle(offsets: list[float], expected: list[str]) -> None:
    """At most one thread reply per incident per thread_throttle, even with no dedup window."""
    p = policy(dedup_window=0.0, update_interval=0.0)
    posted(p, 0.0, "web")
    got = []
    for offset in offsets:
        now = GROUP_WAIT + offset
        [action] = p.receive(sig("web", at=now), now)
        assert isinstance(action, Reply | Suppressed)
        got.append("reply" if isinstance(action, Reply) else action.reason)
    assert got == expected


def test_escalation_bypasses_dedup() -> None:
    """A crash becoming a crash loop is news: the message is updated and the thread told at once."""
    p = policy()
    posted(p, 0.0, "web")
    actions = p.receive(sig("web", "crash_loop", at=15.0), 15.0)
    update, reply = of(actions, Update), of(actions, Reply)
    assert update[0].view["services"][0]["kind"] == "crash_loop"
    assert reply[0].reason == "escalated" and "crash loop" in reply[0].text


def test_repeat_while_pending_is_counted_in_the_post() -> None:
    """A repeat before the Post is Suppressed("pending") and shows as the count in the Post."""
    p = policy()
    p.receive(sig("web"), 0.0)
    [action] = p.receive(sig("web", at=3.0), 3.0)
    assert isinstance(action, Suppressed) and action.reason == "pending" and action.count == 2
    [post] = p.tick(GROUP_WAIT)
    assert isinstance(post, Post) and post.view["services"][0]["count"] == 2


# ------------------------------------------------------------------------------------ reminders, acks


def test_repeat_interval_renotifies_unacknowledged_incidents_only() -> None:
    """After repeat_interval a firing, unacknowledged incident gets a reminder; the acknowledged one none."""
    p = policy()
    web = posted(p, 0.0, "web", channel="C0WEB")
    db = posted(p, 0.0, "db", channel="C0DB")
    p.acknowledge(db.notification_id, "U0ANN", 20.0)
    assert p.next_deadline() == GROUP_WAIT + REPEAT
    log = Sim(p, []).run(GROUP_WAIT + 3 * REPEAT)
    reminders = of(log, Reply)
    expected = [(GROUP_WAIT + k * REPEAT, web.notification_id) for k in (1, 2, 3)]
    assert [(t, r.notification_id) for t, r in log] == expected
    assert all(r.reminder and r.broadcast and r.reason == "reminder" for r in reminders)
    assert reminders[0].text == "Reminder: web is down for 4h, not acknowledged"


def test_acknowledge_returns_an_update_and_stops_reminders() -> None:
    """Acknowledging returns an Update naming who; no reminder follows; a second click is a no-op."""
    p = policy()
    post = posted(p, 0.0, "web", "api")
    [update] = p.acknowledge(post.notification_id, "U0ANN", 30.0)
    assert isinstance(update, Update)
    assert update.view["acknowledged_by"] == "U0ANN" and update.view["acknowledged_at"] == 30.0
    assert all(s["acknowledged"] for s in update.view["services"])
    assert p.acknowledge(post.notification_id, "U0BOB", 31.0) == []
    assert p.acknowledge("no-such-id", "U0BOB", 31.0) == []
    assert Sim(p, []).run(10 * REPEAT) == []
    assert p.next_deadline() is None


def test_acknowledged_incident_repeats_only_count_but_escalations_still_reply() -> None:
    """After an ack, plain repeats are counted silently; an escalation to a crash loop is still news."""
    p = policy()
    post = posted(p, 0.0, "web")
    p.acknowledge(post.notification_id, "U0ANN", 20.0)
    [action] = p.receive(sig("web", at=500.0), 500.0)
    assert isinstance(action, Suppressed) and action.reason == "acknowledged" and action.count == 2
    actions = p.receive(sig("web", "crash_loop", at=600.0), 600.0)
    assert [r.reason for r in of(actions, Reply)] == ["escalated"]
    assert of(actions, Update)[0].view["services"][0]["count"] == 3


# ------------------------------------------------------------------------------------ silences


def test_silence_holds_then_expires_and_posts_what_still_fires() -> None:
    """A silenced service posts nothing; when the silence expires, what still fires is posted."""
    p = policy()
    assert p.silence("web", until=300.0, by="U0ANN", now=0.0) == []
    [action] = p.receive(sig("web", at=5.0), 5.0)
    assert isinstance(action, Suppressed) and action.reason == "silenced"
    assert of(p.receive(sig("web", at=100.0), 100.0), Suppressed)[0].reason == "silenced"
    sim = Sim(p, [])
    assert sim.run(299.0) == []
    [(when, post)] = sim.run(400.0)
    assert when == 300.0 + GROUP_WAIT and isinstance(post, Post)
    assert post.view["services"][0]["count"] == 2


def test_silence_of_a_shown_incident_updates_it_and_stops_reminders() -> None:
    """Silencing a posted service re-renders it as silenced; no reminders while silenced; unsilence undoes."""
    p = policy()
    post = posted(p, 0.0, "web")
    [update] = p.silence("web", until=10 * REPEAT, by="U0ANN", now=20.0)
    assert isinstance(update, Update) and update.view["services"][0]["state"] == "silenced"
    assert update.view["services"][0]["silenced_until"] == 10 * REPEAT
    assert Sim(p, []).run(5 * REPEAT) == []
    [update] = p.unsilence("web", 5 * REPEAT)
    assert isinstance(update, Update) and update.notification_id == post.notification_id
    assert update.view["services"][0]["state"] == "firing"
    assert p.unsilence("web", 5 * REPEAT) == []


def test_silenced_member_of_an_open_batch_is_left_out() -> None:
    """A service silenced while its batch is open is not in the Post; the others are."""
    p = policy()
    p.receive(sig("web"), 0.0)
    p.receive(sig("api", at=1.0), 1.0)
    p.silence("web", until=1000.0, by="U0ANN", now=2.0)
    [post] = p.tick(GROUP_WAIT)
    assert isinstance(post, Post) and post.services == ("api",)


def test_silence_must_end_in_the_future() -> None:
    """A silence that ends now or earlier is an error, not a no-op."""
    with pytest.raises(ValueError, match="future"):
        policy().silence("web", until=5.0, by="U0ANN", now=5.0)


# ------------------------------------------------------------------------------------ recovery


def test_recovery_updates_in_place_and_marks_the_fully_recovered_message() -> None:
    """Recovery is marked in place with "recovered after" in the thread; all recovered marks the message."""
    p = policy()
    post = posted(p, 0.0, "web", "api")
    actions = p.receive(recovered("web", at=180.0), 180.0)
    [update], [reply] = of(actions, Update), of(actions, Reply)
    assert update.notification_id == post.notification_id
    assert [s["state"] for s in update.view["services"]] == ["recovered", "firing"]
    assert update.view["recovered"] is False and update.view["firing"] == 1
    assert reply.text == "web recovered after 3m" and reply.reason == "recovered"
    [update, _] = p.receive(recovered("api", at=200.0), 200.0)
    assert isinstance(update, Update) and update.view["recovered"] is True
    assert p.receive(recovered("api", at=201.0), 201.0) == []  # nothing firing: nothing to say


def test_recovery_storm_coalesces_into_few_messages() -> None:
    """100 services recovering within 1 s make at most two Updates and two thread replies."""
    names = [f"svc{i:03}" for i in range(100)]
    p = policy()
    post = posted(p, 0.0, *names)
    sim = Sim(p, [recovered(name, 300.0 + i / 100) for i, name in enumerate(names)])
    log = sim.run(400.0)
    assert len(of(log, Update)) <= 2 and len(of(log, Reply)) <= 2
    assert of(log, Update)[-1].view["recovered"] is True
    assert sorted(i for r in of(log, Reply) for i in r.incidents) == sorted(post.incidents)


def test_flapping_service_reopens_its_incident() -> None:
    """Failing again soon after recovering reopens the same incident (no new Post)."""
    p = policy()
    post = posted(p, 0.0, "web")
    p.receive(recovered("web", 60.0), 60.0)
    actions = p.receive(sig("web", at=90.0), 90.0)
    assert not of(actions, Post)
    assert of(actions, Reply)[0].reason == "reopened"
    view = p.incident_view(post.notification_id)
    assert [s["state"] for s in view["services"]] == ["firing"] and view["services"][0]["count"] == 2


def test_resource_incident_resolves_when_quiet() -> None:
    """Resource breaches have no recovery signal: they resolve after quiet_resolve without repeats."""
    p = policy(quiet_resolve=HOUR)
    p.receive(sig("web", "resource", severity="warning"), 0.0)
    log = Sim(p, []).run(2 * HOUR)
    replies = of(log, Reply)
    assert replies[0].reason == "resolved" and replies[0].text == "web: nothing reported for 1h, resolved"
    assert of(log, Update)[-1].view["recovered"] is True


# ------------------------------------------------------------------------------------ contract


def test_posted_ts_travels_with_later_updates() -> None:
    """Before posted() an Update carries ts None (resolve by id); after it, the Slack ts."""
    p = policy(update_interval=0.0)
    post = posted(p, 0.0, "web", "api")
    [early, _] = p.receive(recovered("web", 20.0), 20.0)
    assert isinstance(early, Update) and early.ts is None
    p.posted(post.notification_id, "C0ALERTS", "1700000000.000100")
    [late] = p.acknowledge(post.notification_id, "U0ANN", 30.0)
    assert isinstance(late, Update) and late.ts == "1700000000.000100" and late.view["ts"] == late.ts
    with pytest.raises(ValueError, match="belongs to"):
        p.posted(post.notification_id, "C0OTHER", "1.2")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "exploded"}, "unknown signal kind"),
        ({"severity": "fatal"}, "unknown severity"),
        ({"service": ""}, "needs a service"),
        ({"channel": ""}, "needs a channel"),
    ],
)
def test_signal_validation(kwargs: dict[str, Any], match: str) -> None:
    """Signals with an unknown kind or severity, or no service or channel, are rejected."""
    fields: dict[str, Any] = {
        "service": "web",
        "kind": "crash",
        "severity": "critical",
        "summary": "x",
        "channel": "C0",
        "owners": (),
        "at": 0.0,
    }
    with pytest.raises(ValueError, match=match):
        Signal(**{**fields, **kwargs})


@pytest.mark.parametrize(
    ("kind", "family"),
    [("crash", "down"), ("crash_loop", "down"), ("unhealthy", "health"), ("resource", "resource"),
     ("manager_error", "manager"), ("recovered", None)],
)  # fmt: skip
def test_families(kind: str, family: str | None) -> None:
    """Kinds that are the same problem share a family; recovered has none."""
    assert family_of(kind) == family


def test_idle_policy_has_no_deadline() -> None:
    """With nothing pending, next_deadline() is None and tick() does nothing."""
    p = policy()
    assert p.next_deadline() is None
    assert p.tick(1e9) == []


# ------------------------------------------------------------------------------------ bounds, state


def test_state_stays_bounded_over_a_week() -> None:
    """1000 incidents over a simulated week keep only about a day of them, and nothing a day after."""
    week = 7 * DAY
    signals: list[Signal] = []
    for k in range(1000):
        at = k * week / 1000
        name = f"svc{k % 37:02}"
        signals += [sig(name, at=at), sig(name, at=at + 30.0), recovered(name, at + 300.0)]
    sim = Sim(policy(), signals)
    sim.run(week)
    assert len(of(sim.log, Post)) == 1000
    state = sim.policy.to_state()
    assert len(state["incidents"]) <= 1000 / 7 + 5
    assert len(state["notifications"]) <= 1000 / 7 + 5
    assert len(json.dumps(state)) < 150_000
    sim.run(week + 2 * DAY)
    state = sim.policy.to_state()
    assert state["incidents"] == [] and state["notifications"] == [] and state["index"] == []


def test_recovered_incidents_are_capped() -> None:
    """Beyond max_recovered, the oldest recovered incidents are forgotten early."""
    p = policy(max_recovered=10)
    for k in range(50):
        p.receive(sig(f"svc{k}", at=k * 100.0), k * 100.0)
        p.tick(k * 100.0 + GROUP_WAIT)
        p.receive(recovered(f"svc{k}", k * 100.0 + 50), k * 100.0 + 50)
        p.tick(k * 100.0 + 60)
    assert len(p.to_state()["incidents"]) <= 11


def test_state_round_trip_mid_storm_gives_the_same_future_actions() -> None:
    """Saving and restoring (through JSON) mid-storm changes none of the decisions that follow."""
    signals = storm()
    straight = Sim(policy(), signals)
    straight.run(5 * HOUR)

    first = Sim(policy(), signals)
    first.run(5.5)  # inside the first batch: nothing posted yet
    first.run(47.0)  # a batch of the second wave is open
    state = json.loads(json.dumps(first.policy.to_state()))
    restored = Sim(AlertPolicy.from_state(state, group_wait=GROUP_WAIT, repeat_interval=REPEAT), [])
    restored.pending, restored.now = first.pending, first.now
    restored.run(5 * HOUR)

    assert first.log + restored.log == straight.log
    assert restored.policy.to_state() == straight.policy.to_state()
    assert of(restored.log, Reply)  # the reminders came after the restart


def test_from_state_rejects_an_unknown_version() -> None:
    """State from another format version is refused rather than misread."""
    state = policy().to_state() | {"version": 99}
    with pytest.raises(ValueError, match="version"):
        AlertPolicy.from_state(state, group_wait=1.0, repeat_interval=1.0)


# -- Alertmanager's alerts ----------------------------------------------------------------------------


def test_alertmanager_alerts_are_incidents_of_their_own_resolved_by_their_resolution() -> None:
    """Two alerts of one service are two incidents; "alert_resolved" ends only its alert, and
    "recovered" (svcbot's own signal for the service) does not end an Alertmanager alert."""
    p = policy()
    p.receive(sig("web/HighLatency", "alert", severity="warning"), 0.0)
    p.receive(sig("web/ErrorRate", "alert"), 1.0)
    p.receive(sig("web", "crash"), 2.0)
    [post] = [a for a in p.tick(GROUP_WAIT + 2) if isinstance(a, Post)]
    assert set(post.services) == {"web/HighLatency", "web/ErrorRate", "web"}
    p.posted(post.notification_id, "C0ALERTS", "1.0001")
    p.receive(recovered("web", 20.0), 20.0)
    p.receive(Signal("web/HighLatency", "alert_resolved", "info", "resolved", "C0ALERTS", (), 21.0), 21.0)
    p.tick(60.0)
    states = {s["name"]: s["state"] for s in p.incident_view(post.notification_id)["services"]}
    assert states == {"web/HighLatency": "recovered", "web/ErrorRate": "firing", "web": "recovered"}
