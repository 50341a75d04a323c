"""Error reports: which log lines are errors, how they group, and reading real svcbot log files."""

from __future__ import annotations

import json
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from manager.config.spec import LogSpec
from manager.reporting.error_lines import ErrorLine, LogLine, classify, find_errors
from manager.reporting.errors import (
    ScanStats,
    collect,
    iter_errors,
    pattern_of,
    render_text,
    summarize,
    to_json,
)
from manager.supervision.logs import LogFile, format_line, log_files

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
WEEK_AGO = NOW - timedelta(days=7)

Entry = tuple[datetime, str, str]  # (time, "out" or "err", text)

# --- helpers ----------------------------------------------------------------------------------------


def write_log(logs_dir: Path, service: str, entries: list[Entry], spec: LogSpec | None = None) -> Path:
    """Write entries with svcbot's own writer and line format, rotating as svcbot does."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    path = logs_dir / f"{service}.log"
    log_file = LogFile(path, spec or LogSpec())
    try:
        for at, stream, text in entries:
            log_file.write([format_line(at, stream, text)])
    finally:
        log_file.close()
    return path


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def lines_of(service: str, entries: list[Entry]) -> list[LogLine]:
    return [LogLine(service, when, stream, text) for when, stream, text in entries]


def real_traceback(exc: BaseException) -> list[str]:
    """The lines CPython prints for `exc`, raised for real so it has frames."""
    try:
        raise exc
    except BaseException as raised:
        return "".join(traceback.format_exception(raised)).rstrip("\n").split("\n")


def chained_traceback(port: int) -> list[str]:
    try:
        try:
            raise OSError(f"connect to 10.0.0.5:{port} refused")
        except OSError as exc:
            raise ConnectionError(f"database unreachable after {port % 7} retries") from exc
    except ConnectionError as raised:
        return "".join(traceback.format_exception(raised)).rstrip("\n").split("\n")


def report(tmp_path: Path, since: datetime = WEEK_AGO, **kwargs: object):
    return summarize(collect(tmp_path / "logs", since), **kwargs)  # type: ignore[arg-type]


# --- which lines are errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "text"),
    [
        ("out", "2026-11-22 11:59:00,123 ERROR worker: charge failed"),
        ("out", "ERROR:root:could not connect"),
        ("out", "[2026-11-22T11:59:00Z CRITICAL app] disk full"),
        ("out", "FATAL: password authentication failed for user app"),
        ("out", 'time=2026-11-22T11:59:00Z level=error msg="upstream timeout"'),
        ("out", '{"ts": "2026-11-22T11:59:00Z", "level": "error", "msg": "db down"}'),
        ("out", '{"msg": "request aborted", "error": "context canceled"}'),
        ("out", "ValueError: invalid literal for int() with base 10: 'x'"),
        ("out", 'Exception in thread "main" java.lang.IllegalStateException: boom'),
        ("err", "panic: runtime error: index out of range [3] with length 3"),
        ("err", "2026/11/22 11:59:00 [error] 12#0: *5 connect() failed (111: Connection refused)"),
        ("err", "Error: connect ECONNREFUSED 127.0.0.1:5432"),
        ("err", "connection to db refused"),
        ("err", "request timed out after 30s"),
        ("err", "1 failed, 10 passed"),
    ],
)
def test_error_lines_are_recognised(stream: str, text: str) -> None:
    """Level words, JSON and logfmt levels, exception names and error words on stderr are errors."""
    assert classify(text, stream) == "error"


@pytest.mark.parametrize(
    ("stream", "text"),
    [
        ("err", "0 errors"),
        ("err", "no errors found"),
        ("err", "completed without errors"),
        ("err", "error_count=0"),
        ("err", "errors=0 warnings=2"),
        ("err", "failed: 0"),
        ("err", "err=<nil>"),
        ("err", "ok=true error=false"),
        ("err", "this is not an error"),
        ("err", "the job didn't fail"),
        ("err", "INFO:root:retrying after error"),
        ("err", 'level=info msg="request failed, retrying"'),
        ("err", '{"level": "info", "msg": "recovered from error"}'),
        ("out", "INFO processed 12 items, 0 errors"),
        ("out", "connection refused"),
        ("out", "registered the on_error hook and errorHandler"),
        ("out", "PROCESSED_ERRORS=3"),
        ("err", '  File "/srv/app/worker.py", line 12, in handle_error'),
        ("err", '    raise ValueError("bad")'),
        ("err", "Caused by: java.io.IOException: broken pipe"),
        ("err", "Exception in thread Thread-1 (worker):"),
        ("err", ""),
    ],
)
def test_false_positive_phrases_are_not_errors(stream: str, text: str) -> None:
    """Negated and zero counts, identifiers, non-error levels, stdout prose and continuation lines."""
    assert classify(text, stream) is None


def test_warnings_count_only_when_asked() -> None:
    """WARNING lines and ...Warning: names are warnings, reported only with include_warnings."""
    lines = lines_of(
        "api",
        [
            (at(3), "err", "WARNING:root:slow response 1200ms"),
            (at(2), "err", "/srv/app/x.py:3: DeprecationWarning: utcnow() is deprecated"),
            (at(1), "out", "ERROR boom"),
        ],
    )
    assert classify(lines[0].text, "err") == "warning"
    assert [e.text for e in find_errors(lines)] == ["ERROR boom"]
    assert len(list(find_errors(lines, include_warnings=True))) == 3


# --- tracebacks -------------------------------------------------------------------------------------


def test_a_traceback_counts_once_by_exception_type_and_message(tmp_path: Path) -> None:
    """Every line of a traceback is one error, keyed by type and parameterized message; the
    logger.exception record just before it is folded in."""
    entries: list[Entry] = []
    for n, minutes in enumerate([30, 20, 10]):
        entries.append((at(minutes), "err", f"ERROR:root:job {n} crashed"))
        tb = real_traceback(ValueError(f"invalid literal for int() with base 10: '{n * 17}'"))
        assert len(tb) > 3
        entries += [(at(minutes), "err", line) for line in tb]
        entries.append((at(minutes), "out", "INFO:root:carrying on"))
    write_log(tmp_path / "logs", "jobs", entries)

    errors = collect(tmp_path / "logs", WEEK_AGO)
    assert len(errors) == 3
    assert all(e.text.startswith("ValueError: invalid literal") for e in errors)
    [pattern] = summarize(errors)
    assert pattern.count == 3
    assert pattern.pattern == "ValueError: invalid literal for int() with base <n>: '<n>'"
    assert pattern.examples[0].text == "ValueError: invalid literal for int() with base 10: '34'"
    assert pattern.first_seen == at(30) and pattern.last_seen == at(10)


def test_a_chained_traceback_is_one_error_named_by_its_last_exception() -> None:
    """ "The above exception was the direct cause..." chains stay one error, the outermost exception."""
    lines = lines_of("db", [(at(1), "err", line) for line in chained_traceback(5432)])
    lines += lines_of("db", [(at(0), "err", line) for line in chained_traceback(6543)])
    errors = list(find_errors(lines))
    assert [e.text.split(":")[0] for e in errors] == ["ConnectionError", "ConnectionError"]
    [pattern] = summarize(errors)
    assert pattern.pattern == "ConnectionError: database unreachable after <n> retries"


def test_a_traceback_stays_whole_when_other_lines_are_interleaved() -> None:
    """Lines of another service or stream in the middle of a traceback do not cut it."""
    tb = real_traceback(KeyError("user"))
    lines = [LogLine("api", at(1), "err", tb[0])]
    for line in tb[1:]:
        lines.append(LogLine("api", at(1), "out", "INFO:root:still serving"))
        lines.append(LogLine("worker", at(1), "err", "ERROR queue full"))
        lines.append(LogLine("api", at(1), "err", line))
    errors = list(find_errors(lines))
    api = [e.text for e in errors if e.service == "api"]
    assert api == ["KeyError: 'user'"]
    assert sum(e.service == "worker" for e in errors) == len(tb) - 1


def test_a_traceback_cut_short_still_counts_once() -> None:
    """A traceback whose exception line never came (the service was killed) is one error."""
    tb = real_traceback(RuntimeError("x"))[:-1]
    lines = lines_of("api", [(at(1), "err", line) for line in tb] + [(at(0), "out", "INFO:root:restarted")])
    assert [e.text for e in find_errors(lines)] == ["Traceback (most recent call last):"]


def test_a_very_long_traceback_is_one_error_read_in_bounded_memory() -> None:
    """A traceback longer than the lines kept for it is still one error, named by its exception."""
    frames = [f'  File "/srv/app/m{i}.py", line {i}, in f{i}' for i in range(5_000)]
    tb = ["Traceback (most recent call last):", *frames, "KeyError: 'k'"]
    lines = lines_of("api", [(at(1), "err", line) for line in tb])
    assert [e.text for e in find_errors(lines)] == ["KeyError: 'k'"]


def test_an_exception_group_counts_once() -> None:
    """An exception group's indented block is one error, named by the group, not its sub-exceptions."""
    tb = real_traceback(ExceptionGroup("2 tasks failed", [ValueError("a"), TypeError("b")]))
    assert tb[0].lstrip().startswith("+ Exception Group Traceback")
    lines = lines_of("api", [(at(2), "err", "ERROR:root:batch failed")])
    lines += lines_of("api", [(at(2), "err", line) for line in tb] + [(at(1), "err", "INFO:root:next batch")])
    assert [e.text for e in find_errors(lines)] == ["ExceptionGroup: 2 tasks failed (2 sub-exceptions)"]


