"""Forwarding occurrences to remote services: Sentry (SENTRY_DSN) and a generic JSON webhook.

svcbot's own store stays the source of truth; a remote service gets a copy of each occurrence
through a transactional outbox:

- The Store tags every occurrence record with the configured targets (`record["forward"]`), and
  ingest inserts one `forward_delivery` row per target in the occurrence's own transaction. A record
  spooled during a database outage keeps its tag, so nothing accepted is lost, and a replay does
  not duplicate it (the row's `uid` is `target:occurrence uid`, unique).
- `forwarder.Forwarder`, a daemon thread like the store's writer, claims the due rows of each target
  (`manager.store.forward_outbox`, with the rest of persistence) in small batches, oldest occurrence
  first, and delivers them one by one. A delivery the remote end
  may accept later (connection refused, timeout, 408, 429, 5xx) is retried with capped exponential
  backoff and jitter, holding back the rows behind it, so a target receives occurrences in order.
  Any other 3xx/4xx is final: the row is `failed` with the answer kept in `error`.
- Delivery is at least once: a svcbot killed between the remote's answer and the update sends the
  occurrence again. Both targets deduplicate: Sentry by the event id (derived from the occurrence
  uid), the webhook's receiver by the `Idempotency-Key` header (the occurrence uid).
- What is sent is built from the stored (already redacted) rows only, and every string goes
  through `manager.core.redact` once more on the way out. The service's environment variables stay in
  svcbot's database: neither target receives them.

This package imports sentry-sdk (for Sentry): import it only where forwarding is on.
"""

from __future__ import annotations

__all__: list[str] = []
