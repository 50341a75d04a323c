"""Alertmanager webhooks (version 4) turned into occurrence records."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from manager.store.db import Database
from manager.store.ingest import apply_batch
from manager.store.models import Issue, Occurrence
from manager.triage.alertmanager import (
    issue_fingerprint,
    occurrence_records,
    parse_webhook,
    resolved_fingerprints,
)

RECORD_KEYS = {
    "op",
    "uid",
    "at",
    "fingerprint",
    "title",
    "kind",
    "service",
    "version",
    "summary",
    "exit_code",
    "signal",
    "oom_likely",
    "exception",
    "stderr_tail",
    "environment",
    "sample",
    "grouping_method",
    "grouping",
    "severity",
    "run_id",
}


def _payload() -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "svcbot",
        "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighLatency", "service": "api", "severity": "critical"},
                "annotations": {"summary": "p99 latency over 2s", "description": "api is slow on /orders"},
                "startsAt": "2024-05-01T10:00:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph?g0.expr=latency",
                "fingerprint": "a1b2c3d4e5f60718",
            },
            {
                "status": "firing",
                "labels": {"alertname": "DiskFull", "job": "node", "severity": "warning"},
                "annotations": {"description": "disk / is 95% full"},
                "startsAt": "2024-05-01T11:30:00+02:00",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example:9090/graph?g0.expr=disk",
                "fingerprint": "00ff00ff00ff00ff",
            },
            {
                "status": "resolved",
                "labels": {"alertname": "QueueBacklog"},
                "annotations": {},
                "startsAt": "2024-05-01T08:00:00Z",
                "endsAt": "2024-05-01T09:00:00Z",
                "generatorURL": "",
                "fingerprint": "DEADBEEF00000001",
            },
        ],
    }


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def _records(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return occurrence_records(parse_webhook(_body(payload)))


def test_firing_alerts_become_occurrence_records() -> None:
    """Two firing alerts become two occurrence records with the expected keys and values."""
    api, disk = _records(_payload())
    assert set(api) == RECORD_KEYS and set(disk) == RECORD_KEYS
    assert api["op"] == "occurrence" and api["kind"] == "alert"
    assert api["service"] == "api"
    assert api["title"] == "api: HighLatency: p99 latency over 2s"
    assert api["summary"] == "p99 latency over 2s - api is slow on /orders"
    assert api["severity"] == "critical"
    assert api["at"] == "2024-05-01T10:00:00.123456+00:00"
    assert api["fingerprint"] == issue_fingerprint("a1b2c3d4e5f60718")
    assert api["fingerprint"].startswith("am:") and len(api["fingerprint"]) == 35
    assert api["grouping_method"] == "alertmanager"
    assert api["grouping"] == ["alertmanager fingerprint: a1b2c3d4e5f60718", "alertname: HighLatency"]
    assert api["environment"]["labels"] == {
        "alertname": "HighLatency",
        "service": "api",
        "severity": "critical",
    }
    assert api["environment"]["generator_url"] == "http://prometheus.example:9090/graph?g0.expr=latency"
    assert api["environment"]["external_url"] == "http://alertmanager.example:9093"
    assert disk["service"] == "node"
    assert disk["title"] == "node: DiskFull"
    assert disk["summary"] == "disk / is 95% full"
    assert disk["severity"] == "normal"
    assert disk["at"] == "2024-05-01T09:30:00+00:00"
    assert api["uid"] != disk["uid"]


def test_service_falls_back_to_alertmanager() -> None:
    """An alert without service or job labels is filed under the service "alertmanager"."""
    payload = _payload()
    payload["alerts"][0]["labels"] = {"alertname": "Watchdog"}
    payload["alerts"][0]["annotations"] = {}
    record = _records(payload)[0]
    assert record["service"] == "alertmanager"
    assert record["title"] == "alertmanager: Watchdog"
    assert record["summary"] == "Watchdog firing"
    assert record["severity"] == "normal"


def test_uid_is_stable_across_redeliveries_and_new_for_a_new_firing() -> None:
    """Re-deliveries keep the uid; a new startsAt for the same fingerprint gets a new uid."""
    first = _records(_payload())
    again = _records(_payload())
    assert [r["uid"] for r in first] == [r["uid"] for r in again]
    refired = _payload()
    refired["alerts"][0]["startsAt"] = "2024-05-02T10:00:00Z"
    later = _records(refired)[0]
    assert later["uid"] != first[0]["uid"]
    assert later["fingerprint"] == first[0]["fingerprint"]


def test_resolved_fingerprints() -> None:
    """Resolved alerts give their svcbot issue fingerprints, lower-casing Alertmanager's hex."""
    webhook = parse_webhook(_body(_payload()))
    assert resolved_fingerprints(webhook) == [issue_fingerprint("deadbeef00000001")]
    assert all(r["fingerprint"] not in resolved_fingerprints(webhook) for r in occurrence_records(webhook))


