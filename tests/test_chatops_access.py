"""Access control: roles on Slack IDs, deny by default, channel limits, and the user-group cache."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from chatops.commands.access import AccessPolicy, Decision, GroupMembership
from manager.config.spec import AccessSpec
from manager.core.verbs import SVC_VERBS, Role, chat_roles, required_role

SPEC = AccessSpec(
    admins=("U0ADMIN", "S0ADMINS"),
    operators=("U0OPS", "S0ONCALL"),
    viewers=("U0VIEW", "S0DEVS"),
    channels=(),
)
OPEN = AccessSpec(admins=("U0ADMIN",), operators=("U0OPS", "S0ONCALL"))  # no viewers listed


def test_roles_are_ordered() -> None:
    """NONE < VIEWER < OPERATOR < ADMIN, so `role >= needed` is the whole check."""
    assert Role.NONE < Role.VIEWER < Role.OPERATOR < Role.ADMIN


@pytest.mark.parametrize(
    ("action", "role"),
    [
        ("help", Role.VIEWER),
        ("status", Role.VIEWER),
        ("logs", Role.VIEWER),
        ("start", Role.OPERATOR),
        ("stop", Role.OPERATOR),
        ("restart", Role.OPERATOR),
        ("silence", Role.OPERATOR),
        ("ack", Role.OPERATOR),
        ("resolve", Role.OPERATOR),
        ("ignore", Role.OPERATOR),
        ("assign", Role.OPERATOR),
        ("reload", Role.ADMIN),
        ("anything-new", Role.ADMIN),
        ("Restart", Role.ADMIN),
        ("", Role.ADMIN),
    ],
)
def test_role_table(action: str, role: Role) -> None:
    """Each action's required role; anything not in the table needs admin (deny by default)."""
    assert required_role(action) is role


def test_role_table_is_read_only() -> None:
    """Nobody can grant an action at run time by editing the table."""
    with pytest.raises(TypeError):
        chat_roles()["reload"] = Role.VIEWER  # type: ignore[index]


def test_groups_to_check_are_the_group_ids() -> None:
    """Only S... IDs from admins, operators and viewers need a membership lookup."""
    assert AccessPolicy(SPEC).groups_to_check() == {"S0ADMINS", "S0ONCALL", "S0DEVS"}
    assert AccessPolicy(AccessSpec(admins=("U1",))).groups_to_check() == frozenset()


@pytest.mark.parametrize(
    ("user", "groups", "role"),
    [
        ("U0ADMIN", (), Role.ADMIN),
        ("U0OPS", (), Role.OPERATOR),
        ("U0VIEW", (), Role.VIEWER),
        ("U0OTHER", (), Role.NONE),
        ("U0OTHER", ("S0ADMINS",), Role.ADMIN),
        ("U0OTHER", ("S0ONCALL",), Role.OPERATOR),
        ("U0OTHER", ("S0DEVS",), Role.VIEWER),
        ("U0OTHER", ("S0UNLISTED",), Role.NONE),
        ("U0VIEW", ("S0ONCALL", "S0DEVS"), Role.OPERATOR),  # the highest grant wins
        ("U0OPS", ("S0ADMINS",), Role.ADMIN),
        ("", (), Role.NONE),
    ],
)
def test_role_of_with_listed_viewers(user: str, groups: tuple[str, ...], role: Role) -> None:
    """With viewers listed, a role comes from the user ID or a group; everyone else has none."""
    assert AccessPolicy(SPEC).role_of(user, groups) is role


@pytest.mark.parametrize(
    ("user", "groups", "role"),
    [
        ("U0ADMIN", (), Role.ADMIN),
        ("U0OPS", (), Role.OPERATOR),
        ("U0OTHER", ("S0ONCALL",), Role.OPERATOR),
        ("U0OTHER", (), Role.VIEWER),
        ("U0OTHER", ("S0UNLISTED",), Role.VIEWER),
        ("", (), Role.NONE),
    ],
)
def test_role_of_with_no_viewers_listed(user: str, groups: tuple[str, ...], role: Role) -> None:
    """With no viewers listed, everyone without a higher grant is a viewer (an empty ID still is nobody)."""
    assert AccessPolicy(OPEN).role_of(user, groups) is role


def test_ids_match_exactly() -> None:
    """Rules match IDs exactly: no case folding, no prefixes, no names."""
    policy = AccessPolicy(SPEC)
    assert policy.role_of("u0admin", ()) is Role.NONE
    assert policy.role_of("U0ADMIN2", ()) is Role.NONE
    assert policy.role_of("U0OTHER", ("s0admins",)) is Role.NONE


