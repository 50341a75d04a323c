"""svcbot against supervisord, measured in the same run on the same machine.

Figures, each for both managers with the ratio svcbot / supervisord:
1. crash -> restart gap with a zero restart delay (median and p90),
2. crash detection latency: the program's recorded exit -> the manager's log line for that exit,
3. time from spawning the manager until 100 programs have recorded their start: the median of
   `starts` start-ups per manager, the two managers taking turns (one start-up says more about the
   machine's mood than about the manager: on this 2-core machine single runs spread by +-20 %),
4. the manager's own CPU (% of one core) and RSS while those 100 programs idle.

Run with `make bench`, or `PYTHONPATH=. python bench/run.py [--quick]` from the repository root.
supervisord is installed from PyPI into bench/.venv-supervisor on first use; all work files go to
bench/.work/, recreated on every run. The table goes to stdout, progress to stderr. Exit 0 when
every figure was measured (a missed target is a result, not a failure), 1 when one could not be.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import psutil
import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROGRAMS = BENCH / "programs"
CRASHER = PROGRAMS / "crasher.py"
SLEEPER = PROGRAMS / "sleeper.py"
SLEEPER_C = PROGRAMS / "sleeper.c"
WORK = BENCH / ".work"
SUPERVISOR_VENV = BENCH / ".venv-supervisor"
SUPERVISORD = SUPERVISOR_VENV / "bin" / "supervisord"
NATIVE_SLEEPER = WORK / "bin" / "sleeper"  # sleeper.c, compiled by prepare() when a C compiler is there

# The bench programs need only the standard library. -I -S keeps their start-up cost the same
# whichever venv runs the bench (.venv's editable-install .pth file alone adds ~20 ms per start).
PROGRAM_PYTHON = (sys.executable, "-I", "-S")
FLEET = 100  # programs in figures 3 and 4
PIP_TIMEOUT = 600.0
STOP_TIMEOUT = 90.0  # SIGTERM -> exit, per manager (supervisord needs ~30 s for 100 programs)
UP_TIMEOUT = 60.0  # manager spawned -> every FLEET program started
STRAGGLER_GRACE = 2.0  # a program may take this long to go after its manager has exited
POLL = 0.01
SANE_LATENCY = 30.0  # larger means the two clocks disagree (a time zone mix-up)

T = TypeVar("T")
R = TypeVar("R")


class BenchError(RuntimeError):
    """A measurement could not be taken."""


@dataclass(frozen=True)
class Settings:
    restarts: int  # restart gaps measured per manager
    window: float  # seconds over which idle CPU is measured
    settle: float = 3.0  # seconds between "all programs up" and the CPU window
    starts: int = 9  # start-ups of the 100 programs per manager, for figure 3's median


FULL = Settings(restarts=25, window=90.0)  # CPU time comes in 10 ms ticks: 30 s left 2-3 of them
QUICK = Settings(restarts=10, window=5.0, starts=3)


# -- what the managers run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    name: str
    argv: tuple[str, ...]
    crash_test: bool  # restart always, at once, with no start limit in the way


@dataclass(frozen=True)
class Record:
    kind: str  # "start" or "exit"
    pid: int
    at: float  # time.time() in the program


def crasher(events: Path) -> Program:
    return Program("crasher", (*PROGRAM_PYTHON, str(CRASHER), str(events)), crash_test=True)


def sleeper_command() -> tuple[str, ...]:
    """The native sleeper when it could be built (it starts in ~1 ms, so figure 3 measures the
    manager, not 100 interpreters starting on two cores), else sleeper.py."""
    if NATIVE_SLEEPER.exists():
        return (str(NATIVE_SLEEPER),)
    return (*PROGRAM_PYTHON, str(SLEEPER))


def sleepers(starts: Path) -> list[Program]:
    names = [f"sleeper{i:03d}" for i in range(FLEET)]
    command = sleeper_command()
    return [Program(n, (*command, str(starts), n), crash_test=False) for n in names]


def build_sleeper() -> str:
    """Compile sleeper.c into the work dir; say which sleeper the fleet figures use."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return f"sleeper.py (no C compiler found): {shlex.join(PROGRAM_PYTHON)} bench/programs/sleeper.py"
    NATIVE_SLEEPER.parent.mkdir(parents=True, exist_ok=True)
    run_checked([compiler, "-O2", "-o", str(NATIVE_SLEEPER), str(SLEEPER_C)], 60.0)
    return f"native sleeper built from bench/programs/sleeper.c with {compiler}"


