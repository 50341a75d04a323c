"""Every config a reader may copy passes `svcbot check-config`: the README's snippets, those of docs/,
the example and the container config. A snippet that is only a section (`forward:`) is checked inside
a minimal config, at the top level where it belongs."""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import PY

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<indent> *)```ya?ml\n(?P<body>.*?)^(?P=indent)```", re.DOTALL | re.MULTILINE)
MINIMAL = "services:\n  web:\n    command: sleep 1\n"


def snippets() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{doc.relative_to(REPO)}:{line}", textwrap.dedent(match.group("body"))))
    return found


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [PY, "-m", "chatops.main", "check-config", "-c", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_docs_have_config_snippets() -> None:
    """The README's configuration example and the generated reference's complete example are found."""
    where = [w for w, _ in snippets()]
    assert any(w.startswith("README.md:") for w in where) and any(w.startswith("docs/") for w in where)


@pytest.mark.parametrize(("where", "body"), snippets(), ids=[w for w, _ in snippets()])
def test_every_config_snippet_in_the_docs_passes_check_config(where: str, body: str, tmp_path: Path) -> None:
    config = tmp_path / "svcbot.yml"
    has_services = re.search(r"^services:", body, re.MULTILINE) is not None
    config.write_text(body if has_services else MINIMAL + body)
    result = check_config(config)
    assert result.returncode == 0 and ": OK, " in result.stdout, f"{where}: {result.stderr}"


@pytest.mark.parametrize("path", ["examples/svcbot.yml", "contrib/svcbot.container.yml"])
def test_shipped_configs_pass_check_config_without_warnings(path: str) -> None:
    result = check_config(REPO / path)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr


def test_every_link_in_the_docs_stays_inside_the_repository() -> None:
    """A clone has nothing beside it: each relative link or backticked path to a document resolves
    to a file in this repository (nothing under ../shared or another sibling folder)."""
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)|`(\.\./[^`\s]+)`")
    broken = []
    for doc in DOCS:
        for match in link.finditer(doc.read_text()):
            target = match.group(1) or match.group(2)
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            resolved = (doc.parent / target).resolve()
            if not resolved.exists() or REPO not in resolved.parents:
                broken.append(f"{doc.relative_to(REPO)}: {target}")
    assert not broken, broken
