"""Who may do what: the one rule every command, button and help card asks.

HR admins (the `REFERRAL_BOT_ADMINS` setting) may do everything; anyone else only what a
subcommand of the grammar marks `everyone`. A refusal is logged naming the setting, for whoever
runs the bot; the person refused is told to ask their HR team, never a setting's name.
"""

from __future__ import annotations

import logging

from bot.config import Settings
from handlers import parser

log = logging.getLogger(__name__)


def open_to_all(action: str) -> bool:
    """Whether anyone may run the subcommand named `action` (the audit's name of a command)."""
    sub = parser.SUBCOMMANDS.get(action)
    return sub is not None and sub.everyone


def allowed(settings: Settings, open_id: str | None, action: str, *, via: str = "command") -> bool:
    """Whether this person may run `action` (a press is `via="button"`: admins only)."""
    if (via == "command" and open_to_all(action)) or settings.is_admin(open_id):
        return True
    log.info(
        "refused %s %s to %s: not in REFERRAL_BOT_ADMINS",
        via,
        action,
        open_id or "someone unknown",
    )
    return False


def usable(settings: Settings, open_id: str | None) -> list[parser.Subcommand]:
    """The subcommands this person may run, in the grammar's order: what their help lists."""
    admin = settings.is_admin(open_id)
    return [sub for sub in parser.GRAMMAR if admin or sub.everyone]
