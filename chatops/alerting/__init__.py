"""Alert policy for Slack: what to post, update, reply or hold back, and when; pure, clock injected.

`policy` decides (Alertmanager-style grouping, dedup, reminders, silences, acknowledgement, recovery);
`pacing` spaces deliveries per channel (about one message per second, honouring Retry-After). Neither
does I/O: the caller feeds signals and the clock in, and delivers the returned actions through its outbox.
"""

from __future__ import annotations

from chatops.alerting.pacing import ChannelPacer
from chatops.alerting.policy import (
    FAMILIES,
    KINDS,
    SEVERITIES,
    Action,
    AlertPolicy,
    Post,
    Reply,
    Signal,
    Suppressed,
    Update,
    family_of,
)

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
