"""The configuration reference (`manager.config.reference`, `docs/configuration.md`) against the parser.

The reference is a hand-written table, so these tests are what keeps it true: the keys are the
parser's, the defaults are the ones `load_config` applies (and `manager.config.spec` declares), the examples
load, and the Markdown file is what the table renders to.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from manager.config import loader as config_module
from manager.config.loader import SECTIONS, accepted_keys, load_config
from manager.config.reference import KEYS, REGENERATE, Key, example_config, main, render, schema_drift
from manager.config.spec import Config

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "configuration.md"

# The minimal config the defaults are read from: one plain service, one with a health check.
PLAIN, CHECKED = "web", "checked"
MINIMAL: dict[str, Any] = {
    "services": {
        PLAIN: {"command": "true"},
        CHECKED: {"command": "true", "health": {"tcp": "127.0.0.1:9"}},
    }
}


def _service_for(key: Key) -> str:
    return CHECKED if ".health." in key.path else PLAIN


def _emit(tree: dict[str, Any], indent: str = "") -> list[str]:
    """YAML lines for nested dicts whose leaves are YAML text (as the reference writes values)."""
    lines: list[str] = []
    for name, value in tree.items():
        if isinstance(value, dict):
            lines += [f"{indent}{name}:", *_emit(value, indent + "  ")]
        else:
            lines.append(f"{indent}{name}: {value}")
    return lines


def _load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "svcbot.yml"
    path.write_text(text)
    return load_config(path, environ={})


def _minimal_with(key: Key, value: str) -> str:
    """The minimal config with `key` set to the YAML text `value`."""
    tree = copy.deepcopy(MINIMAL)
    *parents, leaf = key.path.replace("<name>", _service_for(key)).split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return "\n".join(_emit(tree)) + "\n"


def _owner(config: Config, key: Key) -> object:
    """The spec object holding `key`'s value: `services.<name>.stop.timeout` -> that service's StopSpec;
    None when the file's layout has no spec object of its own (the top-level `logs` only feeds services)."""
    obj: object = config
    parts = key.parent.split(".") if key.parent else []
    for part in parts:
        if part == "services":
            continue
        obj = config.service(_service_for(key)) if part == "<name>" else getattr(obj, part, None)
    return obj


def _is_section(key: Key) -> bool:
    return any(other.parent == key.path for other in KEYS)


def test_reference_documents_exactly_the_keys_the_parser_accepts() -> None:
    """Every key manager/config/loader.py accepts is in the reference, and the reference has no other."""
    documented = {key.path for key in KEYS}
    accepted = set(accepted_keys())
    missing = sorted(accepted - documented)
    extra = sorted(documented - accepted)
    assert not missing, (
        f"accepted by manager/config/loader.py but missing from manager/config/keys.py KEYS: {missing}"
    )
    assert not extra, f"documented in manager/config/keys.py but not accepted by the parser: {extra}"
    assert not schema_drift()


def test_every_section_parser_checks_registered_keys() -> None:
    """Each `_Map(value, keys)` in manager/config/loader.py uses a key tuple from SECTIONS (or None, for
    free-form names), so `accepted_keys()` cannot miss a section parsed with an inline tuple."""
    source = Path(config_module.__file__).read_text()
    registered = [id(keys) for keys in SECTIONS.values()]
    unregistered = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_Map"):
            continue
        arg = node.args[1] if len(node.args) > 1 else None
        if isinstance(arg, ast.Constant) and arg.value is None:
            continue
        value = getattr(config_module, arg.id, None) if isinstance(arg, ast.Name) else None
        if value is None or id(value) not in registered:
            unregistered.append(f"manager/config/loader.py:{node.lineno}: {ast.unparse(node)}")
    assert not unregistered, "key tuples missing from manager.config.loader.SECTIONS: " + "; ".join(
        unregistered
    )


@pytest.mark.parametrize("key", [k for k in KEYS if k.default is not None], ids=lambda k: k.path)
def test_writing_the_documented_default_changes_nothing(key: Key, tmp_path: Path) -> None:
    """A key set to its documented default loads to the same config as the key left out."""
    assert key.default is not None
    without = _load(tmp_path, "\n".join(_emit(MINIMAL)) + "\n")
    with_default = _load(tmp_path, _minimal_with(key, key.default))
    assert dataclasses.asdict(with_default) == dataclasses.asdict(without), (
        f"{key.path}: the reference says the default is {key.default}, but the parser's differs"
    )