@pytest.mark.parametrize(
    ("user", "groups", "action", "decision"),
    [
        ("U0OPS", (), "restart", Decision(True, Role.OPERATOR, "restart allowed for operator")),
        ("U0ADMIN", (), "reload", Decision(True, Role.ADMIN, "reload allowed for admin")),
        ("U0VIEW", (), "status", Decision(True, Role.VIEWER, "status allowed for viewer")),
        (
            "U0VIEW",
            (),
            "restart",
            Decision(False, Role.VIEWER, "restart needs operator rights; you are a viewer"),
        ),
        (
            "U0OPS",
            (),
            "reload",
            Decision(False, Role.OPERATOR, "reload needs admin rights; you are an operator"),
        ),
        (
            "U0OTHER",
            (),
            "status",
            Decision(False, Role.NONE, "status needs viewer rights; you are not on svcbot's access list"),
        ),
        ("U0OTHER", ("S0ONCALL",), "silence", Decision(True, Role.OPERATOR, "silence allowed for operator")),
    ],
)
def test_decide_reasons(user: str, groups: tuple[str, ...], action: str, decision: Decision) -> None:
    """decide() allows by role and explains a refusal in one short, user-facing sentence."""
    assert AccessPolicy(SPEC).decide(user, groups, "C0ANY", action) == decision


@pytest.mark.parametrize("user", ["U0ADMIN", "U0OPS", "U0VIEW"])
def test_channel_restriction_refuses_everyone_elsewhere(user: str) -> None:
    """With access.channels set, commands elsewhere are refused, even from admins, naming the channels."""
    spec = dataclasses.replace(SPEC, channels=("C0OPS", "C0ALERTS"))
    decision = AccessPolicy(spec).decide(user, (), "C0RANDOM", "status")
    assert not decision.allowed
    assert decision.reason == "svcbot takes commands in <#C0OPS>, <#C0ALERTS>"
    assert decision.role is AccessPolicy(spec).role_of(user, ())


def test_channel_restriction_allows_listed_channels() -> None:
    """In a listed channel the usual role rules apply."""
    spec = AccessSpec(operators=("U0OPS",), channels=("C0OPS", "C0ALERTS"))
    policy = AccessPolicy(spec)
    assert policy.decide("U0OPS", (), "C0ALERTS", "restart").allowed
    assert not policy.decide("U0OTHER", (), "C0OPS", "restart").allowed
    assert policy.decide("U0OTHER", (), "C0OPS", "status").allowed  # no viewers listed: everyone views


@pytest.mark.parametrize(
    ("role", "verbs"),
    [
        (Role.NONE, []),
        (Role.VIEWER, ["help", "status", "logs"]),
        (Role.OPERATOR, ["help", "status", "start", "stop", "restart", "logs"]),
        (Role.ADMIN, ["help", "status", "start", "stop", "restart", "logs"]),
    ],
)
def test_allowed_verbs_for_help(role: Role, verbs: list[str]) -> None:
    """help lists only the `/svc` verbs the caller's role may run, in contract order."""
    assert AccessPolicy(SPEC).allowed_verbs(role) == verbs


