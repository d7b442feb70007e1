"""Who may do what: the one rule every command, button and help card asks.

HR admins (the `REFERRAL_BOT_ADMINS` setting) may do everything; anyone else only what a
registry entry opens to `ANYONE` (a command such as `me`, `help`, `whoami`; never a button). A
refusal is logged naming the setting, for whoever runs the bot; the person refused is told to
ask their HR team, never a setting's name.
"""

from __future__ import annotations

import logging

from bot.config import Settings
from handlers.registry import ANYONE, CommandEntry, loaded

log = logging.getLogger(__name__)


def allowed(
    settings: Settings, open_id: str | None, action: str, *, may: str, via: str = "command"
) -> bool:
    """Whether this person may run `action`, open to `may` (ANYONE or ADMINS)."""
    if may == ANYONE or settings.is_admin(open_id):
        return True
    log.info(
        "refused %s %s to %s: not in REFERRAL_BOT_ADMINS",
        via,
        action,
        open_id or "someone unknown",
    )
    return False


def usable(settings: Settings, open_id: str | None) -> list[CommandEntry]:
    """The commands this person may run, in the help's order."""
    admin = settings.is_admin(open_id)
    return [entry for entry in loaded().commands.values() if admin or entry.everyone]
