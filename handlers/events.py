"""Working off one inbox event: a chat message (a command) or a balance change."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import lark_oapi as lark
from lark_oapi.api.hire.v1 import Account as SdkAccount
from lark_oapi.api.hire.v1 import P2HireReferralAccountAssetsUpdateV1
from lark_oapi.api.im.v1 import P2ImMessageReceiveV1

from bot.accounts import Account, AccountStatus
from bot.feishu.openapi import OpenApiError
from bot.feishu.referral import from_sdk
from bot.records.inbox import InboxEvent
from bot.worker import GiveUp, RetryLater
from cards.error import error_card
from cards.text import Text
from handlers import commands
from handlers.services import Services

log = logging.getLogger(__name__)


def handle_message(services: Services, event_id: str, data: P2ImMessageReceiveV1) -> None:
    """Answer a message addressed to the bot; ignore everything else."""
    message, sender = data.event.message, data.event.sender
    if sender is None or sender.sender_type != "user" or message is None:
        return  # our own and other apps' messages
    in_group = message.chat_type != "p2p"
    if in_group and not _mentions_bot(services, message.mentions or []):
        return
    asker = commands.Asker(
        open_id=sender.sender_id.open_id if sender.sender_id else None,
        chat_id=message.chat_id,
        message_id=message.message_id,
    )
    saved = services.inbox.saved_reply(event_id)
    if saved is not None:  # a retry: the command ran already, only the answer is missing
        reply = commands.Reply(saved["card"], saved.get("account_id"))
    elif message.message_type == "text":
        text = json.loads(message.content or "{}").get("text", "")
        reply = commands.run(services, asker, text)
        services.inbox.save_reply(event_id, {"card": reply.card, "account_id": reply.account_id})
    else:
        reply = commands.Reply(
            error_card(
                Text("Not a command", "无法识别的命令"),
                Text(
                    "Send me a text command, e.g. /referral help.",
                    "请发送文字命令，例如 /referral help。",
                ),
            )
        )
    try:
        # The uuid makes a retried reply (same event) land once.
        sent = services.messenger.reply_card(
            message.message_id, reply.card, chat_id=message.chat_id, uuid=f"reply-{event_id}"
        )
    except OpenApiError as exc:
        raise RetryLater(f"could not reply: {exc}") from None
    if reply.account_id:
        services.accounts.note_card(sent, reply.account_id, message.chat_id)


def _mentions_bot(services: Services, mentions: list) -> bool:
    try:
        bot_id = services.messenger.bot_open_id()
    except OpenApiError as exc:
        raise RetryLater(f"cannot tell whether the bot was mentioned: {exc}") from None
    return any(m.id is not None and m.id.open_id == bot_id for m in mentions)


def handle_assets_update(
    services: Services, event_id: str, data: P2HireReferralAccountAssetsUpdateV1
) -> None:
    """Keep the records' balance current; only enabled accounts get these events."""
    update = data.event
    if update is None or not update.account_id:
        raise GiveUp("balance event without an account id")
    known = services.accounts.get(update.account_id)
    sdk_account = SdkAccount({"account_id": update.account_id})
    sdk_account.assets = update.assets
    changed = from_sdk(sdk_account, AccountStatus.ENABLED)
    previous = known.account if known else None
    services.accounts.remember(
        Account(
            account_id=changed.account_id,
            status=previous.status if previous else AccountStatus.ENABLED,
            points=changed.points,
            cash=changed.cash,
            referrer=previous.referrer if previous else None,
        )
    )


ROUTES: dict[str, tuple[type, Callable]] = {
    "im.message.receive_v1": (P2ImMessageReceiveV1, handle_message),
    "hire.referral_account.assets_update_v1": (
        P2HireReferralAccountAssetsUpdateV1,
        handle_assets_update,
    ),
}


def work(services: Services, event: InboxEvent) -> None:
    """The worker pool's entry: decode the stored SDK model and route it."""
    route = ROUTES.get(event.event_type)
    if route is None:
        raise GiveUp(f"no handler for {event.event_type}")
    model, handler = route
    handler(services, event.event_id, lark.JSON.unmarshal(event.payload, model))


def tell_failure(services: Services, event: InboxEvent) -> None:
    """An event failed for good: tell the person who sent the message, if there was one."""
    if event.event_type != "im.message.receive_v1":
        return
    data = lark.JSON.unmarshal(event.payload, P2ImMessageReceiveV1)
    message = data.event.message
    card = error_card(
        Text("Something went wrong", "出错了"),
        Text(
            f"Your command could not be completed (reference {event.event_id}). "
            "Nothing more will be tried; please send it again later.",
            f"你的命令未能完成（编号 {event.event_id}），不会再自动重试，请稍后重新发送。",
        ),
    )
    services.messenger.reply_card(
        message.message_id, card, chat_id=message.chat_id, uuid=f"fail-{event.event_id}"
    )