def test_colour_codes_are_removed_before_judging_and_showing() -> None:
    """A coloured level word still counts, and the error's text carries no escape sequences."""
    lines = lines_of(
        "api", [(at(1), "out", "\x1b[31mERROR\x1b[0m db down"), (at(0), "out", "\x1b[32mINFO\x1b[0m up")]
    )
    assert list(find_errors(lines)) == [ErrorLine("api", at(1), "out", "ERROR db down")]


# --- grouping ---------------------------------------------------------------------------------------


def test_numbers_ids_ips_and_paths_group_into_one_pattern() -> None:
    """Lines differing only in numbers, hex and uuid ids, addresses, paths and times are one pattern."""
    texts = [
        "2026-11-22 11:00:01,001 ERROR worker-3: request 3f2a9c1e-1111-2222-3333-444455556666 to "
        "10.0.0.7:5432 failed after 120ms reading /srv/data/a.db (trace 0xdeadbeef)",
        "2026-11-22 11:05:09,452 ERROR worker-11: request 9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d to "
        "192.168.1.20:6432 failed after 3000ms reading /var/lib/app/b.db (trace 0x1f2e3d)",
    ]
    errors = [ErrorLine("api", at(len(texts) - i), "out", text) for i, text in enumerate(texts)]
    [pattern] = summarize(errors)
    assert pattern.count == 2
    assert pattern.pattern == (
        "<ts> ERROR worker-<n>: request <uuid> to <ip> failed after <n> reading <path> (trace <hex>)"
    )
    assert [e.text for e in pattern.examples] == list(reversed(texts))


