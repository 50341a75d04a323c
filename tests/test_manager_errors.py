"""svcbot's own failures: logged as JSON lines with tracebacks, published, never fatal."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from manager.cli.daemon import Daemon
from manager.cli.jsonlog import setup_logging
from manager.config.loader import load_config
from manager.core.commands import Status
from manager.supervision import events as ev
from tests.conftest import write_config


def boom() -> None:
    raise ValueError("the answer was not 42")


async def test_unexpected_exception_becomes_a_json_line_and_an_event(tmp_path: Path) -> None:
    """An exception escaping a task is logged with its traceback as JSON and published as ManagerError."""
    config = load_config(write_config(tmp_path, {"svc": {"command": "true"}}))
    log_file = tmp_path / "svcbot.log"
    setup_logging(log_file)
    try:
        daemon = Daemon(config, environ={})
        seen: list[ev.Event] = []
        daemon.bus.subscribe(seen.append)
        loop = asyncio.get_running_loop()
        try:
            boom()
        except ValueError as exc:
            daemon._on_loop_error(loop, {"message": "task of service svc failed", "exception": exc})
        [error] = [e for e in seen if isinstance(e, ev.ManagerError)]
        assert error.error_type == "ValueError" and error.message == "the answer was not 42"
        assert "in boom" in error.traceback and error.where == "task of service svc failed"
        for handler in logging.getLogger().handlers:
            handler.flush()
        records = [json.loads(line) for line in log_file.read_text().splitlines()]
        logged = [r for r in records if r["level"] == "error"]
        assert logged and "ValueError: the answer was not 42" in logged[-1]["exc"]
        assert logged[-1]["ts"].endswith("+00:00")
    finally:
        logging.getLogger().handlers.clear()


async def test_a_failing_command_is_answered_and_reported(tmp_path: Path) -> None:
    """A command whose handler raises gets an error result (exit 1) instead of killing svcbot."""
    config = load_config(write_config(tmp_path, {"svc": {"command": "true"}}))
    daemon = Daemon(config, environ={})
    seen: list[ev.Event] = []
    daemon.bus.subscribe(seen.append)

    async def broken(command: object) -> object:
        raise RuntimeError("disk on fire")

    result = await daemon._guarded(broken)(Status())
    assert not result.ok and result.code == 1 and "disk on fire" in result.message
    assert [e.message for e in seen if isinstance(e, ev.ManagerError)] == ["disk on fire"]


def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    """One event handler raising is logged; the other handlers and queues still get the event."""
    bus = ev.EventBus()
    got: list[ev.Event] = []

    def bad(event: ev.Event) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(bad)
    bus.subscribe(got.append)
    bus.publish(ev.CrashLoopEnded(service="svc", reason="stable run"))
    assert [e.kind for e in got] == ["crash_loop_ended"]


def test_events_serialize_to_plain_json() -> None:
    """to_dict gives JSON-ready data with the event kind, ISO timestamps and nested samples."""
    sample = ev.ResourceSample(cpu_percent=1.5, rss=1024, threads=2, open_files=3, processes=1)
    event = ev.ServiceExited(
        service="web",
        pid=42,
        exit_code=None,
        signal="SIGKILL",
        expected=False,
        runtime=1.0,
        last_sample=sample,
    )
    data = json.loads(json.dumps(event.to_dict()))
    assert data["kind"] == "service_exited" and data["signal"] == "SIGKILL"
    assert data["last_sample"]["rss"] == 1024 and "T" in data["at"]
    assert event.status_text == "killed by SIGKILL"
