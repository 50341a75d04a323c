"""Tests for manager.core.units: parsing and formatting of durations, sizes and percentages."""

from __future__ import annotations

import pytest

from manager.core.units import format_duration, format_size, parse_duration, parse_percent, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("100ms", 0.1),
        ("5s", 5.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("1.5s", 1.5),
        ("1m30s", 90.0),
        ("1h2m3s", 3723.0),
        ("1s500ms", 1.5),
        ("0s", 0.0),
        ("5", 5.0),
        ("2.5", 2.5),
        (" 5s ", 5.0),
        (5, 5.0),
        (0.25, 0.25),
    ],
)
def test_parse_duration_accepts(text: str | int | float, seconds: float) -> None:
    """Durations with units ms/s/m/h/d, combined in decreasing order, or bare seconds, parse to seconds."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "fast", "-5s", "-1", "5 s", "5sec", "30s1m", "1s1s", "5S", "1e3", "s", -1, float("nan")]
)
def test_parse_duration_rejects(text: str | int | float) -> None:
    """Negative, misordered, unknown-unit and non-numeric durations raise ValueError saying what is valid."""
    with pytest.raises(ValueError, match=r"100ms, 5s"):
        parse_duration(text)


def test_parse_duration_rejects_bool() -> None:
    """A YAML boolean is not a duration, although bool is a subclass of int."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(True)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512MiB", 512 * 2**20),
        ("1GiB", 2**30),
        ("10KiB", 10 * 1024),
        ("1.5GiB", 3 * 2**29),
        ("100MB", 100 * 10**6),
        ("100kB", 100 * 10**3),
        ("1.1kB", 1100),
        ("123B", 123),
        ("512 MiB", 512 * 2**20),
        ("2TiB", 2 * 2**40),
        ("123", 123),
        (123, 123),
        (0, 0),
    ],
)
def test_parse_size_accepts(text: str | int, size: int) -> None:
    """Binary (KiB...) and decimal (kB, MB...) units, B and bare numbers parse to bytes."""
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "big", "-1MiB", "10XB", "MiB", "1.5.2MB", -5, True])
def test_parse_size_rejects(text: str | int) -> None:
    """Unknown units, negatives and non-sizes raise ValueError naming the accepted units."""
    with pytest.raises(ValueError, match="MiB"):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "percent"),
    [("90%", 90.0), ("150%", 150.0), ("12.5%", 12.5), ("90 %", 90.0), ("90", 90.0), (90, 90.0), (7.5, 7.5)],
)
def test_parse_percent_accepts(text: str | int | float, percent: float) -> None:
    """Percentages with or without %, over 100 allowed (more than one core), parse to a number of percent."""
    assert parse_percent(text) == percent


@pytest.mark.parametrize("text", ["", "lots", "-5%", "90%%", "%", -1])
def test_parse_percent_rejects(text: str | int | float) -> None:
    """Negative and non-numeric percentages raise ValueError saying what is accepted."""
    with pytest.raises(ValueError, match="90%"):
        parse_percent(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0ms"),
        (0.35, "350ms"),
        (0.9996, "1s"),
        (1.5, "1.5s"),
        (12, "12s"),
        (59.4, "59.4s"),
        (59.97, "1m00s"),
        (185, "3m05s"),
        (3599.6, "1h00m"),
        (3720, "1h02m"),
        (2 * 86400 + 3 * 3600, "2d03h"),
        (-12, "-12s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    """Durations format to at most two units, rounding that carries into the next unit."""
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0B"),
        (900, "900B"),
        (1023, "1023B"),
        (1536, "1.5KiB"),
        (512 * 2**20, "512.0MiB"),
        (int(1.2 * 2**30), "1.2GiB"),
        (2**20 - 1, "1.0MiB"),
        (3 * 2**40, "3.0TiB"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    """Sizes format in the largest binary unit that keeps the number under 1024, one decimal."""
    assert format_size(size) == text


@pytest.mark.parametrize("text", ["100ms", "5s", "1.5s", "3m05s", "1h02m"])
def test_format_duration_round_trips(text: str) -> None:
    """What format_duration writes, parse_duration reads back."""
    assert format_duration(parse_duration(text)) == text
