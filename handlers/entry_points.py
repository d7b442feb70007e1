"""Entry points native to Feishu: the welcome when someone first opens the one-to-one chat, and
the bot menu, whose items run an argument-free command for the person who chose them."""

from __future__ import annotations

import logging

from lark_oapi.api.application.v6 import P2ApplicationBotMenuV6
from lark_oapi.api.im.v1 import P2ImChatAccessEventBotP2pChatEnteredV1

from bot.feishu.openapi import OpenApiError
from bot.worker import GiveUp, RetryLater
from cards.error import error_card
from cards.text import Text
from handlers import askings, commands, waiting
from handlers.account_commands import usage_card
from handlers.parser import BARE_SUBCOMMANDS
from handlers.services import Services

log = logging.getLogger(__name__)

# Menu items (`event_key`) that run a command: the subcommands that run without arguments.
MENU_COMMANDS = frozenset(BARE_SUBCOMMANDS)


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
    try:
        services.messenger.send_card(event.chat_id, card, uuid=f"welcome-{open_id}")
    except OpenApiError as exc:
        if exc.transient:
            raise RetryLater(f"could not welcome {open_id}: {exc}") from None
        raise GiveUp(f"could not welcome {open_id}: {exc}") from None


def menu(services: Services, event_id: str, data: P2ApplicationBotMenuV6) -> None:
    """Run the chosen item's command for the person, answering in their one-to-one chat; a
    command held up by a failing Feishu is answered as a typed one is (handlers/waiting.py)."""
    asking = askings.of_menu(data)
    open_id, key = asking.open_id, askings.menu_key(data)
    if not open_id:
        raise GiveUp("menu event without a person")
    saved = services.inbox.saved_reply(event_id)
    if saved is None:
        if key in MENU_COMMANDS:
            asker = commands.Asker(open_id=open_id, chat_id=f"p2p:{open_id}", event_id=event_id)
            try:
                card = commands.run(services, asker, asking.command).card  # the admin rule holds
            except RetryLater:
                waiting.schedule(services, event_id)  # the person hears soon that it waits
                raise
        else:
            log.info("menu item %r runs no command", key)
            card = unknown_item_card(key)
        saved = {"card": card}
        services.inbox.save_reply(event_id, saved)
    # An interim answer ("still trying") is replaced by the result.
    waiting.deliver(services, event_id, asking, saved["card"], uuid=f"menu-{event_id}")


def unknown_item_card(key: str) -> dict:
    """The answer to a menu item whose event key is no command: the person learns it is the
    menu's set-up, not them, and the deployer what the key may be."""
    keys = ", ".join(BARE_SUBCOMMANDS)
    return error_card(
        Text("This menu item does nothing", "该菜单项没有对应的命令"),
        Text(
            "The bot menu item '{key}' is not a command. Ask whoever set up the bot to give "
            "it one of these event keys: {keys}.",
            "机器人菜单项 “{key}” 不是命令。"
            "请联系机器人的配置人员，将其事件 key 设为以下之一：{keys}。",
        ).format(key=key, keys=keys),
    )
