"""Forwarding occurrences to Sentry and a JSON webhook, through the `forward_delivery` outbox.

A real HTTP server on 127.0.0.1 stands in for both remote ends (Sentry accepts a DSN on any host, so
sentry-sdk's envelopes arrive at `/api/42/envelope/`); the storage side runs on SQLite and on the
real PostgreSQL. Retries use an injected backoff (or clock), and waits poll with a deadline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sqlmodel import col, select

from manager.config.loader import ConfigError, load_config
from manager.config.spec import ForwardSpec, ServiceSpec
from manager.forwarding.forwarder import Forwarder, open_forwarder, pending, targets_from
from manager.forwarding.sentry import SentryTarget, event_id
from manager.forwarding.webhook import WebhookTarget
from manager.store import forward_outbox as outbox
from manager.store.db import Database
from manager.store.ingest import apply_batch
from manager.store.models import ForwardDelivery, Issue, Occurrence, metadata
from manager.store.store import Store
from manager.supervision import events as ev
from manager.triage.alertmanager import occurrence_records, parse_webhook
from manager.triage.reports import Host, occurrence_record
from tests.conftest import free_port, program, wait_until, write_config
from tests.dbs import PostgresServer, TcpProxy, empty_tables
from tests.test_cli import Daemon, daemons

__all__ = ["daemons"]  # the fixture, imported for its side effect

Record = dict[str, Any]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET_TOKEN = "xoxb-111111111111-222222222222-abcdefabcdefabcdefabcdef"
PASSWORD = "hunter2"
HOOK_SECRET = "webhook-signing-secret"
SENTRY_PATH = "/api/42/envelope/"
HOOK_PATH = "/hook"

TRACEBACK = [
    "starting worker",
    "Traceback (most recent call last):",
    '  File "/srv/app/app.py", line 12, in <module>',
    "    main()",
    '  File "/srv/app/app.py", line 8, in main',
    f'    connect("postgres://app:{PASSWORD}@db:5432/app")',
    '  File "/usr/lib/python3/dist-packages/psycopg/connection.py", line 99, in connect',
    "    raise OperationalError(detail)",
    f"psycopg.OperationalError: cannot connect to postgres://app:{PASSWORD}@db:5432/app with {SECRET_TOKEN}",
]


# -- the remote end ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Sentry and the webhook's receiver in one local HTTP server.

    Every POST is recorded; the answer is the next status queued for its path in `plan` (with its
    headers), then 200. `stop()` and `start()` again on the same port make an outage."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Request] = []
        self.plan: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.port}/42"

    @property
    def hook(self) -> str:
        return f"http://127.0.0.1:{self.port}{HOOK_PATH}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers = receiver._answer(
                    Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                reply = b'{"id": "ok"}' if status < 300 else f"refused with {status}".encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _answer(self, request: Request) -> tuple[int, dict[str, str]]:
        with self._lock:
            self.requests.append(request)
            queued = self.plan.get(request.path) or []
            return queued.pop(0) if queued else (200, {})

    def on(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def sentry_events(self) -> list[dict[str, Any]]:
        events = []
        for request in self.on(SENTRY_PATH):
            event = Envelope.deserialize(request.body).get_event()
            assert event is not None
            events.append(dict(event))
        return events

    def hook_keys(self) -> list[str]:
        return [r.headers["idempotency-key"] for r in self.on(HOOK_PATH)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver that is not listening yet (start it: a test may begin with the remote end down)."""
    made = Receiver()
    yield made
    made.stop()


@pytest.fixture
def forwarders() -> Iterator[Callable[..., Forwarder]]:
    """Make forwarders with fast retries; every one started is stopped at the end of the test."""
    made: list[Forwarder] = []

    def make(db: Database, targets: list[Any], *, start: bool = True, **options: Any) -> Forwarder:
        forwarder = Forwarder(db, targets, **{"backoff": lambda _n: 0.02, "poll": 0.5, **options})
        if start:
            forwarder.start()
        made.append(forwarder)
        return forwarder

    yield make
    for forwarder in made:
        forwarder.stop()


