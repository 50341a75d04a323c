"""Traceback parsing, on what CPython 3.11 really prints: most inputs come from running small scripts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from manager.triage.tracebacks import Frame, ParsedException, frame_module, is_in_app, parse_traceback


def run_python(tmp_path: Path, main: str, **modules: str) -> list[str]:
    """The stderr lines of running the script `main`, with `modules` written beside it."""
    for name, text in modules.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(text))
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(main))
    proc = subprocess.run(
        [sys.executable, "-X", "utf8", str(script)],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode != 0, proc.stderr
    return proc.stderr.splitlines()


def parse(lines: list[str]) -> ParsedException:
    parsed = parse_traceback(lines)
    assert parsed is not None, "\n".join(lines)
    return parsed


def functions(exc: ParsedException) -> list[str]:
    return [frame.function for frame in exc.frames]


def test_explicit_cause_is_chained_oldest_first(tmp_path: Path) -> None:
    """`raise ... from exc`: the last exception printed is primary, its cause is in `chained`."""
    lines = run_python(
        tmp_path,
        """
        import json

        def load(raw):
            try:
                return json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"bad config {raw!r}") from exc

        load("{")
        """,
    )
    assert "The above exception was the direct cause of the following exception:" in lines
    exc = parse(lines)
    assert (exc.type, exc.value) == ("ValueError", "bad config '{'")
    assert functions(exc) == ["<module>", "load"]
    assert [c.type for c in exc.chained] == ["json.decoder.JSONDecodeError"]
    cause = exc.chained[0]
    assert cause.value == "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    assert cause.chained == ()
    assert [(f.module, f.in_app) for f in cause.frames] == [
        ("app", True),
        ("json", False),
        ("json.decoder", False),
        ("json.decoder", False),
    ]


def test_exception_during_handling_is_chained(tmp_path: Path) -> None:
    """ "During handling of the above exception...": the context exception is chained too."""
    lines = run_python(
        tmp_path,
        """
        def cleanup():
            raise OSError("disk full")

        try:
            {}["missing"]
        except KeyError:
            cleanup()
        """,
    )
    exc = parse(lines)
    assert (exc.type, exc.value, functions(exc)) == ("OSError", "disk full", ["<module>", "cleanup"])
    assert [(c.type, c.value) for c in exc.chained] == [("KeyError", "'missing'")]


def test_three_exceptions_chain_in_order(tmp_path: Path) -> None:
    """A chain of three keeps the two earlier exceptions oldest first."""
    lines = run_python(
        tmp_path,
        """
        try:
            try:
                1 / 0
            except ZeroDivisionError as exc:
                raise LookupError("second") from exc
        except LookupError:
            raise RuntimeError("third")
        """,
    )
    exc = parse(lines)
    assert exc.type == "RuntimeError"
    assert [c.type for c in exc.chained] == ["ZeroDivisionError", "LookupError"]


def test_recursion_error_with_repeated_line_marker(tmp_path: Path) -> None:
    """ "[Previous line repeated N more times]" is skipped: only the printed frames are kept."""
    lines = run_python(
        tmp_path,
        """
        def walk(n):
            return walk(n + 1)

        walk(0)
        """,
    )
    assert any("Previous line repeated" in line for line in lines)
    exc = parse(lines)
    assert (exc.type, exc.value) == ("RecursionError", "maximum recursion depth exceeded")
    assert functions(exc) == ["<module>", "walk", "walk", "walk"]
    assert all(f.source == "return walk(n + 1)" for f in exc.frames[1:])


def test_syntax_error_in_an_imported_module(tmp_path: Path) -> None:
    """The frame a SyntaxError points at has no function; its caret line is not a frame."""
    lines = run_python(tmp_path, "import broken\n", broken="def handler(:\n    pass\n")
    exc = parse(lines)
    assert (exc.type, exc.value) == ("SyntaxError", "invalid syntax")
    assert [(f.module, f.function, f.lineno, f.source) for f in exc.frames] == [
        ("app", "<module>", 1, "import broken"),
        ("broken", "", 1, "def handler(:"),
    ]


def test_syntax_error_in_the_main_script_has_no_header(tmp_path: Path) -> None:
    """A script that does not compile prints no "Traceback" header; it is parsed all the same."""
    lines = run_python(tmp_path, "total = (1,\n")
    assert not any(line.startswith("Traceback") for line in lines)
    exc = parse(lines)
    assert (exc.type, exc.value) == ("SyntaxError", "'(' was never closed")
    assert [(f.module, f.function, f.lineno) for f in exc.frames] == [("app", "", 1)]


def test_exception_in_a_thread(tmp_path: Path) -> None:
    """ "Exception in thread Thread-1 (worker):" precedes the traceback; threading's frames are not in-app."""
    lines = run_python(
        tmp_path,
        """
        import threading

        def worker():
            raise RuntimeError("queue closed")

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        raise SystemExit(3)
        """,
    )
    assert "Exception in thread Thread-1 (worker):" in lines
    exc = parse(lines)
    assert (exc.type, exc.value) == ("RuntimeError", "queue closed")
    assert [(f.module, f.function, f.in_app) for f in exc.frames] == [
        ("threading", "_bootstrap_inner", False),
        ("threading", "run", False),
        ("app", "worker", True),
    ]


