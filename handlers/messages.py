"""The two ways a person asks for a command: a chat message addressed to the bot
(`im.message.receive_v1`), and a bot-menu item (`application.bot.menu_v6`), whose event key is a
command that runs without arguments. Both run the command through the guard, keep its answer in
the inbox before sending it (a retry only re-sends), and answer through `handlers/waiting.py`,
which replaces an interim "still trying" message when one was sent."""

from __future__ import annotations

import logging
from dataclasses import replace

from lark_oapi.api.application.v6 import P2ApplicationBotMenuV6
from lark_oapi.api.im.v1 import P2ImMessageReceiveV1

from bot.feishu.openapi import OpenApiError
from cards.error import error_card
from cards.text import Text
from handlers import answers, askings, guard, waiting
from handlers.accounts import cards as account_cards
from handlers.asker import Answer, Mention
from handlers.errors import GiveUp, RetryLater
from handlers.registry import event, loaded
from handlers.services import Services

log = logging.getLogger(__name__)


@event(askings.MESSAGE, P2ImMessageReceiveV1)
def handle_message(services: Services, event_id: str, data: P2ImMessageReceiveV1) -> None:
    """Answer a message addressed to the bot; ignore everything else."""
    message, sender = data.event.message, data.event.sender
    if sender is None or sender.sender_type != "user" or message is None:
        return  # our own and other apps' messages
    mentions = message.mentions or []
    bot_id = _bot_open_id(services) if mentions else None
    if message.chat_type != "p2p" and not any(_open_id(m) == bot_id for m in mentions):
        return  # a group message not addressed to the bot
    others = [m for m in mentions if m.key and _open_id(m) and _open_id(m) != bot_id]
    asker = replace(
        askings.of_message(data, event_id),
        mentions=tuple(Mention(m.key, _open_id(m), m.name or "") for m in others),
    )

    def run() -> Answer:
        if message.message_type != "text":
            return Answer(answers.not_text())
        # The bot's own mention never names an account.
        bot_keys = [m.key for m in mentions if m.key and _open_id(m) == bot_id]
        return guard.command(services, asker, asker.text, bot_keys)

    saved = _answered(services, event_id, run)
    # The uuid makes a retried reply (same event) land once; an interim answer is replaced.
    sent = waiting.deliver(services, event_id, asker, saved["card"], uuid=f"reply-{event_id}")
    if saved.get("withdrawal_id") is not None:
        services.withdrawals.note_message(saved["withdrawal_id"], sent)
    account_id = saved.get("account_id")
    if account_id and saved.get("track", True):
        account_cards.noted(services, sent, account_id, message.chat_id, saved.get("version"))
        # The command read or changed the account: older cards of it catch up.
        account_cards.refresh_later(services, account_id, skip=(sent,))


@event(askings.MENU, P2ApplicationBotMenuV6)
def menu(services: Services, event_id: str, data: P2ApplicationBotMenuV6) -> None:
    """Run the chosen item's command for the person, answering in their one-to-one chat, under
    the same rules as typing it."""
    asker, key = askings.of_menu(data, event_id), askings.menu_key(data)
    if not asker.open_id:
        raise GiveUp("menu event without a person")

    def run() -> Answer:
        if key not in loaded().menu_keys():
            log.info("menu item %r runs no command", key)
            return Answer(unknown_item_card(key))
        return guard.command(services, asker, asker.text)

    saved = _answered(services, event_id, run)
    # An interim answer ("still trying") is replaced by the result.
    waiting.deliver(services, event_id, asker, saved["card"], uuid=f"menu-{event_id}")


def _answered(services: Services, event_id: str, run) -> dict:
    """The event's answer: kept from an earlier run (a retry, after the command ran, only
    re-sends it), else run now and kept before it is sent. A command held up by a failing
    Feishu waits, and the person hears so soon (handlers/waiting.py)."""
    saved = services.inbox.saved_reply(event_id)
    if saved is not None:
        return saved
    try:
        answer = run()
    except RetryLater:
        waiting.schedule(services, event_id)
        raise
    saved = {
        "card": answer.card,
        "account_id": answer.account_id,
        "track": answer.track,
        "withdrawal_id": answer.receipt_of,
        "version": answer.version,
    }
    services.inbox.save_reply(event_id, saved)
    return saved


def unknown_item_card(key: str) -> dict:
    """The answer to a menu item whose event key is no command: the person learns it is the
    menu's set-up, not them, and the deployer what the key may be."""
    keys = ", ".join(loaded().menu_keys())
    return error_card(
        Text("This menu item does nothing", "该菜单项没有对应的命令"),
        Text(
            "The bot menu item '{key}' is not a command. Ask whoever set up the bot to give "
            "it one of these event keys: {keys}.",
            "机器人菜单项 “{key}” 不是命令。"
            "请联系机器人的配置人员，将其事件 key 设为以下之一：{keys}。",
        ).format(key=key, keys=keys),
    )


def _bot_open_id(services: Services) -> str:
    try:
        return services.messenger.bot_open_id()
    except OpenApiError as exc:
        raise RetryLater(f"cannot tell whether the bot was mentioned: {exc}") from None


def _open_id(mention) -> str | None:
    return mention.id.open_id if mention.id is not None else None
