"""`version_command`: the version a service's code reports at each start, and a change is a release."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from manager.store.db import Database
from manager.store.ingest import apply
from manager.store.models import Release
from manager.store.release_notes import unannounced
from manager.supervision import events as ev
from manager.triage.reports import event_record
from tests.conftest import program


async def test_the_version_comes_from_the_command_at_each_start(make_harness, tmp_path: Path) -> None:
    """The command runs in the service's cwd; a new output after a deploy and a restart is a new
    version, published once as ServiceVersion and carried by the exit that follows."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "VERSION").write_text("1.4.2\n")
    service = {
        "command": program("hang"),
        "cwd": str(site),
        "version": "0.0.0-config",
        "version_command": "cat VERSION",
    }
    h = await make_harness({"web": service})
    first = await h.wait_event(ev.ServiceVersion, "web")
    assert (first.version, first.previous) == ("1.4.2", "0.0.0-config")
    (site / "VERSION").write_text("1.5.0\n")  # the deploy
    await h.supervisor.restart_service("web")
    exited = await h.wait_event(ev.ServiceExited, "web")
    assert exited.version == "1.4.2"  # the run that stopped was 1.4.2
    second = await h.wait_event(ev.ServiceVersion, "web", count=2)
    assert (second.version, second.previous) == ("1.5.0", "1.4.2")
    await h.supervisor.restart_service("web")  # same code: no new version event
    await h.wait_event(ev.ServiceStarted, "web", count=3)
    await h.wait_state("web", "running")
    assert len(h.of(ev.ServiceVersion, "web")) == 2
    assert h.supervisor.status("web")[0]["version"] == "1.5.0"


async def test_a_failing_version_command_keeps_the_configured_version(make_harness, tmp_path: Path) -> None:
    service = {"command": program("hang"), "version": "2.0", "version_command": "false"}
    h = await make_harness({"api": service})
    await h.wait_state("api", "running")
    started = await h.wait_event(ev.ServiceStarted, "api")
    assert started.version == "2.0"
    assert not h.of(ev.ServiceVersion, "api")


def test_a_reported_version_is_recorded_as_a_release(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'svcbot.db'}")
    db.upgrade()
    now = datetime.now(UTC)
    try:
        for version, previous in (("1.4.2", None), ("1.5.0", "1.4.2")):
            event = ev.ServiceVersion(service="web", version=version, previous=previous)
            with db.session(write=True) as session:
                apply(session, event_record(event))
        with db.session() as session:
            versions = sorted(session.exec(select(Release.version)).all())
        assert versions == ["1.4.2", "1.5.0"]
        assert [(n.version, n.previous) for n in unannounced(db, now)] == [("1.5.0", "1.4.2")]
    finally:
        db.dispose()
