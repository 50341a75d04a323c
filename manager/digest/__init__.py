"""The weekly digest: what happened in a period, built from the database in a fixed number of queries.

`model` holds the content as plain frozen data, `uptime` the pure availability arithmetic, `build` the
queries, `text` the plain-text rendering of `svcbot digest --print`, `runs` the exactly-once claim of a
period in the `digest_run` table, and `period` which window a run covers. Posting to Slack (Block Kit,
buttons, the APScheduler job) lives in chatops; nothing here imports Slack.
"""
