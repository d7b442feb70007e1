"""Who asked the bot for a command, and where its answer goes: a chat message is answered by a
reply to it; a bot-menu item (which has no message) by a message into the person's one-to-one
chat. Everything that answers a command later (its result, an interim "still trying", the truth
after hours of failures) reaches the person through this one description."""

from __future__ import annotations

import json
from dataclasses import dataclass

import lark_oapi as lark
from lark_oapi.api.application.v6 import P2ApplicationBotMenuV6
from lark_oapi.api.im.v1 import P2ImMessageReceiveV1

from bot.feishu.messenger import Messenger

MESSAGE = "im.message.receive_v1"
MENU = "application.bot.menu_v6"


@dataclass(frozen=True)
class Asking:
    """A command someone asked for; `message_id` set: answered by a reply to it, in `chat_id`;
    else answered in the one-to-one chat with `open_id`."""

    command: str
    message_id: str | None = None
    chat_id: str | None = None
    open_id: str | None = None

    def send(self, messenger: Messenger, card: dict, *, uuid: str) -> str:
        """Answer with `card` (the uuid makes a retried send land once); the message's id."""
        if self.message_id is not None:
            return messenger.reply_card(self.message_id, card, chat_id=self.chat_id, uuid=uuid)
        assert self.open_id is not None, "an asking without anyone to answer"
        return messenger.send_card_to_person(self.open_id, card, uuid=uuid)


def of_message(data: P2ImMessageReceiveV1) -> Asking:
    """A chat message: its text is the command, the answer a reply to it."""
    message = data.event.message
    return Asking(message_text(message.content), message.message_id, message.chat_id)


def menu_key(data: P2ApplicationBotMenuV6) -> str:
    """The menu item's key as the menu matches it."""
    return (data.event.event_key or "").strip().lower() if data.event else ""


def menu_person(data: P2ApplicationBotMenuV6) -> str | None:
    """The open_id of whoever chose the menu item."""
    operator = data.event.operator if data.event else None
    return operator.operator_id.open_id if operator and operator.operator_id else None


def of_menu(data: P2ApplicationBotMenuV6) -> Asking:
    """A bot-menu item: it runs `/referral <key>`, answered in the person's one-to-one chat."""
    return Asking(f"/referral {menu_key(data)}", open_id=menu_person(data))


def of_event(event_type: str, payload: str) -> Asking | None:
    """The asking of a stored inbox event; None for an event that asks no command."""
    if event_type == MESSAGE:
        return of_message(lark.JSON.unmarshal(payload, P2ImMessageReceiveV1))
    if event_type == MENU:
        asking = of_menu(lark.JSON.unmarshal(payload, P2ApplicationBotMenuV6))
        return asking if asking.open_id else None
    return None


def message_text(content: str | None) -> str:
    """The text of a text message's content (empty for anything else)."""
    try:
        return str(json.loads(content or "{}").get("text", ""))
    except (ValueError, AttributeError):
        return ""
