"""The Slack front end under load: ack latency and an alert storm, against the fake Slack of the tests.

1. Ack latency: 50 concurrent `/svc status` and 50 concurrent `/svc restart` requests, signed as
   Slack signs them, POSTed over real HTTP to a running `svcbot run`; the time until each HTTP answer
   (the ack Slack waits for, 3 s at most). Target: p99 <= 100 ms.
2. Alert storm: 100 services fail within one second (then twice more, and are quarantined); the number of
   top-level posts in the alert channel in the first two minutes (target <= 5), whether every service
   is named in a post or an update, and whether the outbox is empty at the end (no alert lost).

Run with `make bench`, or `PYTHONPATH=. python bench/slack.py [--quick]` (quick: a 30 s storm window).
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


def measure_storm(workdir: Path, window: float) -> dict[str, Any]:
    services = {
        f"svc{i:03d}": {
            "command": [sys.executable, str(CRASH), "0.5"],
            "restart": "always",
            "restart_delay": "1s",
            "start_limit": {"burst": 2, "interval": "1m"},  # third crash: crash loop, quarantined
            "quarantine_retry": "10m",
        }
        for i in range(STORM)
    }
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


def _alert_calls(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.calls() if c.ok and c.method in ("chat.postMessage", "chat.update")]


def _pending(workdir: Path) -> int:
    with sqlite3.connect(workdir / "state" / "svcbot.db") as db:
        return int(db.execute("SELECT count(*) FROM alert WHERE status = 'pending'").fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a 30 s storm window instead of 120 s")
    window = 30.0 if parser.parse_args(argv).quick else 120.0
    with tempfile.TemporaryDirectory(prefix="svcbot-bench-chatops-") as tmp:
        print("  ack latency ...", file=sys.stderr, flush=True)
        (Path(tmp) / "acks").mkdir()
        acks = measure_acks(Path(tmp) / "acks")
        print(f"  alert storm ({window:.0f} s) ...", file=sys.stderr, flush=True)
        (Path(tmp) / "storm").mkdir()
        storm = measure_storm(Path(tmp) / "storm", window)
    print(f"# svcbot's Slack front end ({CONCURRENT} concurrent requests; a {STORM}-service storm)\n")
    print("| figure | value | target | met? |\n|---|--:|---|---|")
    for text, (p50, p99) in acks.items():
        met = "yes" if p99 <= 0.1 else "**NO**"
        figure = f"{p50 * 1000:.1f} / {p99 * 1000:.1f} ms"
        print(f"| ack of `/svc {text}`, p50 / p99 | {figure} | p99 ≤ 100 ms | {met} |")
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
    print(f"\nThread replies: {storm['replies']}; message updates: {storm['updates']}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
