"""Per-channel pacing for Slack deliveries: about one message per second per channel, and Retry-After.

Slack allows roughly one message per second per channel (chat.postMessage's special limit) and answers
excess with HTTP 429 and a Retry-After header. The outbox asks `delay(channel, now)` before a send, calls
`sent(channel, now)` after one, and `rate_limited(channel, retry_after, now)` on a 429; nothing goes to that
channel before now + retry_after. Channels are independent: a storm in one never slows another.

Pure (the clock is the `now` argument: seconds, any clock used consistently, monotonic is best) and bounded:
the pacer only remembers channels that must still wait, so a channel idle for longer than its spacing (or
Retry-After) is forgotten, which loses nothing, since it would be ready anyway.
"""

from __future__ import annotations

import math

__all__ = ["ChannelPacer"]


class ChannelPacer:
    """The earliest next send per channel; `rate` messages per second at most, Retry-After honoured."""

    def __init__(self, rate: float = 1.0) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a finite number > 0, not {rate!r}")
        self.interval = 1.0 / rate
        self._ready_at: dict[str, float] = {}  # only channels that must still wait (or just did)

    def delay(self, channel: str, now: float) -> float:
        """Seconds to wait before the next send to `channel`; 0.0 when it may go now."""
        return max(0.0, self._ready_at.get(channel, now) - now)

    def sent(self, channel: str, now: float) -> None:
        """A message went to `channel` at `now`: the next one waits `1 / rate`."""
        self._hold(channel, now + self.interval, now)

    def rate_limited(self, channel: str, retry_after: float, now: float) -> None:
        """Slack said 429 with Retry-After: nothing goes to `channel` before `now + retry_after`."""
        self._hold(channel, now + max(0.0, retry_after), now)

    def __len__(self) -> int:
        """How many channels are remembered (those still waiting, as of the last call)."""
        return len(self._ready_at)

    def _hold(self, channel: str, until: float, now: float) -> None:
        self._forget_idle(now)
        self._ready_at[channel] = max(until, self._ready_at.get(channel, until))

    def _forget_idle(self, now: float) -> None:
        """Drop channels that are ready anyway: remembering them changes no answer."""
        idle = [channel for channel, ready_at in self._ready_at.items() if ready_at <= now]
        for channel in idle:
            del self._ready_at[channel]
