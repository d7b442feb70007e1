"""Who asked the bot for a command, read from its event: a chat message is answered by a reply to
it; a bot-menu item (which has no message) by a message into the person's one-to-one chat."""

from __future__ import annotations

import json

import lark_oapi as lark
from lark_oapi.api.application.v6 import P2ApplicationBotMenuV6
from lark_oapi.api.im.v1 import P2ImMessageReceiveV1

from handlers.asker import Asker

MESSAGE = "im.message.receive_v1"
MENU = "application.bot.menu_v6"


def of_message(data: P2ImMessageReceiveV1, event_id: str | None = None) -> Asker:
    """A chat message: its text is the command, the answer a reply to it."""
    message, sender = data.event.message, data.event.sender
    return Asker(
        open_id=sender.sender_id.open_id if sender and sender.sender_id else None,
        chat_id=message.chat_id,
        message_id=message.message_id,
        event_id=event_id,
        in_group=message.chat_type != "p2p",
        text=message_text(message.content),
    )


def menu_key(data: P2ApplicationBotMenuV6) -> str:
    """The menu item's key as the menu matches it."""
    return (data.event.event_key or "").strip().lower() if data.event else ""


def menu_person(data: P2ApplicationBotMenuV6) -> str | None:
    """The open_id of whoever chose the menu item."""
    operator = data.event.operator if data.event else None
    return operator.operator_id.open_id if operator and operator.operator_id else None


def of_menu(data: P2ApplicationBotMenuV6, event_id: str | None = None) -> Asker:
    """A bot-menu item: it runs `/referral <key>`, answered in the person's one-to-one chat."""
    open_id = menu_person(data)
    return Asker(open_id, f"p2p:{open_id}", event_id=event_id, text=f"/referral {menu_key(data)}")


def of_event(event_type: str, payload: str) -> Asker | None:
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