# -- databases --------------------------------------------------------------------------------------


@pytest.fixture
def db(dual_db: Database) -> Database:
    """A migrated database with empty tables: a SQLite file, then the real PostgreSQL (tests/conftest.py)."""
    return dual_db


# -- records ----------------------------------------------------------------------------------------

SPEC = ServiceSpec(
    name="web",
    argv=("python3", "/srv/app/app.py", "--password", PASSWORD),
    cwd=Path("/srv/app"),
    env=(("DB_PASSWORD", PASSWORD), ("PYTHONUNBUFFERED", "1")),
    version="1.4.2",
)


def crash(seconds: float = 0, *, forward: tuple[str, ...] = ("sentry", "webhook")) -> Record:
    """A crash report as the Store makes it: through `occurrence_record`, redaction included."""
    exited = ev.ServiceExited(
        service="web",
        run_id="run-1",
        at=T0 + timedelta(seconds=seconds),
        pid=4242,
        exit_code=1,
        signal=None,
        expected=False,
        runtime=0.3,
        stderr_tail=tuple(TRACEBACK),
        version="1.4.2",
        argv=SPEC.argv,
        cwd="/srv/app",
    )
    record = occurrence_record(exited, SPEC, Host(hostname="box-1"))
    assert record is not None
    if forward:
        record["forward"] = list(forward)
    return record


def store(db: Database, *records: Record) -> None:
    """Ingest records in one transaction, as the store's writer does."""
    with db.session(write=True) as session:
        apply_batch(session, list(records))


def deliveries(db: Database, target: str | None = None) -> list[ForwardDelivery]:
    with db.session() as session:
        query = select(ForwardDelivery).order_by(col(ForwardDelivery.id))
        if target is not None:
            query = query.where(ForwardDelivery.target == target)
        return list(session.exec(query).all())


def uids(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.exec(select(Occurrence.uid).order_by(col(Occurrence.id))).all())


def all_sent(db: Database) -> bool:
    rows = deliveries(db)
    return bool(rows) and all(row.status == "sent" for row in rows)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# -- configuration ----------------------------------------------------------------------------------


def _config_file(tmp_path: Path, forward: str) -> Path:
    path = tmp_path / "svcbot.yml"
    path.write_text(f"services:\n  web:\n    command: sleep 1\n{forward}")
    return path


def test_forward_section_is_parsed_into_a_forward_spec(tmp_path: Path) -> None:
    """`forward:` gives the webhook URL, the secret's variable name and the timeout; absent, nothing."""
    text = (
        "forward:\n  webhook: https://hooks.example.com/svcbot\n"
        "  secret_env: SVCBOT_HOOK_SECRET\n  timeout: 2s\n"
    )
    config = load_config(_config_file(tmp_path, text), {})
    assert config.forward == ForwardSpec("https://hooks.example.com/svcbot", "SVCBOT_HOOK_SECRET", 2.0)
    assert load_config(_config_file(tmp_path, ""), {}).forward == ForwardSpec()


@pytest.mark.parametrize(
    ("forward", "line", "message"),
    [
        (
            "forward:\n  webhok: https://x.example/\n",
            5,
            "forward.webhok: unknown key; did you mean 'webhook'?",
        ),
        (
            "forward:\n  webhook: ftp://x.example/\n",
            5,
            "forward.webhook: expected an http:// or https:// URL",
        ),
        (
            "forward:\n  webhook: https://x.example/\n  secret_env: not-a-name\n",
            6,
            "forward.secret_env: expected",
        ),
        (
            "forward:\n  secret_env: SVCBOT_HOOK_SECRET\n",
            5,
            "forward.secret_env: signs the webhook's requests",
        ),
        (
            "forward:\n  webhook: https://x.example/\n  timeout: 0s\n",
            6,
            "forward.timeout: must be more than 0",
        ),
    ],
)
def test_bad_forward_settings_name_file_line_and_key(
    tmp_path: Path, forward: str, line: int, message: str
) -> None:
    """A wrong key or value under `forward:` is a config error at its file, line and dotted key."""
    path = _config_file(tmp_path, forward)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value).startswith(f"{path}:{line}: {message}")


