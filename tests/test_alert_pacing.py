"""Per-channel pacing of Slack deliveries: spacing, independence, Retry-After, bounded memory."""

from __future__ import annotations

import pytest

from chatops.alerting import ChannelPacer


def drain(pacer: ChannelPacer, channels: list[str], start: float = 0.0) -> list[tuple[float, str]]:
    """Send one message per entry, in order, each as soon as the pacer allows; the send times."""
    now, sends = start, []
    for channel in channels:
        now += pacer.delay(channel, now)
        pacer.sent(channel, now)
        sends.append((now, channel))
    return sends


def test_one_message_per_second_per_channel() -> None:
    """Back-to-back sends to one channel are spaced exactly one second apart."""
    pacer = ChannelPacer()
    assert pacer.delay("C1", 0.0) == 0.0
    assert drain(pacer, ["C1"] * 4) == [(0.0, "C1"), (1.0, "C1"), (2.0, "C1"), (3.0, "C1")]
    assert pacer.delay("C1", 3.25) == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("rate", "gap"),
    [(1.0, 1.0), (2.0, 0.5), (0.5, 2.0)],
)
def test_rate_sets_the_spacing(rate: float, gap: float) -> None:
    """The spacing is 1 / rate."""
    pacer = ChannelPacer(rate)
    pacer.sent("C1", 10.0)
    assert pacer.delay("C1", 10.0) == gap
    assert pacer.delay("C1", 10.0 + gap) == 0.0


def test_channels_are_independent() -> None:
    """A busy channel never delays another."""
    pacer = ChannelPacer()
    for _ in range(5):
        pacer.sent("C1", 0.0)
    assert pacer.delay("C1", 0.0) == 1.0
    assert pacer.delay("C2", 0.0) == 0.0
    pacer.rate_limited("C1", 30.0, 0.0)
    assert pacer.delay("C2", 0.0) == 0.0


def test_retry_after_is_respected() -> None:
    """After a 429, nothing goes to that channel before now + Retry-After; a later send keeps the gap."""
    pacer = ChannelPacer()
    pacer.sent("C1", 0.0)
    pacer.rate_limited("C1", 30.0, 0.5)
    assert pacer.delay("C1", 0.5) == 30.0
    assert pacer.delay("C1", 30.0) == pytest.approx(0.5)
    assert pacer.delay("C1", 30.5) == 0.0
    pacer.sent("C1", 30.5)
    assert pacer.delay("C1", 30.5) == 1.0


@pytest.mark.parametrize(
    ("first", "second", "expected_delay"),
    [
        (30.0, 5.0, 30.0),  # a shorter Retry-After never shortens a longer one
        (5.0, 30.0, 30.0),
        (-1.0, 0.0, 1.0),  # a nonsense negative Retry-After counts as 0; the send spacing still holds
    ],
)
def test_the_longest_hold_wins(first: float, second: float, expected_delay: float) -> None:
    """Holds only ever extend: the latest ready time wins."""
    pacer = ChannelPacer()
    pacer.sent("C1", 0.0)
    pacer.rate_limited("C1", first, 0.0)
    pacer.rate_limited("C1", second, 0.0)
    assert pacer.delay("C1", 0.0) == expected_delay


def test_idle_channels_are_forgotten() -> None:
    """Channels that are ready anyway are dropped, so memory follows the busy channels only."""
    pacer = ChannelPacer()
    for i in range(1000):
        pacer.sent(f"C{i}", 0.0)
    assert len(pacer) == 1000
    pacer.sent("C-busy", 5.0)
    assert len(pacer) == 1
    assert pacer.delay("C0", 5.0) == 0.0
    pacer.rate_limited("C-held", 60.0, 5.0)
    pacer.sent("C-other", 10.0)
    assert len(pacer) == 2  # C-held is still waiting, C-busy is not


@pytest.mark.parametrize("rate", [0.0, -1.0, float("inf"), float("nan")])
def test_rate_must_be_positive_and_finite(rate: float) -> None:
    """A pacer that could never send, or would never wait, is a configuration error."""
    with pytest.raises(ValueError, match="rate"):
        ChannelPacer(rate)