def complete_lines(path: Path) -> list[str]:
    """The newline-terminated lines of a file that may still be growing ([] if it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return []
    return text.split("\n")[:-1]


def crash_records(events: Path) -> list[Record]:
    records = []
    for line in complete_lines(events):
        kind, pid, at = line.split()
        records.append(Record(kind, int(pid), float(at)))
    return sorted(records, key=lambda r: r.at)


def restart_gaps(records: Sequence[Record]) -> list[tuple[Record, float]]:
    """(exit record, seconds until the next run started) for every exit that was followed by a start."""
    gaps = []
    exited: Record | None = None
    for record in records:
        if record.kind == "exit":
            exited = record
        elif exited is not None and record.pid != exited.pid:
            gaps.append((exited, record.at - exited.at))
            exited = None
    return gaps


def has_restarts(events: Path, want: int) -> bool:
    return len(restart_gaps(crash_records(events))) >= want


def all_started(starts: Path) -> bool:
    return len(start_times(starts)) >= FLEET


def start_times(starts: Path) -> dict[str, tuple[int, float]]:
    """Program name -> (pid, time.time() at its start), the latest start of each."""
    out = {}
    for line in complete_lines(starts):
        name, pid, at = line.split()
        out[name] = (int(pid), float(at))
    return out


# -- the two managers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    argv: tuple[str, ...]
    env: dict[str, str]
    log: Path  # the manager's own log
    exits: Callable[[Path, str], dict[int, float]]  # (log, program) -> pid -> when the exit was logged


@dataclass(frozen=True)
class Manager:
    name: str
    launch: Callable[[Path, Sequence[Program]], Launch]


def base_env() -> dict[str, str]:
    """This environment minus Slack tokens and svcbot overrides: the managers talk to no one."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SVCBOT_"))}


def svcbot_env() -> dict[str, str]:
    env = base_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def svcbot_service(program: Program) -> dict[str, Any]:
    service: dict[str, Any] = {"command": list(program.argv)}
    if program.crash_test:
        service["restart"] = "always"
        service["restart_delay"] = "0s"
        service["start_limit"] = {"burst": 100000, "interval": "1s"}
    return service


def svcbot_launch(workdir: Path, programs: Sequence[Program]) -> Launch:
    state = workdir / "state"
    config = {"state_dir": str(state), "services": {p.name: svcbot_service(p) for p in programs}}
    path = workdir / "svcbot.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    argv = (sys.executable, "-m", "manager.cli.main", "run", "--config", str(path))
    return Launch(argv, svcbot_env(), state / "svcbot.log", svcbot_exits)


def svcbot_exits(log: Path, program: str) -> dict[int, float]:
    """pid -> `ts` of the service_exited line for that run, from svcbot's JSON-lines log."""
    noticed = {}
    for line in complete_lines(log):
        with contextlib.suppress(json.JSONDecodeError):
            record = json.loads(line)
            event = record.get("event")
            if (
                isinstance(event, dict)
                and event.get("kind") == "service_exited"
                and event.get("service") == program
            ):
                noticed[int(event["pid"])] = datetime.fromisoformat(record["ts"]).timestamp()
    return noticed


def ini_value(text: str) -> str:
    return text.replace("%", "%%")  # supervisord expands %(name)s in values


