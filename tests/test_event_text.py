"""Every event says in words what happened: the human log shows `describe()`, never the raw kind."""

from __future__ import annotations

from manager.core.units import plural
from manager.supervision import events as ev

CONCRETE = [
    c
    for c in vars(ev).values()
    if isinstance(c, type) and issubclass(c, ev.Event) and c not in (ev.Event, ev.ServiceEvent)
]


def test_every_event_type_describes_itself() -> None:
    assert len(CONCRETE) >= 10
    generic = [c.__name__ for c in CONCRETE if c.describe is ev.Event.describe]
    assert not generic, f"these events would log their raw kind: {generic}"


def test_descriptions_read_as_words() -> None:
    stopped = ev.ServiceStopped(service="web", killed=True, leftovers=1)
    assert stopped.describe() == (
        "stop complete: the stop timeout ran out, so its processes were killed; 1 still alive after SIGKILL"
    )
    assert ev.CrashLoopEnded(service="web", reason="stable run").describe() == "crash loop over (stable run)"
    breach = ev.ResourceBreach(
        service="web", resource="memory", value=600 * 2**20, limit=512 * 2**20, action="alert"
    )
    assert breach.describe() == "memory over its limit: 600.0MiB of 512.0MiB allowed; alerting"
    cpu = ev.ResourceBreach(service="web", resource="cpu", value=97.4, limit=90, action="restart")
    assert cpu.describe() == "cpu over its limit: 97% of 90% allowed; restarting"


def test_plural() -> None:
    assert [plural(n, "service") for n in (0, 1, 2)] == ["0 services", "1 service", "2 services"]
    assert plural(1, "crash", "crashes") == "1 crash" and plural(3, "crash", "crashes") == "3 crashes"
