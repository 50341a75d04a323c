"""manifest.yml is an app manifest Slack accepts, and asks for exactly the scopes svcbot needs.

Slack checks a manifest only when someone pastes it into api.slack.com, long after the change that broke
it; validating against Slack's own JSON Schema (slackapi/manifest-schema, copied into
tests/data/slack-manifest with its licence and source, see SOURCE.md there) catches typos and unknown keys
in CI instead. The scope set is pinned exactly, so widening the bot
token's reach is always a visible, reviewed change to this test.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator  # type: ignore[import-untyped]  # no types-jsonschema in dev deps

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"
SCHEMA_DIR = Path(__file__).resolve().parent / "data" / "slack-manifest"
SCHEMA = SCHEMA_DIR / "slack-manifest.schema.json"

Manifest = dict[str, Any]
BOT_SCOPES = {"commands", "chat:write", "chat:write.public", "usergroups:read"}


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    data = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(data, dict)
    return data


def errors(validator: Draft7Validator, instance: object) -> list[str]:
    """Every schema error as "path: message", so a failing assert shows all of them at once."""
    found = validator.iter_errors(instance)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in found]


def test_the_schema_judges_slacks_own_fixtures(validator: Draft7Validator) -> None:
    """Upstream's valid manifest passes and its invalid one fails on exactly its unknown key."""
    valid = json.loads((SCHEMA_DIR / "slack-manifest.v1.valid.example.json").read_text())
    invalid = json.loads((SCHEMA_DIR / "slack-manifest.v1.invalid.example.json").read_text())
    assert errors(validator, valid) == []
    [error] = errors(validator, invalid)
    assert "'bad_param' was unexpected" in error


def test_manifest_validates_against_slacks_schema(validator: Draft7Validator, manifest: Manifest) -> None:
    """manifest.yml passes Slack's v1 manifest schema with no errors."""
    assert manifest["_metadata"]["major_version"] == 1
    assert errors(validator, manifest) == []


def test_schema_is_strict_about_unknown_keys(validator: Draft7Validator, manifest: Manifest) -> None:
    """The validator rejects an unknown key at the top and nested, so a typo cannot pass unnoticed."""
    top = {**manifest, "setting": {"socket_mode_enabled": True}}
    nested = copy.deepcopy(manifest)
    nested["settings"]["interactivity"]["enabled"] = True
    assert any("'setting' was unexpected" in e for e in errors(validator, top))
    assert any("'enabled' was unexpected" in e for e in errors(validator, nested))


def test_slash_commands_are_svc_and_feedback(manifest: Manifest) -> None:
    """Both slash commands of the interface contract are declared, with their usage hints and raw text."""
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/svc", "/feedback"}
    assert commands["/svc"]["usage_hint"] == "status | restart web | logs web 50 | help"
    assert commands["/feedback"]["usage_hint"] == "[what you want to tell us]"
    assert all(c["should_escape"] is False and c["url"].startswith("https://") for c in commands.values())


def test_interactivity_socket_mode_and_bot_user(manifest: Manifest) -> None:
    """Buttons and modals work, Socket Mode is on, and the bot user is svcbot, always online."""
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert settings["org_deploy_enabled"] is False and settings["token_rotation_enabled"] is False
    assert manifest["features"]["bot_user"] == {"display_name": "svcbot", "always_online": True}
    # The schema puts this pattern under a non-standard keyword that validators ignore, so check it here.
    color = manifest["display_information"]["background_color"]
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", color)


def test_bot_scopes_are_exactly_what_svcbot_uses(manifest: Manifest) -> None:
    """The bot token asks for these scopes and no others, and no user token is requested at all."""
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}
    assert len(scopes["bot"]) == len(set(scopes["bot"]))
    assert set(scopes["bot"]) == BOT_SCOPES
