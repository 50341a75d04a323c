"""Who may do what from Slack: roles from `access` in svcbot.yml, decided on Slack IDs only.

Names and display names can be changed by their owners and collide; user (U...) and user-group (S...) IDs
cannot, so every rule matches IDs. Everything is denied unless a rule grants it: the role each action
needs is in the verb registry (`manager.core.verbs`), an action chat does not offer needs admin rights,
a failed user-group lookup counts as "not a member", and `access.channels`, when set, refuses commands
anywhere else, even from admins.

The policy itself is pure (`AccessPolicy.decide` works on plain data); the one piece of I/O, asking Slack
who is in a user group, sits behind `GroupMembership`, which caches each group for a TTL so a burst of
commands costs one `usergroups.users.list` call per group, not one per command.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass

from manager.config.spec import AccessSpec
from manager.core.verbs import SVC_VERBS, Role, required_role

__all__ = ["AccessPolicy", "Decision", "GroupMembership", "verbs_for"]

log = logging.getLogger(__name__)

_GROUP_PREFIX = "S"
_A_ROLE = {Role.VIEWER: "a viewer", Role.OPERATOR: "an operator", Role.ADMIN: "an admin"}


@dataclass(frozen=True)
class Decision:
    """Whether one action is allowed, the caller's role, and a short reason fit to show the caller."""

    allowed: bool
    role: Role
    reason: str


class AccessPolicy:
    """The rules of one `AccessSpec`; pure, so it is rebuilt on reload rather than mutated."""

    def __init__(self, spec: AccessSpec) -> None:
        self.spec = spec
        self._admins = frozenset(spec.admins)
        self._operators = frozenset(spec.operators)
        self._viewers = frozenset(spec.viewers)

    def groups_to_check(self) -> frozenset[str]:
        """The user-group IDs named by any role: the groups whose members must be looked up."""
        ids = self._admins | self._operators | self._viewers
        return frozenset(i for i in ids if i.startswith(_GROUP_PREFIX))

    def role_of(self, user_id: str, member_of: Collection[str]) -> Role:
        """The highest role granted to `user_id` directly or through a group in `member_of`."""
        if not user_id:
            return Role.NONE
        ids = {user_id, *member_of}
        for role, granted in (
            (Role.ADMIN, self._admins),
            (Role.OPERATOR, self._operators),
            (Role.VIEWER, self._viewers),
        ):
            if not granted.isdisjoint(ids):
                return role
        return Role.NONE if self._viewers else Role.VIEWER

    def decide(self, user_id: str, member_of: Collection[str], channel_id: str, action: str) -> Decision:
        """May `user_id` run `action` in `channel_id`? The reason says why not, in a few words."""
        role = self.role_of(user_id, member_of)
        if self.spec.channels and channel_id not in self.spec.channels:
            return Decision(False, role, self._channels_reason())
        needed = required_role(action)
        if role >= needed:
            return Decision(True, role, f"{action} allowed for {role.label}")
        return Decision(False, role, f"{action} needs {needed.label} rights; {_you_are(role)}")

    def allowed_verbs(self, role: Role) -> list[str]:
        """The `/svc` verbs `role` may run, in help order."""
        return verbs_for(role, SVC_VERBS)

    def _channels_reason(self) -> str:
        return "svcbot takes commands in " + ", ".join(f"<#{c}>" for c in self.spec.channels)


def verbs_for(role: Role, verbs: Iterable[str]) -> list[str]:
    """The members of `verbs` that `role` may run, in their given order."""
    return [verb for verb in verbs if role >= required_role(verb)]


def _you_are(role: Role) -> str:
    if role is Role.NONE:
        return "you are not on svcbot's access list"
    return f"you are {_A_ROLE[role]}"


Fetch = Callable[[str], Awaitable[list[str]]]


@dataclass(frozen=True)
class _Cached:
    members: frozenset[str]
    fetched_at: float


class GroupMembership:
    """Which of some user groups a user belongs to, from a TTL cache over `fetch(group_id)`.

    Each group is fetched at most once per `ttl` seconds; concurrent callers share one in-flight fetch.
    A failed fetch never reaches the caller: the last known members are used if there are any (with a
    warning), otherwise the group counts as empty, which denies rather than grants. Failures are not
    cached, so the next call tries again. `fetches` counts calls to `fetch`.
    """

    def __init__(self, fetch: Fetch, ttl: float = 300.0, now: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self.ttl = ttl
        self._now = now
        self._cache: dict[str, _Cached] = {}
        self._inflight: dict[str, asyncio.Task[frozenset[str]]] = {}
        self.fetches = 0

    async def member_of(self, user_id: str, groups: Collection[str]) -> frozenset[str]:
        """The groups among `groups` that have `user_id` as a member."""
        unique = sorted(set(groups))
        members = await asyncio.gather(*(self.members(group) for group in unique))
        return frozenset(g for g, m in zip(unique, members, strict=True) if user_id in m)

    async def members(self, group: str) -> frozenset[str]:
        """The members of `group`: cached while fresh, else from a (shared) fetch."""
        cached = self._cache.get(group)
        if cached is not None and self._now() - cached.fetched_at < self.ttl:
            return cached.members
        task = self._inflight.get(group)
        if task is None:
            task = asyncio.ensure_future(self._refresh(group))
            self._inflight[group] = task
        # shield: a caller that is cancelled (say, a timed-out request) must not cancel the others' fetch
        return await asyncio.shield(task)

    async def _refresh(self, group: str) -> frozenset[str]:
        self.fetches += 1
        try:
            members = frozenset(await self._fetch(group))
        except Exception as exc:
            return self._fallback(group, exc)
        finally:
            self._inflight.pop(group, None)
        self._cache[group] = _Cached(members, self._now())
        return members

    def _fallback(self, group: str, exc: Exception) -> frozenset[str]:
        cached = self._cache.get(group)
        if cached is not None:
            log.warning("user group %s: lookup failed (%r); using its last known members", group, exc)
            return cached.members
        log.error("user group %s: lookup failed (%r); treating it as having no members", group, exc)
        return frozenset()
