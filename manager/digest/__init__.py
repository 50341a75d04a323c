"""The weekly digest: what happened in a period, as plain data and text.

`model` holds the content as plain frozen data, `uptime` the pure availability arithmetic, `period`
which window a run covers and `text` the plain-text rendering of `svcbot digest --print`. The queries
live with the rest of persistence (the only importer of sqlmodel): `manager.store.digest_data` builds a
`Digest` in a fixed number of statements and `manager.store.digest_runs` claims a period exactly once.
Posting to Slack (Block Kit, buttons, the APScheduler job) lives in chatops; nothing here imports Slack.
"""