def _broken(change: Any) -> bytes:
    payload = _payload()
    change(payload)
    return _body(payload)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(version="3"), "version: must be \"4\", got '3'"),
        (lambda p: p.pop("version"), 'version: must be "4", got None'),
        (lambda p: p.pop("alerts"), "alerts: missing"),
        (lambda p: p.update(alerts={}), "alerts: must be a list"),
        (lambda p: p["alerts"].append("x"), r"alerts\[3\]: must be an object"),
        (
            lambda p: p["alerts"][1].update(status="pending"),
            r"alerts\[1\].status: must be 'firing' or 'resolved', got 'pending'",
        ),
        (
            lambda p: p["alerts"][0].update(startsAt="yesterday"),
            r"alerts\[0\].startsAt: must be an RFC 3339 time, got 'yesterday'",
        ),
        (
            lambda p: p["alerts"][0].update(startsAt="2024-05-01T10:00:00"),
            r"alerts\[0\].startsAt: must be an RFC 3339 time",
        ),
        (
            lambda p: p["alerts"][0].update(startsAt="0001-01-01T00:00:00Z"),
            r"alerts\[0\].startsAt: must be set",
        ),
        (
            lambda p: p["alerts"][2].update(endsAt="2024-13-01T00:00:00Z"),
            r"alerts\[2\].endsAt: must be an RFC 3339 time",
        ),
        (
            lambda p: p["alerts"][0].update(fingerprint="not-hex"),
            r"alerts\[0\].fingerprint: must be a hex string",
        ),
        (lambda p: p["alerts"][0].update(labels=["a"]), r"alerts\[0\].labels: must be an object of strings"),
        (
            lambda p: p["alerts"][0]["labels"].update(n=1),
            r"alerts\[0\].labels.n: must be a string, got int",
        ),
        (
            lambda p: p["alerts"][0]["labels"].update(big="x" * 1001),
            r"alerts\[0\].labels.big: longer than 1000 characters",
        ),
        (
            lambda p: p.update(alerts=[copy.deepcopy(p["alerts"][0]) for _ in range(1001)]),
            "alerts: 1001 alerts is over the limit of 1000",
        ),
    ],
)
def test_validation_errors(change: Any, message: str) -> None:
    """Each invalid payload is refused with a ValueError naming the field."""
    with pytest.raises(ValueError, match=message):
        parse_webhook(_broken(change))


def test_body_must_be_a_json_object() -> None:
    """Bodies that are not JSON, or not a JSON object, are refused."""
    with pytest.raises(ValueError, match="body: not valid JSON"):
        parse_webhook(b"{nope")
    with pytest.raises(ValueError, match="body: must be a JSON object"):
        parse_webhook(b"[]")


def test_thousand_alerts_are_accepted() -> None:
    """Exactly the limit of 1,000 alerts is accepted."""
    payload = _payload()
    payload["alerts"] = [copy.deepcopy(payload["alerts"][0]) for _ in range(1000)]
    assert len(parse_webhook(_body(payload)).alerts) == 1000


