"""`referral-bot doctor`: check a deployment, one line per check, each "ok" or what to fix.

The run and its order (`runner`), one line of the report and what the checks share (`report`),
and one module per kind of check: the settings and the database (`settings`), the credentials
and the bot (`credentials`), the scopes (`permissions`), the digest and notice chats (`chats`),
the admins (`admins`), and how Feishu reaches the bot, request URLs or long connection
(`transport`). Every probe is free of side effects (see `runner`).
"""

from bot.ops.doctor.report import Check, line
from bot.ops.doctor.runner import run_doctor

__all__ = ["Check", "line", "run_doctor"]
