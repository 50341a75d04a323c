"""End to end: a crash under `svcbot run` becomes an issue; the CLI lists, shows, triages it; feedback.

Real processes throughout: the manager, the crashing service and every CLI call, on the default
SQLite store in the state dir.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import program, wait_until, write_config
from tests.dbs import PostgresServer
from tests.test_cli import Daemon, cli, daemons

__all__ = ["daemons"]  # the fixture, imported for its side effect

SECRET = "xoxb-111111111111-222222222222-abcdefabcdefabcdefabcdef"


def issues(config: Path, *args: str) -> list[dict[str, Any]]:
    result = cli(config, "issues", "list", "--json", *args)
    assert result.returncode == 0, result.stderr
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Top-level config for the store: the default SQLite file, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield {}
        return
    server = PostgresServer()
    server.check()
    name = server.create()
    try:
        yield {"database": server.url(name)}
    finally:
        server.drop(name)
        server.admin.dispose()


def test_a_crash_becomes_an_issue_with_a_timeline(
    tmp_path: Path, daemons: list[Daemon], database: dict[str, str]
) -> None:
    """A service dying of a traceback is stored, grouped, shown with its timeline, and redacted."""
    worker = {
        "command": program("crash_later", "0.1"),
        "restart": "on-failure",
        "restart_delay": "10ms",
        "start_limit": {"burst": 2, "interval": "1m"},
        "quarantine_retry": "1h",
        "version": "1.0",
        "env": {"SLACK_TOKEN_FOR_TEST": SECRET, "DB_PASSWORD": "hunter2"},
    }
    config = write_config(tmp_path, {"worker": worker}, **database)
    daemon = Daemon(config, tmp_path / "daemon.out")
    daemons.append(daemon)
    wait_until(lambda: any(i["kind"] == "crash_loop" for i in issues(config)), 30, "the crash loop issue")
    found = {i["kind"]: i for i in issues(config)}
    crash = found["crash"]
    assert crash["count"] >= 3 and crash["services"] == ["worker"] and crash["versions"] == ["1.0"]
    assert crash["title"] == "worker: ConnectionError: database at 10.0.0.5:5432 refused the connection"
    assert crash["grouping_method"] == "exception_frames"
    assert found["crash_loop"]["priority"] == "P1"

    shown = cli(config, "issues", "show", str(crash["id"]))
    assert shown.returncode == 0, shown.stderr
    for expected in (
        "ConnectionError",
        "grouped by exception_frames",
        "Timeline:",
        "service_exited",
        "occurrence",
    ):
        assert expected in shown.stdout
    detail = json.loads(cli(config, "issues", "show", str(crash["id"]), "--json").stdout)
    kinds = {entry["type"] for entry in detail["timeline"]}
    assert {"occurrence", "service_started", "service_exited", "release"} <= kinds
    assert detail["occurrences"][-1]["environment"]["env"]["DB_PASSWORD"] == "[REDACTED]"
    exported = cli(config, "issues", "export", str(crash["id"]), "--format", "github")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("<!-- Title: [worker] ") and "ConnectionError" in exported.stdout
    assert "hunter2" not in exported.stdout

    assert daemon.terminate() == 0
    report = cli(config, "report", "errors", "--since", "1h", "--json")
    assert report.returncode == 0, report.stderr
    (top,) = json.loads(report.stdout)
    assert top["count"] == crash["count"] and top["services"] == {"worker": crash["count"]}
    assert top["pattern"].startswith("ConnectionError: database at")
    text = cli(config, "report", "errors", "--since", "1h", "--service", "nope")
    assert text.returncode == 1 and "nope" in text.stderr
    shown_all = "".join(cli(config, "issues", "show", str(i["id"]), "--json").stdout for i in issues(config))
    everything = shown_all.encode() + (tmp_path / "state" / "svcbot.log").read_bytes()
    if not database:
        everything += (tmp_path / "state" / "svcbot.db").read_bytes()
    assert SECRET.encode() not in everything and b"hunter2" not in everything


def test_feedback_triage_and_audit_from_the_cli(tmp_path: Path) -> None:
    """feedback is categorized and stored without a running svcbot; resolve/assign are audited."""
    config = tmp_path / "svcbot.yml"
    config.write_text(f"state_dir: {tmp_path / 'state'}\nservices:\n  web:\n    command: sleep 1\n")
    sent = cli(
        config, "feedback", "The web dashboard crashes when I open the settings page", "--service", "web"
    )
    assert sent.returncode == 0, sent.stderr
    assert "filed as bug" in sent.stdout
    again = cli(config, "feedback", "web dashboard crashes whenever I open the settings page!", "--json")
    receipt = json.loads(again.stdout)
    first_issue = issues(config)[0]
    assert receipt["category"] == "bug"
    wish = json.loads(cli(config, "feedback", "Please add a dark mode", "--json").stdout)
    assert wish["category"] == "feature" and wish["issue_id"] != first_issue["id"]

    resolved = cli(config, "issues", "resolve", str(wish["issue_id"]), "--version", "2.0")
    assert resolved.returncode == 0 and f"#{wish['issue_id']} resolved in 2.0" in resolved.stdout
    assert wish["issue_id"] not in [i["id"] for i in issues(config)]
    assert [i["id"] for i in issues(config, "--status", "resolved")] == [wish["issue_id"]]
    assigned = cli(config, "issues", "assign", str(first_issue["id"]), "alice")
    assert assigned.returncode == 0
    assert issues(config)[0]["assignee"] == "alice"
    missing = cli(config, "issues", "show", "999")
    assert missing.returncode == 1 and "no issue #999" in missing.stderr
    empty = cli(config, "feedback", "   ")
    assert empty.returncode == 2 and "feedback text is empty" in empty.stderr

    with sqlite3.connect(tmp_path / "state" / "svcbot.db") as db:
        audit = db.execute("SELECT command, ok, arguments FROM audit_entry ORDER BY id").fetchall()
    assert [(c, ok) for c, ok, _ in audit] == [("issues resolve", 1), ("issues assign", 1)]
    assert json.loads(audit[0][2]) == {"id": wish["issue_id"], "version": "2.0"}


def test_db_upgrade_and_an_unreachable_database(tmp_path: Path) -> None:
    """`db upgrade` migrates; a dead PostgreSQL is a clear exit 1; feedback is spooled, not lost."""
    config = tmp_path / "svcbot.yml"
    config.write_text(f"state_dir: {tmp_path / 'state'}\nservices:\n  web:\n    command: sleep 1\n")
    upgraded = cli(config, "db", "upgrade")
    assert upgraded.returncode == 0 and "up to date" in upgraded.stdout
    dead = tmp_path / "dead.yml"
    dead.write_text(
        f"state_dir: {tmp_path / 'state'}\ndatabase: postgresql://nobody@127.0.0.1:1/x\n"
        "services:\n  web:\n    command: sleep 1\n"
    )
    listed = cli(dead, "issues", "list")
    assert listed.returncode == 1 and "unreachable" in listed.stderr and "127.0.0.1:1" in listed.stderr
    kept = cli(dead, "feedback", "The login page is slow", "--json")
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["spooled"] is True
    spooled = (tmp_path / "state" / "spool" / "pending.jsonl").read_text()
    assert "The login page is slow" in spooled