def test_json_records_group_by_message_not_by_their_other_fields() -> None:
    """A JSON log's pattern is its msg and error fields, so request ids and timings do not split it."""
    errors = [
        ErrorLine(
            "api",
            at(n),
            "out",
            json.dumps(
                {
                    "ts": f"2026-11-22T11:0{n}:00Z",
                    "level": "error",
                    "msg": "upstream failed",
                    "error": f"dial tcp 10.0.0.{n}:443: i/o timeout",
                    "took_ms": n * 37,
                    "req": f"r{n}",
                }
            ),
        )
        for n in range(1, 5)
    ]
    [pattern] = summarize(errors)
    assert (pattern.count, pattern.pattern) == (4, "upstream failed: dial tcp <ip>: i/o timeout")


def test_patterns_are_ordered_by_count_then_last_seen_and_cut_to_top() -> None:
    """Most frequent first; equal counts most recent first; `top` keeps the first N."""
    errors = (
        [ErrorLine("a", at(50 - n), "out", "ERROR rare") for n in range(2)]
        + [ErrorLine("a", at(40 - n), "out", "ERROR common") for n in range(5)]
        + [ErrorLine("a", at(5 - n), "out", "ERROR recent") for n in range(2)]
        + [ErrorLine("a", at(60), "out", "ERROR once")]
    )
    patterns = summarize(errors, top=None)
    assert [(p.pattern, p.count) for p in patterns] == [
        ("ERROR common", 5),
        ("ERROR recent", 2),
        ("ERROR rare", 2),
        ("ERROR once", 1),
    ]
    assert [p.pattern for p in summarize(errors, top=2)] == ["ERROR common", "ERROR recent"]