def test_slash_verbs_are_the_contract() -> None:
    """The `/svc` verbs are those of docs/design.md, in its order."""
    assert tuple(SVC_VERBS) == ("help", "status", "start", "stop", "restart", "logs")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class FakeDirectory:
    """Slack's usergroups.users.list as a dict; can fail, and can hold a fetch until released."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.groups = groups
        self.calls: list[str] = []
        self.fail = False
        self.gate: asyncio.Event | None = None

    async def fetch(self, group: str) -> list[str]:
        self.calls.append(group)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("slack is down")
        return list(self.groups.get(group, []))


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory({"S0ONCALL": ["U1", "U2"], "S0DEVS": ["U2", "U3"]})


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_member_of_returns_the_groups_containing_the_user(directory: FakeDirectory) -> None:
    """member_of is the subset of the asked groups that list the user."""
    groups = GroupMembership(directory.fetch)
    assert await groups.member_of("U2", ["S0ONCALL", "S0DEVS"]) == {"S0ONCALL", "S0DEVS"}
    assert await groups.member_of("U1", ["S0ONCALL", "S0DEVS"]) == {"S0ONCALL"}
    assert await groups.member_of("U9", ["S0ONCALL", "S0DEVS"]) == frozenset()
    assert await groups.member_of("U1", []) == frozenset()


async def test_one_fetch_per_group_per_ttl(directory: FakeDirectory, clock: Clock) -> None:
    """Within the TTL every call is served from the cache: one fetch per group."""
    groups = GroupMembership(directory.fetch, ttl=300, now=clock)
    for user in ("U1", "U2", "U3", "U1"):
        await groups.member_of(user, ["S0ONCALL", "S0DEVS", "S0ONCALL"])
        clock.t += 10
    assert groups.fetches == 2
    assert sorted(directory.calls) == ["S0DEVS", "S0ONCALL"]


async def test_refetch_after_ttl(directory: FakeDirectory, clock: Clock) -> None:
    """Once the TTL has passed, the group is fetched again and changes are seen."""
    groups = GroupMembership(directory.fetch, ttl=300, now=clock)
    assert await groups.member_of("U3", ["S0ONCALL"]) == frozenset()
    directory.groups["S0ONCALL"].append("U3")
    clock.t += 299.9
    assert await groups.member_of("U3", ["S0ONCALL"]) == frozenset()
    clock.t += 0.1
    assert await groups.member_of("U3", ["S0ONCALL"]) == {"S0ONCALL"}
    assert groups.fetches == 2


async def test_concurrent_callers_share_one_fetch(directory: FakeDirectory) -> None:
    """Callers arriving while a group's fetch is in flight wait for it instead of fetching again."""
    directory.gate = asyncio.Event()
    groups = GroupMembership(directory.fetch)
    callers = [asyncio.create_task(groups.member_of(u, ["S0ONCALL"])) for u in ("U1", "U2", "U3")]
    await asyncio.sleep(0)
    directory.gate.set()
    results = await asyncio.gather(*callers)
    assert results == [{"S0ONCALL"}, {"S0ONCALL"}, frozenset()]
    assert groups.fetches == 1


async def test_cancelled_caller_does_not_cancel_the_shared_fetch(directory: FakeDirectory) -> None:
    """One caller giving up (say, a timeout) leaves the fetch running for the others."""
    directory.gate = asyncio.Event()
    groups = GroupMembership(directory.fetch)
    quitter = asyncio.create_task(groups.member_of("U1", ["S0ONCALL"]))
    stayer = asyncio.create_task(groups.member_of("U2", ["S0ONCALL"]))
    await asyncio.sleep(0)
    quitter.cancel()
    directory.gate.set()
    assert await stayer == {"S0ONCALL"}
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert groups.fetches == 1


async def test_failure_with_stale_cache_uses_it(
    directory: FakeDirectory, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed refresh falls back to the last known members, with a warning, and retries next time."""
    groups = GroupMembership(directory.fetch, ttl=300, now=clock)
    assert await groups.member_of("U1", ["S0ONCALL"]) == {"S0ONCALL"}
    clock.t += 301
    directory.fail = True
    with caplog.at_level(logging.WARNING, logger="chatops.commands.access"):
        assert await groups.member_of("U1", ["S0ONCALL"]) == {"S0ONCALL"}
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "S0ONCALL" in caplog.records[0].getMessage()
    directory.fail = False
    assert await groups.member_of("U1", ["S0ONCALL"]) == {"S0ONCALL"}
    assert groups.fetches == 3


async def test_failure_without_cache_denies(
    directory: FakeDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed first fetch counts the group as empty (deny by default), logs an error, never raises."""
    directory.fail = True
    groups = GroupMembership(directory.fetch)
    with caplog.at_level(logging.WARNING, logger="chatops.commands.access"):
        assert await groups.member_of("U1", ["S0ONCALL", "S0DEVS"]) == frozenset()
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.ERROR]
    directory.fail = False
    assert await groups.member_of("U1", ["S0ONCALL"]) == {"S0ONCALL"}  # failures are not cached
    assert groups.fetches == 3


async def test_membership_feeds_the_policy(directory: FakeDirectory) -> None:
    """End to end: a user in an operator group may restart; one only in a viewer group may not."""
    policy = AccessPolicy(SPEC)
    groups = GroupMembership(directory.fetch)
    member_of = await groups.member_of("U1", policy.groups_to_check())
    assert policy.decide("U1", member_of, "C0OPS", "restart").allowed
    member_of = await groups.member_of("U3", policy.groups_to_check())
    assert policy.decide("U3", member_of, "C0OPS", "restart") == Decision(
        False, Role.VIEWER, "restart needs operator rights; you are a viewer"
    )