def test_parser_defaults_are_the_spec_dataclass_defaults(tmp_path: Path) -> None:
    """Where a documented key maps onto a field of manager/config/spec.py, the value a minimal config
    loads to is that field's declared default (or "not set": None or empty)."""
    config = _load(tmp_path, "\n".join(_emit(MINIMAL)) + "\n")
    without_field = []
    for key in KEYS:
        if key.required or key.one_of or key.default_text or _is_section(key):
            continue
        owner = _owner(config, key)
        field = {f.name: f for f in dataclasses.fields(owner)}.get(key.name) if owner is not None else None  # type: ignore[arg-type]
        if field is None:
            without_field.append(key.path)
            continue
        value = getattr(owner, key.name)
        if key.default is None:
            assert value in (None, ()), f"{key.path}: documented as not set, but loads as {value!r}"
        else:
            declared = field.default_factory() if callable(field.default_factory) else field.default
            assert value == declared, f"{key.path}: loads as {value!r}, config/spec.py declares {declared!r}"
    # Only the round trip above checks these: the top-level logs only feeds the services' LogSpec,
    # and http.listen is split into host and port.
    assert without_field == ["logs.max_size", "logs.keep", "logs.tail_lines", "http.listen"]


def test_defaults_that_follow_other_keys(tmp_path: Path) -> None:
    """The defaults the reference spells in words: the database in state_dir, a service's logs
    from the top-level logs, no health check."""
    worded = {k.path for k in KEYS if k.default is None and k.default_text}
    assert worded == {
        "database",
        "services.<name>.health",
        "services.<name>.logs.max_size",
        "services.<name>.logs.keep",
        "services.<name>.logs.tail_lines",
    }, "a new default in words needs a check here"
    config = _load(
        tmp_path, "logs: {max_size: 1MiB, keep: 7, tail_lines: 9}\nservices: {web: {command: x}}\n"
    )
    assert config.database == f"sqlite:///{config.state_dir / 'svcbot.db'}"
    web = config.service("web")
    assert web is not None and web.health is None
    assert (web.logs.max_size, web.logs.keep, web.logs.tail_lines) == (1024 * 1024, 7, 9)


def test_docs_file_is_up_to_date() -> None:
    """docs/configuration.md is exactly what the reference renders to."""
    assert DOC.read_text(encoding="utf-8") == render(), f"docs/configuration.md is stale; run: {REGENERATE}"


def test_check_flag_reports_a_stale_file_with_a_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--check FILE` exits 0 for a current file, 1 with a diff and the regenerate command for a stale one."""
    fresh = tmp_path / "fresh.md"
    fresh.write_text(render())
    assert main(["--check", str(fresh)]) == 0
    stale = tmp_path / "stale.md"
    stale.write_text(render().replace("| `5s` |", "| `6s` |", 1))
    assert main(["--check", str(stale)]) == 1
    err = capsys.readouterr().err
    assert REGENERATE in err and "-| `services.<name>.health.interval` " in err and "+| `services" in err
    assert main(["--check", str(tmp_path / "missing.md")]) == 1


def test_module_prints_the_reference() -> None:
    """`python -m manager.config.reference` prints the rendered reference."""
    out = subprocess.run(
        [sys.executable, "-m", "manager.config.reference"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == render()


def test_every_plain_key_has_an_example() -> None:
    """Keys with a value of their own show an example; sections show theirs through their keys."""
    missing = [k.path for k in KEYS if k.example is None and not _is_section(k) and k.path != "services"]
    assert not missing, f"no example for {missing}"


@pytest.mark.parametrize("pick", sorted({k.path for k in KEYS if k.one_of}))
def test_the_examples_load(pick: str, tmp_path: Path) -> None:
    """A config made of every example (with each health check kind in turn) loads without errors."""
    config = _load(tmp_path, example_config(pick=[pick]))
    web = config.service("web")
    assert web is not None and web.health is not None and web.health.kind == pick.rsplit(".", 1)[1]