def test_secrets_in_labels_and_annotations_are_redacted() -> None:
    """Secret-named labels, tokens in annotations and passwords in URLs never reach a record."""
    payload = _payload()
    alert = payload["alerts"][0]
    alert["labels"]["api_token"] = "s3cr3t-label"
    alert["labels"]["instance"] = "postgres://app:hunter2@db:5432/app"
    alert["annotations"]["summary"] = "login failed with password=hunter2"
    alert["annotations"]["description"] = "token xoxb-123456789012-abcdefghijkl leaked"
    alert["generatorURL"] = "http://prom:9090/graph?access_token=abc123def"
    payload["externalURL"] = "http://admin:hunter2@alertmanager:9093"
    record = _records(payload)[0]
    dumped = json.dumps(record)
    for secret in ("s3cr3t-label", "hunter2", "xoxb-123456789012", "abc123def"):
        assert secret not in dumped
    assert record["environment"]["labels"]["api_token"] == "[REDACTED]"
    assert "[REDACTED]" in record["title"] and "[REDACTED]" in record["summary"]


def test_double_delivery_makes_one_occurrence_per_alert(tmp_path: Path) -> None:
    """Applying a webhook twice leaves one issue per Alertmanager fingerprint, each with count 1."""
    database = Database(f"sqlite:///{tmp_path / 'svcbot.db'}")
    database.upgrade()
    try:
        records = _records(_payload())
        for _ in range(2):
            with database.session(write=True) as session:
                apply_batch(session, records)
        with database.session(write=True) as session:
            apply_batch(session, records + records)  # and twice within one batch
        with database.session() as session:
            issues = session.exec(select(Issue)).all()
            occurrences = session.exec(select(Occurrence)).all()
        assert sorted(i.fingerprint for i in issues) == sorted(
            issue_fingerprint(fp) for fp in ("a1b2c3d4e5f60718", "00ff00ff00ff00ff")
        )
        assert [i.count for i in issues] == [1, 1]
        assert all(i.kind == "alert" and i.grouping_method == "alertmanager" for i in issues)
        assert len(occurrences) == 2
    finally:
        database.dispose()


def test_alertmanager_signals_are_routed_like_the_service_they_name(tmp_path: Path) -> None:
    """An alert about a service svcbot runs goes to its alert_channel with its owners; any other to the
    default channel; severities map to the policy's; a resolved alert is an alert_resolved signal."""
    from chatops.alerting.signals import alertmanager_signals  # noqa: PLC0415
    from manager.config.loader import load_config  # noqa: PLC0415
    from tests.conftest import write_config  # noqa: PLC0415

    config = load_config(
        write_config(
            tmp_path,
            {"web": {"command": "true", "alert_channel": "C0WEB", "owners": ["S0WEBTEAM"]}},
            slack={"alert_channel": "C0ALERTS"},
        )
    )

    def alert(status: str, service: str, severity: str) -> dict[str, Any]:
        return {
            "status": status,
            "labels": {"alertname": "Down", "service": service, "severity": severity},
            "annotations": {"summary": "token=xoxb-123456789012-abcdefghijkl is in the summary"},
            "startsAt": "2026-11-23T05:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": "ab12",
        }

    body = {
        "version": "4",
        "alerts": [
            alert("firing", "web", "critical"),
            alert("firing", "db", "info"),
            alert("resolved", "web", ""),
        ],
    }
    signals = alertmanager_signals(parse_webhook(json.dumps(body).encode()), config, 5.0)
    assert [(s.service, s.kind, s.severity, s.channel, s.owners) for s in signals] == [
        ("web/Down", "alert", "critical", "C0WEB", ("S0WEBTEAM",)),
        ("db/Down", "alert", "info", "C0ALERTS", ()),
        ("web/Down", "alert_resolved", "info", "C0WEB", ("S0WEBTEAM",)),
    ]
    assert "xoxb-123456789012" not in signals[0].summary