def test_targets_come_from_the_environment_and_the_config_without_leaking_secrets() -> None:
    """SENTRY_DSN and `forward.webhook` make the targets; errors name the variable, never a secret."""
    hook = ForwardSpec(webhook="https://hooks.example.com/x", secret_env="SVCBOT_HOOK_SECRET")
    assert targets_from(ForwardSpec(), {}) == []
    both = targets_from(hook, {"SENTRY_DSN": "https://k3y@o1.ingest.sentry.io/5", "SVCBOT_HOOK_SECRET": "s"})
    assert [t.name for t in both] == ["sentry", "webhook"]
    assert "k3y" not in repr(both) and "hooks.example.com" not in repr(both)
    with pytest.raises(ValueError, match="SENTRY_DSN") as bad:
        targets_from(ForwardSpec(), {"SENTRY_DSN": "ftp://s3cretkey@sentry.example/1"})
    assert "s3cretkey" not in str(bad.value)
    with pytest.raises(ValueError, match="SVCBOT_HOOK_SECRET is not set"):
        targets_from(hook, {})


def test_the_sentry_client_hooks_nothing_global(receiver: Receiver) -> None:
    """Building the Sentry target leaves svcbot's excepthook, logging, threads and SDK scope alone."""
    hook, handlers, threads = sys.excepthook, list(logging.getLogger().handlers), set(threading.enumerate())
    target = SentryTarget(receiver.dsn)
    assert target.envelope(*_stored_crash()) is not None
    assert sys.excepthook is hook and logging.getLogger().handlers == handlers
    assert set(threading.enumerate()) - threads == set()  # no thread of its own either
    assert not sentry_sdk.get_client().is_active()


def _stored_crash() -> tuple[Any, Any]:
    """An Occurrence and its Issue as the forwarder reads them (here from a throwaway SQLite)."""
    database = Database("sqlite://")
    database.upgrade()
    record = crash()
    store(database, record)
    (delivery,) = outbox.claim(database, "sentry", T0, limit=5, lease=60).deliveries
    database.dispose()
    return delivery.occurrence, delivery.issue


# -- the outbox -------------------------------------------------------------------------------------


def test_an_occurrence_gets_one_delivery_per_target_in_its_transaction_once(db: Database) -> None:
    """Ingest writes one pending row per target named in the record; a replay adds none."""
    first, second, untagged = crash(0), crash(1, forward=("webhook",)), crash(2, forward=())
    store(db, first, second, untagged)
    store(db, first, second)  # a spool replay of the same records
    rows = deliveries(db)
    occurrence_ids = {uid: i for i, uid in enumerate(uids(db))}
    assert [(row.uid, row.target, row.status, row.attempts) for row in rows] == [
        (f"sentry:{first['uid']}", "sentry", "pending", 0),
        (f"webhook:{first['uid']}", "webhook", "pending", 0),
        (f"webhook:{second['uid']}", "webhook", "pending", 0),
    ]
    assert len(occurrence_ids) == 3
    assert pending(db) == 3 and outbox.pending(db) == {"sentry": 1, "webhook": 2}


