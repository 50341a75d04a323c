"""Golden-file snapshots shared by the tests: compare text to tests/golden/NAME, or rewrite it.

`UPDATE_GOLDEN=1 .venv/bin/pytest ...` writes the files; review them by eye before committing.
A missing file fails (never passes silently), saying how to create it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


def assert_golden_text(name: str, text: str) -> None:
    """Compare `text` against tests/golden/NAME; UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        return
    if not path.exists():
        pytest.fail(f"golden file {path} is missing: create it with UPDATE_GOLDEN=1 and review it by eye")
    assert text == path.read_text(), f"{path} differs; if the change is intended, rerun with UPDATE_GOLDEN=1"