def test_exception_group_is_taken_as_a_whole(tmp_path: Path) -> None:
    """An ExceptionGroup gives the group itself, with its own frames; sub-exceptions are skipped."""
    lines = run_python(
        tmp_path,
        """
        def check(item):
            raise ValueError(f"bad item {item}")

        def check_all():
            errors = []
            for item in range(2):
                try:
                    check(item)
                except ValueError as exc:
                    errors.append(exc)
            try:
                raise ExceptionGroup("inner", [TypeError("t")])
            except ExceptionGroup as group:
                errors.append(group)
            raise ExceptionGroup("batch failed", errors)

        check_all()
        """,
    )
    assert lines[0] == "  + Exception Group Traceback (most recent call last):"
    exc = parse(lines)
    assert (exc.type, exc.value) == ("ExceptionGroup", "batch failed (3 sub-exceptions)")
    assert functions(exc) == ["<module>", "check_all"]
    assert exc.frames[-1].source == 'raise ExceptionGroup("batch failed", errors)'


def test_exception_group_as_the_cause_of_another(tmp_path: Path) -> None:
    """A group can be chained like any exception."""
    lines = run_python(
        tmp_path,
        """
        try:
            raise ExceptionGroup("probes", [OSError("a"), OSError("b")])
        except ExceptionGroup as exc:
            raise RuntimeError("startup failed") from exc
        """,
    )
    exc = parse(lines)
    assert exc.type == "RuntimeError"
    assert [(c.type, c.value) for c in exc.chained] == [("ExceptionGroup", "probes (2 sub-exceptions)")]


def test_exception_without_message(tmp_path: Path) -> None:
    """KeyboardInterrupt prints only its type: the value is empty."""
    lines = run_python(tmp_path, "def serve():\n    raise KeyboardInterrupt\n\nserve()\n")
    exc = parse(lines)
    assert (exc.type, exc.value, functions(exc)) == ("KeyboardInterrupt", "", ["<module>", "serve"])


def test_multi_line_message_with_note_and_local_class(tmp_path: Path) -> None:
    """A message's later lines and notes belong to it; a log line printed after the crash does not."""
    lines = run_python(
        tmp_path,
        """
        import atexit
        import sys

        atexit.register(lambda: print("2024-05-01 12:00:00,001 INFO shutting down", file=sys.stderr))

        def fail():
            class Oops(Exception):
                pass

            exc = Oops("first line\\nsecond line")
            exc.add_note("hint: retry later")
            raise exc

        fail()
        """,
    )
    assert lines[-1] == "2024-05-01 12:00:00,001 INFO shutting down"
    exc = parse(lines)
    assert exc.type == "fail.<locals>.Oops"
    assert exc.value == "first line\nsecond line\nhint: retry later"


def test_position_lines_are_skipped_and_source_kept(tmp_path: Path) -> None:
    """Python 3.11's ~~~^^^ and ^^^^ lines are neither frames nor source."""
    lines = run_python(
        tmp_path,
        """
        data = {"a": {"b": [1, 2]}}

        def pick():
            return data["a"]["b"][5] + 1

        pick()
        """,
    )
    assert any(set(line.strip()) == {"~", "^"} for line in lines)
    exc = parse(lines)
    assert [(f.function, f.lineno, f.source) for f in exc.frames] == [
        ("<module>", 7, "pick()"),
        ("pick", 5, 'return data["a"]["b"][5] + 1'),
    ]


