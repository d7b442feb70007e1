"""Everything the bot keeps: its SQLite records.

The database, its one schema, and the account, contact and audit records (`store`); the event
inbox (`inbox`) and which processes sharing the database are alive (`liveness`); withdrawal
requests (`withdrawals`); balance changes waiting to be told (`notices`); the leases every
scheduled report takes to run and post once (`schedule_leases`), and the digest's and the
reconciliation report's own records (`digests`, `reconciliations`); counts for `/metrics`
(`tallies`); and rewriting a person out of every record (`erasure`). Modules here may import the
domain types of `bot/` and each other; never `bot.feishu`, `handlers` or `cards`: records hold
data, they neither talk to Feishu nor render it.
"""
