"""The Slack front end under load: ack latency and an alert storm, against the fake Slack of the tests.

1. Ack latency: 50 concurrent `/svc status` and 50 concurrent `/svc restart` requests, signed as
   Slack signs them, POSTed over real HTTP to a running `svcbot run`; the time until each HTTP answer
   (the ack Slack waits for, 3 s at most). Target: p99 <= 100 ms.
2. Alert storm: 100 services fail within one second (then twice more, and are quarantined); the number of
   top-level posts in the alert channel in the first two minutes (target <= 5), whether every service
   is named in a post or an update, and whether the outbox is empty at the end (no alert lost).
3. Slack outage: Slack is down for 120 s (refusing connections, then answering 503) while 100 services
   fail one after another over its first 80 % (so that several top-level posts, folds and updates are
   decided meanwhile), then back. Alerts lost (rows never delivered, or marked sent but not in Slack; target
   0), top-level posts out of order (a post arriving after one decided later; target 0), and the time
   from Slack's return until the outbox is empty (retries back off to one a minute, so up to ~60 s
   before the first delivery, then about one message per second).

Run with `make bench`, or `PYTHONPATH=. python bench/slack.py [--quick] [--only acks|storm|outage ...]`
(quick: a 30 s storm window and a 30 s outage; --only, repeatable: just those scenarios; default all).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from tests.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, sign, slash_command_body

ROOT = Path(__file__).resolve().parent.parent
HANG = ROOT / "tests" / "programs" / "hang.py"
CRASH = ROOT / "tests" / "programs" / "crash_later.py"
CONCURRENT = 50
STORM = 100
SCENARIOS = ("acks", "storm", "outage")


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def svcbot(workdir: Path, fake: FakeSlack, services: dict[str, Any], **top: Any) -> Iterator[int]:
    port = free_port()
    config = {
        "state_dir": str(workdir / "state"),
        "http": {"listen": f"127.0.0.1:{port}"},
        "access": {"admins": ["U0ADMIN"], "channels": ["C0OPS", "C0ALERTS"]},
        "services": services,
        **top,
    }
    path = workdir / "svcbot.yml"
    path.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
    }
    env.pop("SLACK_APP_TOKEN", None)
    with open(workdir / "svcbot.out", "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatops.main", "run", "-c", str(path)], stdout=out, stderr=out, env=env
        )
    try:
        deadline = time.monotonic() + 60
        while not healthy(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"svcbot did not come up: {(workdir / 'svcbot.out').read_text()[-2000:]}")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(60)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.HTTPError):
        return False


def post_command(port: int, fake: FakeSlack, text: str) -> float:
    body = slash_command_body("/svc", text, "U0ADMIN", "C0OPS", response_url=fake.response_url())
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events",
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(SIGNING_SECRET, body)},
    )
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
    return time.perf_counter() - began


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_acks(workdir: Path) -> dict[str, tuple[float, float]]:
    services = {f"svc{i}": {"command": [sys.executable, str(HANG)]} for i in range(10)}
    out = {}
    with FakeSlack() as fake, svcbot(workdir, fake, services) as port:
        post_command(port, fake, "status")  # warm up
        fake.wait_for("response_url", 1, timeout=60)
        answered = 1
        for text in ("status", "restart svc1"):
            send = functools.partial(post_command, port, fake)
            with ThreadPoolExecutor(CONCURRENT) as pool:
                times = list(pool.map(send, [text] * CONCURRENT))
            out[text] = (statistics.median(times), percentile(times, 0.99))
            answered += CONCURRENT  # let this burst's answers go out before the next burst
            fake.wait_for("response_url", answered, timeout=120)
        sequential = [post_command(port, fake, "status") for _ in range(20)]
        out["status (one at a time)"] = (statistics.median(sequential), percentile(sequential, 0.99))
    return out


def storm_services() -> dict[str, Any]:
    return {
        f"svc{i:03d}": {
            "command": [sys.executable, str(CRASH), "0.5"],
            "restart": "always",
            "restart_delay": "1s",
            "start_limit": {"burst": 2, "interval": "1m"},  # third crash: crash loop, quarantined
            "quarantine_retry": "10m",
        }
        for i in range(STORM)
    }


def measure_storm(workdir: Path, window: float) -> dict[str, Any]:
    services = storm_services()
    with FakeSlack() as fake, svcbot(workdir, fake, services, slack={"alert_channel": "C0ALERTS"}):
        began = time.monotonic()
        time.sleep(window)
        elapsed = time.monotonic() - began
        posts = [
            c for c in _alert_calls(fake) if c.method == "chat.postMessage" and "thread_ts" not in c.params
        ]
        # "no alert lost": whatever was decided in the window is delivered, if late (paced at 1/s)
        drained = time.monotonic() + 60
        while _pending(workdir) and time.monotonic() < drained:
            time.sleep(0.5)
        calls = _alert_calls(fake)
        names = [f"svc{i:03d}" for i in range(STORM)]
        named = {name for name in names if any(name in json.dumps(c.params) for c in calls)}
    with sqlite3.connect(workdir / "state" / "svcbot.db") as db:
        pending = db.execute("SELECT count(*) FROM alert WHERE status = 'pending'").fetchone()[0]
        total = db.execute("SELECT count(*) FROM alert").fetchone()[0]
    replies = sum(1 for c in calls if "thread_ts" in c.params)
    updates = sum(1 for c in calls if c.method == "chat.update")
    return {
        "window": elapsed,
        "posts": len(posts),
        "named": len(named),
        "pending": pending,
        "outbox": total,
        "replies": replies,
        "updates": updates,
    }


def measure_outage(workdir: Path, outage: float) -> dict[str, Any]:
    """Slack down for `outage` seconds (refusing connections for the first half, answering 503 for the
    second) while 100 services fail one by one, then back: what arrives, in what order, how soon."""
    spread = 0.8 * outage
    services = {
        f"svc{i:03d}": {
            "command": [sys.executable, str(CRASH), f"{2 + i * spread / STORM:.2f}"],
            "restart": "never",
        }
        for i in range(STORM)
    }
    with FakeSlack() as fake:
        for method in ("chat.postMessage", "chat.update"):  # failing from the first alert on, in case one
            fake.fail(method, 100_000, status=503)  # is decided before the outage proper begins
        with svcbot(workdir, fake, services, slack={"alert_channel": "C0ALERTS"}):
            fake.down(refuse=True)
            began = time.monotonic()
            time.sleep(outage / 2)
            fake.up()
            fake.down()  # now every call is answered 503
            time.sleep(max(0.0, began + outage - time.monotonic()))
            during = len(_alert_calls(fake))
            decided = _count(workdir, "SELECT count(*) FROM alert")
            fake.heal()
            fake.up()
            back = time.monotonic()
            while _pending(workdir) and time.monotonic() < back + 600:
                time.sleep(0.1)
            drained = time.monotonic() - back
            calls = _alert_calls(fake)
    with sqlite3.connect(workdir / "state" / "svcbot.db") as db:
        rows = db.execute(
            "SELECT id, status, message_ts, json_extract(body, '$.action'), attempts FROM alert ORDER BY id"
        ).fetchall()
    notices = [
        c for c in calls if c.method == "chat.postMessage" and not {"blocks", "thread_ts"} & set(c.params)
    ]
    alerts = [c for c in calls if c not in notices]  # each sent row is one of these, once
    posted = {
        c.response["ts"]: c for c in alerts if c.method == "chat.postMessage" and "thread_ts" not in c.params
    }
    sent = [r for r in rows if r[1] == "sent"]
    sent_posts = [r for r in sent if r[3] == "post"]  # (an update's row has its post's ts too)
    missing = [r for r in sent_posts if r[2] not in posted]
    arrived = [row_id for _, row_id in sorted((posted[r[2]].at, r[0]) for r in sent_posts if r[2] in posted)]
    late = sum(1 for i, row_id in enumerate(arrived) if row_id < max(arrived[:i], default=0))
    first = min((c.at for c in alerts if c.at >= back), default=back) - back
    names = [f"svc{i:03d}" for i in range(STORM)]
    return {
        "outage": outage,
        "outbox": len(rows),
        "decided": decided,
        "during": during,
        "lost": len(rows) - len(sent) + max(len(missing), len(sent) - len(alerts)),
        "duplicates": max(0, len(alerts) - len(sent)),
        "posts": len(arrived),
        "late": late,
        "first": first,
        "drained": drained,
        "attempts": max((r[4] for r in rows), default=0),
        "named": sum(1 for name in names if any(name in json.dumps(c.params) for c in calls)),
        "notices": len(notices),
        "updates": sum(1 for c in alerts if c.method == "chat.update"),
        "replies": sum(1 for c in alerts if "thread_ts" in c.params),
    }


def _count(workdir: Path, query: str) -> int:
    with sqlite3.connect(workdir / "state" / "svcbot.db") as db:
        return int(db.execute(query).fetchone()[0])


def _alert_calls(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.calls() if c.ok and c.method in ("chat.postMessage", "chat.update")]


def _pending(workdir: Path) -> int:
    with sqlite3.connect(workdir / "state" / "svcbot.db") as db:
        return int(db.execute("SELECT count(*) FROM alert WHERE status = 'pending'").fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="a 30 s storm window and outage instead of 120 s"
    )
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, help="run just this scenario (repeatable; default: all)"
    )
    args = parser.parse_args(argv)
    window = 30.0 if args.quick else 120.0
    chosen = set(args.only or SCENARIOS)
    acks: dict[str, tuple[float, float]] = {}
    storm: dict[str, Any] | None = None
    outage: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="svcbot-bench-chatops-") as tmp:
        if "acks" in chosen:
            print("  ack latency ...", file=sys.stderr, flush=True)
            (Path(tmp) / "acks").mkdir()
            acks = measure_acks(Path(tmp) / "acks")
        if "storm" in chosen:
            print(f"  alert storm ({window:.0f} s) ...", file=sys.stderr, flush=True)
            (Path(tmp) / "storm").mkdir()
            storm = measure_storm(Path(tmp) / "storm", window)
        if "outage" in chosen:
            print(
                f"  Slack outage ({window:.0f} s) during a rolling failure ...", file=sys.stderr, flush=True
            )
            (Path(tmp) / "outage").mkdir()
            outage = measure_outage(Path(tmp) / "outage", window)
    print(f"# svcbot's Slack front end ({CONCURRENT} concurrent requests; a {STORM}-service storm)\n")
    print("| figure | value | target | met? |\n|---|--:|---|---|")
    for text, (p50, p99) in acks.items():
        met = "yes" if p99 <= 0.1 else "**NO**"
        figure = f"{p50 * 1000:.1f} / {p99 * 1000:.1f} ms"
        print(f"| ack of `/svc {text}`, p50 / p99 | {figure} | p99 ≤ 100 ms | {met} |")
    if storm is not None:
        print_storm(storm)
    if outage is not None:
        print_outage(outage)
    if storm is not None:
        print(f"\nThread replies: {storm['replies']}; message updates: {storm['updates']}.")
    if outage is not None:
        print(
            f"\nSlack outage of {outage['outage']:.0f} s: {outage['decided']} alert messages written to the "
            f"outbox meanwhile ({outage['outbox']} in all: {outage['posts']} posts, {outage['updates']} "
            f"updates, {outage['replies']} thread replies), {outage['during']} delivered during it; "
            f"{outage['duplicates']} delivered twice; the most delivery attempts for one message: "
            f"{outage['attempts']}; first delivery "
            f"{outage['first']:.1f} s after Slack returned; {outage['notices']} reconnection notice(s) "
            "(posted directly, not from the outbox; not counted as alerts)."
        )
    return 0


def print_storm(storm: dict[str, Any]) -> None:
    print(
        f"| top-level alert posts in the first {storm['window']:.0f} s | {storm['posts']} | ≤ 5 | "
        f"{'yes' if storm['posts'] <= 5 else '**NO**'} |"
    )
    print(
        f"| services named in posts or updates | {storm['named']} of {STORM} | all | "
        f"{'yes' if storm['named'] == STORM else '**NO**'} |"
    )
    print(
        f"| alerts undelivered once the outbox drained | {storm['pending']} of {storm['outbox']} | 0 | "
        f"{'yes' if storm['pending'] == 0 else '**NO**'} |"
    )


def print_outage(outage: dict[str, Any]) -> None:
    what = f"Slack down {outage['outage']:.0f} s"
    print(
        f"| {what}: alerts lost | {outage['lost']} of {outage['outbox']} | 0 | "
        f"{'yes' if outage['lost'] == 0 else '**NO**'} |"
    )
    print(
        f"| {what}: top-level posts out of order | {outage['late']} of {outage['posts']} | 0 | "
        f"{'yes' if outage['late'] == 0 else '**NO**'} |"
    )
    print(
        f"| {what}: services named in posts or updates | {outage['named']} of {STORM} | all | "
        f"{'yes' if outage['named'] == STORM else '**NO**'} |"
    )
    print(f"| {what}: time to drain after Slack returns | {outage['drained']:.1f} s | — | — |")


if __name__ == "__main__":
    sys.exit(main())
