"""The usage card, as each person may use it: every command for an HR admin, only those open to
all for anyone else. `/referral help` answers with it, and the welcome sends it once per person
when they first open the one-to-one chat (`im.chat.access_event.bot_p2p_chat_entered_v1`)."""

from __future__ import annotations

from dataclasses import dataclass

from lark_oapi.api.im.v1 import P2ImChatAccessEventBotP2pChatEnteredV1

from bot.config import Settings
from cards.help import help_card
from cards.text import Text, join
from handlers import access, parser
from handlers.asker import Answer, Asker
from handlers.errors import GiveUp
from handlers.registry import ANYONE, command, event
from handlers.services import Services

WHO_LINE = Text(
    "<who>: an account ID, an email, a mobile (+86 189…), or an @-mention",
    "<who>：账户 ID、邮箱、手机号（+86 189…）或 @员工",
)
STAFF_LINE = Text(
    "Referral accounts are run by your HR team: ask them for anything else.",
    "内推账户由 HR 团队管理，其他需求请联系你的 HR 团队。",
)


@dataclass(frozen=True)
class Help:
    pass


def usage_card(settings: Settings, open_id: str | None) -> dict:
    """The help as this person may use it."""
    entries = access.usable(settings, open_id)
    notes = [WHO_LINE] if any("<who>" in entry.usage for entry in entries) else []
    if not settings.is_admin(open_id):
        notes.append(STAFF_LINE)
    return help_card(
        [(entry.usage, entry.summary) for entry in entries], join(notes) if notes else None
    )


@command("/referral help", parse=parser.no_args(Help()), may=ANYONE)
def show_help(services: Services, asker: Asker, command: Help) -> Answer:
    """Show this help
    显示帮助"""
    return Answer(usage_card(services.settings, asker.open_id))


@event("im.chat.access_event.bot_p2p_chat_entered_v1", P2ImChatAccessEventBotP2pChatEnteredV1)
def welcome(
    services: Services, event_id: str, data: P2ImChatAccessEventBotP2pChatEnteredV1
) -> None:
    """The usage card, once per person, across restarts."""
    event = data.event
    open_id = event.operator_id.open_id if event and event.operator_id else None
    if not open_id or not event.chat_id:
        raise GiveUp("chat-entered event without a person or a chat")
    if not services.welcomes.take(open_id, event_id):
        return  # welcomed before
    card = usage_card(services.settings, open_id)  # what this person may do
    services.messenger.send_card(event.chat_id, card, uuid=f"welcome-{open_id}")