def test_the_store_tags_alertmanager_and_supervisor_reports_and_wakes_after_commit(
    db: Database, tmp_path: Path
) -> None:
    """Store-made and Alertmanager occurrences get outbox rows, and the wake-up follows the commit."""
    woken = threading.Event()
    committed: list[int] = []

    def wake() -> None:
        committed.append(len(deliveries(db)))  # what a forwarder woken now would find
        woken.set()

    live = Store(db.url, tmp_path)
    live.forward_to(["webhook"], wake)
    live.start(lambda name: SPEC if name == "web" else None)
    try:
        body = {
            "version": "4",
            "status": "firing",
            "receiver": "svcbot",
            "externalURL": "http://alertmanager.example",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "HighLatency", "service": "api", "severity": "critical"},
                    "annotations": {"summary": "p99 over 2s"},
                    "startsAt": "2026-03-02T09:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "",
                    "fingerprint": "a1b2c3d4e5f60718",
                }
            ],
        }
        for record in occurrence_records(parse_webhook(json.dumps(body).encode())):
            live.submit(record)
        live.on_event(
            ev.ServiceExited(service="web", pid=1, exit_code=1, signal=None, expected=False, runtime=1.0)
        )
        assert live.writer.flush(10)
        wait_until(woken.is_set, 5, "the wake-up")
    finally:
        live.close()
    rows = deliveries(db)
    assert [row.target for row in rows] == ["webhook", "webhook"]
    assert committed and committed[0] >= 1  # the rows were visible when the forwarder was woken


# -- Sentry -----------------------------------------------------------------------------------------


def test_sentry_receives_the_parsed_traceback_with_tags_redacted_and_a_stable_event_id(
    db: Database, receiver: Receiver, forwarders: Callable[..., Forwarder]
) -> None:
    """Sentry gets the parsed exception, frames and tags, redacted, under an id stable across retries."""
    receiver.start()
    record = crash(forward=("sentry",))
    store(db, record)
    target = SentryTarget(receiver.dsn, environment="staging")
    forwarders(db, [target])
    wait_until(lambda: all_sent(db), 10, "the delivery")
    (request,) = receiver.on(SENTRY_PATH)
    assert "sentry_key=publickey" in request.headers["x-sentry-auth"]
    assert request.headers["content-type"] == "application/x-sentry-envelope"
    assert PASSWORD.encode() not in request.body and SECRET_TOKEN.encode() not in request.body
    assert b"DB_PASSWORD" not in request.body  # the service's environment variables stay in svcbot
    (event,) = receiver.sentry_events()
    assert event["event_id"] == event_id(record["uid"]) and len(event["event_id"]) == 32
    assert event["timestamp"].startswith("2026-03-02T09:00:00")
    assert event["level"] == "error" and event["environment"] == "staging"
    assert event["release"] == "web@1.4.2" and event["server_name"] == "box-1"
    assert event["tags"] == {"service": "web", "version": "1.4.2", "kind": "crash", "host": "box-1"}
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "psycopg.OperationalError"
    assert "[REDACTED]" in exception["value"]
    frames = exception["stacktrace"]["frames"]
    assert [(f["filename"], f["lineno"], f["function"], f["in_app"]) for f in frames] == [
        ("/srv/app/app.py", 12, "<module>", True),
        ("/srv/app/app.py", 8, "main", True),
        ("/usr/lib/python3/dist-packages/psycopg/connection.py", 99, "connect", False),
    ]
    assert frames[1]["context_line"] == 'connect("postgres://app:[REDACTED]@db:5432/app")'
    assert event["fingerprint"] == [record["fingerprint"]]
    assert "starting worker" in event["extra"]["stderr_tail"]
    # Delivered again (at least once): the same event id, which Sentry deduplicates.
    with db.session() as session:
        occurrence = session.exec(select(Occurrence)).one()
        issue = session.exec(select(Issue)).one()
    again = Envelope.deserialize(target.envelope(occurrence, issue) or b"").get_event()
    assert again is not None and again["event_id"] == event["event_id"]


