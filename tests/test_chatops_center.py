"""The command center: access, confirmation, audit and replies, with fakes for its boundaries."""

from __future__ import annotations

from typing import Any

import pytest

from chatops.commands.access import AccessPolicy
from chatops.commands.center import Caller, CommandCenter
from chatops.commands.confirm import Signer
from manager.config.spec import AccessSpec
from manager.core.commands import Command, Logs, Restart, Result, Status

STATUS = [
    {
        "name": "web",
        "state": "running",
        "pid": 42,
        "uptime": 10.0,
        "restarts": 0,
        "health": "healthy",
        "cpu_percent": 1.0,
        "rss": 1 << 20,
        "health_output": None,
        "waiting_for": [],
        "last_exit": None,
        "adopted": False,
    }
]


class Boundaries:
    """Fakes for what the center talks to: the manager, the audit table, the feedback store."""

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.audits: list[dict[str, Any]] = []
        self.feedback: list[dict[str, Any]] = []

    async def execute(self, command: Command) -> Result:
        self.commands.append(command)
        if isinstance(command, Status):
            return Result(True, data=STATUS)
        if isinstance(command, Logs):
            return Result(True, data={"lines": ["2026-01-01T00:00:00.000Z out <!channel> hello"]})
        return Result(True, f"{getattr(command, 'name', '')} {command.verb}ed: running (pid 43)")

    async def audit(self, record: dict[str, Any]) -> None:
        self.audits.append(record)

    async def store_feedback(self, record: dict[str, Any]) -> dict[str, Any]:
        self.feedback.append(record)
        return {"id": 7, "issue_id": 3, "category": record["category"], "spooled": False, "rules": []}


@pytest.fixture
def world() -> tuple[CommandCenter, Boundaries]:
    fakes = Boundaries()
    access = AccessSpec(admins=("U0ADMIN",), operators=("U0OPS", "S0ONCALL"), channels=("C0OPS",))
    center = CommandCenter(
        services=lambda: ("web", "worker"),
        policy=lambda: AccessPolicy(access),
        execute=fakes.execute,
        audit=fakes.audit,
        feedback=fakes.store_feedback,
        signer=Signer(b"s" * 32),
    )
    return center, fakes


def slack(user: str, channel: str = "C0OPS", groups: frozenset[str] = frozenset()) -> Caller:
    return Caller(user_id=user, channel_id=channel, source="slack", member_of=groups)


async def test_a_viewer_sees_status_but_cannot_restart(world) -> None:
    """Viewers get status; a restart is denied privately, never run, and the denial is audited."""
    center, fakes = world
    status = await center.svc(slack("U0VIEWER"), "status")
    assert status.ok and not status.public and status.blocks
    denied = await center.svc(slack("U0VIEWER"), "restart web")
    assert not denied.ok and "needs operator rights" in denied.text
    assert [type(c) for c in fakes.commands] == [Status]
    assert [(a["command"], a["ok"], a["actor"]) for a in fakes.audits] == [("restart", False, "U0VIEWER")]


async def test_restart_asks_then_runs_for_the_requester_only(world) -> None:
    """An operator's restart waits for their own confirmation, then runs once and is audited."""
    center, fakes = world
    asked = await center.svc(slack("U0OPS"), "restart “web”")
    assert asked.confirm is not None and asked.confirm_value and not fakes.commands
    other = await center.confirmed(slack("U0ADMIN"), asked.confirm_value)
    assert not other.ok and "only <@U0OPS> can confirm" in other.text
    done = await center.confirmed(slack("U0OPS"), asked.confirm_value)
    assert done.ok and done.public
    assert fakes.commands == [Restart("web")]
    assert [(a["command"], a["ok"], a["arguments"]) for a in fakes.audits] == [
        ("restart", True, {"service": "web"})
    ]


async def test_group_membership_grants_operator_rights(world) -> None:
    """A member of an operator user group may restart."""
    center, _ = world
    reply = await center.svc(slack("U0SOMEONE", groups=frozenset({"S0ONCALL"})), "restart web")
    assert reply.confirm is not None


async def test_commands_outside_the_allowed_channels_are_refused(world) -> None:
    """access.channels limits where /svc works, even for admins."""
    center, fakes = world
    reply = await center.svc(slack("U0ADMIN", channel="C0RANDOM"), "status")
    assert not reply.ok and "<#C0OPS>" in reply.text and not fakes.commands


async def test_help_lists_only_what_the_caller_may_run(world) -> None:
    """A viewer's help has status and logs, not restart; an admin's has everything."""
    center, _ = world
    viewer = await center.svc(slack("U0VIEWER"), "help")
    admin = await center.svc(slack("U0ADMIN"), "")
    assert "status" in viewer.text and "restart" not in viewer.text
    assert "restart" in admin.text


async def test_typos_get_a_suggestion_and_run_nothing(world) -> None:
    """An unknown verb or service is answered with did-you-mean and nothing runs."""
    center, fakes = world
    verb = await center.svc(slack("U0ADMIN"), "restrat web")
    service = await center.svc(slack("U0ADMIN"), "logs wbe")
    assert "did you mean 'restart'" in verb.text and "did you mean 'web'" in service.text
    assert not fakes.commands and not fakes.audits


async def test_log_lines_are_escaped_for_slack(world) -> None:
    """A log line containing <!channel> reaches Slack escaped, so it pings nobody."""
    center, _ = world
    reply = await center.svc(slack("U0VIEWER"), "logs web 5")
    shown = str(reply.blocks)
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown


async def test_feedback_is_categorized_and_stored(world) -> None:
    """/feedback text becomes a categorized record from the caller, and the reply gives its ID."""
    center, fakes = world
    reply = await center.feedback(slack("U0VIEWER"), "Please add a dark mode to the dashboard")
    assert [(f["reporter"], f["source"], f["category"]) for f in fakes.feedback] == [
        ("U0VIEWER", "slack", "feature")
    ]
    assert "#7" in reply.text
    empty = await center.feedback(slack("U0VIEWER"), "   ")
    assert not empty.ok and len(fakes.feedback) == 1