def supervisord_program(program: Program) -> str:
    lines = [f"[program:{program.name}]", f"command={ini_value(shlex.join(program.argv))}", "startsecs=0"]
    if program.crash_test:
        lines += ["autorestart=true", "startretries=1000000"]
    return "\n".join(lines)


def supervisord_launch(workdir: Path, programs: Sequence[Program]) -> Launch:
    childlogs = workdir / "childlogs"
    childlogs.mkdir()
    log = workdir / "supervisord.log"
    head = [
        "[supervisord]",
        "nodaemon=true",
        "loglevel=info",
        f"logfile={ini_value(str(log))}",
        f"pidfile={ini_value(str(workdir / 'supervisord.pid'))}",
        f"childlogdir={ini_value(str(childlogs))}",
    ]
    path = workdir / "supervisord.conf"
    path.write_text("\n\n".join(["\n".join(head), *map(supervisord_program, programs)]) + "\n")
    env = base_env() | {"TZ": "UTC"}  # its log has local time: make that UTC
    return Launch((str(SUPERVISORD), "-n", "-c", str(path)), env, log, supervisord_exits)


SPAWNED = re.compile(r"^(?P<ts>\S+ \S+) \w+ spawned: '(?P<name>[^']+)' with pid (?P<pid>\d+)")
EXITED = re.compile(r"^(?P<ts>\S+ \S+) \w+ exited: (?P<name>\S+) \(")


def supervisord_exits(log: Path, program: str) -> dict[int, float]:
    """pid -> time of the `exited: NAME` line for that run (the pid is from the `spawned:` line before)."""
    noticed: dict[int, float] = {}
    pid: int | None = None
    for line in complete_lines(log):
        if (spawned := SPAWNED.match(line)) and spawned["name"] == program:
            pid = int(spawned["pid"])
        elif (exited := EXITED.match(line)) and exited["name"] == program and pid is not None:
            noticed[pid] = supervisord_time(exited["ts"])
            pid = None
    return noticed