def test_an_occurrence_without_a_traceback_is_a_message_event(
    db: Database, receiver: Receiver, forwarders: Callable[..., Forwarder]
) -> None:
    """A health check failure has no exception: Sentry gets the issue's title as a warning message."""
    receiver.start()
    unhealthy = ev.HealthChanged(
        service="web", healthy=False, check="http://127.0.0.1:8080/", output="HTTP 503", failures=3, at=T0
    )
    record = occurrence_record(unhealthy, SPEC, Host(hostname="box-1"))
    assert record is not None
    store(db, {**record, "forward": ["sentry"]})
    forwarders(db, [SentryTarget(receiver.dsn)])
    wait_until(lambda: all_sent(db), 10, "the delivery")
    (event,) = receiver.sentry_events()
    assert "exception" not in event and event["level"] == "warning"
    assert event["message"]["formatted"] == record["title"]
    assert event["tags"]["kind"] == "health"


# -- the webhook ------------------------------------------------------------------------------------


def test_webhook_posts_the_versioned_payload_signed_with_an_idempotency_key(
    db: Database, receiver: Receiver, forwarders: Callable[..., Forwarder]
) -> None:
    """The webhook gets payload version 1, redacted, with the uid as Idempotency-Key and an HMAC signature."""
    receiver.start()
    record = crash(forward=("webhook",))
    store(db, record)
    forwarders(db, [WebhookTarget(receiver.hook, secret=HOOK_SECRET)])
    wait_until(lambda: all_sent(db), 10, "the delivery")
    (request,) = receiver.on(HOOK_PATH)
    expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-svcbot-signature"], expected)
    assert request.headers["idempotency-key"] == record["uid"]
    assert request.headers["content-type"] == "application/json"
    assert PASSWORD.encode() not in request.body and SECRET_TOKEN.encode() not in request.body
    payload = json.loads(request.body)
    assert payload["version"] == 1 and set(payload) == {"version", "occurrence", "issue"}
    occurrence, issue = payload["occurrence"], payload["issue"]
    assert occurrence["uid"] == record["uid"] and occurrence["kind"] == "crash"
    assert occurrence["service"] == "web" and occurrence["version"] == "1.4.2"
    assert occurrence["at"] == "2026-03-02T09:00:00+00:00"
    assert occurrence["exception"]["type"] == "psycopg.OperationalError"
    assert [f["function"] for f in occurrence["exception"]["frames"]] == ["<module>", "main", "connect"]
    assert "env" not in occurrence["environment"] and occurrence["environment"]["host"] == "box-1"
    assert occurrence["environment"]["command"] == ["python3", "/srv/app/app.py", "--password", "[REDACTED]"]
    assert issue["fingerprint"] == record["fingerprint"] and issue["title"] == record["title"]
    assert issue["count"] == 1 and issue["status"] == "open"


def test_an_unsigned_webhook_has_no_signature_header(
    db: Database, receiver: Receiver, forwarders: Callable[..., Forwarder]
) -> None:
    """Without `secret_env` the requests go out unsigned (and say nothing about a signature)."""
    receiver.start()
    store(db, crash(forward=("webhook",)))
    forwarders(db, [WebhookTarget(receiver.hook)])
    wait_until(lambda: all_sent(db), 10, "the delivery")
    (request,) = receiver.on(HOOK_PATH)
    assert "x-svcbot-signature" not in request.headers


# -- retries, order, nothing lost -------------------------------------------------------------------


