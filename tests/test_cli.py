"""End to end: `svcbot run` as a real process, driven through the CLI and the control socket."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from manager.supervision import events as ev
from tests.conftest import PY, pid_alive, program, tagged_processes, wait_until, write_config

REPO = Path(__file__).resolve().parent.parent
EVENT_KINDS = sorted(
    {c.kind for c in vars(ev).values() if isinstance(c, type) and issubclass(c, ev.Event)} - {"event"}
)


def cli(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [PY, "-m", "manager.cli.main", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def status(config: Path) -> dict[str, dict[str, Any]]:
    result = cli(config, "status", "--json")
    assert result.returncode == 0, result.stderr
    return {s["name"]: s for s in json.loads(result.stdout)["data"]}


class Daemon:
    """One `svcbot run` process."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [PY, "-m", "manager.cli.main", "run", "--config", str(config)],
                stdout=out,
                stderr=out,
                env=env,
            )

    def wait_running(self, *names: str) -> dict[str, dict[str, Any]]:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"svcbot exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            result = cli(self.config, "status", "--json")
            if result.returncode != 0:
                return False
            states = {s["name"]: s["state"] for s in json.loads(result.stdout)["data"]}
            return all(states.get(n) == "running" for n in names)

        wait_until(ready, timeout=20, what=f"{names} running")
        return status(self.config)

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:  # a test that failed half-way: stop its services properly
        if daemon.proc.poll() is None:
            try:
                daemon.terminate()
            except subprocess.TimeoutExpired:
                daemon.proc.kill()
                daemon.proc.wait()
    leaked = tagged_processes(tmp_path / "state")
    for pid in leaked:
        os.kill(pid, signal.SIGKILL)
    assert not leaked, f"processes leaked: {leaked}"


def start(tmp_path: Path, daemons: list[Daemon], services: dict[str, Any]) -> Daemon:
    config = write_config(tmp_path, services)
    daemon = Daemon(config, tmp_path / "daemon.out")
    daemons.append(daemon)
    return daemon


def test_check_config_reports_file_line_and_suggestion(tmp_path: Path) -> None:
    """check-config exits 0 on a good file and 2 on a typo, naming file, line, key and a fix."""
    good = write_config(tmp_path, {"web": {"command": "sleep 1"}})
    result = cli(good, "check-config")
    assert result.returncode == 0 and "OK, 1 service: web" in result.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text("services:\n  web:\n    command: sleep 1\n    restrat: always\n")
    result = cli(bad, "check-config")
    assert result.returncode == 2
    assert f"{bad}:4: services.web.restrat: unknown key; did you mean 'restart'?" in result.stderr


def test_commands_without_a_running_svcbot_fail_clearly(tmp_path: Path) -> None:
    """With no manager running, a command exits 1 and says how to start one."""
    config = write_config(tmp_path, {"web": {"command": "sleep 1"}})
    result = cli(config, "status")
    assert result.returncode == 1 and "svcbot is not running" in result.stderr


def test_status_start_stop_restart_and_exit_codes(tmp_path: Path, daemons: list[Daemon]) -> None:
    """The CLI verbs drive the manager and exit 0, 1 or 2 as documented."""
    daemon = start(
        tmp_path, daemons, {"api": {"command": program("hang")}, "db": {"command": program("hang")}}
    )
    first = daemon.wait_running("api", "db")
    socket_mode = stat.S_IMODE((tmp_path / "state" / "svcbot.sock").stat().st_mode)
    assert socket_mode == 0o600
    table = cli(daemon.config, "status")
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].split() == [
        "NAME",
        "STATE",
        "PID",
        "UPTIME",
        "RESTARTS",
        "HEALTH",
        "CPU",
        "MEM",
        "NOTE",
    ]
    unknown = cli(daemon.config, "restart", "apj")
    assert unknown.returncode == 2 and "known services: api, db" in unknown.stderr
    stopped = cli(daemon.config, "stop", "api")
    assert stopped.returncode == 0 and "api stopped" in stopped.stdout
    assert not pid_alive(first["api"]["pid"])
    assert status(daemon.config)["api"]["state"] == "stopped"
    started = cli(daemon.config, "start", "api")
    assert started.returncode == 0, started.stderr
    restarted = cli(daemon.config, "restart", "db", "--json")
    assert restarted.returncode == 0
    assert json.loads(restarted.stdout)["data"]["pid"] != first["db"]["pid"]
    assert daemon.terminate() == 0