def test_per_service_counts_are_sorted_by_count() -> None:
    """A pattern seen in several services lists each with its count, most first."""
    errors = (
        [ErrorLine("worker", at(9), "out", "ERROR redis timeout")]
        + [ErrorLine("api", at(n), "out", "ERROR redis timeout") for n in range(3)]
        + [ErrorLine("billing", at(8), "out", "ERROR redis timeout")]
    )
    [pattern] = summarize(errors)
    assert pattern.services == (("api", 3), ("billing", 1), ("worker", 1))
    assert pattern.count == 5


def test_examples_are_the_most_recent_distinct_lines() -> None:
    """At most `examples` distinct lines are kept, the most recently seen first, in any input order."""
    texts = ["ERROR job 1 failed", "ERROR job 2 failed", "ERROR job 3 failed", "ERROR job 4 failed"]
    errors = [ErrorLine("a", at(m), "out", texts[i]) for i, m in [(0, 1), (1, 50), (2, 3), (3, 2), (1, 40)]]
    [pattern] = summarize(errors, examples=2)
    assert [(e.text, e.at) for e in pattern.examples] == [(texts[0], at(1)), (texts[3], at(2))]
    [pattern] = summarize([*errors, ErrorLine("a", at(0), "out", texts[1])], examples=3)
    assert [e.text for e in pattern.examples] == [texts[1], texts[0], texts[3]]


def test_secrets_in_examples_and_patterns_are_redacted(tmp_path: Path) -> None:
    """Neither the examples, the patterns, the text rendering nor the JSON show a secret."""
    token = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
    write_log(
        tmp_path / "logs",
        "api",
        [
            (at(3), "err", "ERROR login failed for bob password=hunter2"),
            (at(2), "out", f"ERROR slack post failed with token {token}"),
            (at(1), "out", json.dumps({"level": "error", "msg": "auth failed", "token": "s3cr3t-value"})),
        ],
    )
    patterns = report(tmp_path)
    rendered = render_text(patterns, WEEK_AGO, 3, now=NOW)
    dumped = json.dumps(to_json(patterns))
    for secret in ("hunter2", token, token[5:], "s3cr3t-value"):
        assert secret not in rendered and secret not in dumped
        assert all(secret not in e.text for p in patterns for e in p.examples)
        assert all(secret not in p.pattern for p in patterns)
    examples = {e.text for p in patterns for e in p.examples}
    assert "ERROR login failed for bob password=[REDACTED]" in examples
    assert "ERROR slack post failed with token xoxb-[REDACTED]" in examples
    assert pattern_of("ERROR login failed for bob password=hunter2") == (
        "ERROR login failed for bob password=[REDACTED]"
    )


