"""Everything the bot keeps: its SQLite records.

The database and the account and audit records (`store`), the event inbox (`inbox`), and the
digest's runs, snapshots and posts (`digests`). Later: withdrawals and notices. Modules here may
import the domain types of `bot/` and each other; never `bot.feishu`, `handlers` or `cards`:
records hold data, they neither talk to Feishu nor render it.
"""
