"""Crash grouping and message parameterization, on real tracebacks where it matters."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from manager.triage.fingerprint import Grouping, group, parameterize
from manager.triage.tracebacks import Frame, ParsedException, parse_traceback

# --- helpers ----------------------------------------------------------------------------------------


def crash(tmp_path: Path, script: str, name: str = "run") -> ParsedException:
    """The exception a script dies with, parsed from its real stderr."""
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "worker.py"
    path.write_text(textwrap.dedent(script))
    proc = subprocess.run(
        [sys.executable, str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    parsed = parse_traceback(proc.stderr.splitlines())
    assert parsed is not None, proc.stderr
    return parsed


def grouping(
    exception: ParsedException | None = None,
    *,
    service: str = "worker",
    explicit: list[str] | None = None,
    stderr_tail: tuple[str, ...] = (),
    exit_text: str = "exit code 1",
) -> Grouping:
    return group(
        service=service, explicit=explicit, exception=exception, stderr_tail=stderr_tail, exit_text=exit_text
    )


def app_frame(function: str, module: str = "worker", lineno: int = 10) -> Frame:
    return Frame(f"/srv/app/{module}.py", lineno, function, module, True)


def lib_frame(function: str, module: str = "requests.adapters", lineno: int = 500) -> Frame:
    path = "/srv/app/.venv/lib/python3.11/site-packages/" + module.replace(".", "/") + ".py"
    return Frame(path, lineno, function, module, False)


CONNECT = textwrap.dedent(
    """
    def connect(host, attempt):
        raise ConnectionError(f"cannot reach {host} (attempt {attempt})")

    def main():
        connect(HOST, ATTEMPT)

    main()
    """
)

# --- parameterize -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00.123Z worker started", "<ts> worker started"),
        ("2024-05-01 12:00:00,123 ERROR db: refused", "<ts> ERROR db: refused"),
        ('10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /health"', '<ip> - - [<ts>] "GET /health"'),
        ("Date: Wed, 01 May 2024 12:00:00 GMT", "Date: <ts>"),
        ("May  1 12:00:00 host app[123]: boom", "<ts> host app[<n>]: boom"),
        ("retry at 12:30:45.123", "retry at <ts>"),
        ("job 123e4567-E89B-12d3-a456-426614174000 failed", "job <uuid> failed"),
        (
            "GET https://API.stripe.com:443/v1/charges/ch_1?x=1 failed",
            "GET https://api.stripe.com/<path> failed",
        ),
        ("see https://example.com/docs).", "see https://example.com/<path>)."),
        ("probe http://10.0.0.5:8080/health", "probe http://<ip>/<path>"),
        ("postgres://app:[REDACTED]@db.internal:5432/app down", "postgres://db.internal/<path> down"),
        ("no reply from https://example.com", "no reply from https://example.com"),
        ("mail to bob.smith+ops@example.co.uk bounced", "mail to <email> bounced"),
        ("connect 10.0.0.1:5432 refused", "connect <ip> refused"),
        ("connect [::1]:8080 refused", "connect <ip> refused"),
        ("route via fe80::1%eth0 lost", "route via <ip> lost"),
        ("peer 2001:db8::8a2e:370:7334 reset", "peer <ip> reset"),
        ("open /srv/app/data/x.csv failed", "open <path> failed"),
        ("read ./config/app.yml, ~/x/y and ../z", "read <path>, <path> and <path>"),
        ("load C:\\app\\worker.py failed", "load <path> failed"),
        ("GET /health", "GET /health"),
        ("<Conn object at 0x7f4916bbc720>", "<Conn object at <hex>>"),
        (
            "request deadbeef12 from sha 9fceb02d0ae598e95dc970b74767f19372d61af8",
            "request <hex> from sha <hex>",
        ),
        ("charge ch_3MqLk2LkdIwHu7ix0p3Rb4hN failed", "charge ch_<id> failed"),
        ("took 12ms, 1.5s, 512MiB, 90%, 3x; 1,234 rows", "took <n>, <n>, <n>, <n>, <n>; <n> rows"),
        ("worker-3 pid 1234 exited -1", "worker-<n> pid <n> exited -<n>"),
        ("python 3.11.7, 1e-5", "python <n>, <n>"),
        ("utf8 sha256 v2 3rd python3", "utf8 sha256 v2 3rd python3"),
        ("KeyError: 'user_42'", "KeyError: 'user_<n>'"),
        ("  several   spaces\tand\ttabs  ", "several spaces and tabs"),
        (
            "HTTPSConnectionPool(host='api.stripe.com', port=443): Max retries exceeded with url: /v1/ch/x",
            "HTTPSConnectionPool(host='api.stripe.com', port=<n>): Max retries exceeded with url: <path>",
        ),
    ],
)
def test_parameterize_replaces_each_variable_part(text: str, expected: str) -> None:
    """Each documented replacement, and what it leaves alone."""
    assert parameterize(text) == expected
    assert parameterize(expected) == expected  # idempotent


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("timeout after 30s talking to 10.0.0.5:5432", "timeout after 4500ms talking to 10.0.0.17:6432"),
        (
            "order 8f14e45f-ceea-467f-a0e5-8fdbd1bc5e5a: 3 items",
            "order 0b5a7d3c-1111-4a2b-9c3d-7e8f9a0b1c2d: 12 items",
        ),
        ("2024-05-01 12:00:00,123 ERROR worker-3 lost", "2024-06-30 23:59:59,999 ERROR worker-12 lost"),
        ("cannot open /var/data/2024/05/01.csv", "cannot open /var/data/2023/12/31.csv"),
        ("rate limited for user alice@example.com", "rate limited for user bob@example.org"),
        ("txn a3f5c9e1b2d4 rolled back after 1,024 rows", "txn 0c1d2e3f4a5b rolled back after 7 rows"),
    ],
)
def test_parameterize_is_stable_across_occurrences(first: str, second: str) -> None:
    """The same message with other numbers, ids, addresses, times or paths parameterizes the same."""
    assert parameterize(first) == parameterize(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("KeyError: 'user'", "KeyError: 'email'"),
        ("GET https://api.stripe.com/v1 failed", "GET https://api.github.com/v1 failed"),
        ("connection refused", "connection reset"),
    ],
)
def test_parameterize_keeps_what_tells_problems_apart(first: str, second: str) -> None:
    """Quoted strings, host names and words are kept: they distinguish problems."""
    assert parameterize(first) != parameterize(second)


# --- grouping on real tracebacks --------------------------------------------------------------------


def test_same_crash_with_other_values_and_moved_lines_groups_together(tmp_path: Path) -> None:
    """Line numbers and message values are not part of a frame-based fingerprint."""
    first = crash(tmp_path, 'HOST, ATTEMPT = "10.0.0.5:5432", 3\n' + CONNECT, "first")
    edited = '"""Now with a docstring."""\n\nimport os\n\nHOST, ATTEMPT = "db.internal:6432", 12\n' + CONNECT
    second = crash(tmp_path, edited, "second")
    assert [f.lineno for f in first.frames] != [f.lineno for f in second.frames]
    assert first.value != second.value
    assert grouping(first) == grouping(second)


def test_components_explain_a_frame_based_grouping(tmp_path: Path) -> None:
    """Components name the service, the type and each in-app frame, outermost first."""
    exc = crash(tmp_path, 'HOST, ATTEMPT = "db", 1\n' + CONNECT)
    result = grouping(exc)
    assert result.method == "exception_frames"
    assert result.components == (
        "service: worker",
        "exception type: ConnectionError",
        "frame: worker.<module>",
        "frame: worker.main",
        "frame: worker.connect",
    )
    assert re.fullmatch(r"[0-9a-f]{32}", result.fingerprint)


def test_a_different_function_is_a_different_group(tmp_path: Path) -> None:
    """The same exception raised from another function is another issue."""
    first = crash(tmp_path, 'HOST, ATTEMPT = "db", 1\n' + CONNECT, "first")
    renamed = 'HOST, ATTEMPT = "db", 1\n' + CONNECT.replace("connect", "authenticate")
    second = crash(tmp_path, renamed, "second")
    assert first.type == second.type
    assert grouping(first).fingerprint != grouping(second).fingerprint


RECURSE = """
    def walk(n):
        if n == 0:
            raise ValueError("bottom reached")
        return walk(n - 1)

    walk(DEPTH)