def test_traceback_between_log_lines_and_an_ignored_exception_after_it(tmp_path: Path) -> None:
    """Log lines around it do not matter; an "Exception ignored in" traceback at shutdown does not win."""
    lines = run_python(
        tmp_path,
        """
        import logging

        logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s")
        log = logging.getLogger("app")

        class Connection:
            def __del__(self):
                raise RuntimeError("close failed")

        conn = Connection()
        log.warning("connecting to db")
        try:
            {}["db"]
        except KeyError:
            log.exception("lookup failed, using defaults")
        log.warning("starting worker 3")
        raise ConnectionError("db unreachable")
        """,
    )
    assert sum(line == "Traceback (most recent call last):" for line in lines) == 3
    assert any(line.startswith("Exception ignored in:") for line in lines)
    exc = parse(lines)
    assert (exc.type, exc.value, exc.chained) == ("ConnectionError", "db unreachable", ())


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param([], None, id="empty"),
        pytest.param(["starting", "listening on :8080", "fatal: config missing"], None, id="no-traceback"),
        pytest.param(
            ["Traceback (most recent call last):", '  File "/srv/app/w.py", line 3, in run', "    go()"],
            None,
            id="cut-before-exception-line",
        ),
        pytest.param(
            ['  File "/srv/app/w.py", line 3, in run', "    go()", "IndexError: list index out of range"],
            ("IndexError", "list index out of range", ["run"]),
            id="header-cut-off-the-top-of-the-tail",
        ),
        pytest.param(
            ["    return b(n)", "           ^^^^", '  File "/srv/app/w.py", line 9, in b', "ValueError: x"],
            ("ValueError", "x", ["b"]),
            id="tail-starts-inside-a-frame",
        ),
        pytest.param(
            [
                "Traceback (most recent call last):\r",
                '  File "/srv/app/api.py", line 40, in fetch\r',
                "    resp.raise_for_status()\r",
                '  File "/venv/lib/python3.11/site-packages/requests/models.py", line 1021, in check\r',
                "    raise HTTPError(http_error_msg, response=self)\r",
                "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://x/y\r",
            ],
            (
                "requests.exceptions.HTTPError",
                "503 Server Error: Service Unavailable for url: https://x/y",
                ["fetch", "check"],
            ),
            id="dotted-type-and-crlf",
        ),
        pytest.param(
            [
                "Traceback (most recent call last):",
                '  File "/srv/app/a.py", line 1, in <module>',
                "ZeroDivisionError: division by zero",
                "",
                "Traceback (most recent call last):",
                '  File "/srv/app/b.py", line 2, in main',
                "KeyError: 'x'",
            ],
            ("KeyError", "'x'", ["main"]),
            id="two-unrelated-tracebacks-last-wins",
        ),
        pytest.param(
            [
                "Traceback (most recent call last):",
                '  File "/srv/app/a.py", line 1, in <module>',
                "ValueError: ",
                "second line only",
            ],
            ("ValueError", "second line only", ["<module>"]),
            id="message-starting-with-a-newline",
        ),
    ],
)
def test_parse_traceback_edge_cases(lines: list[str], expected: tuple[str, str, list[str]] | None) -> None:
    """Parsing is total: partial, truncated and unusual tracebacks give a result or None, never an error."""
    parsed = parse_traceback(lines)
    if expected is None:
        assert parsed is None
    else:
        assert parsed is not None
        assert (parsed.type, parsed.value, functions(parsed)) == expected


def test_only_an_ignored_exception_is_still_returned() -> None:
    """With nothing else in the tail, an "Exception ignored in" traceback is better than none."""
    lines = [
        "Exception ignored in: <function Leaky.__del__ at 0x7f4916bbc720>",
        "Traceback (most recent call last):",
        '  File "/srv/app/leaky.py", line 5, in __del__',
        "RuntimeError: cleanup failed",
    ]
    assert parse(lines) == ParsedException(
        "RuntimeError",
        "cleanup failed",
        (Frame("/srv/app/leaky.py", 5, "__del__", "leaky", True),),
    )


@pytest.mark.parametrize(
    ("filename", "module", "in_app"),
    [
        ("/srv/app/billing/charge.py", "charge", True),
        ("/srv/app/billing/__init__.py", "billing", True),
        ("/srv/app/billing/__main__.py", "billing.__main__", True),
        ("app.py", "app", True),
        ("C:\\srv\\app\\worker.py", "worker", True),
        ("/srv/app/lib/helpers.py", "helpers", True),
        ("/srv/app/.venv/lib/python3.11/site-packages/requests/adapters.py", "requests.adapters", False),
        ("/usr/lib/python3/dist-packages/yaml/__init__.py", "yaml", False),
        ("/usr/lib/python3.11/json/decoder.py", "json.decoder", False),
        ("/root/.pyenv/versions/3.11.7/lib/python3.11/threading.py", "threading", False),
        ("/usr/lib64/python3.11/asyncio/base_events.py", "asyncio.base_events", False),
        ("C:\\Python311\\Lib\\json\\decoder.py", "json.decoder", False),
        ("C:\\proj\\.venv\\Lib\\site-packages\\httpx\\_client.py", "httpx._client", False),
        ("<frozen importlib._bootstrap>", "importlib._bootstrap", False),
        ("<string>", "<string>", False),
        ("<stdin>", "<stdin>", False),
    ],
)
def test_frame_module_and_in_app(filename: str, module: str, in_app: bool) -> None:
    """Modules are dotted import paths for libraries, basenames for the app; libraries are not in-app."""
    assert (frame_module(filename), is_in_app(filename)) == (module, in_app)