def test_receiver_down_then_up_delivers_everything_once_in_order(
    db: Database, receiver: Receiver, forwarders: Callable[..., Forwarder]
) -> None:
    """Receiver down: rows wait and the head's attempts grow; back up: all arrive, once per uid, in order."""
    records = [crash(i) for i in range(6)]
    store(db, *records[:3])
    store(db, *records[3:])
    forwarder = forwarders(db, [SentryTarget(receiver.dsn), WebhookTarget(receiver.hook)])

    def heads_retried() -> bool:
        heads = [deliveries(db, target)[0] for target in ("sentry", "webhook")]
        return all(head.attempts >= 3 for head in heads)

    wait_until(heads_retried, 10, "retries of the oldest rows")
    rows = deliveries(db)
    assert all(row.status == "pending" for row in rows) and forwarder.sent == 0
    assert all(row.attempts == 0 for row in rows if row.uid.split(":")[1] != records[0]["uid"])
    assert all("unreachable" in (row.error or "") for row in rows if row.attempts)

    receiver.start()
    wait_until(lambda: all_sent(db), 10, "every delivery")
    expected = [r["uid"] for r in records]
    assert list(dict.fromkeys(receiver.hook_keys())) == expected
    event_ids = [e["event_id"] for e in receiver.sentry_events()]
    assert list(dict.fromkeys(event_ids)) == [event_id(uid) for uid in expected]
    assert all(row.delivered_at is not None and row.error is None for row in deliveries(db))
    assert pending(db) == 0


def test_a_4xx_fails_for_good_with_the_error_kept_and_the_next_row_goes_on(
    db: Database, receiver: Receiver, forwarders: Callable[..., Forwarder]
) -> None:
    """A 400 is final: the row is failed, keeps the answer, is not retried, and does not block."""
    receiver.plan[HOOK_PATH] = [(400, {})]
    receiver.start()
    first, second = crash(0, forward=("webhook",)), crash(1, forward=("webhook",))
    store(db, first, second)
    forwarder = forwarders(db, [WebhookTarget(receiver.hook)], start=False)
    forwarder.step()
    failed, sent = deliveries(db)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 1, None)
    assert failed.error == "HTTP 400 Bad Request: refused with 400"
    assert (sent.status, sent.attempts) == ("sent", 1)
    forwarder.step()
    assert receiver.hook_keys() == [first["uid"], second["uid"]]
    assert forwarder.failed == 1 and pending(db) == 0


def test_429_and_5xx_are_retried_with_backoff_or_retry_after_holding_back_the_rest(
    db: Database, receiver: Receiver, forwarders: Callable[..., Forwarder]
) -> None:
    """503 waits the backoff, 429 waits its Retry-After when longer; rows behind wait their turn."""
    receiver.plan[HOOK_PATH] = [(503, {}), (429, {"Retry-After": "7"})]
    receiver.start()
    first, second = crash(0, forward=("webhook",)), crash(1, forward=("webhook",))
    store(db, first, second)
    clock = Clock()
    forwarder = forwarders(
        db, [WebhookTarget(receiver.hook)], start=False, clock=clock, backoff=lambda n: 2.0 * n, poll=60.0
    )

    assert forwarder.step() == 2.0
    head, behind = deliveries(db)
    assert (head.status, head.attempts, head.next_attempt_at) == ("pending", 1, T0 + timedelta(seconds=2))
    assert head.error == "HTTP 503 Service Unavailable: refused with 503"
    assert (behind.attempts, behind.next_attempt_at) == (0, None)  # released, not attempted

    clock.advance(1)
    assert forwarder.step() == pytest.approx(1.0)  # not due yet: nothing is sent
    assert len(receiver.on(HOOK_PATH)) == 1

    clock.advance(1)
    assert forwarder.step() == 7.0  # Retry-After 7 s beats the backoff of 4 s
    head, _ = deliveries(db)
    assert (head.attempts, head.next_attempt_at) == (2, clock.now + timedelta(seconds=7))
    assert head.error is not None and head.error.startswith("HTTP 429")

    clock.advance(7)
    forwarder.step()
    assert [row.status for row in deliveries(db)] == ["sent", "sent"]
    assert receiver.hook_keys() == [first["uid"], first["uid"], first["uid"], second["uid"]]


