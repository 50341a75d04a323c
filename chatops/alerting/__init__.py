"""Alert policy for Slack: what to post, update, reply or hold back, and when; pure, clock injected.

`policy` decides (Alertmanager-style grouping, dedup, reminders, silences, acknowledgement, recovery) in
the vocabulary of `model` (signals in, actions out), with the words of `wording`; `pacing` spaces
deliveries per channel (about one message per second, honouring Retry-After). None of them does I/O:
`service` feeds them signals (`signals` makes them from events and Alertmanager's alerts) and the
clock, and delivers the returned actions through the alert outbox; `buttons` handles Ack, Silence,
Restart and Logs.
"""

from __future__ import annotations

from chatops.alerting.model import (
    FAMILIES,
    KINDS,
    SEVERITIES,
    Action,
    Post,
    Reply,
    Signal,
    Suppressed,
    Update,
    family_of,
)
from chatops.alerting.pacing import ChannelPacer
from chatops.alerting.policy import AlertPolicy

__all__ = [
    "FAMILIES",
    "KINDS",
    "SEVERITIES",
    "Action",
    "AlertPolicy",
    "ChannelPacer",
    "Post",
    "Reply",
    "Signal",
    "Suppressed",
    "Update",
    "family_of",
]