def supervisord_time(text: str) -> float:
    """supervisord logs local time, truncated to the millisecond; it runs with TZ=UTC."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC).timestamp()


SVCBOT = Manager("svcbot", svcbot_launch)
SUPERVISOR = Manager("supervisord", supervisord_launch)


# -- running a manager, stopping it, cleaning up ------------------------------------------------------


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    spawned_at: float  # time.time() just before the spawn
    output: Path  # its stdout and stderr
    stopped_in: float | None = None  # seconds from SIGTERM to its exit, once it exited that way


@dataclass
class Outcome:
    """What one manager's runs produced: figures, and what went wrong or is worth knowing."""

    crash: CrashResult | None = None
    fleet: FleetResult | None = None
    starts: list[float] = field(default_factory=list)  # seconds until the 100 programs ran, per start-up
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def running(launch: Launch, workdir: Path, outcome: Outcome, label: str) -> Iterator[Running]:
    """Spawn the manager; on the way out stop it with SIGTERM and kill whatever it left behind."""
    output = workdir / "manager.out"
    with output.open("wb") as out:
        spawned_at = time.time()
        proc = subprocess.Popen(
            launch.argv,
            cwd=workdir,
            env=launch.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = Running(proc, spawned_at, output)
    try:
        yield run
    finally:
        outcome.notes.append(f"{label}: {stop(run)}")
        outcome.notes.extend(f"{label}: {note}" for note in reap_stragglers(STRAGGLER_GRACE))


def stop(run: Running) -> str:
    """SIGTERM and wait; SIGKILL after STOP_TIMEOUT. Says how it went."""
    proc = run.proc
    if proc.poll() is not None:
        return f"the manager had already exited with status {proc.returncode}"
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        return f"NOT STOPPED by SIGTERM within {STOP_TIMEOUT:g} s; killed"
    run.stopped_in = time.monotonic() - began
    return f"stopped by SIGTERM in {run.stopped_in:.2f} s, exit status {code}"


def bench_processes() -> list[psutil.Process]:
    """Live processes running one of bench/programs/ (zombies excluded)."""
    prefix = str(PROGRAMS) + os.sep
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["status"] != psutil.STATUS_ZOMBIE and any(a.startswith(prefix) for a in cmdline):
            found.append(proc)
    return found


def reap_stragglers(grace: float) -> list[str]:
    """Kill bench programs still running `grace` s from now; one note for each."""
    deadline = time.monotonic() + grace
    while (left := bench_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    notes = []
    for proc in left:
        with contextlib.suppress(psutil.Error):
            notes.append(f"STRAGGLER pid {proc.pid} left running: {shlex.join(proc.cmdline())}; killed it")
            proc.kill()
    psutil.wait_procs(left, timeout=5)
    return notes


def tail(path: Path, lines: int = 5) -> str:
    return " | ".join(complete_lines(path)[-lines:]) or "(no output)"


def wait_until(done: Callable[[], bool], timeout: float, what: str, manager: Running | None) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if manager is not None and manager.proc.poll() is not None:
            code = manager.proc.returncode
            raise BenchError(f"the manager exited ({code}) before {what}: {tail(manager.output)}")
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL)


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# -- figures 1 and 2: crash -> restart ----------------------------------------------------------------


@dataclass(frozen=True)
class CrashResult:
    gaps: list[float]  # seconds from a run's recorded exit to the next run's recorded start
    detections: list[float]  # seconds from a run's recorded exit to the manager's log line for it


def measure_crash(manager: Manager, settings: Settings, outcome: Outcome) -> CrashResult:
    workdir = fresh_dir(WORK / manager.name / "crash")
    events = workdir / "events.txt"
    program = crasher(events)
    launch = manager.launch(workdir, [program])
    want = settings.restarts
    with running(launch, workdir, outcome, f"{manager.name}, crash test") as mgr:
        wait_until(partial(has_restarts, events, want), 30.0 + 3.0 * want, f"{want} restarts", mgr)
    pairs = restart_gaps(crash_records(events))[:want]
    noticed = launch.exits(launch.log, program.name)
    detections = detection_latencies([exit_ for exit_, _ in pairs], noticed)
    return CrashResult([gap for _, gap in pairs], detections)


def detection_latencies(exits: Sequence[Record], noticed: dict[int, float]) -> list[float]:
    missing = [e.pid for e in exits if e.pid not in noticed]
    if missing:
        raise BenchError(f"no exit line in the manager's log for {len(missing)} of {len(exits)} crashes")
    latencies = [noticed[e.pid] - e.at for e in exits]
    if max(abs(x) for x in latencies) > SANE_LATENCY:
        raise BenchError(
            f"exit logged {max(latencies):.0f} s after it happened: clocks or time zones disagree"
        )
    return latencies


# -- figures 3 and 4: 100 programs --------------------------------------------------------------------


@dataclass(frozen=True)
class FleetResult:
    up: float  # seconds from spawning the manager to the last program's recorded start
    cpu: float  # the manager's own CPU over the idle window, % of one core
    rss: int  # the manager's RSS at the end of the window, bytes
    stop: float | None  # seconds from SIGTERM until the manager had stopped everything and exited


def measure_fleet(manager: Manager, settings: Settings, outcome: Outcome) -> FleetResult:
    workdir = fresh_dir(WORK / manager.name / "fleet")
    starts = workdir / "starts.txt"
    launch = manager.launch(workdir, sleepers(starts))
    with running(launch, workdir, outcome, f"{manager.name}, {FLEET} programs") as mgr:
        wait_until(partial(all_started, starts), UP_TIMEOUT, f"{FLEET} programs to start", mgr)
        up = max(at for _, at in start_times(starts).values()) - mgr.spawned_at
        time.sleep(settings.settle)
        cpu, rss = idle_usage(mgr.proc.pid, settings.window)
        check_alive(start_times(starts), len(complete_lines(starts)))
    if mgr.stopped_in is None:
        outcome.errors.append(
            f"{manager.name} did not stop {FLEET} programs on SIGTERM within {STOP_TIMEOUT:g} s"
        )
    return FleetResult(up, cpu, rss, mgr.stopped_in)


def measure_start(manager: Manager, outcome: Outcome, n: int) -> float:
    """One start-up of the 100 programs in a directory of its own (not one just emptied: creating
    files where many were just deleted costs the kernel more on this disk), then a stop."""
    workdir = fresh_dir(WORK / manager.name / f"start-{n}")
    starts = workdir / "starts.txt"
    with running(manager.launch(workdir, sleepers(starts)), workdir, outcome, f"start-up {n}") as mgr:
        wait_until(partial(all_started, starts), UP_TIMEOUT, f"{FLEET} programs to start", mgr)
        return max(at for _, at in start_times(starts).values()) - mgr.spawned_at


def idle_usage(pid: int, window: float) -> tuple[float, int]:
    """The process's own CPU time over `window` s as % of one core, and its RSS at the end."""
    proc = psutil.Process(pid)
    before = proc.cpu_times()
    began = time.monotonic()
    time.sleep(window)
    after = proc.cpu_times()
    elapsed = time.monotonic() - began
    used = (after.user + after.system) - (before.user + before.system)
    return 100.0 * used / elapsed, proc.memory_info().rss


def check_alive(started: dict[str, tuple[int, float]], start_lines: int) -> None:
    """Every program must have started once and still run: else the idle figures mean nothing."""
    dead = [name for name, (pid, _) in started.items() if not psutil.pid_exists(pid)]
    if dead or start_lines != FLEET:
        raise BenchError(f"{len(dead)} programs died, {start_lines - FLEET} restarted during the idle window")


def measure_floor() -> float:
    """Seconds for this process itself to spawn the FLEET sleepers until all have started: a floor."""
    starts = fresh_dir(WORK / "floor") / "starts.txt"
    procs: list[subprocess.Popen[bytes]] = []
    began = time.time()
    try:
        for program in sleepers(starts):
            quiet = subprocess.DEVNULL
            procs.append(
                subprocess.Popen(
                    program.argv, stdin=quiet, stdout=quiet, stderr=quiet, start_new_session=True
                )
            )
        wait_until(partial(all_started, starts), UP_TIMEOUT, "the sleepers", None)
        return max(at for _, at in start_times(starts).values()) - began
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait(5)


# -- set-up -------------------------------------------------------------------------------------------


def run_checked(argv: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"{shlex.join(argv)}: {exc}") from exc
    if done.returncode != 0:
        raise BenchError(f"{shlex.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout.strip()


def ensure_supervisord() -> str:
    """Install supervisor from PyPI into its own venv unless it is there; return its version."""
    if not SUPERVISORD.exists():
        print(f"installing supervisor into {SUPERVISOR_VENV} ...", file=sys.stderr, flush=True)
        run_checked([sys.executable, "-m", "venv", str(SUPERVISOR_VENV)], 120.0)
        pip = str(SUPERVISOR_VENV / "bin" / "pip")
        run_checked([pip, "install", "--quiet", "--disable-pip-version-check", "supervisor"], PIP_TIMEOUT)
    return run_checked([str(SUPERVISORD), "--version"], 30.0)


def svcbot_version() -> str:
    return run_checked([sys.executable, "-m", "manager.cli.main", "--version"], 30.0, svcbot_env())


def cpu_model() -> str:
    for line in complete_lines(Path("/proc/cpuinfo")):
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor() or "unknown"


# -- measuring and reporting --------------------------------------------------------------------------


def attempt(outcome: Outcome, what: str, measure: Callable[[], T]) -> T | None:
    print(f"  {what} ...", file=sys.stderr, flush=True)
    try:
        return measure()
    except (BenchError, OSError, ValueError, psutil.Error, subprocess.SubprocessError) as exc:
        outcome.errors.append(f"{what}: {type(exc).__name__}: {exc}")
        return None


def measure_all(managers: dict[str, Manager], outcomes: dict[str, Outcome], settings: Settings) -> None:
    """Scenario by scenario, each manager in turn, so both see the machine in the same state."""
    for name, manager in managers.items():
        outcome = outcomes[name]
        outcome.crash = attempt(
            outcome, f"{name}: crash test", partial(measure_crash, manager, settings, outcome)
        )
    for name, manager in managers.items():
        outcome = outcomes[name]
        what = f"{name}: {FLEET} programs"
        outcome.fleet = attempt(outcome, what, partial(measure_fleet, manager, settings, outcome))
    for n in range(settings.starts):
        for name, manager in managers.items():
            outcome = outcomes[name]
            what = f"{name}: start-up {n + 1} of {settings.starts}"
            up = attempt(outcome, what, partial(measure_start, manager, outcome, n))
            if up is not None:
                outcome.starts.append(up)


@dataclass(frozen=True)
class Row:
    figure: str
    svcbot: float | None
    supervisord: float | None
    unit: str  # "ms", "s", "%" or "MiB"
    target: str = "—"
    met: Callable[[float, float | None], bool | None] | None = None


def pick(result: R | None, get: Callable[[R], float | None]) -> float | None:
    return None if result is None else get(result)


def p90(values: Sequence[float]) -> float:
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]  # nearest rank


def rows(s: Outcome, v: Outcome) -> list[Row]:
    def crash(get: Callable[[CrashResult], float]) -> tuple[float | None, float | None]:
        return pick(s.crash, get), pick(v.crash, get)

    def fleet(get: Callable[[FleetResult], float | None]) -> tuple[float | None, float | None]:
        return pick(s.fleet, get), pick(v.fleet, get)

    def twentieth(a: float, b: float | None) -> bool | None:
        return None if b is None else a <= b / 20

    return [
        Row(
            "crash → restart gap, median",
            *crash(lambda c: statistics.median(c.gaps)),
            "ms",
            "≤ 1/20 of supervisord",
            twentieth,
        ),
        Row("crash → restart gap, p90", *crash(lambda c: p90(c.gaps)), "ms"),
        Row("crash detection latency, median", *crash(lambda c: statistics.median(c.detections)), "ms"),
        Row("crash detection latency, p90", *crash(lambda c: p90(c.detections)), "ms"),
        Row(
            f"time until {FLEET} programs run, median of {max(len(s.starts), len(v.starts))} start-ups",
            statistics.median(s.starts) if s.starts else None,
            statistics.median(v.starts) if v.starts else None,
            "s",
            "svcbot < 0.5 s",
            lambda a, _b: a < 0.5,
        ),
        Row(
            f"time until {FLEET} programs run, slowest start-up",
            max(s.starts, default=None),
            max(v.starts, default=None),
            "s",
        ),
        Row(f"time until {FLEET} programs run, the idle-window run", *fleet(lambda f: f.up), "s"),
        Row(
            f"manager CPU, {FLEET} programs idle",
            *fleet(lambda f: f.cpu),
            "%",
            "≤ supervisord",
            lambda a, b: None if b is None else a <= b,
        ),
        Row(f"manager RSS, {FLEET} programs idle", *fleet(lambda f: f.rss), "MiB"),
        Row(f"SIGTERM → manager exited, {FLEET} programs", *fleet(lambda f: f.stop), "s"),
    ]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ms":
        return f"{value * 1000:.1f} ms"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "%":
        return f"{value:.2f} %"
    return f"{value / 2**20:.1f} MiB"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    return f"{r:.3f} (1/{1 / r:.0f})" if 0 < r < 0.5 else f"{r:.3f}"


def verdict(row: Row) -> str:
    if row.met is None:
        return "—"
    if row.svcbot is None:
        return "n/a"
    met = row.met(row.svcbot, row.supervisord)
    return "n/a" if met is None else ("yes" if met else "**NO**")


def table(rows_: Sequence[Row]) -> list[str]:
    out = ["| figure | svcbot | supervisord | ratio | target | met? |", "|---|--:|--:|--:|---|---|"]
    for row in rows_:
        cells = [row.figure, fmt(row.svcbot, row.unit), fmt(row.supervisord, row.unit)]
        cells += [ratio(row.svcbot, row.supervisord), row.target, verdict(row)]
        out.append("| " + " | ".join(cells) + " |")
    return out


def report(
    machine: list[tuple[str, str]], settings: Settings, outcomes: dict[str, Outcome], floor: str
) -> None:
    print("# svcbot vs supervisord\n")
    for key, value in machine:
        print(f"- {key}: {value}")
    print(
        f"- runs: {settings.restarts} restarts per manager; {settings.settle:g} s settle, "
        f"{settings.window:g} s idle window; ratio = svcbot / supervisord"
    )
    print(f"- crasher runs as `{shlex.join(PROGRAM_PYTHON)} bench/programs/crasher.py` under both managers\n")
    print("\n".join(table(rows(outcomes["svcbot"], outcomes["supervisord"]))))
    print(
        f"\nFloor for figure 3: this process spawning the same {FLEET} sleepers itself, with no manager, "
        f"until all have started: {floor}."
    )
    print(
        "Timestamps: programs record time.time(); svcbot's `ts` has µs resolution, supervisord's log "
        "only ms (truncated), which reads its detection latency up to 1 ms low."
    )
    for name, outcome in outcomes.items():
        print(f"\n## {name}\n")
        if outcome.starts:
            print(
                f"- start-ups of {FLEET} programs, in order: "
                + ", ".join(f"{t:.3f}" for t in outcome.starts)
                + " s"
            )
        for line in [*(f"ERROR {e}" for e in outcome.errors), *outcome.notes]:
            print(f"- {line}")
        if not any("STRAGGLER" in note for note in outcome.notes):
            print("- no bench program was left running after a stop")


def machine_info(versions: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("nproc", str(len(os.sched_getaffinity(0)))),
        ("CPU", cpu_model()),
        ("kernel", platform.release()),
        ("Python", f"{platform.python_version()} ({sys.executable})"),
        *versions.items(),
    ]


def prepare(outcomes: dict[str, Outcome]) -> dict[str, str]:
    """Fresh work dir, no leftovers from an aborted run, both managers installed; their versions."""
    outcomes["bench"].notes.extend(f"before the run: {note}" for note in reap_stragglers(0.0))
    fresh_dir(WORK)
    # An installed svcbot starts from bytecode that pip compiled; an editable checkout under
    # PYTHONDONTWRITEBYTECODE would compile every module at every start instead.
    run_checked([sys.executable, "-m", "compileall", "-q", str(ROOT / "manager")], 120.0)
    versions = {"fleet programs": build_sleeper()}
    for name, find in (("svcbot", svcbot_version), ("supervisord", ensure_supervisord)):
        try:
            versions[name] = find()
        except BenchError as exc:
            outcomes[name].errors.append(f"cannot run {name}: {exc}")
            versions[name] = "unavailable"
    return versions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 restarts, 5 s idle window")
    settings = QUICK if parser.parse_args(argv).quick else FULL
    outcomes = {"svcbot": Outcome(), "supervisord": Outcome(), "bench": Outcome()}
    versions = prepare(outcomes)
    managers = {m.name: m for m in (SVCBOT, SUPERVISOR) if not outcomes[m.name].errors}
    measure_all(managers, outcomes, settings)
    floor = attempt(outcomes["bench"], f"floor: {FLEET} sleepers spawned without a manager", measure_floor)
    floor_text = "not measured" if floor is None else f"{floor:.3f} s"
    report(machine_info(versions), settings, outcomes, floor_text)
    return 1 if outcomes["svcbot"].errors or outcomes["supervisord"].errors else 0


if __name__ == "__main__":
    sys.exit(main())