def test_new_rows_wake_the_forwarder_long_before_its_poll(
    db: Database, tmp_path: Path, receiver: Receiver, forwarders: Callable[..., Forwarder]
) -> None:
    """The Store wakes the forwarder after committing outbox rows: no waiting for the next poll."""
    receiver.start()
    live = Store(db.url, tmp_path)
    forwarder = open_forwarder(live, ForwardSpec(webhook=receiver.hook), {}, poll=3600.0)
    assert forwarder is not None
    live.start(lambda _name: SPEC)
    try:
        live.on_event(
            ev.ServiceExited(service="web", pid=1, exit_code=1, signal=None, expected=False, runtime=1.0)
        )
        wait_until(lambda: len(receiver.on(HOOK_PATH)) == 1, 5, "the webhook delivery")
    finally:
        forwarder.stop()
        live.close()
    assert all_sent(db)


def test_the_forwarder_waits_out_a_database_outage(
    pg_scratch: tuple[PostgresServer, str], receiver: Receiver, forwarders: Callable[..., Forwarder]
) -> None:
    """With PostgreSQL cut off the forwarder reports the outage and keeps trying; back, it delivers."""
    server, name = pg_scratch
    direct = server.database(name)
    empty_tables(direct, metadata)
    records = [crash(i, forward=("webhook",)) for i in range(3)]
    store(direct, *records)
    proxy = TcpProxy(server.address)
    proxy.start()
    via_proxy = Database(server.url(name, port=proxy.port), connect_timeout=1)
    receiver.start()
    try:
        proxy.cut()
        forwarder = forwarders(via_proxy, [WebhookTarget(receiver.hook)])
        wait_until(lambda: not forwarder.healthy, 15, "the outage to be noticed")
        assert receiver.on(HOOK_PATH) == []
        proxy.start()
        wait_until(lambda: all_sent(direct), 30, "the deliveries after the outage")
        assert forwarder.healthy
        assert receiver.hook_keys() == [r["uid"] for r in records]
    finally:
        proxy.cut()
        via_proxy.dispose()
        direct.dispose()


# -- end to end -------------------------------------------------------------------------------------


def test_svcbot_run_forwards_a_crash_to_sentry_and_the_webhook(
    tmp_path: Path, daemons: list[Daemon], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`svcbot run` with SENTRY_DSN and `forward.webhook`: a crashing service reaches both, redacted."""
    receiver.start()
    monkeypatch.setenv("SENTRY_DSN", receiver.dsn)
    monkeypatch.setenv("SVCBOT_TEST_HOOK_SECRET", HOOK_SECRET)
    worker = {
        "command": program("crash_later", "0.1"),
        "restart": "never",
        "version": "1.0",
        "env": {"SLACK_TOKEN_FOR_TEST": SECRET_TOKEN, "DB_PASSWORD": PASSWORD},
    }
    forward = {"webhook": receiver.hook, "secret_env": "SVCBOT_TEST_HOOK_SECRET", "timeout": "2s"}
    config = write_config(tmp_path, {"worker": worker}, forward=forward)
    daemon = Daemon(config, tmp_path / "daemon.out")
    daemons.append(daemon)
    wait_until(lambda: bool(receiver.on(SENTRY_PATH) and receiver.on(HOOK_PATH)), 30, "both deliveries")
    assert daemon.terminate() == 0
    for request in receiver.requests:
        assert SECRET_TOKEN.encode() not in request.body and PASSWORD.encode() not in request.body
    (event,) = receiver.sentry_events()
    assert event["tags"]["service"] == "worker" and event["tags"]["version"] == "1.0"
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "ConnectionError"
    assert [f["function"] for f in exception["stacktrace"]["frames"]][-1] == "connect"
    (hook,) = receiver.on(HOOK_PATH)
    assert json.loads(hook.body)["occurrence"]["exception"]["type"] == "ConnectionError"
    assert hook.headers["idempotency-key"] == json.loads(hook.body)["occurrence"]["uid"]
    assert event["event_id"] == event_id(hook.headers["idempotency-key"])
    assert "forwarding occurrences to sentry, webhook" in (tmp_path / "state" / "svcbot.log").read_text()
