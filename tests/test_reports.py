"""Error reports made from supervisor events: contents, redaction, grouping (pure, no database)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from manager.config.spec import LimitsSpec, ServiceSpec
from manager.supervision import events as ev
from manager.triage.reports import Host, event_record, occurrence_record, oom_likely

HOST = Host(hostname="box", system="Linux 6.1", python="3.11.7", svcbot_pid=42, cpus=2, memory=1 << 30)

TRACEBACK = (
    "starting worker",
    "Traceback (most recent call last):",
    '  File "/srv/app/worker.py", line 10, in <module>',
    "    main()",
    '  File "/srv/app/worker.py", line 7, in main',
    "    connect(url)",
    "ConnectionError: cannot reach postgres://app:hunter2@db:5432/app",
)


def spec(**kw) -> ServiceSpec:
    base: dict[str, Any] = {
        "name": "worker",
        "argv": ("python3", "worker.py", "--token", "s3cr3t-value"),
        "cwd": Path("/srv/app"),
        "env": (("API_TOKEN", "xoxb-123456789012-abcdefABCDEF"), ("MODE", "prod")),
        "version": "1.4.2",
    }
    base.update(kw)
    return ServiceSpec(**base)


def exited(**kw) -> ev.ServiceExited:
    base: dict[str, Any] = {
        "service": "worker",
        "run_id": "r1",
        "pid": 100,
        "exit_code": 1,
        "signal": None,
        "expected": False,
        "runtime": 2.5,
        "stderr_tail": TRACEBACK,
        "argv": ("python3", "worker.py", "--token", "s3cr3t-value"),
        "cwd": "/srv/app",
        "version": "1.4.2",
        "last_sample": ev.ResourceSample(
            cpu_percent=12.0, rss=50 * 1024 * 1024, threads=3, open_files=4, processes=1
        ),
    }
    base.update(kw)
    return ev.ServiceExited(**base)


def test_crash_report_has_exit_traceback_version_environment_and_sample() -> None:
    """An unexpected exit becomes an occurrence with everything root-cause analysis needs."""
    record = occurrence_record(exited(), spec(), HOST)
    assert record is not None
    assert (record["op"], record["kind"], record["service"], record["version"]) == (
        "occurrence",
        "crash",
        "worker",
        "1.4.2",
    )
    assert (record["exit_code"], record["signal"], record["oom_likely"]) == (1, None, False)
    assert record["exception"]["type"] == "ConnectionError"
    assert [f["function"] for f in record["exception"]["frames"]] == ["<module>", "main"]
    assert record["environment"]["host"] == "box"
    assert record["environment"]["cwd"] == "/srv/app"
    assert record["environment"]["env"]["MODE"] == "prod"
    assert record["sample"]["rss"] == 50 * 1024 * 1024
    assert record["title"].startswith("worker: ConnectionError: cannot reach")
    assert record["grouping_method"] == "exception_frames"


def test_secrets_are_redacted_everywhere_in_the_report() -> None:
    """Tokens in env, argv, the stderr tail and the exception message never reach the record."""
    text = json.dumps(occurrence_record(exited(), spec(), HOST))
    for secret in ("hunter2", "s3cr3t-value", "xoxb-123456789012-abcdefABCDEF"):
        assert secret not in text
    assert "[REDACTED]" in text


def test_same_crash_twice_has_one_fingerprint_and_new_uids() -> None:
    """Two crashes with the same traceback group together but stay two occurrences."""
    a = occurrence_record(exited(pid=1), spec(), HOST)
    b = occurrence_record(
        exited(pid=2, stderr_tail=(*TRACEBACK[:-1], "ConnectionError: cannot reach db:5433")), spec(), HOST
    )
    assert a is not None and b is not None
    assert a["fingerprint"] == b["fingerprint"]
    assert a["uid"] != b["uid"]


def test_explicit_fingerprint_from_the_service_config_wins() -> None:
    """`fingerprint:` on a service groups its reports as configured (Sentry's explicit fingerprint)."""
    plain = occurrence_record(exited(), spec(), HOST)
    custom = occurrence_record(exited(), spec(fingerprint=("database-down",)), HOST)
    assert plain is not None and custom is not None
    assert custom["grouping_method"] == "custom"
    assert custom["fingerprint"] != plain["fingerprint"]


def test_expected_exits_and_recoveries_are_not_reports() -> None:
    """A stop svcbot asked for, a start and a health recovery produce no occurrence."""
    assert occurrence_record(exited(expected=True), spec(), HOST) is None
    assert occurrence_record(ev.ServiceStarted(service="worker", pid=1), spec(), HOST) is None
    healthy = ev.HealthChanged(service="worker", healthy=True, check="tcp :1", output="ok", failures=0)
    assert occurrence_record(healthy, spec(), HOST) is None


def test_unrequested_sigkill_is_a_likely_oom_kill() -> None:
    """SIGKILL (or 137 from a shell wrapper) that svcbot did not send is flagged as a likely OOM."""
    assert oom_likely(exited(exit_code=None, signal="SIGKILL"))
    assert oom_likely(exited(exit_code=137))
    assert not oom_likely(exited(exit_code=None, signal="SIGKILL", expected=True))
    assert not oom_likely(exited(exit_code=None, signal="SIGSEGV"))
    record = occurrence_record(exited(exit_code=None, signal="SIGKILL", stderr_tail=()), spec(), HOST)
    assert record is not None and record["oom_likely"]
    assert "likely out of memory" in record["summary"]


def test_each_error_event_kind_becomes_its_own_kind_of_report() -> None:
    """Crash loop, failing health check, resource breach and manager error are all reported."""
    limits = spec(limits=LimitsSpec(memory=100 * 1024 * 1024))
    events = [
        ev.CrashLoop(service="worker", exits=6, interval=60.0, retry_in=300.0, last_exit="exit code 1"),
        ev.HealthChanged(
            service="worker", healthy=False, check="http http://127.0.0.1:1/", output="HTTP 503", failures=3
        ),
        ev.ResourceBreach(service="worker", resource="memory", value=2e8, limit=1e8, action="alert"),
        ev.ManagerError(where="sampler", error_type="RuntimeError", message="boom", traceback=""),
    ]
    kinds = [occurrence_record(e, limits, HOST) for e in events]
    assert [r["kind"] for r in kinds if r] == ["crash_loop", "health", "resource", "manager_error"]
    assert kinds[3] is not None and kinds[3]["service"] == "svcbot"
    assert kinds[0] is not None and kinds[0]["severity"] == "high"


def test_health_reports_group_by_their_output() -> None:
    """'HTTP 503' and 'connection refused' are two issues; the same output twice is one."""

    def health(output: str) -> str:
        event = ev.HealthChanged(
            service="web", healthy=False, check="http http://x/", output=output, failures=3
        )
        record = occurrence_record(event, None, HOST)
        assert record is not None
        return str(record["fingerprint"])

    assert health("HTTP 503") == health("HTTP 503")
    assert health("HTTP 503") != health("connection refused")


def test_event_records_are_json_ready_and_redacted() -> None:
    """Every event becomes a timeline record; its text fields are redacted like reports."""
    record = event_record(exited())
    text = json.dumps(record)
    assert record["op"] == "event" and record["kind"] == "service_exited"
    assert record["service"] == "worker" and record["run_id"] == "r1"
    assert "hunter2" not in text and "s3cr3t-value" not in text
    started = event_record(ev.ServiceStarted(service="worker", pid=1, version="2.0"))
    assert started["version"] == "2.0"