"""

MUTUAL = """
    def even(n):
        if n == 0:
            raise ValueError("bottom reached")
        return odd(n - 1)

    def odd(n):
        return even(n - 1)

    even(DEPTH)
"""


@pytest.mark.parametrize(
    ("script", "frames"),
    [
        (RECURSE, ("<module>", "walk")),
        (MUTUAL, ("<module>", "even", "odd", "even")),
    ],
    ids=["recursion", "mutual-recursion"],
)
def test_recursion_depth_does_not_change_the_group(
    tmp_path: Path, script: str, frames: tuple[str, ...]
) -> None:
    """Repeated frames and repeated cycles of frames are collapsed: depth 10 and 500 group together."""
    shallow = crash(tmp_path, script.replace("DEPTH", "10"), "shallow")
    deep = crash(tmp_path, script.replace("DEPTH", "500"), "deep")
    assert grouping(shallow) == grouping(deep)
    assert grouping(deep).components[2:] == tuple(f"frame: worker.{name}" for name in frames)


def test_different_cause_is_a_different_group(tmp_path: Path) -> None:
    """Chained exceptions contribute their type and in-app frames, as in Sentry."""
    script = """
        def load():
            try:
                CAUSE
            except Exception as exc:
                raise RuntimeError("config unusable") from exc

        load()
    """
    missing = crash(tmp_path, script.replace("CAUSE", 'open("/nonexistent/config.yml")'), "missing")
    invalid = crash(tmp_path, script.replace("CAUSE", 'int("x")'), "invalid")
    result = grouping(missing)
    assert "chained exception type: FileNotFoundError" in result.components
    assert result.fingerprint != grouping(invalid).fingerprint


def test_without_in_app_frames_the_parameterized_message_groups(tmp_path: Path) -> None:
    """`python -c` code (<string>) has no in-app frames: type plus parameterized message decide."""

    def run(code: str) -> ParsedException:
        proc = subprocess.run(
            [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
        )
        parsed = parse_traceback(proc.stderr.splitlines())
        assert parsed is not None
        return parsed

    first = grouping(run("raise TimeoutError('no reply from 10.0.0.5:8080 after 30s')"))
    second = grouping(run("raise TimeoutError('no reply from 10.0.0.9:8081 after 45s')"))
    other = grouping(run("raise TimeoutError('queue full')"))
    assert first.method == "exception_message"
    assert first.components == (
        "service: worker",
        "exception type: TimeoutError",
        "message: no reply from <ip> after <n>",
    )
    assert first == second
    assert first.fingerprint != other.fingerprint


# --- grouping rules on plain data -------------------------------------------------------------------


def test_library_frames_are_ignored() -> None:
    """A library upgrade that changes its internal frames keeps the group."""
    old = ParsedException(
        "requests.exceptions.ConnectionError",
        "refused",
        (app_frame("main"), app_frame("fetch"), lib_frame("get"), lib_frame("send", lineno=520)),
    )
    new = ParsedException(
        "requests.exceptions.ConnectionError",
        "refused",
        (app_frame("main"), app_frame("fetch"), lib_frame("request", "requests.api"), lib_frame("_send")),
    )
    assert grouping(old) == grouping(new)
    assert grouping(old).components == (
        "service: worker",
        "exception type: requests.exceptions.ConnectionError",
        "frame: worker.main",
        "frame: worker.fetch",
    )


def test_service_name_is_part_of_every_default_fingerprint() -> None:
    """The same crash in two services is two issues, whichever rule applied."""
    exc = ParsedException("KeyError", "'x'", (app_frame("main"),))
    bare = ParsedException("KeyError", "'x'", ())
    for kwargs in ({"exception": exc}, {"exception": bare}, {"stderr_tail": ("boom",)}, {}):
        web = grouping(service="web", **kwargs)
        api = grouping(service="api", **kwargs)
        assert web.method == api.method
        assert web.fingerprint != api.fingerprint


def test_explicit_fingerprint_wins_and_spans_services() -> None:
    """An explicit fingerprint replaces the default rules, and is the same issue in any service."""
    exc = ParsedException("KeyError", "'x'", (app_frame("main"),))
    web = grouping(exc, service="web", explicit=["database-down"])
    api = grouping(None, service="api", explicit=["database-down"], stderr_tail=("other",))
    assert (web.method, web.components) == ("custom", ("fingerprint: database-down",))
    assert web == api


def test_default_placeholder_expands_to_the_default_components() -> None:
    """ "{{ default }}" in an explicit fingerprint stands for what the default rules would produce."""
    exc = ParsedException("KeyError", "'x'", (app_frame("main"),))
    default = grouping(exc)
    tenant_a = grouping(exc, explicit=["{{ default }}", "tenant-a"])
    tenant_b = grouping(exc, explicit=["{{default}}", "tenant-b"])
    assert tenant_a.method == "custom"
    assert tenant_a.components == (*default.components, "fingerprint: tenant-a")
    assert tenant_a.fingerprint not in (default.fingerprint, tenant_b.fingerprint)
    assert grouping(exc, explicit=["{{ default }}"]) == default
    assert grouping(exc, explicit=[]) == default


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (
            ("starting", "fatal: cannot bind 0.0.0.0:8080 (pid 4242)", "", "   "),
            "fatal: cannot bind <ip> (pid <n>)",
        ),
        (("db: connection refused", "----------", "})", ""), "db: connection refused"),
        (("2024-05-01 12:00:00,123 ERROR worker-7 out of memory",), "<ts> ERROR worker-<n> out of memory"),
    ],
)
def test_without_traceback_the_last_meaningful_stderr_line_groups(
    tail: tuple[str, ...], expected: str
) -> None:
    """Blank and punctuation-only lines are skipped; the line is parameterized."""
    result = grouping(stderr_tail=tail)
    assert (result.method, result.components) == (
        "stderr_line",
        ("service: worker", f"stderr line: {expected}"),
    )


def test_stderr_lines_differing_only_in_values_group_together() -> None:
    """Two runs that print the same error with another port and pid are one issue."""
    first = grouping(stderr_tail=("fatal: cannot bind 0.0.0.0:8080 (pid 4242)",))
    second = grouping(stderr_tail=("fatal: cannot bind 0.0.0.0:9090 (pid 17)",))
    assert first == second


@pytest.mark.parametrize(
    ("tail", "exit_text", "component"),
    [
        ((), "exit code 3", "exit status: exit code 3"),
        (("", "  ", "---"), "killed by SIGKILL", "exit status: killed by SIGKILL"),
        ((), "", "exit status: unknown"),
    ],
)
def test_without_any_output_the_exit_status_groups(
    tail: tuple[str, ...], exit_text: str, component: str
) -> None:
    """A silent crash is grouped by how it ended."""
    result = grouping(stderr_tail=tail, exit_text=exit_text)
    assert (result.method, result.components) == ("exit_status", ("service: worker", component))


def test_exit_codes_are_different_groups() -> None:
    """exit code 1 and exit code 137 are different problems."""
    assert grouping(exit_text="exit code 1").fingerprint != grouping(exit_text="exit code 137").fingerprint


def test_secrets_never_reach_components_and_do_not_change_the_fingerprint() -> None:
    """Messages are redacted before they are shown; already-redacted input groups the same."""
    raw = ParsedException("PermissionError", "denied for token=abc123 at https://u:hunter2@api/x", ())
    redacted = ParsedException(
        "PermissionError", "denied for token=[REDACTED] at https://u:[REDACTED]@api/x", ()
    )
    result = grouping(raw)
    assert "abc123" not in " ".join(result.components)
    assert "hunter2" not in " ".join(result.components)
    assert result == grouping(redacted)
    line = grouping(stderr_tail=("auth failed: password=hunter2",))
    assert line.components[-1] == "stderr line: auth failed: password=[REDACTED]"


def test_a_syntax_error_frame_is_labelled_by_its_module() -> None:
    """The frame a SyntaxError points at has no function: the label is just the module."""
    exc = ParsedException(
        "SyntaxError", "invalid syntax", (app_frame("<module>", "main"), app_frame("", "broken"))
    )
    assert grouping(exc).components[-2:] == ("frame: main.<module>", "frame: broken")


def test_exception_without_message_and_frames() -> None:
    """No frames in-app and no message: the type alone (with the service) is the group."""
    result = grouping(ParsedException("KeyboardInterrupt", "", (lib_frame("select", "selectors"),)))
    assert (result.method, result.components) == (
        "exception_message",
        ("service: worker", "exception type: KeyboardInterrupt"),
    )


@pytest.mark.parametrize(
    "text",
    ["a." * 32768, "http://" + "a" * 65536, "1:" * 32768, "a@" * 32768, "ab12" * 16384, "/a" * 32768],
    ids=["dots", "long-url", "colons", "at-signs", "hex", "slashes"],
)
def test_parameterize_stays_fast_on_pathological_input(text: str) -> None:
    """No catastrophic backtracking: 64 KiB of adversarial text is parameterized well under a second."""
    started = time.perf_counter()
    parameterize(text)
    assert time.perf_counter() - started < 1.0
