"""`svcbot shell`: the Slack command lines in a terminal, against a real running svcbot."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

from chatops.commands.shell import terminal_text
from chatops.ui.text import SVCBOT_EMOJI
from tests.conftest import PY, program, wait_until, write_config
from tests.test_cli import REPO, Daemon, daemons

__all__ = ["daemons"]


def shell(config: Path, *lines: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [PY, "-m", "chatops.main", "shell", "--config", str(config)],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_shell_runs_svc_and_feedback_through_the_command_center(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    """status, a confirmed restart, a declined stop, a typo and feedback behave as they would in Slack."""
    config = write_config(tmp_path, {"web": {"command": program("hang")}})
    daemon = Daemon(config, tmp_path / "daemon.out")
    daemons.append(daemon)
    before = daemon.wait_running("web")["web"]["pid"]
    result = shell(
        config,
        "/svc status",
        "/svc restart web",
        "y",
        "stop web",
        "n",
        "/svc restrat web",
        "/feedback The settings page crashes when I save",
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert out.splitlines()[0].split()[:3] == ["NAME", "STATE", "PID"]
    assert "restart web? [y/N]" in out and "web restarted: running" in out
    assert "stop web? [y/N]" in out and "cancelled" in out
    assert "unknown command 'restrat'; did you mean 'restart'?" in out
    assert "filed as bug" in out
    assert ":" + "grey_question:" not in out and "*" not in out  # terminal text, not Slack mrkdwn
    status = daemon.wait_running("web")["web"]
    assert status["pid"] != before
    with sqlite3.connect(tmp_path / "state" / "svcbot.db") as db:
        audit = db.execute("SELECT command, source, ok, arguments FROM audit_entry").fetchall()
    assert [(c, s, ok) for c, s, ok, _ in audit] == [("restart", "shell", 1)]
    assert json.loads(audit[0][3]) == {"service": "web"}


def test_shell_without_a_running_svcbot_says_so(tmp_path: Path) -> None:
    """With no manager running, a command fails clearly and the exit code says so."""
    config = write_config(tmp_path, {"web": {"command": program("hang")}})
    result = shell(config, "/svc status")
    assert result.returncode == 1
    assert "svcbot is not running" in result.stdout


def test_terminal_text_strips_only_svcbots_own_emoji_outside_code() -> None:
    """Times, ratios and shortcode-shaped words survive; svcbot's emoji and bold stars do not."""
    assert terminal_text("19:09:18 worker: done :09: a:b:c") == "19:09:18 worker: done :09: a:b:c"
    assert terminal_text(":warning: *web* is down") == "web is down"
    assert terminal_text(":tada: shipped") == ":tada: shipped"  # not one of ours: left as typed
    assert terminal_text("`:warning: 12:30:00` and ```\n:red_circle: *x*\n```") == (
        "`:warning: 12:30:00` and ```\n:red_circle: *x*\n```"
    )
    assert terminal_text("a &lt;b&gt; &amp; <@U1|ann>") == "a <b> & @ann"


def test_every_emoji_svcbot_writes_is_known_to_the_shell() -> None:
    """SVCBOT_EMOJI lists every shortcode written in chatops/, so the shell strips all of them."""
    shortcode = re.compile(r"""["'\s(]:([a-z][a-z0-9_+-]*):[\s"')]""")
    used = {
        name
        for path in (REPO / "chatops").rglob("*.py")
        for name in shortcode.findall(path.read_text())
        if path.name != "text.py"
    }
    assert used and used <= SVCBOT_EMOJI, sorted(used - SVCBOT_EMOJI)


def test_shell_prints_service_log_lines_verbatim(tmp_path: Path, daemons: list[Daemon]) -> None:
    """`logs` in the shell shows what the service wrote, character for character."""
    line = "19:09:18 tick :09: *bold?* :warning: &amp; <@U1>"
    code = f"import sys, time; print({line!r}, flush=True); time.sleep(600)"
    config = write_config(tmp_path, {"web": {"command": [PY, "-c", code]}})
    daemon = Daemon(config, tmp_path / "daemon.out")
    daemons.append(daemon)
    log_file = Path(daemon.wait_running("web")["web"]["log_file"])
    wait_until(lambda: "19:09:18" in log_file.read_text(), what="the log line")
    result = shell(config, "/svc logs web 5")
    assert result.returncode == 0, result.stderr
    assert line in result.stdout
