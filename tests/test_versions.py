"""Natural version ordering for regression detection."""

from __future__ import annotations

import pytest

from manager.triage.versions import at_or_after


@pytest.mark.parametrize(
    ("version", "reference", "expected"),
    [
        ("1.4.2", "1.4.2", True),
        ("1.4.3", "1.4.2", True),
        ("1.4.1", "1.4.2", False),
        ("1.10.0", "1.9.0", True),
        ("v2.0.0", "1.99", True),
        ("2.0.0rc1", "2.0.0", False),
        ("2.0.0", "2.0.0rc1", True),
        ("2.0.0b2", "2.0.0a9", True),
        ("2.0.0.post1", "2.0.0", True),
        ("v1.4.2-3-gabc123", "v1.4.2", True),
        ("v1.4.1-30-gabc123", "v1.4.2", False),
        ("2026.11.22", "2026.11.3", True),
        (None, "1.0", True),
        ("1.0", None, True),
    ],
)
def test_at_or_after(version, reference, expected) -> None:
    """Versions compare numerically part by part; pre-releases come before their release."""
    assert at_or_after(version, reference) is expected