def test_sigterm_stops_every_service_and_exits_zero(tmp_path: Path, daemons: list[Daemon]) -> None:
    """SIGTERM stops the services (even a stubborn one) in reverse dependency order and exits 0."""
    services = {
        "db": {"command": program("hang")},
        "app": {"command": program("ignore_term"), "depends_on": ["db"], "stop": {"timeout": "300ms"}},
    }
    daemon = start(tmp_path, daemons, services)
    pids = {n: s["pid"] for n, s in daemon.wait_running("db", "app").items()}
    assert daemon.terminate() == 0
    assert not any(pid_alive(p) for p in pids.values())
    events = [json.loads(line) for line in (tmp_path / "state" / "svcbot.log").read_text().splitlines()]
    stopped = [e["event"]["service"] for e in events if e.get("event", {}).get("kind") == "service_stopped"]
    assert stopped == ["app", "db"]
    console = daemon.log.read_text()  # the human log: words, never an event's machine name
    assert "app: stop complete: the stop timeout ran out" in console and "db: stop complete" in console
    raw = [kind for kind in EVENT_KINDS if kind in console]
    assert not raw, f"raw event names in the console log: {raw}\n{console}"


def test_a_second_manager_on_the_same_state_dir_refuses(tmp_path: Path, daemons: list[Daemon]) -> None:
    """Two managers never fight over one state dir: the second exits 1."""
    daemon = start(tmp_path, daemons, {"svc": {"command": program("hang")}})
    daemon.wait_running("svc")
    second = subprocess.run(
        [PY, "-m", "manager.cli.main", "run", "--config", str(daemon.config)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert second.returncode == 1 and "another svcbot" in second.stderr
    assert daemon.terminate() == 0


def test_logs_tail_grep_since_and_follow(tmp_path: Path, daemons: list[Daemon]) -> None:
    """logs -n, logs --all --grep --since and logs --follow read the captured output."""
    services = {"ticker": {"command": program("ticker", 0.05)}, "other": {"command": program("hang")}}
    daemon = start(tmp_path, daemons, services)
    daemon.wait_running("ticker", "other")
    wait_until(
        lambda: len(cli(daemon.config, "logs", "ticker", "-n", "5").stdout.splitlines()) == 5, what="5 ticks"
    )
    merged = cli(daemon.config, "logs", "--all", "--grep", "^(tick|hanging)", "--since", "1m", "-n", "1000")
    assert merged.returncode == 0
    lines = merged.stdout.splitlines()
    assert any(line.startswith("other | ") and line.endswith(" out hanging") for line in lines)
    assert all(line.startswith(("ticker | ", "other | ")) for line in lines)
    assert cli(daemon.config, "logs", "ticker", "--since", "soon").returncode == 2
    follower = subprocess.Popen(
        [
            PY,
            "-m",
            "manager.cli.main",
            "logs",
            "ticker",
            "-n",
            "0",
            "--follow",
            "--config",
            str(daemon.config),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert follower.stdout is not None
        new = [follower.stdout.readline() for _ in range(3)]
        numbers = [int(line.split()[-1]) for line in new]
        assert numbers == sorted(numbers) and len(set(numbers)) == 3
    finally:
        follower.kill()
        follower.wait()
    assert daemon.terminate() == 0


def test_reload_refuses_a_bad_config_and_applies_a_good_one(tmp_path: Path, daemons: list[Daemon]) -> None:
    """A bad config is refused with its error and nothing changes; a good one restarts what changed."""
    daemon = start(tmp_path, daemons, {"a": {"command": program("hang")}, "b": {"command": program("hang")}})
    before = daemon.wait_running("a", "b")
    good_text = daemon.config.read_text()
    daemon.config.write_text(good_text.replace("services:", "services:\n  c:\n    comand: x", 1))
    refused = cli(daemon.config, "reload")
    assert refused.returncode == 2
    assert "services.c.comand: unknown key; did you mean 'command'?" in refused.stderr
    assert {n: s["pid"] for n, s in status(daemon.config).items()} == {n: s["pid"] for n, s in before.items()}
    write_config(
        tmp_path, {"a": {"command": program("hang")}, "b": {"command": program("hang"), "env": {"V": "2"}}}
    )
    applied = cli(daemon.config, "reload")
    assert applied.returncode == 0 and "changed: b" in applied.stdout
    after = daemon.wait_running("a", "b")
    assert after["a"]["pid"] == before["a"]["pid"] and after["b"]["pid"] != before["b"]["pid"]
    write_config(
        tmp_path,
        {
            "a": {"command": program("hang")},
            "b": {"command": program("hang"), "env": {"V": "2"}},
            "c": {"command": program("hang")},
        },
    )
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_running("a", "b", "c")
    assert daemon.terminate() == 0


def test_kill_9_of_the_manager_then_restart_adopts_running_services(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    """After kill -9 of svcbot, a new svcbot adopts the services (no second copy), keeps their logs
    flowing and still notices when one exits."""
    services = {"ticker": {"command": program("ticker", 0.05)}, "svc": {"command": program("hang")}}
    first = start(tmp_path, daemons, services)
    before = first.wait_running("ticker", "svc")
    first.proc.kill()
    first.proc.wait()
    assert all(pid_alive(s["pid"]) for s in before.values()), "services must survive the manager"
    second = Daemon(first.config, tmp_path / "daemon2.out")
    daemons.append(second)
    after = second.wait_running("ticker", "svc")
    assert {n: s["pid"] for n, s in after.items()} == {n: s["pid"] for n, s in before.items()}
    assert all(s["adopted"] for s in after.values())
    assert len(tagged_processes(tmp_path / "state")) == 2
    log_file = Path(after["ticker"]["log_file"])
    size = log_file.stat().st_size
    wait_until(lambda: log_file.stat().st_size > size + 100, what="the adopted service's log to grow")
    os.kill(before["svc"]["pid"], signal.SIGKILL)
    wait_until(
        lambda: status(first.config)["svc"]["pid"] not in (None, before["svc"]["pid"]), what="svc restarted"
    )
    assert status(first.config)["svc"]["last_exit"] == "exit status unknown"
    assert second.terminate() == 0
    assert not pid_alive(before["ticker"]["pid"])


def test_the_example_config_is_valid() -> None:
    """examples/svcbot.yml, which `make run` uses, passes check-config."""
    result = cli(REPO / "examples" / "svcbot.yml", "check-config")
    assert result.returncode == 0, result.stderr
    assert "web, worker, flaky" in result.stdout


def test_svcbot_console_script_is_declared() -> None:
    """pyproject declares `svcbot` as chatops' entry point: manager's verbs plus `shell`."""
    text = (REPO / "pyproject.toml").read_text()
    assert 'svcbot = "chatops.main:main"' in text
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    shown = subprocess.run(
        [PY, "-m", "chatops.main", "--help"], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    for verb in ("run", "status", "issues", "feedback", "shell"):
        assert verb in shown.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["-c", "F", "status"],
        ["status", "-c", "F"],
        ["--json", "-c", "F", "status", "web"],
        ["issues", "-c", "F", "list"],
        ["issues", "list", "-c", "F"],
        ["-c", "F", "issues", "--json", "show", "1"],
        ["report", "-c", "F", "errors"],
        ["report", "errors", "--config", "F", "--json"],
        ["db", "-c", "F", "upgrade"],
        ["-c", "F", "shell"],
        ["digest", "-c", "F"],
    ],
)
def test_config_and_json_count_in_every_position(argv: list[str]) -> None:
    """-c/--config and --json before the verb, after it, or around a sub-action all mean the same."""
    from chatops.main import ChatopsFrontend  # noqa: PLC0415
    from manager.cli.main import parse_args  # noqa: PLC0415

    args = parse_args(argv, ChatopsFrontend())
    assert args.config == "F"
    assert args.json is ("--json" in argv)
    assert parse_args([a for a in argv if a not in ("-c", "--config", "F")], ChatopsFrontend()).config is None


def test_issues_with_config_before_the_action_reads_that_config(tmp_path: Path) -> None:
    """`svcbot issues -c FILE list` lists FILE's issues (it used to fall back to ./svcbot.yml)."""
    config = write_config(tmp_path, {"web": {"command": "sleep 1"}})
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [PY, "-m", "chatops.main", *args]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)

    sent = run("feedback", "-c", str(config), "The settings page crashes on save")
    assert sent.returncode == 0, sent.stderr
    listed = run("issues", "-c", str(config), "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [i["title"] for i in json.loads(listed.stdout)] == ["The settings page crashes on save"]
    before = run("-c", str(config), "--json", "issues", "list")
    assert before.returncode == 0 and json.loads(before.stdout) == json.loads(listed.stdout)


def test_a_yaml_syntax_error_does_not_hide_the_running_manager(tmp_path: Path, daemons: list[Daemon]) -> None:
    """With a relative state_dir and a broken file, status still reaches svcbot and reload names the error."""
    config = tmp_path / "svcbot.yml"
    hang = program("hang")
    config.write_text(f"state_dir: ./state  # relative to the file\nservices:\n  web:\n    command: {hang}\n")
    daemon = Daemon(config, tmp_path / "daemon.out")
    daemons.append(daemon)
    before = daemon.wait_running("web")["web"]["pid"]
    config.write_text(config.read_text() + "  api:\n    command: [sleep 1\n")
    shown = cli(config, "status", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [s["pid"] for s in json.loads(shown.stdout)["data"]] == [before]
    refused = cli(config, "reload")
    assert refused.returncode == 2
    assert f"{config}:7: invalid YAML" in refused.stderr and "not running" not in refused.stderr
    assert status(config)["web"]["pid"] == before
    assert daemon.terminate() == 0


def test_check_config_warns_about_what_would_fail_on_this_host(tmp_path: Path) -> None:
    """A missing program (with the PATH searched), a missing cwd and a non-executable path are warned
    about; the file is still valid (exit 0) and every service is named."""
    (tmp_path / "notes.txt").write_text("not a program")
    config = write_config(
        tmp_path,
        {
            "web": {"command": "no-such-program-svcbot --port 1", "env": {"PATH": "/nowhere:/usr/bin"}},
            "job": {"command": "sleep 1", "cwd": "./missing"},
            "doc": {"command": "./notes.txt"},
            "ok": {"command": [PY, "-c", "pass"]},
        },
    )
    result = cli(config, "check-config")
    assert result.returncode == 0 and "OK, 4 services: web, job, doc, ok" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        f"svcbot: warning: {config}: services.web.command: program 'no-such-program-svcbot' not found on "
        "PATH /nowhere:/usr/bin; web cannot start",
        f"svcbot: warning: {config}: services.job.cwd: folder {tmp_path / 'missing'} does not exist; "
        "job cannot start",
        f"svcbot: warning: {config}: services.doc.command: {tmp_path / 'notes.txt'} is not an executable "
        "file; doc cannot start",
    ]
    as_json = json.loads(cli(config, "check-config", "--json").stdout)
    assert len(as_json["warnings"]) == 3


def test_feedback_about_an_unknown_service_is_refused_and_names_the_known_ones(tmp_path: Path) -> None:
    """`feedback --service nope` exits 2 with a did-you-mean and the service list, and stores nothing."""
    config = write_config(tmp_path, {"web": {"command": "sleep 1"}, "worker": {"command": "sleep 1"}})
    refused = cli(config, "feedback", "The page is slow", "--service", "wbe")
    assert refused.returncode == 2
    assert "--service 'wbe' is not a service of" in refused.stderr
    assert "did you mean 'web'?" in refused.stderr and "(known: web, worker)" in refused.stderr
    listed = cli(config, "issues", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    sent = cli(config, "feedback", "The page is slow", "--service", "web")
    assert sent.returncode == 0, sent.stderr
    shown = cli(config, "issues", "show", "1")
    assert "seen 1 time," in shown.stdout and "1 times" not in shown.stdout, shown.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["check-config"],
        ["feedback", "The export button does nothing"],
        ["issues", "list", "--json"],
        ["report", "errors"],
        ["--version"],
    ],
)
def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path, args: list[str]) -> None:
    """`svcbot ... | head` where head has gone: exit 0 or 141 (as `yes | head` does), no traceback."""
    config = write_config(tmp_path, {"web": {"command": "sleep 1"}})
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE, as after `head -1` exits
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        result = subprocess.run(
            [PY, "-m", "chatops.main", *args, "-c", str(config)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode in (0, 141), result.stderr
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