# --- reading log files ------------------------------------------------------------------------------


def test_errors_are_read_from_the_current_and_rotated_files(tmp_path: Path) -> None:
    """Every error in NAME.log and NAME.log.1 ... counts, oldest first within a service."""
    entries = [
        (at(100 - n), "err" if n % 2 else "out", f"ERROR item {n} failed " + "x" * 60) for n in range(40)
    ]
    entries += [(at(1), "out", "INFO:root:ok")] * 10
    path = write_log(tmp_path / "logs", "api", entries, LogSpec(max_size=1024, keep=9))
    assert len(log_files(path)) > 3, "the writer should have rotated"
    stats = ScanStats()
    errors = collect(tmp_path / "logs", WEEK_AGO, stats=stats)
    assert [e.text.split()[2] for e in errors] == [str(n) for n in range(40)]
    assert [e.stream for e in errors[:2]] == ["out", "err"]
    assert errors[0].at == at(100)
    assert (stats.services, stats.lines_read, stats.lines_scanned, stats.errors) == (["api"], 50, 50, 40)
    [pattern] = summarize(errors)
    assert pattern.count == 40


def test_lines_older_than_since_are_left_out(tmp_path: Path) -> None:
    """Only lines stamped at or after `since` are judged, in rotated files too."""
    old = [(NOW - timedelta(days=9, minutes=n), "out", "ERROR old problem") for n in range(20, 0, -1)]
    new = [(at(30), "out", "ERROR new problem"), (WEEK_AGO, "out", "ERROR right at since")]
    write_log(tmp_path / "logs", "api", old + sorted(new), LogSpec(max_size=300, keep=20))
    stats = ScanStats()
    errors = collect(tmp_path / "logs", WEEK_AGO, stats=stats)
    assert sorted(e.text for e in errors) == ["ERROR new problem", "ERROR right at since"]
    assert (stats.lines_read, stats.lines_scanned) == (22, 2)
    assert collect(tmp_path / "logs", NOW) == []


def test_lines_in_another_format_take_the_time_and_stream_of_the_line_before(tmp_path: Path) -> None:
    """A hand-written or cut-off line without svcbot's stamp is judged as part of the line before."""
    logs_dir = tmp_path / "logs"
    logs_dir.mkdir()
    (logs_dir / "api.log").write_text(
        "stray line before any stamp: ERROR\n"
        + format_line(at(5), "err", "starting")
        + "\nconnection refused\n"
        + format_line(at(1), "out", "INFO:root:ok")
        + "\n"
    )
    assert collect(logs_dir, WEEK_AGO) == [ErrorLine("api", at(5), "err", "connection refused")]


def test_services_filter_and_grep(tmp_path: Path) -> None:
    """`services` reads only the named logs; `grep` keeps matching errors; an unknown name is an error."""
    write_log(tmp_path / "logs", "api", [(at(1), "out", "ERROR api: db down"), (at(1), "out", "ERROR cache")])
    write_log(tmp_path / "logs", "worker", [(at(1), "out", "ERROR worker: db down")])
    assert {e.service for e in collect(tmp_path / "logs", WEEK_AGO)} == {"api", "worker"}
    assert [e.service for e in collect(tmp_path / "logs", WEEK_AGO, services=["worker"])] == ["worker"]
    assert [e.text for e in collect(tmp_path / "logs", WEEK_AGO, grep=r"db\s+down")] == [
        "ERROR api: db down",
        "ERROR worker: db down",
    ]
    with pytest.raises(LookupError, match="nope"):
        collect(tmp_path / "logs", WEEK_AGO, services=["api", "nope"])
    assert collect(tmp_path / "missing", WEEK_AGO) == []


