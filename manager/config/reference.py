"""The configuration reference: the table of keys (`manager.config.keys`) rendered to Markdown.

`docs/configuration.md` is generated from `KEYS` (`python -m manager.config.reference`), and the
tests hold the table to the parser: the same set of keys as `manager.config.loader.accepted_keys()`, the
same defaults as `manager.config.spec`, and examples that `manager.config.loader.load_config` accepts. So the
reference cannot quietly fall behind the code; `--check FILE` says when the file is stale.

This module never imports yaml (`manager.config.loader` and its node walker are the only importers).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from manager.config.keys import KEYS, OTHER_SERVICE, SECTIONS, SERVICE, TYPES, Key
from manager.config.loader import accepted_keys

__all__ = [
    "KEYS",
    "SECTIONS",
    "Key",
    "check",
    "example_config",
    "main",
    "render",
    "schema_drift",
]

REGENERATE = ".venv/bin/python -m manager.config.reference > docs/configuration.md"
HEADER = f"<!-- Generated from manager/config/keys.py; do not edit by hand. Regenerate: {REGENERATE} -->"


# --------------------------------------------------------------------------------------------------
# Checks against the parser


def schema_drift() -> list[str]:
    """What differs between `KEYS` and the keys `manager.config.loader` accepts, one message per key."""
    documented = [key.path for key in KEYS]
    accepted = set(accepted_keys())
    problems = [
        f"{path}: accepted by manager/config/loader.py but not documented"
        for path in accepted_keys()
        if path not in documented
    ]
    problems += [
        f"{path}: documented but not accepted by manager/config/loader.py"
        for path in documented
        if path not in accepted
    ]
    problems += [
        f"{path}: documented twice" for path in sorted(set(documented)) if documented.count(path) > 1
    ]
    return problems


# --------------------------------------------------------------------------------------------------
# Markdown


def _cell(text: str) -> str:
    """Text for a Markdown table cell, where a bare `|` would end the cell early."""
    return text.replace("|", "\\|").replace("\n", " ")


def _anchor(section: str) -> str:
    return "top-level" if not section else section.replace("<name>", "name").replace(".", "-")


def _title(section: str) -> str:
    return "Top level" if not section else f"`{section}`"


def _default(key: Key) -> str:
    if key.required:
        return "**required**"
    if key.default_text:
        return key.default_text
    if key.default is not None:
        return f"`{key.default}`"
    if key.one_of:
        return "one of " + ", ".join(f"`{k.name}`" for k in KEYS if k.one_of == key.one_of)
    return "see below" if _is_section(key.path) else "not set"


def _sections() -> list[str]:
    """Section paths in the order their first key appears in `KEYS`."""
    order: list[str] = []
    for key in KEYS:
        if key.parent not in order:
            order.append(key.parent)
    return order


def _is_section(path: str) -> bool:
    return any(key.parent == path for key in KEYS)


def _row(key: Key) -> str:
    type_text = key.type
    if _is_section(key.path):
        type_text = f"[{key.type}](#{_anchor(key.path)})"
    elif key.path == "services":
        type_text = f"[{key.type}](#{_anchor(SERVICE)})"
    example = "" if key.example is None else f"`{key.example}`"
    cells = (f"`{key.path}`", type_text, _default(key), key.description, example)
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _section(section: str) -> list[str]:
    lines = [f'<a id="{_anchor(section)}"></a>', "", f"## {_title(section)}", ""]
    if SECTIONS.get(section):
        lines += [SECTIONS[section], ""]
    lines += ["| Key | Type | Default | Description | Example |", "|---|---|---|---|---|"]
    lines += [_row(key) for key in KEYS if key.parent == section]
    return [*lines, ""]


def render() -> str:
    """The whole of `docs/configuration.md`."""
    lines = [
        HEADER,
        "",
        "# Configuration reference",
        "",
        "svcbot reads one YAML file: `--config FILE` on every verb, else `$SVCBOT_CONFIG`, else "
        "`./svcbot.yml`. Unknown keys are errors, reported with the file, the line and a did-you-mean; "
        "`svcbot check-config` checks a file without running anything. `<name>` below stands for a "
        "service's name.",
        "",
        "## Value types",
        "",
        "| Type | Accepted values |",
        "|---|---|",
        *(f"| {_cell(name)} | {_cell(text)} |" for name, text in TYPES),
        "",
    ]
    for section in _sections():
        lines += _section(section)
    lines += [
        "## Complete example",
        "",
        "Every key above, with its example value (one health check kind of three).",
        "",
        "```yaml",
        example_config().rstrip("\n"),
        "```",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# The complete example


def _tree(keys: Iterable[Key]) -> dict[str, object]:
    """Nested dicts of the examples, "<name>" replaced by "web"; leaves are YAML text."""
    root: dict[str, object] = {}
    for key in keys:
        if key.example is None and not _is_section(key.path) and key.path != "services":
            continue
        *parents, leaf = key.path.replace("<name>", "web").split(".")
        node = root
        for part in parents:
            child = node.setdefault(part, {})
            assert isinstance(child, dict)
            node = child
        if key.example is None:
            node.setdefault(leaf, {})  # a section, here in the file's order; its keys fill it
        else:
            node[leaf] = key.example
    return root


def _emit(tree: dict[str, object], indent: str = "") -> list[str]:
    lines: list[str] = []
    for name, value in tree.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{name}:")
            lines += _emit(value, indent + "  ")
        else:
            lines.append(f"{indent}{name}: {value}")
    return lines


def example_config(pick: Sequence[str] = ()) -> str:
    """A whole `svcbot.yml` made of every key's example, as YAML text.

    Of a `one_of` group only one key can be given: the one named in `pick`, else the group's first.
    A second service (`db`) is added for the example of `depends_on` to name.
    """
    chosen: dict[str, str] = {}
    for key in KEYS:
        if key.one_of and (key.path in pick or key.one_of not in chosen):
            chosen[key.one_of] = key.path
    keys = [key for key in KEYS if not key.one_of or chosen[key.one_of] == key.path]
    tree = _tree(keys)
    services = tree.setdefault("services", {})
    assert isinstance(services, dict)
    services[OTHER_SERVICE[0]] = {"command": OTHER_SERVICE[1]}
    return "\n".join(_emit(tree)) + "\n"


# --------------------------------------------------------------------------------------------------
# Command line


def check(path: Path) -> list[str]:
    """Why `path` is not the current reference (a unified diff, or a missing key); [] when it is."""
    problems = schema_drift()
    try:
        current = path.read_text(encoding="utf-8")
    except OSError as err:
        return [*problems, f"{path}: cannot read: {err.strerror or err}"]
    expected = render()
    if current != expected:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            fromfile=str(path),
            tofile="generated",
        )
        problems.append(f"{path} is stale; regenerate it with: {REGENERATE}\n" + "".join(diff))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Print the reference, or with `--check FILE` exit 1 when FILE is not what would be printed."""
    parser = argparse.ArgumentParser(
        prog="python -m manager.config.reference", description="Print svcbot's configuration reference."
    )
    parser.add_argument("--check", metavar="FILE", type=Path, help="exit 1 if FILE is stale")
    args = parser.parse_args(argv)
    if args.check is None:
        sys.stdout.write(render())
        return 0
    problems = check(args.check)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