def test_a_large_log_is_streamed_and_grouped(tmp_path: Path) -> None:
    """Some 30,000 lines over rotated files group exactly, and errors come out before the end is read."""
    entries: list[Entry] = []
    for n in range(10_000):
        when = at(10_000 - n) + timedelta(seconds=1)
        entries.append((when, "out", f"INFO:app:request {n} served in {n % 97}ms"))
        entries.append((when, "err", f"ERROR:app:upstream 10.1.{n % 250}.{n % 7} timed out after {n}ms"))
        if n % 10 == 0:
            entries.append((when, "err", f"WARNING:app:slow query {n}ms on /srv/db/t{n}.sqlite"))
    write_log(tmp_path / "logs", "api", entries, LogSpec(max_size=256 * 1024, keep=20))
    assert len(log_files(tmp_path / "logs" / "api.log")) > 3

    stats = ScanStats()
    errors = iter_errors(tmp_path / "logs", WEEK_AGO, stats=stats)
    first = next(errors)
    assert first.text.startswith("ERROR:app:upstream 10.1.0.0") and stats.lines_read < 100
    [pattern] = summarize(errors, examples=3)
    assert pattern.count == 10_000 - 1
    assert pattern.pattern == "ERROR:app:upstream <ip> timed out after <n>"
    assert len(pattern.examples) == 3 and pattern.examples[0].text.endswith("after 9999ms")
    assert (stats.lines_read, stats.errors) == (21_000, 10_000)


# --- presenting -------------------------------------------------------------------------------------


def test_render_text_shows_counts_services_last_seen_patterns_and_examples() -> None:
    """The table has one row per pattern with its count, services, age and pattern, then examples."""
    errors = [ErrorLine("api", at(n), "out", f"ERROR db timeout after {n}s") for n in range(1234)]
    errors += [ErrorLine("worker", at(5), "err", "ValueError: bad row 7")]
    text = render_text(summarize(errors), WEEK_AGO, 98_765, total_errors=1240, now=NOW)
    lines = text.splitlines()
    assert lines[0] == (
        "Errors since 2026-11-15 12:00:00Z: 98,765 log lines scanned, 1,240 error lines; "
        "top 2 patterns (1,235 lines):"
    )
    assert lines[2].split() == ["COUNT", "SERVICES", "LAST", "SEEN", "PATTERN"]
    assert lines[3].split() == [
        "1,234",
        "api",
        "1,234",
        "0ms",
        "ago",
        "ERROR",
        "db",
        "timeout",
        "after",
        "<n>",
    ]
    assert lines[4] == "    2026-11-22 12:00:00Z api: ERROR db timeout after 0s"
    assert lines[7].split() == ["1", "worker", "1", "5m00s", "ago", "ValueError:", "bad", "row", "<n>"]
    assert lines[8] == "    2026-11-22 11:55:00Z worker: ValueError: bad row 7"
    assert (
        render_text([], WEEK_AGO, 12, now=NOW)
        == "No errors since 2026-11-15 12:00:00Z (12 log lines scanned)."
    )


def test_to_json_lists_patterns_with_iso_times() -> None:
    """to_json gives plain dicts with services by count and examples, ready for json.dumps."""
    errors = [ErrorLine("api", at(2), "out", "ERROR a 1"), ErrorLine("db", at(1), "err", "ERROR a 2")]
    assert json.loads(json.dumps(to_json(summarize(errors)))) == [
        {
            "pattern": "ERROR a <n>",
            "count": 2,
            "services": {"api": 1, "db": 1},
            "first_seen": "2026-11-22T11:58:00.000Z",
            "last_seen": "2026-11-22T11:59:00.000Z",
            "examples": [
                {"at": "2026-11-22T11:59:00.000Z", "service": "db", "text": "ERROR a 2"},
                {"at": "2026-11-22T11:58:00.000Z", "service": "api", "text": "ERROR a 1"},
            ],
        }
    ]
